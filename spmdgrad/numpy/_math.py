"""Reductions, scans and sorting of the NumPy front end. The elementwise functions of
:mod:`._elementwise` are re-exported here, so ``_math`` is the one math namespace the
other front-end modules use (``m.add``, ``m.sum``).

>>> import numpy as np, spmdgrad.numpy as jnp
>>> jnp.var(np.array([1.0, 2.0, 3.0, 4.0]), ddof=1)
np.float64(1.6666666666666667)
"""
from __future__ import annotations

import builtins

import numpy as np

from ..core import Tracer, get_aval
from ..dtypes import is_complex, real_dtype
from ..primitives import elementwise as ew
from ..primitives import reductions as red
from ..primitives import structural as st
from ..primitives.structural import reshape
from ._core import asarray, broadcast_to, doc_example, normalize_axes, normalize_axis, promote
from ._elementwise import *  # noqa: F403 - re-exported: the one math namespace
from ._elementwise import (add, check_out, divide, logical_not, maximum, minimum,  # noqa: A004
                           multiply, not_equal, sqrt, subtract)

__all__ = [
    "sum", "mean", "prod", "max", "min", "amax", "amin", "any", "all", "var", "std",
    "cumsum", "cumprod", "argmax", "argmin", "sort", "argsort",
]


# ---------------------------------------------------------------- reductions

def _keep(out, x, axes, keepdims):
    if not keepdims:
        return out
    s = get_aval(x).shape
    return reshape(out, tuple(1 if i in axes else d for i, d in enumerate(s)))


def _accumulate_dtype(x, dtype, op):
    """NumPy's accumulator dtype for sum/prod/cumsum/cumprod (small ints widen)."""
    if dtype is not None:
        return ew.convert_element_type(x, np.dtype(dtype))
    dt = get_aval(x).dtype
    acc = _ACC.get((op, dt))
    if acc is None:  # asked of NumPy once per op and dtype: the probe costs ~2 us a call
        acc = _ACC[(op, dt)] = getattr(np, op)(np.zeros(1, dt)).dtype
    return ew.convert_element_type(x, acc)


_ACC: dict = {}  # (op, dtype) -> NumPy's accumulator dtype


def _masked(x, where_, fill, op):
    """``x`` with the entries outside ``where`` replaced by ``fill`` (NumPy's where=)."""
    if where_ is None or where_ is True:
        return x
    m = asarray(where_)
    if get_aval(m).dtype != np.bool_:
        raise TypeError(f"{op}: where= must be a boolean array, got dtype {get_aval(m).dtype}")
    xs = get_aval(x).shape
    try:
        np.broadcast_shapes(get_aval(m).shape, xs)
    except ValueError:
        raise ValueError(f"{op}: where= of shape {get_aval(m).shape} does not broadcast to the "
                         f"array's shape {xs}") from None
    m = broadcast_to(m, xs) if get_aval(m).shape != xs else m
    return ew.select_n(m, np.asarray(fill, get_aval(x).dtype), x)


def _prep(x, axis, op):
    x = asarray(x)
    return x, normalize_axes(axis, get_aval(x).ndim, op)


def sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):  # noqa: A001
    """Sum over ``axis`` (None: all axes), with NumPy's ``dtype``, ``keepdims``,
    ``initial`` and ``where``.

    >>> import numpy as np
    >>> sum(np.array([[1.0, 2.0], [3.0, 4.0]]), axis=0, where=np.array([True, False]))
    array([4., 0.])
    """
    if (axis is None and dtype is None and out is None and initial is None and where is None
            and not keepdims and isinstance(a, Tracer) and a.aval.dtype.kind in "fc"):
        # Fast path: a floating tracer summed whole, in its own dtype (its accumulator).
        return red.reduce_sum(a, tuple(range(len(a.aval.shape))))
    check_out(out, "sum")
    x, axes = _prep(a, axis, "sum")
    x = _masked(_accumulate_dtype(x, dtype, "sum"), where, 0, "sum")
    out = _keep(red.reduce_sum(x, axes), x, axes, keepdims)
    return out if initial is None else add(out, initial)


def prod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    """Product over ``axis``. Its derivative is exact with zeros in ``x`` (no division).

    >>> import numpy as np
    >>> prod(np.array([[1.0, 2.0], [3.0, 4.0]]), axis=1)
    array([ 2., 12.])
    """
    check_out(out, "prod")
    x, axes = _prep(a, axis, "prod")
    x = _masked(_accumulate_dtype(x, dtype, "prod"), where, 1, "prod")
    out = _keep(red.reduce_prod(x, axes), x, axes, keepdims)
    return out if initial is None else multiply(out, initial)


def _count(x, axes, where_=None, keepdims=False):
    """Number of entries reduced: a Python int, or an array when ``where`` masks some."""
    if where_ is None or where_ is True:
        s = get_aval(x).shape
        return int(np.prod([s[a] for a in axes], dtype=np.int64))
    ones = _masked(np.ones(get_aval(x).shape, real_dtype(get_aval(x).dtype)), where_, 0, "mean")
    return _keep(red.reduce_sum(ones, axes), ones, axes, keepdims)


def mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None):
    """Arithmetic mean over ``axis`` (integers give float64).

    >>> import numpy as np
    >>> mean(np.array([[1.0, 2.0], [3.0, 5.0]]), axis=0, keepdims=True)
    array([[2. , 3.5]])
    """
    check_out(out, "mean")
    x = asarray(a)
    if dtype is not None:
        x = ew.convert_element_type(x, np.dtype(dtype))
    x, = promote(x, to_float=True)
    axes = normalize_axes(axis, get_aval(x).ndim, "mean")
    return divide(sum(x, axes, keepdims=keepdims, where=where), _count(x, axes, where, keepdims))


def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None, mean=None,
        correction=None):
    """Variance ``sum(|x - mean|**2) / (n - ddof)`` over ``axis``; real for complex ``x``.
    ``correction`` is the array-API name of ``ddof``; ``mean`` a precomputed mean
    (kept dimensions).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.var(np.array([1.0, 2.0, 3.0, 4.0]))
    np.float64(1.25)
    """
    check_out(out, "var")
    if correction is not None:
        if ddof:
            raise ValueError("var: ddof and correction cannot both be given")
        ddof = correction
    x = asarray(a)
    if dtype is not None:
        x = ew.convert_element_type(x, np.dtype(dtype))
    x, = promote(x, to_float=True)
    axes = normalize_axes(axis, get_aval(x).ndim, "var")
    mu = _mean_fn(x, axes, keepdims=True, where=where) if mean is None else mean
    d = subtract(x, mu)
    sq = ew.real(multiply(d, ew.conj(d))) if is_complex(get_aval(d).dtype) else multiply(d, d)
    n = _count(x, axes, where, keepdims)
    rdt = real_dtype(get_aval(x).dtype)
    n = np.asarray(n - ddof, rdt) if isinstance(n, int) else subtract(n, np.asarray(ddof, rdt))
    return divide(sum(sq, axes, keepdims=keepdims, where=where), n)


_mean_fn = mean


def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None, mean=None,
        correction=None):
    """Standard deviation: ``sqrt(var(x, axis, ddof=ddof))``.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.std(np.array([1.0, 3.0]))
    np.float64(1.0)
    """
    return sqrt(var(a, axis, dtype, out, ddof, keepdims, where=where, mean=mean,
                    correction=correction))


def _extremum(prim_fn, name, combine):
    def f(a, axis=None, out=None, keepdims=False, initial=None, where=None):
        if (axis is None and out is None and initial is None and where is None and not keepdims
                and isinstance(a, Tracer) and 0 not in a.aval.shape):
            # Fast path: a tracer with no empty axis, reduced whole.
            return prim_fn(a, tuple(range(len(a.aval.shape)))) if a.aval.shape else a
        check_out(out, name)
        x, axes = _prep(a, axis, name)
        if where is not None and where is not True:
            if initial is None:
                raise ValueError(f"{name}: reduction with where= needs initial= (the value of "
                                 "an all-masked reduction)")
            x = _masked(x, where, initial, name)
        s = get_aval(x).shape
        if builtins.any(s[ax] == 0 for ax in axes):
            if initial is None:
                raise ValueError(f"{name}: reduction over an empty axis of an array of shape {s} "
                                 "has no identity; pass initial=")
            shape = tuple(1 if i in axes else d for i, d in enumerate(s)) if keepdims else \
                tuple(d for i, d in enumerate(s) if i not in axes)
            return np.full(shape, initial, get_aval(x).dtype)
        out = _keep(prim_fn(x, axes) if axes else x, x, axes, keepdims)
        return out if initial is None else combine(out, initial)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = doc_example(f"{'Maximum' if name == 'max' else 'Minimum'} over ``axis``; ties share "
                            "the derivative evenly. ``initial`` and ``where`` as in NumPy.",
                            f"jnp.{name}(np.array([[1.0, 3.0], [2.0, 0.0]]), axis=0)",
                            "array([2., 3.])" if name == "max" else "array([1., 0.])")
    return f


max = amax = _extremum(red.reduce_max, "max", maximum)  # noqa: A001
min = amin = _extremum(red.reduce_min, "min", minimum)  # noqa: A001


def any(a, axis=None, out=None, keepdims=False, *, where=None):  # noqa: A001
    """Logical OR over ``axis`` (boolean; not differentiable).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.any(np.array([[0, 1], [0, 0]]), axis=1)
    array([ True, False])
    """
    check_out(out, "any")
    x, axes = _prep(a, axis, "any")
    b = not_equal(x, 0) if get_aval(x).dtype != np.bool_ else x
    b = _masked(b, where, False, "any")
    if builtins.any(get_aval(b).shape[ax] == 0 for ax in axes):
        return _keep(np.zeros(tuple(d for i, d in enumerate(get_aval(b).shape) if i not in axes),
                              bool), b, axes, keepdims)
    return _keep(red.reduce_max(b, axes) if axes else b, b, axes, keepdims)


