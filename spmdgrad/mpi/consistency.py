"""The cross-rank consistency check that every MPI collective runs first.

Before each collective (and at the end of a pmap call that made none, and at
exit) the ranks compare a **fingerprint of the whole collective schedule so far**:
a running hash over every checked call of its kind and parameters
(``allreduce[sum]``, ``dim=1``, ...), the axis, the operand shapes and dtypes, the
user-level call that produced it
(``pmean(axis_name='i')``, ``all_gather(..., tiled=True)``, the pytree's key paths)
and the user's ``file:line`` (:mod:`.schedule`). The comparison is one 2-element
``Allreduce(MAX)`` of ``(h, -h)``: max == min on every rank exactly when all ranks
hold the same fingerprint. A disagreement raises the same :class:`MismatchError`
on every rank, naming the first differing collective and, on each rank, its call,
its ``file:line`` and the first differing leaf by key path.

A record can join the fingerprint without a message (:func:`fold`): a pmap call's
entry is compared by the body's first checked collective, or by the end of the call
(:func:`verify`) when the body has none, so a pmap(grad) step makes one small
exchange, not two. The records not yet compared are kept, and a mismatch message
names the first one the ranks differ on. An exchange may also be started early and
finished later (:func:`start`, :func:`finish`): a psum's check is finished by the
data transfer after its buffer is packed. A rank then does local work instead of
waiting for the others, and no collective is posted before the check has passed.

Switches (the same on every rank): ``SPMDGRAD_CHECKS=0`` / ``set_checks(False)``
turns the check off; ``SPMDGRAD_CHECK_SITES=0`` / ``set_checks(sites=False)`` leaves
``file:line`` out of the fingerprint, for programs whose ranks legitimately make the
same collective from different lines (the call and its parameters still count).
"""
from __future__ import annotations

import hashlib
import json
import os

import numpy as np

from ..core import ShapedArray, SpmdgradError

_OFF = ("0", "false", "off", "no")
_checks = os.environ.get("SPMDGRAD_CHECKS", "1").strip().lower() not in _OFF
_sites = os.environ.get("SPMDGRAD_CHECK_SITES", "1").strip().lower() not in _OFF

_MASK = (1 << 56) - 1        # 56-bit hashes: -h never overflows int64
_MUL = 0x9E3779B97F4A7C1     # odd multiplier of the running (order-sensitive) hash
_CACHE_LIMIT = 8192
_hashes = {}                 # (what, extra, site, shapes/dtypes, sites on) -> 56-bit hash


class MismatchError(ValueError, SpmdgradError):
    """Ranks disagree about the next collective (or pmap call). Raised on every rank."""


MismatchError.__module__ = "spmdgrad.mpi"


def set_checks(enabled=None, *, sites=None):
    """Turn the cross-rank consistency checks on or off (default: on, or the value of
    the environment variable ``SPMDGRAD_CHECKS``; ``SPMDGRAD_CHECKS=0`` turns them off).
    ``sites=False`` (or ``SPMDGRAD_CHECK_SITES=0``) keeps the checks but leaves the
    user's ``file:line`` out of the fingerprint.

    Every rank must use the same settings: a check on one rank pairs with the next
    MPI call on the others. Returns the previous setting of ``enabled``.

    >>> old = set_checks(False); set_checks(old)
    False
    """
    global _checks, _sites
    prev = _checks
    if enabled is not None:
        _checks = bool(enabled)
    if sites is not None:
        _sites = bool(sites)
    return prev


def checks_enabled():
    """Whether the cross-rank consistency checks run before each collective.

    >>> checks_enabled() in (True, False)
    True
    """
    return _checks


def check(state, what, arrays=(), extra="", site=None, MPI=None):
    """Agree with every other rank of ``state`` that the next collective is ``what``
    (with ``extra`` parameters) on ``arrays``, called from ``site`` (a
    :class:`~.schedule.Site`), after the same schedule so far. One 2-element
    Allreduce; on a mismatch every rank raises the same :class:`MismatchError`."""
    start(state, what, arrays, extra, site)
    finish(state)


# The check started on each communicator state and not finished yet:
# id(state) -> (fingerprint, request, what :func:`verify` says of this rank, or None).
_started = {}
_PENDING_LIMIT = 1024   # unverified records kept for the mismatch message (the newest)


