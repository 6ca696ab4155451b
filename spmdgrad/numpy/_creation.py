"""Array creation. Results are constants (invariant over every named axis), except
where a traced value is an argument: ``full``'s fill value, ``linspace``/``logspace``/
``geomspace``'s end points, which stay differentiable.

>>> linspace(0.0, 1.0, 5)
array([0.  , 0.25, 0.5 , 0.75, 1.  ])
"""
from __future__ import annotations

import numpy as np

from ..core import Tracer, get_aval
from . import _math as m
from ._core import asarray as _asarray
from ._core import broadcast_to, promote
from ._shape import concatenate, expand_dims, moveaxis, reshape

__all__ = ["array", "asarray", "zeros", "ones", "full", "empty", "arange", "linspace", "logspace",
           "geomspace",
           "eye", "identity", "zeros_like", "ones_like", "full_like", "empty_like", "copy",
           "asanyarray", "fromfunction", "fromiter", "bartlett", "blackman", "hamming",
           "hanning", "kaiser", "asarray_chkfinite"]


def asarray(a, dtype=None, order=None, *, device=None, copy=None, like=None):
    """``a`` as an array: traced values stay traced, Python scalars and (nested) lists
    become NumPy arrays (lists holding traced values are stacked).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.asarray([1, 2], dtype=float)
    array([1., 2.])
    """
    return _asarray(a, dtype)


def array(object, dtype=None, *, copy=True, order="K", subok=False, ndmin=0, ndmax=0,  # noqa: A002
          like=None):
    """:func:`asarray`, with NumPy's ``ndmin`` (leading axes of length one added).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.array([1.0, 2.0], ndmin=2)
    array([[1., 2.]])
    """
    if ndmax:
        raise NotImplementedError("array: ndmax= is not supported")
    x = _asarray(object, dtype)
    nd = get_aval(x).ndim
    if ndmin > nd:
        x = reshape(x, (1,) * (ndmin - nd) + get_aval(x).shape)
    if copy and isinstance(x, np.ndarray) and x is object:
        x = x.copy()
    return x


def zeros(shape, dtype=None, order="C", *, device=None, like=None):
    """An array of zeros (float64 by default).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.zeros(2)
    array([0., 0.])
    """
    return np.zeros(shape, dtype or np.float64)


def ones(shape, dtype=None, order="C", *, device=None, like=None):
    """An array of ones (float64 by default).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.ones((1, 2), int)
    array([[1, 1]])
    """
    return np.ones(shape, dtype or np.float64)


def empty(shape, dtype=None, order="C", *, device=None, like=None):
    """Zeros (an uninitialised array has no place in a functional program).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.empty(2)
    array([0., 0.])
    """
    return np.zeros(shape, dtype or np.float64)


def full(shape, fill_value, dtype=None, order="C", *, device=None, like=None):
    """An array of ``shape`` filled with ``fill_value`` (which may be traced).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.full(2, 7.0)
    array([7., 7.])
    """
    if isinstance(fill_value, Tracer):
        v = fill_value if dtype is None else m.astype(fill_value, dtype)
        shape = (shape,) if isinstance(shape, int | np.integer) else tuple(shape)
        return broadcast_to(v, shape)
    return np.full(shape, fill_value, dtype)


def _concrete(op, *values):
    for v in values:
        if isinstance(v, Tracer):
            raise TypeError(f"{op}: this argument must be concrete (a Python number or NumPy "
                            f"array), got the traced value {v.aval.str_short()}: the result's "
                            "shape would depend on it")


def arange(start, stop=None, step=None, dtype=None, *, device=None, like=None):
    """Evenly spaced values in ``[start, stop)`` (arguments must be concrete).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.arange(1, 7, 2)
    array([1, 3, 5])
    """
    _concrete("arange", start, stop, step)
    return np.arange(start, stop, step, dtype=dtype) if stop is not None else np.arange(start, dtype=dtype)


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0, *, device=None):
    """``num`` evenly spaced values from ``start`` to ``stop``. ``start`` and ``stop``
    may be traced (and arrays): the result is differentiable in both.

    >>> import spmdgrad, spmdgrad.numpy as jnp
    >>> spmdgrad.grad(lambda a: jnp.linspace(a, 1.0, 3).sum())(0.0)
    np.float64(1.5)
    """
    _concrete("linspace (num)", num)
    num = int(num)
    if num < 0:
        raise ValueError(f"linspace: number of samples, {num}, must be non-negative")
    if not isinstance(start, Tracer) and not isinstance(stop, Tracer):
        return np.linspace(start, stop, num, endpoint, retstep, dtype, axis)
    a, b = promote(start, stop, to_float=True, op="linspace")
    div = (num - 1) if endpoint else num
    frac = np.arange(num, dtype=np.float64) / max(div, 1)
    nd = get_aval(a).ndim
    frac = frac.reshape((num,) + (1,) * nd).astype(get_aval(a).dtype.type(0).real.dtype)
    step = m.divide(m.subtract(b, a), max(div, 1))
    out = m.add(expand_dims(a, 0), m.multiply(frac, expand_dims(m.subtract(b, a), 0)))
    if endpoint and num > 1:  # the last sample is exactly ``stop``, as in NumPy
        out = concatenate([out[:-1], expand_dims(broadcast_to(b, get_aval(out).shape[1:]), 0)], 0)
    out = moveaxis(out, 0, axis)
    if dtype is not None:
        out = m.astype(out, dtype)
    return (out, step) if retstep else out