def all(a, axis=None, out=None, keepdims=False, *, where=None):  # noqa: A001
    """Logical AND over ``axis`` (boolean; not differentiable).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.all(np.array([[1, 1], [0, 1]]), axis=1)
    array([ True, False])
    """
    check_out(out, "all")
    x = asarray(a)
    b = not_equal(x, 0) if get_aval(x).dtype != np.bool_ else x
    return logical_not(any(logical_not(b), axis, None, keepdims, where=where))


# ---------------------------------------------------------------- scans, arg-reductions, sorting

def _flat_axis(x, axis, op):
    """``(x, axis)`` with ``axis=None`` meaning the flattened array (NumPy's convention)."""
    x = asarray(x)
    if axis is None:
        return reshape(x, (get_aval(x).size,)), 0
    return x, normalize_axis(axis, get_aval(x).ndim, op)


def _check_not_0d(x, op):
    if get_aval(x).ndim == 0:
        raise ValueError(f"{op}: axis is out of bounds for a 0-d array; pass axis=None")


def cumsum(a, axis=None, dtype=None, out=None):
    """Running sum along ``axis`` (None: over the flattened array).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.cumsum(np.array([[1, 2], [3, 4]]), axis=0)
    array([[1, 2],
           [4, 6]])
    """
    check_out(out, "cumsum")
    x, ax = _flat_axis(a, axis, "cumsum")
    _check_not_0d(x, "cumsum")
    return red.cumsum(_accumulate_dtype(x, dtype, "cumsum"), ax)


def cumprod(a, axis=None, dtype=None, out=None):
    """Running product along ``axis``; its derivative is exact with zeros in ``x``.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.cumprod(np.array([1.0, 2.0, 3.0]))
    array([1., 2., 6.])
    """
    check_out(out, "cumprod")
    x, ax = _flat_axis(a, axis, "cumprod")
    _check_not_0d(x, "cumprod")
    return red.cumprod(_accumulate_dtype(x, dtype, "cumprod"), ax)


def _arg(prim_fn, name):
    def f(a, axis=None, out=None, *, keepdims=False):
        check_out(out, name)
        x0 = asarray(a)
        x, ax = _flat_axis(x0, axis, name)
        _check_not_0d(x, name)
        if get_aval(x).shape[ax] == 0:
            raise ValueError(f"{name}: attempt to get {name} of an empty sequence")
        out = prim_fn(x, ax)
        if keepdims:
            s = get_aval(x0).shape
            out = reshape(out, (1,) * len(s) if axis is None else
                          tuple(1 if i == ax else d for i, d in enumerate(s)))
        return out
    f.__name__ = f.__qualname__ = name
    f.__doc__ = doc_example(f"Index of the first {name[3:]}imum along ``axis`` (None: flattened). "
                            "An integer: it has no derivative and stops the tangent.",
                            f"jnp.{name}(np.array([1.0, 3.0, 0.0]))",
                            "array(1)" if name == "argmax" else "array(2)")
    return f


argmax = _arg(red.argmax, "argmax")
argmin = _arg(red.argmin, "argmin")


def _check_sort_args(order, op):
    if order is not None:
        raise NotImplementedError(f"{op}: order= (structured arrays) is not supported")


def sort(a, axis=-1, kind=None, order=None, *, stable=None, descending=False):
    """Sorted values along ``axis`` (None: flattened). Always stable (``kind`` and
    ``stable`` are accepted for NumPy compatibility). The derivative follows the
    sorting permutation (stable order at ties).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.sort(np.array([3.0, 1.0, 2.0]), descending=True)
    array([3., 2., 1.])
    """
    _check_sort_args(order, "sort")
    x, ax = _flat_axis(a, axis, "sort")
    _check_not_0d(x, "sort")
    out = red.sort(x, ax)
    return flip_axis(out, ax) if descending else out


def argsort(a, axis=-1, kind=None, order=None, *, stable=None, descending=False):
    """Stable sorting permutation along ``axis`` (integer; not differentiable).
    ``descending=True`` keeps equal elements in their original order, as JAX does.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.argsort(np.array([3.0, 1.0, 2.0]))
    array([1, 2, 0])
    """
    _check_sort_args(order, "argsort")
    x, ax = _flat_axis(a, axis, "argsort")
    _check_not_0d(x, "argsort")
    if descending:
        n = get_aval(x).shape[ax]
        rev = red.argsort(flip_axis(x, ax), ax)
        return flip_axis(subtract(np.asarray(n - 1, get_aval(rev).dtype), rev), ax)
    return red.argsort(x, ax)


def flip_axis(x, ax):
    return st.rev(x, (ax,))