def start(state, what, arrays=(), extra="", site=None):
    """Post :func:`check`'s exchange without waiting for it, so that this rank goes on
    with local work (the pmap body, packing a buffer) while the others arrive; the
    messages are those of :func:`check`. :func:`finish` waits for the verdict, and so
    does the next :func:`start`, :func:`check`, :func:`fold` or :func:`verify` on
    ``state``: no other collective is posted before a started check has passed."""
    if _started:
        finish(state)
    if not _checks:
        return
    _add(state, what, arrays, extra, site)
    _post(state, (what, extra, site), None)


def finish(state):
    """Wait for the check started on ``state`` (if any): return when every rank agrees,
    else raise the same :class:`MismatchError` on every rank."""
    started = _started.pop(id(state), None)
    if started is None:
        return
    fp, req, tail = started
    state.wait(req)
    sig = state.sig
    if sig[0] == fp and sig[1] == -fp:
        state.good = (state.seq, fp)
        state.pending.clear()
        state.last = state.waiting
        state.waiting = None
        return
    recs = [_record(*r) for r in state.pending]
    if tail is not None:   # verify's: where this rank stands, after its last record
        recs.append({"seq": state.seq + 1, "what": tail, "extra": "", "call": "",
                     "where": recs[-1]["where"], "leaves": []})
    # Back to the last schedule every rank agreed on, so that the ranks agree again
    # once the user handles the error the same way everywhere.
    state.seq, state.fp = state.good
    state.pending.clear()
    state.waiting = None
    raise MismatchError(_describe_mismatch(state, recs))


def fold(state, what, arrays=(), extra="", site=None):
    """Add a collective (or a pmap call) to the schedule fingerprint without a
    message: the next check or :func:`verify` compares it, and its mismatch message
    names it. For a call whose agreement a message soon after can establish: a pmap
    call's entry (the body's first collective, or the call's end), the later buckets
    of one gradient reduction. Returns the record's number (0 with checks off)."""
    if _started:
        finish(state)
    if not _checks:
        return 0
    return _add(state, what, arrays, extra, site)


def verify(state, since=1, what="no further collective"):
    """Exchange the fingerprint now if a record numbered ``since`` or later has not been
    compared yet (a pmap call that made no checked collective after its entry). On a
    mismatch, ``what`` describes where this rank stands (after its last record)."""
    if _started:
        finish(state)
    if not _checks or state.good[0] >= since or not state.pending:
        return
    _post(state, (what, "", state.pending[-1][3]), what)
    finish(state)


def _add(state, what, arrays, extra, site):
    shapes = tuple([(x.shape, x.dtype) for x in arrays])
    state.seq += 1
    state.fp = (state.fp * _MUL + _hash(what, shapes, extra, site)) & _MASK
    pending = state.pending
    if len(pending) >= _PENDING_LIMIT:
        del pending[:_PENDING_LIMIT // 2]
    pending.append((what, shapes, extra, site, state.seq))
    return state.seq


def _post(state, waiting, tail):
    state.waiting = waiting
    sig = state.sig
    fp = state.fp
    sig[0], sig[1] = fp, -fp
    MPI = state.mpi
    _started[id(state)] = (fp, state.comm.Iallreduce(MPI.IN_PLACE, sig, MPI.MAX), tail)


def _hash(what, shapes, extra, site):
    key = (what, extra, site, shapes, _sites)
    h = _hashes.get(key)
    if h is None:
        if len(_hashes) > _CACHE_LIMIT:
            _hashes.clear()
        text = json.dumps(_record(what, shapes, extra, site, 0, with_where=_sites))
        h = _hashes[key] = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=7).digest(),
                                          "little")
    return h


def _record(what, shapes, extra, site, seq, with_where=True):
    paths = site.paths if site is not None else None
    if paths is None or len(paths) != len(shapes):
        paths = [f"leaf {i}" for i in range(len(shapes))] if len(shapes) > 1 else [""] * len(shapes)
    return {"seq": seq, "what": what, "extra": extra,
            "call": site.call if site is not None else "",
            "where": (site.where if site is not None else "") if with_where else "",
            "leaves": [[p, _short(*x)] for p, x in zip(paths, shapes, strict=True)]}


def _describe_mismatch(state, recs):
    """Exchange every rank's records of the calls not yet agreed on (variable length),
    find the first one the ranks differ on, and build the message, the same text on
    every rank."""
    raw = json.dumps(recs).encode()
    sizes = np.empty(state.nranks, np.int64)
    state.comm.Allgather(np.array([len(raw)], np.int64), sizes)
    buf = np.empty(int(sizes.sum()), np.uint8)
    displs = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    state.comm.Allgatherv(np.frombuffer(raw, np.uint8), [buf, sizes, displs, state.mpi.BYTE])
    logs = [json.loads(bytes(buf[d:d + s]).decode()) for d, s in zip(displs, sizes, strict=True)]
    n = max(len(log) for log in logs)
    i = next((i for i in range(n) if any(i >= len(log) or log[i] != logs[0][i] for log in logs)),
             n - 1)
    return mismatch_message([log[min(i, len(log) - 1)] for log in logs], state.rank)


