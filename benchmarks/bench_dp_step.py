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
  same update (what a careful hand-written data-parallel step costs); at 1 rank also
  the same step without the pack and the 1-rank Allreduce ("no communication"), which
  is what spmdgrad's 1-rank pmap does. The efficiency table shows both for NumPy.

``--scaling`` launches this script under ``mpiexec -n 1`` and ``-n 2``, and the peers
(dev-only, each from its own venv under ``$SPMDGRAD_PEERS``, see README.md): torch eager at
1 rank, torch ``DistributedDataParallel`` over gloo at 2 ranks (2 processes on localhost,
its own launch) and JAX ``jit`` of the whole step in one process. All these jobs run at
once but take turns (``_turns.py``): each round times every job once (best of 3 batches of 3 calls), in a shuffled
order, while the others sleep. It reports, as medians of per-round ratios, every step
against the NumPy+MPI reference at the same rank count, and the weak-scaling efficiency
t(1 rank) / t(2 ranks) of each (torch: eager at 1 rank, DDP at 2). It sets
``OPENBLAS_NUM_THREADS=1`` for the children unless it is already set, so two ranks on
two cores do not oversubscribe (the peers get one intra-op thread); the value used is
printed.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)

from _common import fmt_ms, mpi_timed_rounds, peer_env, peer_python, print_environment, round_ratios  # noqa: E402
from _mlp import batch_loss, make_problem, numpy_batch_grads  # noqa: E402
from _turns import drive, job_rounds  # noqa: E402

BATCH = 256
LR = np.float32(0.1)


def measure(repeat, turns=None):
    from mpi4py import MPI

    import spmdgrad
    import spmdgrad.numpy as jnp
    comm = MPI.COMM_WORLD.Clone()
    rank, size = comm.Get_rank(), comm.Get_size()
    params, _, _ = make_problem(batch=1)
    _, X, Y = make_problem(batch=BATCH, seed=100 + rank)
    n_global = BATCH * size

    def loss(params, X, Y):
        return batch_loss(jnp, params, X, Y, n_global)

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
    if size == 1:   # the reference as spmdgrad's 1-rank pmap runs: no pack, no 1-rank Allreduce
        scale = np.float32(1.0 / n_global)
        fns["numpy_local"] = lambda: tuple(p - LR * (g * scale)
                                           for p, g in zip(params, numpy_batch_grads(params, X, Y)))
        for a, b in zip(fns["numpy_local"](), numpy_step(params), strict=True):
            assert np.allclose(a, b, rtol=1e-5, atol=1e-7), np.abs(a - b).max()
    if turns is not None:  # a job of --scaling: one round per turn the driver gives
        job_rounds(*turns, rank, fns, repeat, barrier=comm.Barrier,
                   slowest=lambda t: comm.allreduce(t, op=MPI.MAX), info={"ranks": size})
        return rank, None
    med, mins = mpi_timed_rounds(comm, fns, repeat)
    res = {"ranks": size, **med, **{k + "_min": v for k, v in mins.items()}}
    return rank, res


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scaling_jobs(folder, repeat, env, peers):
    """tag -> [(argv, env)], one entry per process the driver starts."""
    mpiexec = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    jobs = {f"mpi{n}": [(["timeout", "900", mpiexec, "-n", str(n), sys.executable, "-m", "mpi4py",
                          os.path.abspath(__file__), "--turns", folder, f"mpi{n}", "--repeat", str(repeat)],
                         env)] for n in (1, 2)}
    if not peers:
        return jobs
    penv = {**peer_env(), "OPENBLAS_NUM_THREADS": env["OPENBLAS_NUM_THREADS"]}
    torch_py, jax_py = peer_python("torch"), peer_python("jax")
    if torch_py is None:
        print("# torch: not installed (no venv 'torch' under $SPMDGRAD_PEERS)")
    else:
        script = os.path.join(HERE, "_peers", "dp_torch.py")
        port = free_port()
        for tag, world in (("torch1", 1), ("ddp2", 2)):
            jobs[tag] = [(["timeout", "900", torch_py, script, folder, tag, str(repeat), str(world), str(r),
                           str(port)], penv) for r in range(world)]
    if jax_py is None:
        print("# JAX: not installed (no venv 'jax' under $SPMDGRAD_PEERS)")
    else:
        jobs["jax1"] = [(["timeout", "900", jax_py, os.path.join(HERE, "_peers", "dp_jax.py"), folder, "jax1",
                          str(repeat)], penv)]
    return jobs


