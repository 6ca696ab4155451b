"""Communicator state: the default private communicator and its registry.

Nothing here imports ``mpi4py.MPI`` at module import time. A program that never
runs under ``mpiexec`` never initializes MPI, and pmap then runs as
single-process pmap. Under an MPI launcher, importing spmdgrad installs the
failure handling of :mod:`.failure` (exception hook, exit check).
"""
from __future__ import annotations

import os
import sys

import numpy as np

from . import consistency, failure, schedule, watchdog

# Environment variables that process managers set in every rank they start.
_LAUNCHER_VARS = ("PMI_RANK", "PMI_SIZE", "PMIX_RANK", "OMPI_COMM_WORLD_SIZE",
                  "MV2_COMM_WORLD_SIZE", "HYDI_CONTROL_FD")


def mpi():
    """The ``mpi4py.MPI`` module, imported (and MPI initialized) on first use."""
    from mpi4py import MPI  # optional dependency: only a multi-rank job loads it
    return MPI


def launched_by_mpi():
    """True when this process may be one of several MPI ranks."""
    if "mpi4py.MPI" in sys.modules:
        return True
    return any(v in os.environ for v in _LAUNCHER_VARS)


_launched_by_mpi = launched_by_mpi


class CommState:
    """One communicator as pmap uses it: rank, size, the schedule fingerprint, and
    what the stall watchdog needs (a private side communicator, who has arrived).

    Passed (wrapped with the call's site, :class:`SiteComm`) as the ``comm``
    parameter of the MPI primitives.
    """
    __slots__ = ("comm", "rank", "nranks", "seq", "sig", "fp", "mpi", "side", "arrived",
                 "sends", "waiting", "last", "good", "pending", "entry")

    def __init__(self, comm, MPI, side=None):
        self.comm = comm
        self.mpi = MPI
        self.rank = comm.Get_rank()
        self.nranks = comm.Get_size()
        self.seq = 0
        self.fp = 0
        self.sig = np.empty(2, np.int64)
        self.side = side
        self.arrived = {}
        self.sends = []
        self.waiting = None
        self.last = None
        self.good = (0, 0)     # (seq, fp) of the last schedule every rank agreed on
        self.pending = []      # the records folded into fp since then (consistency)
        self.entry = 0         # the record number of the running pmap call's entry

    def __repr__(self):
        return f"comm(rank {self.rank} of {self.nranks})"

    def check(self, what, arrays=(), extra="", site=None):
        """The consistency check before a collective (:func:`consistency.check`)."""
        consistency.check(self, what, arrays, extra, site)

    def wait(self, req):
        """Complete a non-blocking MPI request, with the stall watchdog."""
        watchdog.wait(self, req)

    def allreduce_max(self, buf):
        self.wait(self.comm.Iallreduce(self.mpi.IN_PLACE, buf, self.mpi.MAX))

    def at(self, site):
        return SiteComm(self, site)


class SiteComm:
    """A :class:`CommState` seen from one collective call: the MPI primitives carry it
    as their ``comm`` parameter, so eager code and ``jit`` replays check the same
    call site. Rules that re-bind the primitive (JVP, transpose, batching) keep it."""
    __slots__ = ("state", "site")

    def __init__(self, state, site):
        self.state = state
        self.site = site

    comm = property(lambda self: self.state.comm)
    rank = property(lambda self: self.state.rank)
    nranks = property(lambda self: self.state.nranks)
    mpi = property(lambda self: self.state.mpi)

    def check(self, what, arrays=(), extra=""):
        consistency.check(self.state, what, arrays, extra, self.site)

    def wait(self, req):
        watchdog.wait(self.state, req)

    # By value, so that the primitives' abstract-eval cache hits across calls.
    def __eq__(self, other):
        return isinstance(other, SiteComm) and self.state is other.state and self.site == other.site

    def __hash__(self):
        return hash((id(self.state), self.site))

    def __repr__(self):
        return f"comm(rank {self.rank} of {self.nranks})"


def tagged(state):
    """``state`` tagged with the site of the running collective call (None stays None)."""
    return None if state is None else SiteComm(state, schedule.site(2))


_default = []   # [CommState or None]: the cached default, once decided
_states = {}    # id(comm) -> (comm, CommState) for user-given communicators


def started():
    """Whether this process has decided on pmap's default communicator."""
    return bool(_default)


def _new_state(comm, MPI):
    # Idup, not Dup: a rank that never comes leaves the others in the stall watchdog,
    # not in a silent hang. The side communicator carries the watchdog's messages.
    probe = CommState(comm, MPI)
    main, req = comm.Idup()
    probe.wait(req)
    side, req = comm.Idup()
    probe.wait(req)
    return CommState(main, MPI, side)


def comm_state(comm=None):
    """The :class:`CommState` pmap uses for ``comm``, or None for a single process.

    ``comm=None`` means a private duplicate of ``MPI.COMM_WORLD``, created on first
    use (duplicating is collective: a rank that never makes a pmap call joins it at
    exit, so the others get an error rather than a hang).

    >>> comm_state() is None or comm_state().nranks > 1
    True
    """
    if comm is None:
        if not _default:
            state = None
            if launched_by_mpi():
                MPI = mpi()
                world = MPI.COMM_WORLD
                if world.Get_size() > 1:
                    failure.install()
                    state = _new_state(world, MPI)
            _default.append(state)
        return _default[0]
    if not hasattr(comm, "Allreduce") or not hasattr(comm, "Get_size"):
        raise TypeError(f"pmap: comm must be an mpi4py communicator (e.g. MPI.COMM_WORLD), "
                        f"got {comm!r}")
    entry = _states.get(id(comm))
    if entry is None or entry[0] is not comm:
        state = None
        if comm.Get_size() > 1:
            failure.install()
            state = _new_state(comm, mpi())
        entry = _states[id(comm)] = (comm, state)
    return entry[1]


def _exit_check():
    # A rank that finishes while another waits in a collective (or in the creation of
    # pmap's communicator) would leave it hanging: one last check meets it there.
    if not consistency.checks_enabled() or not launched_by_mpi():
        return
    state = comm_state()
    if state is None:
        return
    try:
        state.check("end of program", (), f"after {state.seq} checked calls", None)
    except consistency.MismatchError as e:
        failure.abort(f"[spmdgrad] rank {state.rank} is exiting, but {e}")


def _where():
    state = _default[0] if _default else None
    if state is None:
        return ""
    return " (" + watchdog.position(state) + ")"


failure.hooks.update(where=_where, exit_check=_exit_check)
if launched_by_mpi():
    failure.install()
