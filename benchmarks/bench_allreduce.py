"""Gradient all-reduce of a 100-leaf pytree at 2 ranks: spmdgrad vs raw MPI.

Command (from the repository root)::

    .venv/bin/mpiexec -n 2 .venv/bin/python -m mpi4py benchmarks/bench_allreduce.py [--repeat 9]

The pytree: 100 float64 leaves, sizes log-spaced from 1e2 to 1e5 elements
(about 1.48e6 elements, 11.9 MB in total). Each rank holds one local shard (k=1).
Timed round-robin (every round times each variant once, in a shuffled order, between
barriers; a round's time is the slowest rank's), median over ``repeat`` rounds after
warm-up:

- raw: one ``comm.Allreduce(IN_PLACE)`` of a single preallocated contiguous buffer
  of the same total bytes (the physical reference);
- raw + pack: copy the 100 leaves into a preallocated buffer, Allreduce, unpack
  as views (what any fused implementation must at least do);
- per-leaf Allreduce (100 buffer calls) and per-leaf pickle ``allreduce``, for contrast;
- spmdgrad ``pmap(lambda g: psum(g, 'i'), out_axes=None)`` on the pytree: the
  collective path alone, with the cross-rank consistency checks on (default) and off;
- spmdgrad ``pmap(grad(f, reduce_axes=('i',)), in_axes=(None, 0), out_axes=None)``
  where f(params, xs) = sum over leaves of sum(p * x) with per-rank data xs (so each
  leaf's cotangent is a full-size varying array), and the same ``grad`` without
  ``reduce_axes`` (per-shard gradient, no communication); their difference is
  the cost of the reduction inside grad. ``grad reduce_axes`` runs with the default
  gradient buckets (11.9 MB > 1 MB: a 1 MB bucket started during the backward
  pass, then the rest; :mod:`spmdgrad.collectives.buckets`; each leaf's cotangent,
  the transposed product ``p * x``, is written straight into its bucket, so nothing is
  packed), and again with bucketing off (one fused Allreduce after the backward pass,
  which packs the 100 cotangents first);
- the same two under ``jit``: the compiled program keeps one fused Allreduce, and its
  products are written straight into the pack buffer (:mod:`spmdgrad.compile`).

Bar: the spmdgrad reduction within 1.3x of the raw single-buffer Allreduce. The
per-round ratios also compare spmdgrad with the hand-written pack + Allreduce + unpack,
the floor of any design that copies the leaves into one buffer: on a shared 2-core host
that copy alone costs 0.4-0.9x the Allreduce.

The checked results of the set-up are dropped before timing: the reduced values are
views of reusable pack buffers (:mod:`spmdgrad.collectives.psum`), which stay busy
while a result is held, as a training loop drops last step's gradients. (Holding them
made every timed call allocate and page-fault a fresh 12 MB buffer.)
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from _common import fmt_ms, mpi_round_times, mpi_timed_rounds, print_environment  # noqa: E402
from mpi4py import MPI  # noqa: E402

import spmdgrad  # noqa: E402
import spmdgrad.numpy as jnp  # noqa: E402
from spmdgrad import mpi as smpi  # noqa: E402
from spmdgrad.collectives import buckets  # noqa: E402
from spmdgrad.lax import psum  # noqa: E402

N_LEAVES = 100
SIZES = np.unique(np.geomspace(1e2, 1e5, N_LEAVES).astype(int))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=9)
    args = ap.parse_args()
    if args.repeat < 7:
        raise SystemExit("--repeat must be >= 7")
    comm = MPI.COMM_WORLD.Clone()
    rank, size = comm.Get_rank(), comm.Get_size()
    if rank == 0:
        print_environment(f"bench_allreduce: {len(SIZES)}-leaf float64 gradient pytree, "
                          f"{size} ranks")
    assert len(SIZES) == N_LEAVES, len(SIZES)
    total = int(SIZES.sum())
    rng = np.random.default_rng(rank)
    leaves = [rng.standard_normal(n) for n in SIZES]
    params = [np.zeros(n) for n in SIZES]

    # raw references
    flat = np.empty(total)
    offsets = np.concatenate([[0], np.cumsum(SIZES)])

    def raw():
        comm.Allreduce(MPI.IN_PLACE, flat, MPI.SUM)

    def raw_pack():
        for x, a, b in zip(leaves, offsets[:-1], offsets[1:]):
            flat[a:b] = x
        comm.Allreduce(MPI.IN_PLACE, flat, MPI.SUM)
        return [flat[a:b] for a, b in zip(offsets[:-1], offsets[1:])]

    def per_leaf():
        out = []
        for x in leaves:
            y = np.empty_like(x)
            comm.Allreduce(x, y, MPI.SUM)
            out.append(y)
        return out

    def per_leaf_pickle():
        return [comm.allreduce(x, MPI.SUM) for x in leaves]

    # spmdgrad
    sum_tree = spmdgrad.pmap(lambda g: psum(g, "i"), axis_name="i", out_axes=None)
    local = [x[None] for x in leaves]  # k = 1 local shard

    def f(params, xs):
        s = 0.0
        for p, x in zip(params, xs):
            s = s + jnp.sum(p * x)
        return s

    g_total = spmdgrad.pmap(spmdgrad.grad(f, reduce_axes=("i",)), axis_name="i",
                            in_axes=(None, 0), out_axes=None)
    g_local = spmdgrad.pmap(spmdgrad.grad(f), axis_name="i", in_axes=(None, 0), out_axes=0)

    # correctness before timing
    ref = comm.allreduce(np.concatenate(leaves), MPI.SUM)
    got = np.concatenate(sum_tree(local))
    assert np.allclose(got, ref), "pmap psum disagrees with the raw Allreduce"
    gt = g_total(params, local)
    assert np.allclose(np.concatenate(gt), ref), "grad(reduce_axes) total is wrong"
    assert all(g.dtype == np.float64 for g in gt)
    gl = g_local(params, local)
    assert all(np.array_equal(g, x) for g, x in zip(gl, local)), "per-shard grad is wrong"

    def checks_off(fn):
        def run():
            prev = smpi.set_checks(False)
            try:
                return fn()
            finally:
                smpi.set_checks(prev)
        return run

    def fused(fn):
        def run():
            prev = buckets.set_bucket_sizes(0)
            try:
                return fn()
            finally:
                buckets.set_bucket_sizes(*prev)
        return run

    gf = fused(lambda: g_total(params, local))()
    assert all(np.array_equal(a, b) for a, b in zip(gf, gt)), "bucketed != fused"
    jg_total, jg_local = spmdgrad.jit(g_total), spmdgrad.jit(g_local)
    gj = jg_total(params, local)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(gj, gt)), "jit != eager"
    assert all(np.array_equal(a, b) for a, b in zip(jg_local(params, local), gl)), "jit per-shard"
    # The reduced values are views of reusable pack buffers, busy while a result is held:
    # drop the checked results, as a training loop drops last step's gradients.
    del got, gt, gl, gf, gj

    t, tmin = mpi_timed_rounds(comm, fns := {
        "raw": raw,
        "raw_pack": raw_pack,
        "per_leaf": per_leaf,
        "per_leaf_pickle": per_leaf_pickle,
        "psum_tree": lambda: sum_tree(local),
        "psum_tree_nocheck": checks_off(lambda: sum_tree(local)),
        "grad_total": lambda: g_total(params, local),
        "grad_total_nocheck": checks_off(lambda: g_total(params, local)),
        "grad_total_fused": fused(lambda: g_total(params, local)),
        "grad_local": lambda: g_local(params, local),
        "jit_total": lambda: jg_total(params, local),
        "jit_local": lambda: jg_local(params, local),
    }, args.repeat)
    per_round = _round_ratios(comm, fns, args.repeat)
    if rank != 0:
        return
    mb = total * 8 / 1e6
    print(f"{N_LEAVES} leaves, {total} float64 elements ({mb:.1f} MB), {size} ranks, "
          f"medians (and minima) of {args.repeat} rounds, slowest rank")
    rows = [
        ("raw Allreduce, one contiguous buffer", "raw"),
        ("raw pack + Allreduce + unpack views", "raw_pack"),
        ("per-leaf Allreduce (100 calls)", "per_leaf"),
        ("per-leaf pickle allreduce (100 calls)", "per_leaf_pickle"),
        ("spmdgrad pmap psum(pytree), checks on", "psum_tree"),
        ("spmdgrad pmap psum(pytree), checks off", "psum_tree_nocheck"),
        ("spmdgrad pmap grad reduce_axes, checks on", "grad_total"),
        ("spmdgrad pmap grad reduce_axes, checks off", "grad_total_nocheck"),
        ("spmdgrad pmap grad reduce_axes, one fused call", "grad_total_fused"),
        ("spmdgrad pmap grad, per-shard (no comm)", "grad_local"),
        ("spmdgrad jit(pmap grad reduce_axes)", "jit_total"),
        ("spmdgrad jit(pmap grad), per-shard (no comm)", "jit_local"),
    ]
    for label, k in rows:
        print(f"  {label:46s} {fmt_ms(t[k])}   {t[k] / t['raw']:6.2f}x raw"
              f"   (min {fmt_ms(tmin[k])}, {tmin[k] / tmin['raw']:5.2f}x)")
    red = t["grad_total"] - t["grad_local"]
    red_nc = t["grad_total_nocheck"] - t["grad_local"]
    red_min = tmin["grad_total"] - tmin["grad_local"]
    red_f = t["grad_total_fused"] - t["grad_local"]
    print(f"  {'reduction inside grad (total - per-shard)':46s} {fmt_ms(red)}   "
          f"{red / t['raw']:6.2f}x raw   (checks off: {red_nc / t['raw']:.2f}x; "
          f"minima: {red_min / tmin['raw']:.2f}x)")
    print(f"  {'reduction inside grad, buckets off':46s} {fmt_ms(red_f)}   {red_f / t['raw']:6.2f}x raw")
    red_j = t["jit_total"] - t["jit_local"]
    print(f"  {'reduction inside jit(grad)':46s} {fmt_ms(red_j)}   {red_j / t['raw']:6.2f}x raw")
    print(f"medians of per-round ratios ({args.repeat} more rounds of raw, raw_pack, psum_tree, "
          "grad_total, grad_total_fused, grad_local, jit_total, jit_local):")
    for label, r in per_round.items():
        print(f"  {label:66s} {r:6.2f}x")
    for label, key in (("psum(pytree)", "psum(pytree) / raw"),
                       ("reduction inside grad", "reduction inside grad (buckets) / raw")):
        r = per_round[key]
        print(f"bar: {label} <= 1.3x raw (median of per-round ratios): {r:.2f}x "
              f"{'MET' if r <= 1.3 else 'MISSED'}")


def _round_ratios(comm, fns, repeat):
    """Medians of per-round ratios: each round times the eight variants once (shuffled
    order, barrier before each, slowest rank's time)."""
    import statistics
    names = ["raw", "raw_pack", "psum_tree", "grad_total", "grad_total_fused", "grad_local",
             "jit_total", "jit_local"]
    times = mpi_round_times(comm, {n: fns[n] for n in names}, repeat, warmup=0, seed=99)
    rounds = [{n: times[n][r] for n in names} for r in range(repeat)]

    def med(f):
        return statistics.median(f(t) for t in rounds)
    return {
        "raw pack + Allreduce + unpack / raw (the hand-written floor)": med(
            lambda t: t["raw_pack"] / t["raw"]),
        "psum(pytree) / raw": med(lambda t: t["psum_tree"] / t["raw"]),
        "reduction inside grad (buckets) / raw": med(
            lambda t: (t["grad_total"] - t["grad_local"]) / t["raw"]),
        "reduction inside grad (one fused call) / raw": med(
            lambda t: (t["grad_total_fused"] - t["grad_local"]) / t["raw"]),
        "reduction inside jit(grad) (in-place pack) / raw": med(
            lambda t: (t["jit_total"] - t["jit_local"]) / t["raw"]),
        "grad step, buckets / one fused call": med(lambda t: t["grad_total"] / t["grad_total_fused"]),
        "psum(pytree) / raw pack + Allreduce + unpack": med(lambda t: t["psum_tree"] / t["raw_pack"]),
        "reduction inside grad (buckets) / raw pack + Allreduce + unpack": med(
            lambda t: (t["grad_total"] - t["grad_local"]) / t["raw_pack"]),
    }


if __name__ == "__main__":
    main()
