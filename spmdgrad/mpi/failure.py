"""Failure handling once a job spans several ranks: an uncaught exception on any
rank aborts the whole job, and at exit the ranks check that none of them is still
waiting in a collective."""
from __future__ import annotations

import atexit
import sys
import traceback

from . import consistency

_installed = []


def install(state, MPI):
    """On the first multi-rank use of a communicator: abort the job on an uncaught
    exception, and check at exit that no rank is still waiting in a collective."""
    if _installed:
        return
    _installed.append(state)
    previous = sys.excepthook

    def abort_on_exception(etype, value, tb):
        try:
            rank = MPI.COMM_WORLD.Get_rank()
            head = f"[spmdgrad] uncaught exception on rank {rank}; aborting the MPI job\n"
            if previous is sys.__excepthook__:
                # One write, so tracebacks of several ranks do not interleave line by line.
                sys.stderr.write(head + "".join(traceback.format_exception(etype, value, tb)))
            else:
                sys.stderr.write(head)
                previous(etype, value, tb)
            sys.stderr.flush()
            sys.stdout.flush()
        finally:
            MPI.COMM_WORLD.Abort(1)

    sys.excepthook = abort_on_exception
    atexit.register(_exit_check, state, MPI)


def _exit_check(state, MPI):
    # A rank that finishes while another waits in a collective would leave that
    # rank hanging; one last check turns this into an error on both sides.
    if not consistency.checks_enabled() or MPI.Is_finalized():
        return
    try:
        state.check("end of program", "")
    except consistency.MismatchError as e:
        sys.stderr.write(f"[spmdgrad] rank {state.rank} is exiting, but {e}\n")
        sys.stderr.flush()
        MPI.COMM_WORLD.Abort(1)
