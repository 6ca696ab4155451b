"""The cross-rank consistency check that every MPI collective runs first.

Before each collective (and at each pmap call) the ranks agree, with one
2-element ``Allreduce``, that they are about to do the same thing: the same kind
of collective, on the same shapes and dtypes, over the same axis, as the same
call number. A disagreement raises :class:`MismatchError` on every rank instead
of a hang or a silent mix-up. ``SPMDGRAD_CHECKS=0`` or ``set_checks(False)``
turns the check off.
"""
from __future__ import annotations

import hashlib
import os

import numpy as np

from ..core import ShapedArray, SpmdgradError

_OFF = ("0", "false", "off", "no")
_checks = os.environ.get("SPMDGRAD_CHECKS", "1").strip().lower() not in _OFF

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
    """Whether the cross-rank consistency checks run before each collective.

    >>> checks_enabled() in (True, False)
    True
    """
    return _checks


def check(state, what, detail, MPI):
    """Agree with every other rank of ``state`` that the next collective is ``what`` on
    ``detail`` (shapes, dtypes, axes; a string, or a function making it, called only
    when checks are on). One 2-element Allreduce; on a mismatch every rank raises the
    same :class:`MismatchError`."""
    if not _checks:
        return
    if callable(detail):
        detail = detail()
    state.seq += 1
    text = f"{what} {detail} (call #{state.seq})" if detail else f"{what} (call #{state.seq})"
    digest = hashlib.blake2b(text.encode(), digest_size=7).digest()
    h = int.from_bytes(digest, "little")  # 56 bits: -h never overflows int64
    sig = state.sig
    sig[0], sig[1] = h, -h
    state.comm.Allreduce(MPI.IN_PLACE, sig, MPI.MAX)
    if sig[0] == h and sig[1] == -h:
        return  # max == min == h on every rank
    raise MismatchError(_describe_mismatch(state, text))


def _describe_mismatch(state, text):
    raw = text.encode()[:_SIG_BYTES].ljust(_SIG_BYTES, b"\0")
    everyone = np.empty((state.nranks, _SIG_BYTES), np.uint8)
    state.comm.Allgather(np.frombuffer(raw, np.uint8), everyone)
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
            f"(This rank is {state.rank}; the check can be disabled with SPMDGRAD_CHECKS=0.)")


_SHORT = {}


def describe(arrays):
    """A short, rank-independent description of a list of arrays for a signature:
    each shape and dtype for a few arrays, a summary plus a hash of all shapes for many.

    >>> describe([np.zeros((2, 3)), np.zeros(4, np.float32)])
    'f64[2,3],f32[4]'
    """
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
