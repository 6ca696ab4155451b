"""Communicator state: the default private communicator, the safety checks and
the abort-on-exception hook.

Nothing here imports ``mpi4py.MPI`` at module import time. A program that never
runs under ``mpiexec`` never initializes MPI, and pmap then runs as
single-process pmap.
"""
from __future__ import annotations

import atexit
import hashlib
import os
import sys
import traceback

import numpy as np

from ..core import ShapedArray, SpmdgradError

_OFF = ("0", "false", "off", "no")
_checks = os.environ.get("SPMDGRAD_CHECKS", "1").strip().lower() not in _OFF

# Environment variables that process managers set in every rank they start.
_LAUNCHER_VARS = ("PMI_RANK", "PMI_SIZE", "PMIX_RANK", "OMPI_COMM_WORLD_SIZE",
                  "MV2_COMM_WORLD_SIZE", "HYDI_CONTROL_FD")

_SIG_BYTES = 240  # fixed size of a signature text in the (rare) mismatch Allgather


class MismatchError(ValueError, SpmdgradError):
    """Ranks disagree about the next collective (or pmap call). Raised on every rank."""


MismatchError.__module__ = "spmdgrad.mpi"


def set_checks(enabled):
    """Turn the cross-rank consistency checks on or off (default: on, or the value of
    the environment variable ``SPMDGRAD_CHECKS``; ``SPMDGRAD_CHECKS=0`` turns them off).

    Every rank must use the same setting: a check on one rank pairs with the next
    MPI call on the others. Returns the previous setting.

    >>> old = set_checks(False); set_checks(old)
    False
    """
    global _checks
    prev, _checks = _checks, bool(enabled)
    return prev


def checks_enabled():
    """Whether the cross-rank consistency checks run before each collective."""
    return _checks


def _mpi():
    from mpi4py import MPI
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
    __slots__ = ("comm", "rank", "nranks", "seq", "_sig")

    def __init__(self, comm):
        self.comm = comm
        self.rank = comm.Get_rank()
        self.nranks = comm.Get_size()
        self.seq = 0
        self._sig = np.empty(2, np.int64)

    def __repr__(self):
        return f"comm(rank {self.rank} of {self.nranks})"

    def check(self, what, detail):
        """Agree with every other rank that the next collective is ``what`` on
        ``detail`` (shapes, dtypes, axes; a string, or a function making it, called
        only when checks are on). One 2-element Allreduce; on a mismatch every rank
        raises the same :class:`MismatchError`."""
        if not _checks:
            return
        if callable(detail):
            detail = detail()
        self.seq += 1
        text = f"{what} {detail} (call #{self.seq})" if detail else f"{what} (call #{self.seq})"
        digest = hashlib.blake2b(text.encode(), digest_size=7).digest()
        h = int.from_bytes(digest, "little")  # 56 bits: -h never overflows int64
        sig = self._sig
        sig[0], sig[1] = h, -h
        self.comm.Allreduce(_mpi().IN_PLACE, sig, _mpi().MAX)
        if sig[0] == h and sig[1] == -h:
            return  # max == min == h on every rank
        raise MismatchError(self._describe_mismatch(text))

    def _describe_mismatch(self, text):
        raw = text.encode()[:_SIG_BYTES].ljust(_SIG_BYTES, b"\0")
        everyone = np.empty((self.nranks, _SIG_BYTES), np.uint8)
        self.comm.Allgather(np.frombuffer(raw, np.uint8), everyone)
        texts = [bytes(row).rstrip(b"\0").decode(errors="replace") for row in everyone]
        groups = {}
        for r, t in enumerate(texts):
            groups.setdefault(t, []).append(r)
        lines = "\n".join(f"  rank(s) {_ranks(rs)}: {t}" for t, rs in groups.items())
        return ("ranks disagree about the next collective operation (pmap over MPI):\n"
                f"{lines}\n"
                "Every rank must make the same pmap calls and collectives, in the same order, "
                "with the same number of local shards k, shapes, dtypes, axis names and "
                "grad reduce_axes. Look for rank-dependent control flow or data sizes. "
                f"(This rank is {self.rank}; the check can be disabled with SPMDGRAD_CHECKS=0.)")


_SHORT = {}


def describe(arrays):
    """A short, rank-independent description of a list of arrays for a signature:
    each shape and dtype for a few arrays, a summary plus a hash of all shapes for many."""
    parts, totals = [], {}
    for x in arrays:
        dt = x.dtype
        name = _SHORT.get(dt)
        if name is None:
            name = _SHORT[dt] = ShapedArray((), dt).str_short()[:-2]  # "f64[]" -> "f64"
        if len(arrays) <= 8:
            parts.append(f"{name}[{','.join(map(str, x.shape))}]")
        count, size = totals.get(name, (0, 0))
        totals[name] = (count + 1, size + x.size)
    if len(arrays) <= 8:
        return ",".join(parts)
    # Hashes of tuples of ints do not depend on PYTHONHASHSEED, so all ranks agree.
    shapes = hash(tuple(x.shape for x in arrays)) & 0xFFFFFFFF
    kinds = ", ".join(f"{c} {n} ({s} elements)" for n, (c, s) in totals.items())
    return f"{len(arrays)} arrays: {kinds}, shapes #{shapes:08x}"


def _ranks(rs):
    return ",".join(map(str, rs)) if len(rs) < 8 else f"{rs[0]}..{rs[-1]} ({len(rs)} ranks)"


# --------------------------------------------------------------------------- state registry

_default = []   # [CommState or None]: the cached default, once decided
_states = {}    # id(comm) -> (comm, CommState) for user-given communicators


def comm_state(comm=None):
    """The :class:`CommState` pmap uses for ``comm``, or None for a single process.

    ``comm=None`` means a private clone of ``MPI.COMM_WORLD``, created on first use
    (cloning is collective: every rank must make that first pmap call).
    """
    if comm is None:
        if not _default:
            state = None
            if _launched_by_mpi():
                world = _mpi().COMM_WORLD
                if world.Get_size() > 1:
                    state = CommState(world.Clone())
                    _activate(state)
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
            _activate(state)
    return entry[1]


# --------------------------------------------------------------------------- failure handling

_hooked = []


def _activate(state):
    """First multi-rank use: abort the job on an uncaught exception, and check at exit
    that no rank is still waiting in a collective."""
    if _hooked:
        return
    _hooked.append(state)
    previous = sys.excepthook

    def abort_on_exception(etype, value, tb):
        try:
            rank = _mpi().COMM_WORLD.Get_rank()
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
            _mpi().COMM_WORLD.Abort(1)

    sys.excepthook = abort_on_exception
    atexit.register(_exit_check, state)


def _exit_check(state):
    # A rank that finishes while another waits in a collective would leave that
    # rank hanging; one last check turns this into an error on both sides.
    MPI = _mpi()
    if not _checks or MPI.Is_finalized():
        return
    try:
        state.check("end of program", "")
    except MismatchError as e:
        sys.stderr.write(f"[spmdgrad] rank {state.rank} is exiting, but {e}\n")
        sys.stderr.flush()
        MPI.COMM_WORLD.Abort(1)
