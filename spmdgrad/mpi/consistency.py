"""The cross-rank consistency check that every MPI collective runs first.

Before each collective (and at each pmap call, and at exit) the ranks compare a
**fingerprint of the whole collective schedule so far**: a running hash over every
checked call of its kind and parameters (``allreduce[sum]``, ``dim=1``, ...), the
axis, the operand shapes and dtypes, the user-level call that produced it
(``pmean(axis_name='i')``, ``all_gather(..., tiled=True)``, the pytree's key paths)
and the user's ``file:line`` (:mod:`.schedule`). The comparison is one 2-element
``Allreduce(MAX)`` of ``(h, -h)``: max == min on every rank exactly when all ranks
hold the same fingerprint. A disagreement raises the same :class:`MismatchError`
on every rank, naming the first differing collective and, on each rank, its call,
its ``file:line`` and the first differing leaf by key path.

The exchange may be started early and finished later (:func:`start`, :func:`finish`):
the pmap entry check is finished by the first collective of the pmap body (or at
its end), and a psum's check by the data transfer after its buffer is packed. The
messages are the same; a rank just does local work instead of waiting for the
others at each of them, and no collective is posted before the check has passed.

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
# id(state) -> (fingerprint, what, arrays, extra, site, request).
_started = {}


def start(state, what, arrays=(), extra="", site=None):
    """Post :func:`check`'s exchange without waiting for it, so that this rank goes on
    with local work (the pmap body, packing a buffer) while the others arrive; the
    messages are those of :func:`check`. :func:`finish` waits for the verdict, and so
    does the next :func:`start`, :func:`check` or :func:`fold` on ``state``: no other
    collective is posted before a started check has passed."""
    if _started:
        finish(state)
    if not _checks:
        return
    state.seq += 1
    fp = (state.fp * _MUL + _hash(what, arrays, extra, site)) & _MASK
    state.waiting = (what, extra, site)
    sig = state.sig
    sig[0], sig[1] = fp, -fp
    MPI = state.mpi
    _started[id(state)] = (fp, what, arrays, extra, site,
                           state.comm.Iallreduce(MPI.IN_PLACE, sig, MPI.MAX))


def finish(state):
    """Wait for the check started on ``state`` (if any): return when every rank agrees,
    else raise the same :class:`MismatchError` on every rank."""
    started = _started.pop(id(state), None)
    if started is None:
        return
    fp, what, arrays, extra, site, req = started
    state.wait(req)
    sig = state.sig
    if sig[0] == fp and sig[1] == -fp:
        state.fp = fp
        state.last = state.waiting
        state.waiting = None
        return
    raise MismatchError(_describe_mismatch(state, _record(what, arrays, extra, site, state.seq)))


def fold(state, what, arrays=(), extra="", site=None):
    """Add a collective to the schedule fingerprint without a message: the next
    :func:`check` compares it. For a collective whose agreement already follows from
    a checked one just before it (the later buckets of one gradient reduction)."""
    if _started:
        finish(state)
    if not _checks:
        return
    state.seq += 1
    state.fp = (state.fp * _MUL + _hash(what, arrays, extra, site)) & _MASK


def _hash(what, arrays, extra, site):
    key = (what, extra, site, tuple([(x.shape, x.dtype) for x in arrays]), _sites)
    h = _hashes.get(key)
    if h is None:
        if len(_hashes) > _CACHE_LIMIT:
            _hashes.clear()
        text = json.dumps(_record(what, arrays, extra, site, 0, with_where=_sites))
        h = _hashes[key] = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=7).digest(),
                                          "little")
    return h


def _record(what, arrays, extra, site, seq, with_where=True):
    paths = site.paths if site is not None else None
    if paths is None or len(paths) != len(arrays):
        paths = [f"leaf {i}" for i in range(len(arrays))] if len(arrays) > 1 else [""] * len(arrays)
    return {"seq": seq, "what": what, "extra": extra,
            "call": site.call if site is not None else "",
            "where": (site.where if site is not None else "") if with_where else "",
            "leaves": [[p, _short(x)] for p, x in zip(paths, arrays, strict=True)]}


def _describe_mismatch(state, rec):
    """Exchange every rank's record of the failing call (variable length) and build
    the message, the same text on every rank."""
    raw = json.dumps(rec).encode()
    sizes = np.empty(state.nranks, np.int64)
    state.comm.Allgather(np.array([len(raw)], np.int64), sizes)
    buf = np.empty(int(sizes.sum()), np.uint8)
    displs = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    state.comm.Allgatherv(np.frombuffer(raw, np.uint8), [buf, sizes, displs, state.mpi.BYTE])
    recs = [json.loads(bytes(buf[d:d + s]).decode()) for d, s in zip(displs, sizes, strict=True)]
    return mismatch_message(recs, state.rank)


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


def _short(x):
    dt = x.dtype
    name = _SHORT.get(dt)
    if name is None:
        name = _SHORT[dt] = ShapedArray((), dt).str_short()[:-2]  # "f64[]" -> "f64"
    return f"{name}[{','.join(map(str, x.shape))}]"


def describe(arrays):
    """A short, rank-independent description of a list of arrays: each shape and dtype.

    >>> describe([np.zeros((2, 3)), np.zeros(4, np.float32)])
    'f64[2,3],f32[4]'
    """
    return ",".join(_short(x) for x in arrays)


def _ranks(rs):
    return ",".join(map(str, rs)) if len(rs) < 8 else f"{rs[0]}..{rs[-1]} ({len(rs)} ranks)"
