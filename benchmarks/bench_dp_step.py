"""One data-parallel training step of the MLP at 1 and 2 ranks (weak scaling).

Commands (from the repository root)::

    .venv/bin/mpiexec -n 2 .venv/bin/python -m mpi4py benchmarks/bench_dp_step.py   # one size
    .venv/bin/python benchmarks/bench_dp_step.py --scaling                           # 1 and 2 ranks

Problem (benchmarks/_mlp.py): MLP 784-128-10, ReLU, softmax cross-entropy, float32,
a fixed per-rank batch of 256 examples (weak scaling: the global batch grows with
the ranks). Each rank holds one local shard (k=1) with its 256 examples.

Timed, round-robin, median over ``repeat`` rounds after warm-up (a round's time
is the slowest rank's):

- spmdgrad: ``pmap(grad(loss, reduce_axes=('i',)), axis_name='i', in_axes=(None, 0, 0),
  out_axes=None)`` then ``p - lr * g`` for every leaf;
- reference: hand-written NumPy batch gradient + one packed ``comm.Allreduce`` + the
  same update (what a careful hand-written data-parallel step costs).

``--scaling`` launches this script under ``mpiexec -n 1`` and ``-n 2`` and reports the
weak-scaling efficiency t(1 rank) / t(2 ranks) of both. It sets
``OPENBLAS_NUM_THREADS=1`` for the children unless it is already set, so two ranks on
two cores do not oversubscribe; the value used is printed.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)

from _common import fmt_ms, mpi_timed_rounds, print_environment  # noqa: E402
from _mlp import make_problem, numpy_batch_grads  # noqa: E402

BATCH = 256
LR = np.float32(0.1)


def measure(repeat):
    from mpi4py import MPI

    import spmdgrad
    import spmdgrad.numpy as jnp
    comm = MPI.COMM_WORLD.Clone()
    rank, size = comm.Get_rank(), comm.Get_size()
    params, _, _ = make_problem(batch=1)
    _, X, Y = make_problem(batch=BATCH, seed=100 + rank)
    n_global = BATCH * size

    def loss(params, X, Y):
        W1, b1, W2, b2 = params
        h = jnp.maximum(X @ W1 + b1, 0.0)
        z = h @ W2 + b2
        s = z - jnp.max(z, axis=1, keepdims=True)
        lse = jnp.log(jnp.sum(jnp.exp(s), axis=1, keepdims=True))
        return -jnp.sum(Y * (s - lse)) / n_global

    grad_fn = spmdgrad.pmap(spmdgrad.grad(loss, reduce_axes=("i",)), axis_name="i",
                            in_axes=(None, 0, 0), out_axes=None)
    Xl, Yl = X[None], Y[None]

    def spmd_step(params):
        g = grad_fn(params, Xl, Yl)
        return tuple(p - LR * gi for p, gi in zip(params, g))

    grad_jit = spmdgrad.jit(grad_fn)

    def spmd_jit_step(params):
        g = grad_jit(params, Xl, Yl)
        return tuple(p - LR * gi for p, gi in zip(params, g))

    sizes = [p.size for p in params]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    flat = np.empty(offsets[-1], np.float32)

    def numpy_grads(params):
        for g, a, b in zip(numpy_batch_grads(params, X, Y), offsets[:-1], offsets[1:]):
            flat[a:b] = g.reshape(-1)
        comm.Allreduce(MPI.IN_PLACE, flat, MPI.SUM)
        np.multiply(flat, np.float32(1.0 / n_global), out=flat)
        return [flat[a:b].reshape(p.shape) for p, a, b in zip(params, offsets[:-1], offsets[1:])]

    def numpy_step(params):
        return tuple(p - LR * g for p, g in zip(params, numpy_grads(params)))

    # Check before timing: spmdgrad's gradient equals the hand-written one, float32.
    g_s = grad_fn(params, Xl, Yl)
    g_n = numpy_grads(params)
    for a, b in zip(list(g_s) + list(grad_jit(params, Xl, Yl)), list(g_n) * 2):
        assert a.dtype == np.float32, f"BUG: gradient dtype {a.dtype}, float32 expected"
        assert np.allclose(a, b, rtol=1e-4, atol=1e-6), np.abs(a - b).max()
    fns = {"spmdgrad": lambda: spmd_step(params), "spmdgrad_jit": lambda: spmd_jit_step(params),
           "numpy_mpi": lambda: numpy_step(params)}
    med, mins = mpi_timed_rounds(comm, fns, repeat)
    res = {"ranks": size, **med, **{k + "_min": v for k, v in mins.items()}}
    return rank, res


def scaling(repeat):
    env = dict(os.environ)
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ["OPENBLAS_NUM_THREADS"] = env["OPENBLAS_NUM_THREADS"]  # recorded below
    print_environment("bench_dp_step: MLP 784-128-10 float32, 256 examples per rank")
    mpiexec = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    out = {}
    for n in (1, 2):
        cmd = ["timeout", "600", mpiexec, "-n", str(n), sys.executable, "-m", "mpi4py",
               os.path.abspath(__file__), "--json", "--repeat", str(repeat)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        if proc.returncode != 0:
            print(f"{n} rank(s) failed: {proc.stderr.strip()[-2000:]}")
            return
        out[n] = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"{'ranks':>5s} {'spmdgrad step':>14s} {'jit step':>10s} {'NumPy+MPI step':>15s} "
          f"{'ratio':>7s} {'jit ratio':>9s}")
    for n, r in out.items():
        print(f"{n:5d} {fmt_ms(r['spmdgrad']):>14s} {fmt_ms(r['spmdgrad_jit']):>10s} "
              f"{fmt_ms(r['numpy_mpi']):>15s} {r['spmdgrad'] / r['numpy_mpi']:6.2f}x "
              f"{r['spmdgrad_jit'] / r['numpy_mpi']:8.2f}x   (minima {fmt_ms(r['spmdgrad_min'])}, "
              f"{fmt_ms(r['spmdgrad_jit_min'])}, {fmt_ms(r['numpy_mpi_min'])})")
    for k, label in (("spmdgrad", "spmdgrad"), ("spmdgrad_jit", "jit"), ("numpy_mpi", "NumPy+MPI")):
        eff = out[1][k] / out[2][k]
        print(f"weak-scaling efficiency t(1)/t(2), {label:9s}: {eff:5.2f} "
              f"(minima: {out[1][k + '_min'] / out[2][k + '_min']:.2f})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--scaling", action="store_true", help="run at 1 and 2 ranks")
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.repeat < 7:
        raise SystemExit("--repeat must be >= 7")
    if args.scaling:
        return scaling(args.repeat)
    rank, res = measure(args.repeat)
    if rank != 0:
        return
    if args.json:
        print(json.dumps(res))
        return
    print_environment(f"bench_dp_step: MLP 784-128-10 float32, 256 examples per rank, "
                      f"{res['ranks']} rank(s)")
    print(f"spmdgrad step   {fmt_ms(res['spmdgrad'])}  (min {fmt_ms(res['spmdgrad_min'])})")
    print(f"jit step        {fmt_ms(res['spmdgrad_jit'])}  (min {fmt_ms(res['spmdgrad_jit_min'])})")
    print(f"NumPy+MPI step  {fmt_ms(res['numpy_mpi'])}  (min {fmt_ms(res['numpy_mpi_min'])})")
    print(f"ratio spmdgrad / NumPy+MPI: {res['spmdgrad'] / res['numpy_mpi']:.2f}x")


if __name__ == "__main__":
    main()
