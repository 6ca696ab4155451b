"""Bit operations and integer functions (through the non-differentiable primitive;
boolean operands use the logical primitives), and closeness and equality tests.

>>> import spmdgrad.numpy as jnp
>>> jnp.bitwise_and(np.array([12, 5]), 6)
array([4, 4])
"""
from __future__ import annotations

import numpy as np

from ..core import get_aval
from . import _math as m
from ._core import asarray, doc_example, promote
from ..primitives.numpy_call import NumpyFn, numpy_call

__all__ = ["bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "invert", "bitwise_invert",
           "left_shift", "right_shift", "bitwise_left_shift", "bitwise_right_shift", "bitwise_count",
           "gcd", "lcm", "isclose", "allclose", "array_equal", "array_equiv"]


def _fn(fun, name):
    return NumpyFn(fun, name, elementwise=True)


# ---------------------------------------------------------------- integer and bit functions

def _bitwise(fun, name, example, logical=None):
    def f(x1, x2):
        a, b = promote(x1, x2, op=name)
        dt = get_aval(a).dtype
        if dt == np.bool_ and logical is not None:
            return logical(a, b)
        if dt.kind not in "iub":
            raise TypeError(f"{name}: only integer and boolean arrays are supported, got {dt}")
        return numpy_call(_fn(fun, name), a, b)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = doc_example(f"Elementwise ``{name}`` of integer or boolean arrays (no derivative).",
                            f"jnp.{name}(np.array([12, 5]), 6)", example)
    return f


bitwise_and = _bitwise(np.bitwise_and, "bitwise_and", "array([4, 4])", m.logical_and)
bitwise_or = _bitwise(np.bitwise_or, "bitwise_or", "array([14,  7])", m.logical_or)
bitwise_xor = _bitwise(np.bitwise_xor, "bitwise_xor", "array([10,  3])", m.logical_xor)
left_shift = bitwise_left_shift = _bitwise(np.left_shift, "left_shift", "array([768, 320])")
right_shift = bitwise_right_shift = _bitwise(np.right_shift, "right_shift", "array([0, 0])")
gcd = _bitwise(np.gcd, "gcd", "array([6, 1])")
lcm = _bitwise(np.lcm, "lcm", "array([12, 30])")


def invert(x):
    """Bitwise NOT (logical NOT for booleans).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.invert(np.array([True, False]))
    array([False,  True])
    """
    x = asarray(x)
    dt = get_aval(x).dtype
    if dt == np.bool_:
        return m.logical_not(x)
    if dt.kind not in "iu":
        raise TypeError(f"invert: only integer and boolean arrays are supported, got {dt}")
    return numpy_call(_fn(np.invert, "invert"), x)


bitwise_not = bitwise_invert = invert


def bitwise_count(x):
    """Number of 1 bits in ``|x|`` (uint8).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.bitwise_count(np.array([7, 8]))
    array([3, 1], dtype=uint8)
    """
    x = asarray(x)
    if get_aval(x).dtype.kind not in "iub":
        raise TypeError(f"bitwise_count: integer input needed, got {get_aval(x).dtype}")
    return numpy_call(_fn(np.bitwise_count, "bitwise_count"), x)


# ---------------------------------------------------------------- closeness and equality

def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """``|a - b| <= atol + rtol * |b|`` elementwise; infinities are close only to
    themselves, NaN to NaN only with ``equal_nan`` (boolean, no derivative).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.isclose(np.array([1.0, 1.1]), 1.0)
    array([ True, False])
    """
    x, y = promote(a, b, to_float=True, op="isclose")
    finite = m.logical_and(m.isfinite(x), m.isfinite(y))
    xs, ys = m.where(finite, x, 0.0), m.where(finite, y, 0.0)
    close = m.less_equal(m.abs(m.subtract(xs, ys)), m.add(atol, m.multiply(rtol, m.abs(ys))))
    out = m.where(finite, close, m.equal(x, y))
    if equal_nan:
        out = m.logical_or(out, m.logical_and(m.isnan(x), m.isnan(y)))
    return out


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True if every pair of entries is :func:`isclose`.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.allclose(np.array([1.0, 1.0 + 1e-9]), 1.0)
    np.True_
    """
    return m.all(isclose(a, b, rtol, atol, equal_nan))


def array_equal(a1, a2, equal_nan=False):
    """True if the shapes agree and every entry is equal (NaNs equal with ``equal_nan``).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.array_equal(np.array([1, 2]), [1, 2])
    np.True_
    """
    a, b = asarray(a1), asarray(a2)
    if get_aval(a).shape != get_aval(b).shape:
        return False
    eq = m.equal(a, b)
    if equal_nan and get_aval(a).dtype.kind in "fc":
        eq = m.logical_or(eq, m.logical_and(m.isnan(a), m.isnan(b)))
    return m.all(eq)


def array_equiv(a1, a2):
    """True if the arrays broadcast together and every entry is equal.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.array_equiv(np.array([[1, 2], [1, 2]]), [1, 2])
    np.True_
    """
    a, b = asarray(a1), asarray(a2)
    try:
        np.broadcast_shapes(get_aval(a).shape, get_aval(b).shape)
    except ValueError:
        return False
    return m.all(m.equal(a, b))
