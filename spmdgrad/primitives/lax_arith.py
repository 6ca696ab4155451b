"""lax's integer division, C remainder and bit operations: elementwise primitives whose
semantics differ from NumPy's (``spmdgrad.lax`` is their front end).

``lax_int_div`` rounds toward zero with ``x // 0 = -1``; ``lax_rem`` is C's ``fmod``
(the dividend's sign) with ``x % 0 = x`` for integers. Integer and bit results carry no
tangent; ``lax_rem`` of floats differentiates in both operands.

>>> import numpy as np
>>> from spmdgrad.core import bind
>>> bind(int_div_p, np.array([-7, 7]), np.array([2, 0]))
array([-3, -1])
"""
from __future__ import annotations

import numpy as np

from .. import ad
from ..core import get_aval
from . import elementwise as ew
from .structural import broadcast_in_dim

__all__ = ["bitwise", "int_div_p", "rem_p"]


def _int_div_impl(x, y):
    x, y = np.asarray(x), np.asarray(y)
    with np.errstate(all="ignore"):
        safe = np.where(y == 0, 1, y)
        q = np.abs(x) // np.abs(safe)
        q = np.where((x < 0) != (safe < 0), -q, q).astype(x.dtype)
    return np.where(y == 0, np.asarray(-1, x.dtype), q)


def _int_rem_impl(x, y):
    x, y = np.asarray(x), np.asarray(y)
    with np.errstate(all="ignore"):
        return np.where(y == 0, x, np.fmod(x, np.where(y == 0, 1, y))).astype(x.dtype)


def _rem_impl(x, y):
    if np.asarray(x).dtype.kind in "iu":
        return _int_rem_impl(x, y)
    with np.errstate(all="ignore"):
        return np.fmod(x, y)


int_div_p = ew.elementwise("lax_int_div", _int_div_impl)
rem_p = ew.elementwise("lax_rem", _rem_impl)


def _fit(t, ans):
    shape = get_aval(ans).shape
    return t if get_aval(t).shape == shape else broadcast_in_dim(t, shape, ())


def _trunc(x):
    """Round toward zero, as a composition (piecewise constant: no tangent)."""
    return ew.mul(ew.floor(ew.abs_p.bind(x)), ew.sign_p.bind(x))


ad.defjvp(int_div_p, None, None)
# d rem / dx = 1, d rem / dy = -trunc(x / y) (rem = x - trunc(x/y) * y)
ad.defjvp(rem_p, lambda t, ans, x, y: _fit(t, ans),
          lambda t, ans, x, y: _fit(ew.neg(ew.mul(t, _trunc(ew.div(x, y)))), ans))



def _bit_prim(name, fn):
    prim = ew.elementwise(name, fn)
    ad.defjvp(prim, *([None] * (1 if name == "bitwise_not" else 2)))
    return prim


bitwise = {n: _bit_prim(n, f) for n, f in (
    ("bitwise_and", np.bitwise_and), ("bitwise_or", np.bitwise_or), ("bitwise_xor", np.bitwise_xor),
    ("bitwise_not", np.invert), ("shift_left", np.left_shift),
    ("shift_right_arithmetic", np.right_shift))}