def mismatch_message(recs, rank):
    """The MismatchError text for the per-rank records ``recs`` (seen from ``rank``).

    >>> a = {"seq": 3, "what": "allreduce[sum] over axis 'i'", "extra": "", "call": "psum()",
    ...      "where": "t.py:5 (in f)", "leaves": [["['a']", "f64[3]"], ["['b']", "f64[2]"]]}
    >>> b = dict(a, where="t.py:7 (in f)", leaves=[["['a']", "f64[3]"], ["['b']", "f32[2]"]])
    >>> print(mismatch_message([a, b], 0).splitlines()[0])
    ranks disagree about collective #3 (pmap over MPI):
    """
    groups = {}
    for r, rec in enumerate(recs):
        groups.setdefault(json.dumps(rec, sort_keys=True), []).append(r)
    lines = []
    for text, rs in groups.items():
        rec = json.loads(text)
        lines.append(f"  rank(s) {_ranks(rs)}: {_one_line(rec)}")
    first = recs[0]
    other = next((rec for rec in recs if rec != first), first)
    seq = max(rec["seq"] for rec in recs)
    if len(groups) == 1:
        diff = ("  every rank is about to make the same call, but their schedules differed "
                "earlier (a collective made with checks off, or by another communicator)")
    else:
        diff = "  first difference: " + _first_difference(first, other, groups)
    return (f"ranks disagree about collective #{seq} (pmap over MPI):\n"
            + "\n".join(lines) + "\n" + diff + "\n"
            "Every rank must make the same pmap calls and collectives, in the same order, "
            "with the same number of local shards k, shapes, dtypes, axis names and "
            "grad reduce_axes. Look for rank-dependent control flow or data sizes. "
            f"(This rank is {rank}. SPMDGRAD_CHECK_SITES=0 ignores file:line for ranks that "
            "call the same collective from different lines; SPMDGRAD_CHECKS=0 disables the check.)")


def _one_line(rec):
    head = rec["what"] + (f" {rec['extra']}" if rec["extra"] else "")
    leaves = rec["leaves"]
    if len(leaves) <= 8:
        args = ",".join(f"{p}: {d}" if p else d for p, d in leaves)
    else:
        args = f"{len(leaves)} arrays"
    out = f"{head} ({args})" if leaves else head
    if rec["call"]:
        out += f" from {rec['call']}"
    if rec["where"]:
        out += f" at {rec['where']}"
    return out


def _first_difference(a, b, groups):
    ra = next(rs for t, rs in groups.items() if json.loads(t) == a)
    rb = next(rs for t, rs in groups.items() if json.loads(t) == b)
    on = f"on rank(s) {_ranks(ra)} vs {_ranks(rb)}"
    for field in ("what", "extra", "call"):
        if a[field] != b[field]:
            return f"{field} {a[field]!r} vs {b[field]!r} {on}"
    la, lb = a["leaves"], b["leaves"]
    if len(la) != len(lb):
        return f"{len(la)} vs {len(lb)} arrays {on}"
    for (pa, da), (pb, db) in zip(la, lb, strict=True):
        if (pa, da) != (pb, db):
            name = pa if pa == pb else f"{pa} vs {pb}"
            return f"leaf {name}: {da} vs {db} {on}" if name else f"{da} vs {db} {on}"
    return f"called from {a['where']} vs {b['where']} {on}"


_SHORT = {}


def _short(shape, dt):
    name = _SHORT.get(dt)
    if name is None:
        name = _SHORT[dt] = ShapedArray((), dt).str_short()[:-2]  # "f64[]" -> "f64"
    return f"{name}[{','.join(map(str, shape))}]"


def describe(arrays):
    """A short, rank-independent description of a list of arrays: each shape and dtype.

    >>> describe([np.zeros((2, 3)), np.zeros(4, np.float32)])
    'f64[2,3],f32[4]'
    """
    return ",".join(_short(x.shape, x.dtype) for x in arrays)


def _ranks(rs):
    return ",".join(map(str, rs)) if len(rs) < 8 else f"{rs[0]}..{rs[-1]} ({len(rs)} ranks)"
