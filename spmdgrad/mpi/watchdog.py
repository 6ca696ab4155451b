"""Waiting for a collective without waiting in silence: the stall watchdog.

Every cross-rank step is started non-blocking (``Iallreduce``, ``Iallgather``, ...)
and completed here by polling ``Test``: a spin for the first few milliseconds
(as MPI's own blocking calls do), then short sleeps. While it waits:

- after ``SPMDGRAD_STALL_WARN`` seconds (default 60; ``0`` or ``off`` disables),
  and again every such period, the rank prints which collective it waits in (its
  number, kind, axis and the user's ``file:line``) and which ranks have not arrived;
- after ``SPMDGRAD_STALL_ABORT`` seconds (default off) it prints the same and ends
  the whole job with a non-zero status.

Which ranks have arrived: a rank that has waited a moment sends a small
"waiting in collective #n" message on a private duplicate of the communicator to
every other rank; waiting ranks read those messages while they poll. A rank that
never sent one is not in the collective: it is computing, sleeping, deadlocked,
dead, or cut off from the network.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np

from . import failure

_OFF = ("0", "off", "none", "no", "false")
_TAG = 7301


def _seconds(var, default):
    v = os.environ.get(var, "").strip().lower()
    if not v:
        return default
    if v in _OFF:
        return None
    try:
        s = float(v)
    except ValueError:
        raise ValueError(f"{var} must be a number of seconds or 'off', got {v!r}") from None
    return s if s > 0 else None


stall_warn = _seconds("SPMDGRAD_STALL_WARN", 60.0)
stall_abort = _seconds("SPMDGRAD_STALL_ABORT", None)


def set_stall(warn=False, abort=False):
    """Set the stall thresholds in seconds (None: off); False leaves one unchanged.
    Returns the previous ``(warn, abort)``.

    >>> old = set_stall(warn=30); set_stall(*old) == (30, old[1])
    True
    """
    global stall_warn, stall_abort
    prev = (stall_warn, stall_abort)
    if warn is not False:
        stall_warn = warn
    if abort is not False:
        stall_abort = abort
    return prev


def wait(state, req):
    """Complete the request ``req`` of ``state``'s communicator, reporting stalls."""
    if req.Test():
        return
    t0 = time.monotonic()
    announce_after = min(1.0, (stall_warn or 4.0) / 4, (stall_abort or 4.0) / 4)
    announced = False
    next_warn = stall_warn
    while True:
        for _ in range(64):
            if req.Test():
                return
        waited = time.monotonic() - t0
        if waited < 0.02:
            continue
        time.sleep(0.0005 if waited < 1.0 else 0.002)
        if state.side is not None:
            _drain(state)
            if not announced and waited >= announce_after:
                _announce(state)
                announced = True
        if stall_abort is not None and waited >= stall_abort:
            failure.abort(_text(state, waited, f"; stalled longer than SPMDGRAD_STALL_ABORT="
                                               f"{stall_abort:g} s: ending the whole job"))
        if next_warn is not None and waited >= next_warn:
            _report(state, waited, "")
            next_warn += stall_warn


def _announce(state):
    msg = np.array([state.seq], np.int64)
    state.sends = [(r, b) for r, b in state.sends if not r.Test()]
    for dest in range(state.nranks):
        if dest != state.rank:
            state.sends.append((state.side.Isend(msg, dest=dest, tag=_TAG), msg))


def _drain(state):
    MPI = state.mpi
    status = MPI.Status()
    buf = np.empty(1, np.int64)
    while state.side.Iprobe(source=MPI.ANY_SOURCE, tag=_TAG, status=status):
        src = status.Get_source()
        state.side.Recv(buf, source=src, tag=_TAG)
        state.arrived[src] = int(buf[0])


def position(state):
    """Where ``state``'s rank is: the collective it waits in, or the last one it ran."""
    return _text(state, 0, "").split(": ", 1)[1]


def _text(state, waited, tail):
    if state.waiting is not None:
        what, extra, site = state.waiting
        kind = "collective"
    elif state.last is not None:
        what, extra, site = state.last
        kind = "the data transfer of collective"
    else:
        what, extra, site = "creating pmap's communicator (a collective MPI_Comm_idup)", "", None
        kind = "setup step"
    head = f"[spmdgrad] rank {state.rank}: waited {waited:.0f} s in {kind} #{state.seq}: {what}"
    if extra:
        head += f" {extra}"
    if site is not None:
        head += f" from {site.text()}" if site.call else f" at {site.where}"
    if state.side is None:
        return head + " (which ranks have arrived is unknown at this step)" + tail
    others = [r for r in range(state.nranks) if r != state.rank]
    missing = [r for r in others if state.arrived.get(r) != state.seq]
    if not missing:
        return head + "; every rank has arrived, the transfer itself is stuck (network?)" + tail
    elsewhere = [f"rank {r} waits in collective #{state.arrived[r]}" for r in missing
                 if r in state.arrived and state.arrived[r] > state.seq]
    head += f"; rank(s) {','.join(map(str, missing))} have not arrived (or cannot be reached)"
    if elsewhere:
        head += " (" + "; ".join(elsewhere) + ")"
    return head + tail


def _report(state, waited, tail):
    sys.stderr.write(_text(state, waited, tail) + "\n")
    sys.stderr.flush()