# (row label, job tag, variant): the step at 1 rank and at 2 ranks; torch is eager at 1, DDP at 2.
ROWS = {1: [("NumPy + MPI Allreduce", "mpi1", "numpy_mpi"), ("NumPy, no communication", "mpi1", "numpy_local"),
            ("spmdgrad", "mpi1", "spmdgrad"),
            ("spmdgrad jit", "mpi1", "spmdgrad_jit"), ("torch eager", "torch1", "torch"),
            ("JAX jit (whole step)", "jax1", "jax")],
        2: [("NumPy + MPI Allreduce", "mpi2", "numpy_mpi"), ("spmdgrad", "mpi2", "spmdgrad"),
            ("spmdgrad jit", "mpi2", "spmdgrad_jit"), ("torch DDP (gloo)", "ddp2", "torch")]}
SCALING = [("NumPy + MPI", ("mpi1", "numpy_mpi"), ("mpi2", "numpy_mpi")),
           # the reference's t(1) without its pack and 1-rank Allreduce, which spmdgrad's
           # 1-rank pmap skips too (informational; the target compares with the row above)
           ("NumPy + MPI, none at 1 rank", ("mpi1", "numpy_local"), ("mpi2", "numpy_mpi")),
           ("spmdgrad", ("mpi1", "spmdgrad"), ("mpi2", "spmdgrad")),
           ("spmdgrad jit", ("mpi1", "spmdgrad_jit"), ("mpi2", "spmdgrad_jit")),
           ("torch eager -> DDP", ("torch1", "torch"), ("ddp2", "torch"))]


def scaling(repeat, peers=True):
    env = dict(os.environ)
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ["OPENBLAS_NUM_THREADS"] = env["OPENBLAS_NUM_THREADS"]  # recorded below
    print_environment("bench_dp_step: MLP 784-128-10 float32, 256 examples per rank")
    with tempfile.TemporaryDirectory(prefix="bench_dp_step.") as folder:
        jobs = scaling_jobs(folder, repeat, env, peers)
        try:
            rounds, infos = drive(folder, jobs, repeat)
        except (RuntimeError, TimeoutError) as e:
            print(f"failed: {e}")
            return
    for tag in ("torch1", "ddp2", "jax1"):
        if tag in infos:
            print(f"# {tag}: " + ", ".join(f"{k}={v}" for k, v in infos[tag].items()))
    for warning in infos["warnings"]:
        print(f"# WARNING: {warning}")

    def series(tag, variant):
        return [r[variant] for r in rounds[tag]]

    def ratio(a, b):  # median and quartiles of per-round ratios
        return round_ratios(series(*a), series(*b))

    print(f"# {repeat} rounds; every job timed once per round, in a shuffled order; "
          "ratios are medians of per-round ratios")
    for n, rows in ROWS.items():
        ref = rows[0][1:]
        print(f"\n{n} rank(s){'':22s} {'median':>10s} {'min':>10s} {'/ NumPy+MPI':>12s}  quartiles")
        for label, tag, variant in rows:
            if tag not in rounds:
                continue
            ts = series(tag, variant)
            med, q1, q3 = ratio((tag, variant), ref)
            print(f"  {label:<28s} {fmt_ms(statistics.median(ts))} {fmt_ms(min(ts))} {med:11.2f}x  "
                  f"{q1:.2f}-{q3:.2f}")
    print(f"\n{'weak-scaling efficiency t(1)/t(2)':<36s} {'per-round':>10s}  quartiles  {'of medians':>10s}")
    for label, one, two in SCALING:
        if one[0] in rounds and two[0] in rounds:
            of_medians = statistics.median(series(*one)) / statistics.median(series(*two))
            med, q1, q3 = ratio(one, two)
            print(f"  {label:<34s} {med:10.2f}  {q1:.2f}-{q3:.2f}  {of_medians:10.2f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--scaling", action="store_true", help="run at 1 and 2 ranks")
    ap.add_argument("--no-peers", action="store_true", help="--scaling without torch and JAX")
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--turns", nargs=2, metavar=("FOLDER", "TAG"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.repeat < 7:
        raise SystemExit("--repeat must be >= 7")
    if args.scaling:
        return scaling(args.repeat, peers=not args.no_peers)
    rank, res = measure(args.repeat, args.turns)
    if rank != 0 or args.turns:
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
