"""Per-example and total gradients of an MLP: spmdgrad vs hand-written NumPy and peers.

Command (from the repository root)::

    .venv/bin/python benchmarks/bench_per_example.py [--repeat 9] [--no-peers]

Problem (benchmarks/_mlp.py): MLP 784-128-10, ReLU, softmax cross-entropy on one-hot
labels, batch 256, float32 parameters and data, fixed seed. The loss is written with
``spmdgrad.numpy`` only.

(a) per-example gradients ``vmap(grad(loss), in_axes=(None, 0, 0), axis_name='b')``
    vs hand-written NumPy (outer products by broadcasting), in the same run,
    timed round-robin (the per-example and the total variants in separate groups).
    Bars: spmdgrad within 1.5x of NumPy; a Python loop of spmdgrad ``grad`` at least
    10x slower than the vmap. Peers: torch.func
    ``vmap(grad)`` and JAX (``vmap(grad)``, ``jit(vmap(grad))``) in their own venvs.
(b) total gradient ``vmap(grad(loss, reduce_axes=('b',)), in_axes=(None, 0, 0),
    out_axes=None, axis_name='b')`` vs hand-written NumPy ``X.T @ delta``. Bar:
    within 2x. Peak memory per variant: tracemalloc peak and the growth of
    ``ru_maxrss``, each in a fresh subprocess (``--memory VARIANT``).

Results are checked against the NumPy reference (allclose) and for float32 dtypes
before anything is timed; a float64 anywhere is reported as a bug.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tracemalloc

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from _common import fmt_ms, interleaved_medians, print_environment, run_peer  # noqa: E402
from _mlp import BATCH, example_loss, make_problem, numpy_batch_grads, numpy_per_example_grads  # noqa: E402

import spmdgrad  # noqa: E402
import spmdgrad.numpy as jnp  # noqa: E402


def loss(params, x, y):
    """Cross-entropy of one example (x: (784,), y: one-hot (10,))."""
    return example_loss(jnp, params, x, y)


per_example = spmdgrad.vmap(spmdgrad.grad(loss), in_axes=(None, 0, 0), axis_name="b")
total = spmdgrad.vmap(spmdgrad.grad(loss, reduce_axes=("b",)), in_axes=(None, 0, 0),
                      out_axes=None, axis_name="b")
grad1 = spmdgrad.grad(loss)
# The same two programs traced once and replayed (spmdgrad.jit).
per_example_jit = spmdgrad.jit(per_example)
total_jit = spmdgrad.jit(total)


def loop(params, X, Y):
    return [grad1(params, X[i], Y[i]) for i in range(X.shape[0])]


def per_example_then_sum(params, X, Y):
    """The pattern to avoid: B per-example copies of the weights, then a sum."""
    return tuple(g.sum(axis=0) for g in per_example(params, X, Y))


VARIANTS = {
    "pe_spmdgrad": per_example,
    "pe_numpy": numpy_per_example_grads,
    "total_spmdgrad": total,
    "total_numpy": numpy_batch_grads,
    "total_via_per_example": per_example_then_sum,
}


def check(params, X, Y):
    """allclose against NumPy and float32 everywhere; returns a list of problems."""
    problems = []
    cases = [("per-example", per_example(params, X, Y), numpy_per_example_grads(params, X, Y)),
             ("total", total(params, X, Y), numpy_batch_grads(params, X, Y)),
             ("per-example jit", per_example_jit(params, X, Y),
              numpy_per_example_grads(params, X, Y)),
             ("total jit", total_jit(params, X, Y), numpy_batch_grads(params, X, Y)),
             ("loop", [np.stack(z) for z in zip(*loop(params, X[:4], Y[:4]))],
              [g[:4] for g in numpy_per_example_grads(params, X, Y)])]
    for what, got, ref in cases:
        for i, (g, r) in enumerate(zip(got, ref, strict=True)):
            if g.shape != r.shape:
                problems.append(f"{what} leaf {i}: shape {g.shape} != {r.shape}")
                continue
            if g.dtype != np.float32:
                problems.append(f"BUG {what} leaf {i}: dtype {g.dtype}, float32 expected "
                                "(silent upcast)")
            if not np.allclose(g, r, rtol=1e-4, atol=1e-5):
                problems.append(f"{what} leaf {i}: max abs error {np.abs(g - r).max():.3g}")
    for name, fn in (("per-example", per_example), ("total", total)):
        text = str(spmdgrad.make_jaxpr(fn)(params, X, Y))
        if "f64" in text:
            problems.append(f"BUG {name}: its traced program contains float64 values:\n{text}")
    return problems


def _peak_rss_reset():
    """Reset the kernel's peak-RSS mark (Linux: clear_refs 5), so a child started by a
    large parent does not report the parent's peak. Returns False if unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_rss():
    """Peak resident set size in bytes (VmHWM, else ru_maxrss)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def memory_child(variant):
    """Run one variant in this fresh process; print its peak memory as JSON."""
    params, X, Y = make_problem()
    fn = VARIANTS[variant]
    fn(params, X[:8], Y[:8])  # import-time caches and plans, on a tiny batch
    _peak_rss_reset()
    rss0 = _peak_rss()
    out = fn(params, X, Y)
    rss1 = _peak_rss()
    out_bytes = sum(np.asarray(o).nbytes for o in out)
    del out
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    out = fn(params, X, Y)  # held, so its buffers count in the peak
    _, peak = tracemalloc.get_traced_memory()
    del out
    tracemalloc.stop()
    print(json.dumps({"maxrss_growth": rss1 - rss0, "tracemalloc_peak": peak - base,
                      "output_bytes": out_bytes}))


def memory(variant):
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--memory", variant],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--memory", choices=sorted(VARIANTS), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory:
        return memory_child(args.memory)
    print_environment(f"bench_per_example: MLP 784-128-10, batch {BATCH}, float32")
    params, X, Y = make_problem()
    problems = check(params, X, Y)
    for p in problems:
        print("CHECK FAILED:", p)
    if not problems:
        print("checks: spmdgrad == hand-written NumPy (allclose), all results float32")
    # Two groups: the 104 MB per-example variants evict the caches, which would
    # slow the small total-gradient variants that run after them in a round.
    t = interleaved_medians({
        "pe_spmdgrad": lambda: per_example(params, X, Y),
        "pe_jit": lambda: per_example_jit(params, X, Y),
        "pe_numpy": lambda: numpy_per_example_grads(params, X, Y),
        "total_via_per_example": lambda: per_example_then_sum(params, X, Y),
    }, args.repeat)
    t.update(interleaved_medians({
        "total_spmdgrad": lambda: total(params, X, Y),
        "total_jit": lambda: total_jit(params, X, Y),
        "total_numpy": lambda: numpy_batch_grads(params, X, Y),
    }, args.repeat, number={"total_spmdgrad": 5, "total_jit": 5, "total_numpy": 5}))
    t.update(interleaved_medians({"loop_spmdgrad": lambda: loop(params, X, Y)}, 7, warmup=1))
    peers = {}
    if not args.no_peers:
        for name in ("torch", "jax"):
            peers[name] = run_peer(name, "per_example.py", [name, args.repeat])

    print("\n(a) per-example gradients, 4 leaves, B=256 (output 104 MB)")
    mn = lambda k: f"   (min {fmt_ms(t[k + '_min'])})"  # noqa: E731
    print(f"  spmdgrad vmap(grad)                 {fmt_ms(t['pe_spmdgrad'])}" + mn("pe_spmdgrad"))
    print(f"  spmdgrad jit(vmap(grad))            {fmt_ms(t['pe_jit'])}" + mn("pe_jit"))
    print(f"  hand-written NumPy (broadcasting)   {fmt_ms(t['pe_numpy'])}" + mn("pe_numpy"))
    print(f"  spmdgrad Python loop of grad        {fmt_ms(t['loop_spmdgrad'])}" + mn("loop_spmdgrad"))
    for name, res in peers.items():
        if isinstance(res, str):
            print(f"  peer {name}: {res}")
            continue
        line = (f"  peer {name} {res['version']}: vmap(grad) {fmt_ms(res['vmap_grad'])} "
                f"(min {fmt_ms(res['vmap_grad_min'])})")
        if "jit_vmap_grad" in res:
            line += f", jit(vmap(grad)) {fmt_ms(res['jit_vmap_grad'])}"
        if "loop" in res:
            line += f", Python loop {fmt_ms(res['loop'])}"
        print(line)
    r_np = t["pe_spmdgrad"] / t["pe_numpy"]
    r_loop = t["loop_spmdgrad"] / t["pe_spmdgrad"]
    print(f"  ratio spmdgrad / NumPy              {r_np:9.2f}x   bar <= 1.5x: "
          f"{'MET' if r_np <= 1.5 else 'MISSED'}   (minima: "
          f"{t['pe_spmdgrad_min'] / t['pe_numpy_min']:.2f}x)")
    print(f"  ratio loop / vmap                   {r_loop:9.1f}x   bar >= 10x: "
          f"{'MET' if r_loop >= 10 else 'MISSED'}   (minima: "
          f"{t['loop_spmdgrad_min'] / t['pe_spmdgrad_min']:.1f}x)")
    for name, res in peers.items():
        if isinstance(res, dict):
            print(f"  ratio spmdgrad / {name} vmap(grad)   {t['pe_spmdgrad'] / res['vmap_grad']:9.2f}x")

    print("\n(b) total gradient over the batch")
    print(f"  spmdgrad reduce_axes=('b',), out_axes=None {fmt_ms(t['total_spmdgrad'])}"
          + mn("total_spmdgrad"))
    print(f"  spmdgrad jit of the same                   {fmt_ms(t['total_jit'])}"
          + mn("total_jit"))
    print(f"  hand-written NumPy X.T @ delta             {fmt_ms(t['total_numpy'])}"
          + mn("total_numpy"))
    print(f"  spmdgrad per-example then sum (avoid)      {fmt_ms(t['total_via_per_example'])}"
          + mn("total_via_per_example"))
    for name, res in peers.items():
        if isinstance(res, dict):
            print(f"  peer {name} batch gradient                  {fmt_ms(res['batch_total'])} "
                  f"(min {fmt_ms(res['batch_total_min'])})")
    r_tot = t["total_spmdgrad"] / t["total_numpy"]
    print(f"  ratio spmdgrad / NumPy                     {r_tot:9.2f}x   bar <= 2x: "
          f"{'MET' if r_tot <= 2 else 'MISSED'}   (minima: "
          f"{t['total_spmdgrad_min'] / t['total_numpy_min']:.2f}x)")
    r_jit = t["total_jit"] / t["total_numpy"]
    print(f"  ratio spmdgrad jit / NumPy                 {r_jit:9.2f}x   bar <= 2x: "
          f"{'MET' if r_jit <= 2 else 'MISSED'}   (minima: "
          f"{t['total_jit_min'] / t['total_numpy_min']:.2f}x)")

    print("\npeak memory, one call in a fresh subprocess per variant (MB)")
    print(f"  {'variant':24s} {'tracemalloc peak':>17s} {'peak RSS growth':>14s} {'output':>8s}")
    for v in VARIANTS:
        m = memory(v)
        if "error" in m:
            print(f"  {v:24s} failed: {m['error']}")
            continue
        print(f"  {v:24s} {m['tracemalloc_peak'] / 1e6:17.1f} {m['maxrss_growth'] / 1e6:14.1f} "
              f"{m['output_bytes'] / 1e6:8.2f}")


if __name__ == "__main__":
    main()
