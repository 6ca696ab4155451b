"""Cost of the cross-rank schedule check per collective, at 2 ranks.

Command (from the repository root)::

    .venv/bin/mpiexec -n 2 .venv/bin/python -m mpi4py benchmarks/bench_checks.py [--repeat 9]

Timed round-robin (each round times every variant once, in a shuffled order, between
barriers; a round's time is the slowest rank's), median over ``repeat`` rounds, each
round ``--calls`` calls of the variant:

- ``raw Allreduce 2xint64``: the blocking 2-int Allreduce the old check made;
- ``Iallreduce + watchdog wait``: the same exchange as the check now makes it
  (non-blocking, completed by the stall watchdog's Test polling);
- ``check (cached)``: the whole check of one collective: fingerprint from the
  per-call-site cache, running hash, the exchange;
- ``site lookup``: finding the user's call site on the stack (done once per
  collective when the MPI primitive is bound);
- a pmap with 10 psums of a 100-element array, checks on and off: the difference
  divided by its 11 checks (one at pmap entry) is the cost per collective in a
  real program.

Printed: microseconds per call and the ratio of the check to the raw 2-int Allreduce.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from _common import fmt_us, mpi_timed_rounds, print_environment  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--calls", type=int, default=200)
    args = ap.parse_args()

    from mpi4py import MPI

    from spmdgrad import pmap
    from spmdgrad.lax import psum
    from spmdgrad.mpi import consistency, schedule
    from spmdgrad.mpi.comm import comm_state

    comm = MPI.COMM_WORLD
    if comm.Get_rank() == 0:
        print_environment("bench_checks: cost of the schedule check per collective")
    state = comm_state()
    calls = args.calls
    sig = np.zeros(2, np.int64)
    x = np.ones(100)
    site = schedule.site()

    def raw():
        for _ in range(calls):
            comm.Allreduce(MPI.IN_PLACE, sig, MPI.MAX)

    def nonblocking():
        for _ in range(calls):
            state.allreduce_max(sig)

    def check():
        for _ in range(calls):
            state.check("allreduce[sum] over axis 'i'", [x], "", site)

    def lookup():
        for _ in range(calls):
            schedule.site()

    def ten_psums(v):
        for _ in range(10):
            v = psum(v, "i") * 0.5
        return v
    step = pmap(ten_psums, axis_name="i")
    xs = np.ones((1, 100))

    def pmap_on():
        consistency.set_checks(True)
        for _ in range(calls // 10):
            step(xs)

    def pmap_off():
        consistency.set_checks(False)
        for _ in range(calls // 10):
            step(xs)
        consistency.set_checks(True)

    fns = {"raw": raw, "nonblocking": nonblocking, "check": check, "lookup": lookup,
           "pmap_on": pmap_on, "pmap_off": pmap_off}
    med, best = mpi_timed_rounds(comm, fns, args.repeat)
    if comm.Get_rank() != 0:
        return
    per = {k: v / calls for k, v in med.items()}
    per["pmap_on"] = med["pmap_on"] / (calls // 10)
    per["pmap_off"] = med["pmap_off"] / (calls // 10)
    per_check = (per["pmap_on"] - per["pmap_off"]) / 11
    print(f"ranks: {comm.Get_size()}, calls per round: {calls}, rounds: {args.repeat}")
    print(f"raw Allreduce 2xint64          {fmt_us(per['raw'])} per call")
    print(f"Iallreduce + watchdog wait     {fmt_us(per['nonblocking'])} per call "
          f"({per['nonblocking'] / per['raw']:.2f}x raw)")
    print(f"check (cached), whole          {fmt_us(per['check'])} per call "
          f"({per['check'] / per['raw']:.2f}x raw)")
    print(f"site lookup on the stack       {fmt_us(per['lookup'])} per call")
    print(f"pmap of 10 psums, checks on    {fmt_us(per['pmap_on'])} per call")
    print(f"pmap of 10 psums, checks off   {fmt_us(per['pmap_off'])} per call")
    print(f"=> check cost per collective in that program: {fmt_us(per_check)} "
          f"({per_check / per['raw']:.2f}x the raw 2-int Allreduce)")


if __name__ == "__main__":
    main()
