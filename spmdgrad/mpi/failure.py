"""Failure handling in a multi-rank job: nothing fails in silence.

Installed when spmdgrad is imported in a process that an MPI launcher started
(nothing happens in a plain single process):

- An uncaught exception on any rank prints ``[spmdgrad] uncaught exception on rank
  r`` and the traceback in one write, flushes, gives the launcher a moment
  (``SPMDGRAD_ABORT_GRACE`` seconds, default 0.5) to forward the output, then ends
  the whole job with ``MPI_Abort``. Once: a second failure while aborting prints
  nothing more (in some MPICH builds ``Abort`` returns to the caller; the process
  then leaves with ``os._exit(1)``).
- At exit, one last schedule check meets whatever the other ranks do next: a rank
  that leaves early (``sys.exit`` before or after its first pmap, or a different
  number of collectives) makes every rank report it instead of hanging.
- Under ``spmdrun``, a rank that finished cleanly leaves a completion marker, so
  the launcher can tell a rank that vanished (``os._exit``, a signal) from one that
  finished.
"""
from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
import time
import traceback


_state = {"installed": False, "aborting": False}
GRACE = float(os.environ.get("SPMDGRAD_ABORT_GRACE", "0.5") or 0.5)
_MARKER_DIR = "SPMDGRAD_MARKER_DIR"


def _mpi_if_initialized():
    MPI = sys.modules.get("mpi4py.MPI")
    if MPI is None or not MPI.Is_initialized() or MPI.Is_finalized():
        return None
    return MPI


def _world_rank():
    MPI = _mpi_if_initialized()
    if MPI is not None:
        return MPI.COMM_WORLD.Get_rank()
    for var in ("PMI_RANK", "PMIX_RANK", "OMPI_COMM_WORLD_RANK"):
        if var in os.environ:
            return int(os.environ[var])
    return 0


def abort(text, status=1):
    """Print ``text`` (one write), flush, wait ``GRACE`` seconds so the launcher forwards
    it, and end the whole job. Never returns; re-entrant calls only exit."""
    if _state["aborting"]:
        os._exit(status)
    _state["aborting"] = True
    try:
        sys.stderr.write(text if text.endswith("\n") else text + "\n")
        sys.stderr.flush()
        sys.stdout.flush()
    except Exception:   # a closed stream must not stop the abort
        pass
    time.sleep(GRACE)
    MPI = _mpi_if_initialized()
    # If Abort itself cannot reach the launcher (a cut network), leave anyway.
    threading.Timer(5.0, os._exit, (status,)).start()
    if MPI is not None:
        MPI.COMM_WORLD.Abort(status)
    os._exit(status)    # Abort returned (or MPI is not running): leave now, quietly


def install():
    """Install the exception hook and the exit check (once per process)."""
    if _state["installed"]:
        return
    _state["installed"] = True
    previous = sys.excepthook
    rank = _world_rank()
    marker = os.environ.get(_MARKER_DIR)
    if marker:
        _touch(os.path.join(marker, f"started.{rank}"))

    def abort_on_exception(etype, value, tb):
        if _state["aborting"]:
            return
        MPI = _mpi_if_initialized()
        if MPI is None or MPI.COMM_WORLD.Get_size() == 1:
            previous(etype, value, tb)   # no job to end: the launcher sees the exit status
            return
        head = f"[spmdgrad] uncaught exception on rank {_world_rank()}; aborting the MPI job\n"
        abort(head + "".join(traceback.format_exception(etype, value, tb)))

    sys.excepthook = abort_on_exception
    atexit.register(_at_exit, marker)
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _on_sigterm)


# What the communicator layer tells this module, so that it imports nothing of it:
# where this rank is (for the SIGTERM message), and the last check at exit.
hooks = {"where": lambda: "", "exit_check": lambda: None}


def _on_sigterm(signum, frame):
    # The launcher ends the job, typically because another rank exited without
    # finishing: say where this rank was, and leave with a non-zero status.
    try:
        sys.stderr.write(f"[spmdgrad] rank {_world_rank()} was terminated by the launcher"
                         f"{hooks['where']()}; another rank probably ended without finishing\n")
        sys.stderr.flush()
    finally:
        os._exit(128 + signum)


def _at_exit(marker):
    if _state["aborting"]:
        return
    hooks["exit_check"]()
    if marker:
        _touch(os.path.join(marker, f"done.{_world_rank()}"))


def _touch(path):
    try:
        with open(path, "w"):
            pass
    except OSError:
        pass
