"""Communicator state: the default private communicator and its registry.

Nothing here imports ``mpi4py.MPI`` at module import time. A program that never
runs under ``mpiexec`` never initializes MPI, and pmap then runs as
single-process pmap.
"""
from __future__ import annotations

import os
import sys

import numpy as np

from . import consistency, failure

# Environment variables that process managers set in every rank they start.
_LAUNCHER_VARS = ("PMI_RANK", "PMI_SIZE", "PMIX_RANK", "OMPI_COMM_WORLD_SIZE",
                  "MV2_COMM_WORLD_SIZE", "HYDI_CONTROL_FD")


def mpi():
    """The ``mpi4py.MPI`` module, imported (and MPI initialized) on first use."""
    from mpi4py import MPI  # optional dependency: only a multi-rank job loads it
    return MPI


def _launched_by_mpi():
    """True when this process may be one of several MPI ranks."""
    if "mpi4py.MPI" in sys.modules:
        return True
    return any(v in os.environ for v in _LAUNCHER_VARS)


class CommState:
    """One communicator as pmap uses it: rank, size, and the check sequence number.

    Passed as the ``comm`` parameter of the MPI primitives.
    """
    __slots__ = ("comm", "rank", "nranks", "seq", "sig")

    def __init__(self, comm):
        self.comm = comm
        self.rank = comm.Get_rank()
        self.nranks = comm.Get_size()
        self.seq = 0
        self.sig = np.empty(2, np.int64)

    def __repr__(self):
        return f"comm(rank {self.rank} of {self.nranks})"

    def check(self, what, detail):
        """The consistency check before a collective (:func:`consistency.check`)."""
        consistency.check(self, what, detail, mpi())


_default = []   # [CommState or None]: the cached default, once decided
_states = {}    # id(comm) -> (comm, CommState) for user-given communicators


def comm_state(comm=None):
    """The :class:`CommState` pmap uses for ``comm``, or None for a single process.

    ``comm=None`` means a private clone of ``MPI.COMM_WORLD``, created on first use
    (cloning is collective: every rank must make that first pmap call).

    >>> comm_state() is None or comm_state().nranks > 1
    True
    """
    if comm is None:
        if not _default:
            state = None
            if _launched_by_mpi():
                world = mpi().COMM_WORLD
                if world.Get_size() > 1:
                    state = CommState(world.Clone())
                    failure.install(state, mpi())
            _default.append(state)
        return _default[0]
    if not hasattr(comm, "Allreduce") or not hasattr(comm, "Get_size"):
        raise TypeError(f"pmap: comm must be an mpi4py communicator (e.g. MPI.COMM_WORLD), "
                        f"got {comm!r}")
    entry = _states.get(id(comm))
    if entry is None or entry[0] is not comm:
        state = CommState(comm) if comm.Get_size() > 1 else None
        entry = _states[id(comm)] = (comm, state)
        if state is not None:
            failure.install(state, mpi())
    return entry[1]
