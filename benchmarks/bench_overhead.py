"""Per-primitive overhead of spmdgrad's ``grad`` and ``vmap`` on tiny arrays.

Command (from the repository root)::

    .venv/bin/python benchmarks/bench_overhead.py [--repeat 9]

What is timed (median over ``repeat`` rounds after warm-up):

- ``grad(chain)(x)``: forward plus backward through 100 elementwise ops (a cycle of
  sin, *0.9, +0.1, tanh) on a size-3 float64 array, then a sum. Reported per op
  (time / 100).
- ``grad(single)(x)``: one op (sum(sin(x))), per call: the fixed cost of a grad.
- the bare NumPy forward of the same 100 ops, per op.
- ``vmap(elementwise_chain)`` over a (8, 3) array (forward only), and
  ``vmap(grad(chain))``, per op.
- peers, each in its own venv as a subprocess: HIPS autograd ``grad`` and torch
  (``torch.autograd.grad``, ``torch.func.grad``, ``torch.func.vmap``).

Bar: spmdgrad ``grad`` per op below HIPS autograd's per-op cost.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from _chain import N_OPS, chain, elementwise_chain, single  # noqa: E402
from _common import fmt_us, interleaved_medians, print_environment, run_peer  # noqa: E402

import spmdgrad  # noqa: E402
import spmdgrad.numpy as jnp  # noqa: E402


def measure(repeat):
    x = np.array([0.3, -0.2, 0.5])
    xb = np.tile(x, (8, 1))
    g_chain = spmdgrad.grad(lambda x: chain(jnp, x))
    g_single = spmdgrad.grad(lambda x: single(jnp, x))
    v_chain = spmdgrad.vmap(lambda x: elementwise_chain(jnp, x))
    vg_chain = spmdgrad.vmap(spmdgrad.grad(lambda x: chain(jnp, x)))
    # Correctness first: the gradient of the chain against a hand-written backward pass.
    expected = _chain_grad_numpy(x)
    np.testing.assert_allclose(g_chain(x), expected, rtol=1e-12)
    np.testing.assert_allclose(vg_chain(xb), np.tile(expected, (8, 1)), rtol=1e-12)
    np.testing.assert_allclose(v_chain(xb), elementwise_chain(np, xb), rtol=1e-12)
    fns = {
        "grad_chain": lambda: g_chain(x),
        "grad_single": lambda: g_single(x),
        "numpy_chain": lambda: chain(np, x),
        "numpy_single": lambda: single(np, x),
        "numpy_chain_b8": lambda: elementwise_chain(np, xb),
        "vmap_chain_b8": lambda: v_chain(xb),
        "vmap_grad_chain_b8": lambda: vg_chain(xb),
    }
    number = {"grad_chain": 10, "grad_single": 200, "numpy_chain": 200, "numpy_single": 2000,
              "numpy_chain_b8": 200, "vmap_chain_b8": 10, "vmap_grad_chain_b8": 5}
    r = interleaved_medians(fns, repeat, number=number)
    return r


def _chain_grad_numpy(x):
    """Hand-written reverse pass of ``chain`` (independent of spmdgrad)."""
    derivs = []
    for _ in range(N_OPS // 4):
        derivs.append(np.cos(x))
        x = np.sin(x)
        derivs.append(np.full_like(x, 0.9))
        x = x * 0.9
        x = x + 0.1
        x = np.tanh(x)
        derivs.append(1 - x * x)
    g = np.ones_like(x)
    for d in reversed(derivs):
        g = g * d
    return g


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--blocks", type=int, default=3,
                    help="alternate spmdgrad and autograd runs this many times (noise control)")
    args = ap.parse_args()
    print_environment("bench_overhead: per-op cost of grad / vmap, size-3 float64")
    # The machine is shared and noisy: alternate spmdgrad and the autograd peer in
    # blocks, and judge the bar on the median of the per-block ratios.
    blocks, ag_blocks = [], []
    for _ in range(args.blocks):
        blocks.append(measure(args.repeat))
        ag_blocks.append(run_peer("autograd", "overhead.py", ["autograd", args.repeat]))
    r = {k: statistics.median(b[k] for b in blocks) for k in blocks[0]}
    per = lambda s: s / N_OPS  # noqa: E731
    print(f"{'variant':44s} {'per op':>12s}   per call")
    rows = [
        ("spmdgrad grad(chain of 100)", r["grad_chain"]),
        ("bare NumPy forward, same 100 ops", r["numpy_chain"]),
        ("spmdgrad vmap(chain) B=8, forward", r["vmap_chain_b8"]),
        ("bare NumPy forward on (8,3)", r["numpy_chain_b8"]),
        ("spmdgrad vmap(grad(chain)) B=8", r["vmap_grad_chain_b8"]),
    ]
    for name, s in rows:
        print(f"{name:44s} {fmt_us(per(s))}   {fmt_us(s)}")
    print(f"{'  (fastest round: grad per op)':44s} {fmt_us(per(r['grad_chain_min']))}")
    print(f"{'spmdgrad grad(single op: sum(sin(x)))':44s} {'':12s}   {fmt_us(r['grad_single'])}")
    print(f"{'bare NumPy sum(sin(x))':44s} {'':12s}   {fmt_us(r['numpy_single'])}")
    peers = {}
    ok = [b for b in ag_blocks if isinstance(b, dict)]
    ag_ratio = None
    if ok:
        ag_ratio = statistics.median(b["grad_chain"] / a["grad_chain"]
                                     for a, b in zip(ok, blocks))
        peers["autograd"] = {k: (statistics.median(b[k] for b in ok) if k != "version" else v)
                             for k, v in ok[0].items()}
    else:
        peers["autograd"] = ag_blocks[0]
    for name in ("autograd", "torch"):
        res = peers[name] if name in peers else run_peer(name, "overhead.py", [name, args.repeat])
        peers[name] = res
        if isinstance(res, str):
            print(f"peer {name}: {res}")
            continue
        print(f"peer {name} {res['version']}: grad(chain) {fmt_us(per(res['grad_chain']))}/op, "
              f"grad(single) {fmt_us(res['grad_single'])}/call"
              + (f", func.grad(chain) {fmt_us(per(res['func_grad_chain']))}/op, "
                 f"func.vmap(chain) B=8 {fmt_us(per(res['vmap_chain_b8']))}/op"
                 if name == "torch" else ""))
    print("ratios:")
    print(f"  spmdgrad grad / bare NumPy (per op)      {r['grad_chain'] / r['numpy_chain']:8.1f}x")
    print(f"  spmdgrad vmap / bare NumPy (per op)      {r['vmap_chain_b8'] / r['numpy_chain_b8']:8.1f}x")
    ag = peers.get("autograd")
    if isinstance(ag, dict):
        ratio = ag_ratio
        verdict = "MET" if ratio < 1 else "MISSED"
        print(f"  spmdgrad grad / autograd grad (per op)   {ratio:8.2f}x   bar (< 1x): {verdict}"
              f"   (median of {len(ok)} per-block ratios)")
        print(f"  spmdgrad grad(single) / autograd          {r['grad_single'] / ag['grad_single']:8.2f}x")
    else:
        print("  bar (< autograd per op): not judged, autograd not installed "
              "(reference on this machine: ~8.7 us/op)")


if __name__ == "__main__":
    main()
