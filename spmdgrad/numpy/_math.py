"""Elementwise math, reductions, scans and sorting of the NumPy front end.

Operands are promoted (NumPy rules; a Python scalar never widens an array) and
broadcast here, then handed to the strict primitives.

>>> import numpy as np, spmdgrad.numpy as jnp
>>> jnp.exp(np.zeros(2, np.float32)) * 2.0
array([2., 2.], dtype=float32)
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

__all__ = [
    "add", "subtract", "multiply", "divide", "true_divide", "floor_divide", "remainder", "mod",
    "power", "pow", "negative", "positive", "maximum", "minimum", "arctan2", "logaddexp",
    "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
    "logical_and", "logical_or", "logical_xor", "logical_not", "isfinite", "isnan", "isinf",
    "exp", "log", "log1p", "expm1", "log2", "log10", "sqrt", "square", "reciprocal",
    "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh",
    "arcsinh", "arccosh", "arctanh", "abs", "absolute", "sign", "floor", "ceil", "round",
    "around", "real", "imag", "conj", "conjugate", "astype", "where", "clip",
    "sum", "mean", "prod", "max", "min", "amax", "amin", "any", "all", "var", "std",
    "cumsum", "cumprod", "argmax", "argmin", "sort", "argsort",
]


def _example(name, *args):
    """The doctest line of a factory-made function: NumPy's own result is the expected
    output, so the doctest compares spmdgrad with NumPy."""
    expr = f"jnp.{name}({', '.join(map(repr, args))})".replace("array(", "np.array(")
    return doc_example("", expr, repr(getattr(np, name)(*args)))


def _unary(prim, to_float=True, name=None, sample=0.5):
    name = name or prim.name

    def f(x):
        x, = promote(x, to_float=to_float, op=name)
        return prim.bind(x)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"Elementwise ``{name}`` (NumPy semantics, differentiable)." + \
        _example(name, np.array([sample, 2 * sample]))
    return f


_WEAK_FAST = (float, int)


def _binary(prim, to_float=False, name=None):
    def f(x, y):
        # Fast path: a floating tracer and a Python float/int. Under NEP 50 the
        # tracer's dtype wins, so no promotion is needed (x * 0.9, x + 1).
        if type(y) in _WEAK_FAST and isinstance(x, Tracer):
            dt = x.aval.dtype
            if dt.kind in "fc":
                return prim.bind(x, np.asarray(y, dt))
        elif type(x) in _WEAK_FAST and isinstance(y, Tracer):
            dt = y.aval.dtype
            if dt.kind in "fc":
                return prim.bind(np.asarray(x, dt), y)
        return prim.bind(*promote(x, y, to_float=to_float, op=prim.name))
    f.__name__ = f.__qualname__ = name or prim.name
    f.__doc__ = f"Elementwise ``{f.__name__}`` with NumPy broadcasting and promotion." + \
        _example(f.__name__, np.array([1.5, -2.0]), 0.5)
    return f


# ---------------------------------------------------------------- arithmetic and comparisons
add = _binary(ew.add_p)
subtract = _binary(ew.sub_p, name="subtract")
multiply = _binary(ew.mul_p, name="multiply")
true_divide = divide = _binary(ew.div_p, to_float=True, name="divide")
maximum = _binary(ew.max_p, name="maximum")
minimum = _binary(ew.min_p, name="minimum")
arctan2 = _binary(ew.atan2_p, to_float=True, name="arctan2")
remainder = mod = _binary(ew.rem_p, name="remainder")
floor_divide = _binary(ew.floor_divide_p)
equal = _binary(ew.eq_p, name="equal")
not_equal = _binary(ew.ne_p, name="not_equal")
less = _binary(ew.lt_p, name="less")
less_equal = _binary(ew.le_p, name="less_equal")
greater = _binary(ew.gt_p, name="greater")
greater_equal = _binary(ew.ge_p, name="greater_equal")
logical_and = _binary(ew.and_p, name="logical_and")
logical_or = _binary(ew.or_p, name="logical_or")
logical_xor = _binary(ew.xor_p, name="logical_xor")
logical_not = _unary(ew.not_p, to_float=False, name="logical_not")
isfinite = _unary(ew.isfinite_p, to_float=False)
isnan = _unary(ew.isnan_p, to_float=False)
isinf = _unary(ew.isinf_p, to_float=False)
negative = _unary(ew.neg_p, to_float=False, name="negative")


def positive(x):
    """``+x``: returns ``x`` (as an array).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.positive(np.array([-1.0, 2.0]))
    array([-1.,  2.])
    """
    return asarray(x)


def power(x, y):
    """``x ** y``. A small non-negative Python-int exponent is computed exactly by
    repeated multiplication (as NumPy does for integers), otherwise ``pow``.

    >>> import numpy as np
    >>> power(np.array([1.0, 2.0]), 3)
    array([1., 8.])
    """
    if isinstance(y, int) and not isinstance(y, bool) and 0 <= y <= 4:
        x = asarray(x)
        if y == 0:
            a = get_aval(x)
            return np.ones(a.shape, a.dtype)
        out = x
        for _ in range(y - 1):
            out = multiply(out, x)
        return out
    return ew.pow_p.bind(*promote(x, y))


pow = power  # noqa: A001


def logaddexp(x, y):
    """``log(exp(x) + exp(y))`` without overflow.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.logaddexp(0.0, 0.0)
    np.float64(0.6931471805599453)
    """
    x, y = promote(x, y, to_float=True)
    hi = maximum(x, y)
    lo = minimum(x, y)
    # hi + log1p(exp(lo - hi)); equal infinities would give inf - inf, so they are
    # replaced by zeros before the subtraction (the result is then hi + log 2 = hi).
    same_inf = logical_and(equal(x, y), isinf(x))
    diff = subtract(where(same_inf, 0.0, lo), where(same_inf, 0.0, hi))
    return add(hi, log1p(exp(diff)))


# ---------------------------------------------------------------- unary math
exp = _unary(ew.exp_p)
log = _unary(ew.log_p)
log1p = _unary(ew.log1p_p)
expm1 = _unary(ew.expm1_p)
sqrt = _unary(ew.sqrt_p)
sin = _unary(ew.sin_p)
cos = _unary(ew.cos_p)
tan = _unary(ew.tan_p)
arcsin = _unary(ew.asin_p)
arccos = _unary(ew.acos_p)
arctan = _unary(ew.atan_p)
sinh = _unary(ew.sinh_p)
cosh = _unary(ew.cosh_p)
tanh = _unary(ew.tanh_p)
arcsinh = _unary(ew.asinh_p)
arccosh = _unary(ew.acosh_p, sample=1.5)
arctanh = _unary(ew.atanh_p, sample=0.25)
abs = absolute = _unary(ew.abs_p, to_float=False)  # noqa: A001
sign = _unary(ew.sign_p, to_float=False)
floor = _unary(ew.floor_p)
ceil = _unary(ew.ceil_p)


def round(a, decimals=0, out=None):  # noqa: A001
    """Round half to even, like NumPy; ``decimals`` scales by ``10**decimals`` first.
    The derivative is zero (rounding is piecewise constant).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.round(np.array([0.5, 1.5, 2.675]), 2)
    array([0.5 , 1.5 , 2.68])
    """
    check_out(out, "round")
    x = asarray(a)
    if not np.issubdtype(get_aval(x).dtype, np.inexact):
        return x
    if decimals == 0:
        return ew.round_p.bind(x)
    scale = 10.0 ** decimals
    return divide(ew.round_p.bind(multiply(x, scale)), scale)


around = round


def log2(x):
    """Base-2 logarithm.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.log2(np.array([1.0, 8.0]))
    array([0., 3.])
    """
    return multiply(log(x), float(1.0 / np.log(2.0)))


def log10(x):
    """Base-10 logarithm.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.log10(np.array([1.0, 100.0]))
    array([0., 2.])
    """
    return multiply(log(x), float(1.0 / np.log(10.0)))


def square(x):
    """``x * x``.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.square(np.array([2.0, -3.0]))
    array([4., 9.])
    """
    x = asarray(x)
    return multiply(x, x)


def reciprocal(x):
    """``1 / x`` (integers are promoted to float64).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.reciprocal(np.array([2.0, 4.0]))
    array([0.5 , 0.25])
    """
    return divide(1, x)


# ---------------------------------------------------------------- complex parts and dtypes

def real(x):
    """Real part; a real array is returned unchanged.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.real(np.array([1.0 + 2.0j]))
    array([1.])
    """
    x = asarray(x)
    return ew.real(x) if is_complex(get_aval(x).dtype) else x


def imag(x):
    """Imaginary part; zeros for a real array.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.imag(np.array([1.0 + 2.0j]))
    array([2.])
    """
    x = asarray(x)
    a = get_aval(x)
    return ew.imag(x) if is_complex(a.dtype) else np.zeros(a.shape, a.dtype)


def conjugate(x, out=None):
    """Complex conjugate; a real array is returned unchanged.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.conjugate(np.array([1.0 + 2.0j]))
    array([1.-2.j])
    """
    check_out(out, "conjugate")
    x = asarray(x)
    return ew.conj(x) if is_complex(get_aval(x).dtype) else x


conj = conjugate


def astype(x, dtype):
    """``x`` converted to ``dtype``. The derivative flows between inexact dtypes
    (complex to real keeps the real part); integer results carry none.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.astype(np.array([1.7, -1.7]), np.int32)
    array([ 1, -1], dtype=int32)
    """
    return ew.convert_element_type(asarray(x), np.dtype(dtype))


# ---------------------------------------------------------------- selection

def where(condition, x=None, y=None):
    """``x`` where ``condition`` else ``y`` (the 1-argument form is not supported:
    its shape depends on the data).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.where(np.array([True, False]), 1.0, np.array([5.0, 6.0]))
    array([1., 6.])
    """
    if x is None or y is None:
        raise TypeError("spmdgrad.numpy.where needs three arguments (condition, x, y); the "
                        "one-argument form has a data-dependent shape")
    c = asarray(condition)
    if get_aval(c).dtype != np.bool_:
        c = not_equal(c, 0)
    x, y = promote(x, y)
    c, x, y = _broadcast_all(c, x, y)
    return ew.select_n(c, y, x)


def _broadcast_all(*args):
    """Broadcast to one shape without touching dtypes (0-d operands stay 0-d)."""
    shapes = [get_aval(a).shape for a in args]
    try:
        target = np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(f"operands could not be broadcast together with shapes "
                         f"{' '.join(map(str, shapes))}") from None
    return [a if s in (target, ()) else broadcast_to(a, target) for a, s in zip(args, shapes, strict=True)]


def clip(a, a_min=None, a_max=None, out=None, *, min=None, max=None):  # noqa: A002
    """Limit ``x`` to ``[a_min, a_max]``. At a bound (a tie) the derivative is split
    evenly between ``x`` and the bound, as for :func:`maximum`/:func:`minimum`.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.clip(np.array([-2.0, 0.5, 3.0]), -1.0, 1.0)
    array([-1. ,  0.5,  1. ])
    """
    check_out(out, "clip")
    lo = a_min if a_min is not None else min
    hi = a_max if a_max is not None else max
    x = asarray(a)
    if lo is not None:
        x = maximum(x, lo)
    if hi is not None:
        x = minimum(x, hi)
    return x


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
    acc = getattr(np, op)(np.zeros(1, dt)).dtype
    return ew.convert_element_type(x, acc)


def check_out(out, op):
    """NumPy's ``out=`` writes in place, which immutable (traced) arrays cannot do."""
    if out is not None:
        raise TypeError(f"{op}: out= is not supported (spmdgrad arrays are immutable, as in "
                        "JAX); use the returned value")


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
                            "np.int64(1)" if name == "argmax" else "np.int64(2)")
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
