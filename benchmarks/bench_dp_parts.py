"""Where the compiled data-parallel step's time goes at 1 or 2 ranks: its pieces against
the NumPy + MPI reference of ``bench_dp_step.py``.

Command (from the repository root)::

    .venv/bin/mpiexec -n 2 .venv/bin/python -m mpi4py benchmarks/bench_dp_parts.py --repeat 61

Same problem as bench_dp_step (MLP 784-128-10, float32, 256 examples per rank, k=1),
gradient only (no parameter update). Variants, timed round-robin: each round calls
every variant 5 times after a barrier, in a shuffled order (the same on every rank),
and takes the slowest rank's time per call. Printed: medians, and medians of per-round
ratios to the reference.

- ``numpy_mpi``: the reference, hand-written gradient + pack + one ``Allreduce``;
- ``numpy_local``: the hand-written gradient alone;
- ``jit_local``: ``jit(grad(loss))`` on the rank's batch, no communication;
- ``jit_local_allreduce``: the same + one raw ``Allreduce`` of an already packed buffer
  (the floor for this compiled compute);
- ``jit_local_pack_allreduce``: the same + the pack copy (the hand-written way);
- ``jit_pmap_shards_allreduce``: ``jit(pmap(grad(loss)))`` per-shard gradients + the raw
  ``Allreduce`` (pmap's own cost, without its reduction path);
- ``jit_pmap_reduce``: ``jit(pmap(grad(loss, reduce_axes=('i',))))``, what bench_dp_step
  times; ``..._checks_off``: the same with the consistency checks off (on every rank).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from _common import mpi_round_times, print_environment, round_ratios  # noqa: E402
from _mlp import batch_loss, make_problem, numpy_batch_grads  # noqa: E402

BATCH = 256
CALLS = 5


def variants(comm):
    from mpi4py import MPI

    import spmdgrad
    import spmdgrad.numpy as jnp
    from spmdgrad.mpi import set_checks

    size = comm.Get_size()
    params, _, _ = make_problem(batch=1)
    _, X, Y = make_problem(batch=BATCH, seed=100 + comm.Get_rank())
    Xl, Yl = X[None], Y[None]

    def loss(params, X, Y):
        return batch_loss(jnp, params, X, Y, BATCH * size)

    reduce = spmdgrad.jit(spmdgrad.pmap(spmdgrad.grad(loss, reduce_axes=("i",)), axis_name="i",
                                        in_axes=(None, 0, 0), out_axes=None))
    shards = spmdgrad.jit(spmdgrad.pmap(spmdgrad.grad(loss), axis_name="i", in_axes=(None, 0, 0)))
    local = spmdgrad.jit(spmdgrad.grad(loss))
    ends = np.cumsum([p.size for p in params])
    flat = np.zeros(ends[-1], np.float32)

    def allreduce():
        comm.Allreduce(MPI.IN_PLACE, flat, MPI.SUM)

    def pack_allreduce(grads):
        for g, a, b in zip(grads, [0, *ends[:-1]], ends, strict=True):
            flat[a:b] = g.reshape(-1)
        allreduce()

    def checks_off():
        set_checks(False)
        try:
            reduce(params, Xl, Yl)
        finally:
            set_checks(True)

    # Checked before timing: the reduced gradient is the reference's, up to float32 rounding.
    pack_allreduce(numpy_batch_grads(params, X, Y))
    for g, a, b in zip(reduce(params, Xl, Yl), [0, *ends[:-1]], ends, strict=True):
        want = flat[a:b].reshape(g.shape) / np.float32(BATCH * size)
        assert np.allclose(g, want, rtol=1e-4, atol=1e-6), np.abs(g - want).max()
    return {
        "numpy_mpi": lambda: pack_allreduce(numpy_batch_grads(params, X, Y)),
        "numpy_local": lambda: numpy_batch_grads(params, X, Y),
        "jit_local": lambda: local(params, X, Y),
        "jit_local_allreduce": lambda: (local(params, X, Y), allreduce()),
        "jit_local_pack_allreduce": lambda: pack_allreduce(local(params, X, Y)),
        "jit_pmap_shards_allreduce": lambda: (shards(params, Xl, Yl), allreduce()),
        "jit_pmap_reduce": lambda: reduce(params, Xl, Yl),
        "jit_pmap_reduce_checks_off": checks_off,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=31)
    args = ap.parse_args()
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    times = mpi_round_times(comm, variants(comm), args.repeat, warmup=20, calls=CALLS)
    if comm.Get_rank() != 0:
        return
    print_environment(f"bench_dp_parts: MLP 784-128-10 float32, {BATCH} examples per rank, "
                      f"{comm.Get_size()} rank(s), {args.repeat} rounds of {CALLS} calls")
    print(f"{'variant':<30s} {'median':>10s}  {'/ numpy_mpi':>11s}  quartiles")
    for name, ts in times.items():
        med, q1, q3 = round_ratios(ts, times["numpy_mpi"])
        print(f"{name:<30s} {statistics.median(ts) * 1e6:7.0f} us  {med:10.3f}x  {q1:.3f}-{q3:.3f}")


if __name__ == "__main__":
    main()