def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    """``base ** linspace(start, stop, num)``.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.logspace(0.0, 2.0, 3)
    array([  1.,  10., 100.])
    """
    out = m.power(base, linspace(start, stop, num, endpoint, axis=axis))
    return out if dtype is None else m.astype(out, dtype)


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """A geometric progression from ``start`` to ``stop`` (same sign, non-zero).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.geomspace(1.0, 8.0, 4)
    array([1., 2., 4., 8.])
    """
    if not isinstance(start, Tracer) and not isinstance(stop, Tracer):
        return np.geomspace(start, stop, num, endpoint, dtype, axis)
    a, b = promote(start, stop, to_float=True, op="geomspace")
    sign = m.sign(a)
    out = m.multiply(expand_dims(sign, 0) if get_aval(a).ndim else sign,
                     m.exp(linspace(m.log(m.abs(a)), m.log(m.abs(b)), num, endpoint)))
    out = moveaxis(out, 0, axis) if axis else out
    return out if dtype is None else m.astype(out, dtype)


def eye(N, M=None, k=0, dtype=None, order="C", *, device=None, like=None):  # noqa: N803
    """Ones on the ``k`` diagonal.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.eye(2, k=1)
    array([[0., 1.],
           [0., 0.]])
    """
    return np.eye(N, M, k, dtype=dtype or np.float64)


def identity(n, dtype=None, *, like=None):
    """The ``n x n`` identity matrix.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.identity(2)
    array([[1., 0.],
           [0., 1.]])
    """
    return np.identity(n, dtype=dtype or np.float64)


def _like(x, dtype, shape):
    a = get_aval(x)
    return (a.shape if shape is None else shape), (a.dtype if dtype is None else dtype)


def zeros_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None):
    """Zeros with the shape and dtype of ``a``.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.zeros_like(np.ones(2, int))
    array([0, 0])
    """
    return np.zeros(*_like(a, dtype, shape))


def ones_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None):
    """Ones with the shape and dtype of ``a``.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.ones_like(np.zeros(2))
    array([1., 1.])
    """
    return np.ones(*_like(a, dtype, shape))


def empty_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None):
    """Zeros with the shape and dtype of ``a``.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.empty_like(np.ones(2))
    array([0., 0.])
    """
    return np.zeros(*_like(a, dtype, shape))


def full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None, *, device=None):
    """``fill_value`` (possibly traced) with the shape and dtype of ``a``.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.full_like(np.zeros(2), 3.0)
    array([3., 3.])
    """
    s, d = _like(a, dtype, shape)
    return full(s, fill_value if not isinstance(fill_value, Tracer) else m.astype(fill_value, d), d)


def copy(a, order="K", subok=False):
    """A copy of ``a`` (traced values are immutable, so they are returned as they are).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.copy(np.array([1.0, 2.0]))
    array([1., 2.])
    """
    x = asarray(a)
    return x if isinstance(x, Tracer) else np.array(x, copy=True)


def asanyarray(a, dtype=None, order=None, *, device=None, copy=None, like=None):
    """Same as :func:`asarray`.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.asanyarray([1, 2])
    array([1, 2])
    """
    return asarray(a, dtype)


def asarray_chkfinite(a, dtype=None, order=None):
    """:func:`asarray`, raising ValueError on NaN or inf (concrete values only).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.asarray_chkfinite([1.0, 2.0])
    array([1., 2.])
    """
    x = asarray(a, dtype)
    v = x
    if isinstance(x, Tracer):
        try:
            v = x.concrete()
        except TypeError:
            raise TypeError("asarray_chkfinite: the check needs concrete values, which are "
                            "abstract here (vmap/jit)") from None
    if np.issubdtype(v.dtype, np.inexact) and not np.isfinite(v).all():
        raise ValueError("array must not contain infs or NaNs")
    return x


def fromfunction(function, shape, *, dtype=float, **kwargs):
    """``function(*indices(shape))``: the function is called once on index grids.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.fromfunction(lambda i, j: i + j, (2, 2))
    array([[0., 1.],
           [1., 2.]])
    """
    return function(*np.indices(shape, dtype=dtype), **kwargs)


def fromiter(iter, dtype, count=-1, *, like=None):  # noqa: A002
    """An array from an iterable of concrete values.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.fromiter(range(3), float)
    array([0., 1., 2.])
    """
    return np.fromiter(iter, dtype, count)


def bartlett(M):  # noqa: N803
    """The Bartlett window (a constant).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.bartlett(3)
    array([0., 1., 0.])
    """
    return np.bartlett(M)


def blackman(M):  # noqa: N803
    """The Blackman window (a constant).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.blackman(3).round(6)
    array([-0.,  1., -0.])
    """
    return np.blackman(M)


def hamming(M):  # noqa: N803
    """The Hamming window (a constant).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.hamming(3)
    array([0.08, 1.  , 0.08])
    """
    return np.hamming(M)


def hanning(M):  # noqa: N803
    """The Hann window (a constant).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.hanning(3)
    array([0., 1., 0.])
    """
    return np.hanning(M)


def kaiser(M, beta):  # noqa: N803
    """The Kaiser window (a constant).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.kaiser(3, 0.0)
    array([1., 1., 1.])
    """
    return np.kaiser(M, beta)

