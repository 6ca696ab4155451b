"""jit and the interpreter against hand-written NumPy and HIPS autograd (issue 12 targets).

Command (from the repository root)::

    .venv/bin/python benchmarks/bench_jit.py [--repeat 9] [--no-peers]

Every row is a median of *per-round ratios*: each round times the variants one after
the other (round-robin), so load from other processes hits them alike. Variants:

- 48-op scalar chain (sin, *0.9, +0.1, tanh on a size-3 float64 array): ``grad`` and
  ``jit(grad)`` per op, against HIPS autograd's ``grad`` (a subprocess per round, in
  the venv ``$SPMDGRAD_PEERS/jit-autograd``; targets 1.0x and 0.25x).
- MLP 784-128-10, float32, total gradient via ``reduce_axes`` at B=64 and B=256:
  ``jit`` and the interpreter against hand NumPy (targets 1.15x jit, 1.5x interpreted
  at B=256); JAX's ``jit`` of the same programs in its own process (``$SPMDGRAD_PEERS/jax``).
- 8x256 MLP (ReLU), B=1024, total gradient: ``jit`` against hand NumPy, time and peak
  traced memory (tracemalloc; targets 1.1x and 1.3x).
- per-example gradients (MLP, B=256): ``jit(vmap(grad))`` against hand NumPy (1.2x).

Results are checked against the NumPy references before anything is timed.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from _chain import chain  # noqa: E402
from _common import PEERS, print_environment  # noqa: E402
from _mlp import make_problem, numpy_batch_grads, numpy_per_example_grads  # noqa: E402

import spmdgrad  # noqa: E402
import spmdgrad.numpy as jnp  # noqa: E402

N_OPS = 48
AUTOGRAD = os.path.join(PEERS, "jit-autograd", "bin", "python")
JAX = os.path.join(PEERS, "jax", "bin", "python")


def mlp_loss(params, x, y):
    W1, b1, W2, b2 = params
    h = jnp.maximum(x @ W1 + b1, 0.0)
    z = h @ W2 + b2
    s = z - jnp.max(z)
    return -jnp.sum(y * (s - jnp.log(jnp.sum(jnp.exp(s)))))


total = spmdgrad.vmap(spmdgrad.grad(mlp_loss, reduce_axes=("b",)), in_axes=(None, 0, 0),
                      out_axes=None, axis_name="b")
per_example = spmdgrad.vmap(spmdgrad.grad(mlp_loss), in_axes=(None, 0, 0), axis_name="b")


# ------------------------------------------------------------------ deep MLP (8 x 256)

def deep_problem(batch=1024, width=256, depth=8, seed=0):
    rng = np.random.default_rng(seed)
    ws = [(rng.standard_normal((width, width)) / np.sqrt(width)).astype(np.float32) for _ in range(depth)]
    bs = [(0.01 * rng.standard_normal(width)).astype(np.float32) for _ in range(depth)]
    x = rng.standard_normal((batch, width)).astype(np.float32)
    y = rng.standard_normal((batch, width)).astype(np.float32)
    return (ws, bs), x, y


def deep_loss(params, x, y):
    ws, bs = params
    h = x
    for w, b in zip(ws[:-1], bs[:-1], strict=True):
        h = jnp.maximum(h @ w + b, 0.0)
    out = h @ ws[-1] + bs[-1]
    return 0.5 * jnp.sum((out - y) ** 2)


def deep_numpy(params, x, y):
    ws, bs = params
    hs, pres = [x], []
    h = x
    for w, b in zip(ws[:-1], bs[:-1], strict=True):
        pre = h @ w + b
        pres.append(pre)
        h = np.maximum(pre, 0)
        hs.append(h)
    d = h @ ws[-1] + bs[-1] - y
    gw, gb = [None] * len(ws), [None] * len(ws)
    for i in range(len(ws) - 1, -1, -1):
        gw[i] = hs[i].T @ d
        gb[i] = d.sum(axis=0)
        if i:
            d = (d @ ws[i].T) * (pres[i - 1] > 0)
    return gw, gb


deep_grad = spmdgrad.grad(deep_loss)


def peak_bytes(fn):
    fn()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def autograd_round(number):
    proc = subprocess.run([AUTOGRAD, os.path.join(HERE, "_peers", "jit_chain.py"), "autograd",
                           str(N_OPS), str(number)], capture_output=True, text=True, check=True,
                          env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    return json.loads(proc.stdout.strip().splitlines()[-1])


def best_of(fn, number, tries=3):
    best = float("inf")
    for _ in range(tries):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best


def rounds(groups, repeat, peers):
    """Per-round ratios: ``groups`` maps a row to (variant fns, number, reference name)."""
    ratios = {}
    times = {}
    for _ in range(repeat):
        for fns, number, _ref in groups.values():
            for name, fn in fns.items():
                times.setdefault(name, []).append(best_of(fn, number))
        if peers:
            times.setdefault("autograd_chain", []).append(autograd_round(20)["grad_chain"])
    for fns, _number, ref in groups.values():
        for name in fns:
            if name != ref and ref in times:
                ratios[f"{name} / {ref}"] = statistics.median(
                    a / b for a, b in zip(times[name], times[ref], strict=True))
    return times, ratios


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--no-peers", action="store_true")
    args = ap.parse_args()
    peers = not args.no_peers and os.path.exists(AUTOGRAD)
    print_environment("bench_jit: compiled jit, the interpreter, hand NumPy, HIPS autograd")
    print("# medians of per-round ratios, round-robin; the machine is shared with other sessions")

    x = np.array([0.3, -0.2, 0.5])
    g_chain = spmdgrad.grad(lambda x: chain(jnp, x, N_OPS))
    jg_chain = spmdgrad.jit(g_chain)
    assert np.array_equal(jg_chain(x), g_chain(x))
    if peers:
        np.testing.assert_allclose(autograd_round(1)["check"], g_chain(x), rtol=1e-12)

    groups = {"chain": ({"grad_chain": lambda: g_chain(x), "jit_grad_chain": lambda: jg_chain(x)},
                        20, "autograd_chain")}
    for B in (64, 256):
        params, X, Y = make_problem(batch=B)
        jt = spmdgrad.jit(total)
        for got, want in zip(jt(params, X, Y), numpy_batch_grads(params, X, Y), strict=True):
            np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-5)
            assert got.dtype == np.float32
        groups[f"mlp_total_B{B}"] = ({
            f"numpy_total_B{B}": (lambda p=params, X=X, Y=Y: numpy_batch_grads(p, X, Y)),
            f"jit_total_B{B}": (lambda p=params, X=X, Y=Y, f=jt: f(p, X, Y)),
            f"interp_total_B{B}": (lambda p=params, X=X, Y=Y: total(p, X, Y)),
        }, 5, f"numpy_total_B{B}")
    params, X, Y = make_problem(batch=256)
    jpe = spmdgrad.jit(per_example)
    for got, want in zip(jpe(params, X, Y), numpy_per_example_grads(params, X, Y), strict=True):
        np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-5)
    groups["per_example_B256"] = ({
        "numpy_pe_B256": lambda: numpy_per_example_grads(params, X, Y),
        "jit_pe_B256": lambda: jpe(params, X, Y),
    }, 1, "numpy_pe_B256")
    dp, dx, dy = deep_problem()
    jdeep = spmdgrad.jit(deep_grad)
    got, want = jdeep(dp, dx, dy), deep_numpy(dp, dx, dy)
    for g, w in zip(got[0] + got[1], want[0] + want[1], strict=True):
        np.testing.assert_allclose(g, w, rtol=2e-3, atol=2e-3)
    groups["deep_B1024"] = ({
        "numpy_deep": lambda: deep_numpy(dp, dx, dy),
        "jit_deep": lambda: jdeep(dp, dx, dy),
        "interp_deep": lambda: deep_grad(dp, dx, dy),
    }, 1, "numpy_deep")

    times, ratios = rounds(groups, args.repeat, peers)
    print(f"\n{'variant':<26} {'median':>12}")
    for name, ts in times.items():
        per = " per op" if "chain" in name else ""
        div = N_OPS if "chain" in name else 1
        print(f"{name:<26} {statistics.median(ts) / div * 1e6:10.2f} us{per}")
    print(f"\n{'ratio (median of per-round ratios)':<40} {'value':>8}")
    for k, v in ratios.items():
        print(f"{k:<40} {v:8.3f}")
    if not peers:
        print("autograd: not installed (no $SPMDGRAD_PEERS/jit-autograd venv) or --no-peers")
    if peers and os.path.exists(JAX):
        proc = subprocess.run([JAX, os.path.join(HERE, "_peers", "jit_jax.py"), str(args.repeat)],
                              capture_output=True, text=True, check=False,
                              env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
        if proc.returncode == 0:
            jx = json.loads(proc.stdout.strip().splitlines()[-1])
            print(f"\nJAX {jx['version']} (its own process, right after the rounds above; not interleaved):")
            print(f"  jit(grad) chain {jx['jax_jit_grad_chain'] / N_OPS * 1e6:.2f} us per op")
            for B in (64, 256):
                ref = statistics.median(times[f"numpy_total_B{B}"])
                print(f"  jit total B={B}: {jx[f'jax_jit_total_B{B}'] * 1e6:.0f} us "
                      f"({jx[f'jax_jit_total_B{B}'] / ref:.2f}x this run's NumPy median)")
        else:
            print("JAX peer failed:", (proc.stderr or proc.stdout).strip().splitlines()[-1:])
    pn = peak_bytes(lambda: deep_numpy(dp, dx, dy))
    pj = peak_bytes(lambda: jdeep(dp, dx, dy))
    pi = peak_bytes(lambda: deep_grad(dp, dx, dy))
    print(f"\npeak traced memory, 8x256 MLP B=1024: numpy {pn / 2**20:.1f} MiB, jit {pj / 2**20:.1f} MiB "
          f"({pj / pn:.2f}x), interpreted {pi / 2**20:.1f} MiB ({pi / pn:.2f}x)")


if __name__ == "__main__":
    main()
