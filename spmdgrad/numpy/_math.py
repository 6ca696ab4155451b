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
from ..primitives.structural import reshape
from ._core import asarray, broadcast_to, normalize_axes, normalize_axis, promote

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


def _unary(prim, to_float=True):
    def f(x):
        x, = promote(x, to_float=to_float, op=prim.name)
        return prim.bind(x)
    f.__name__ = f.__qualname__ = prim.name
    f.__doc__ = f"Elementwise ``{prim.name}`` (NumPy semantics, differentiable)."
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
    f.__doc__ = f"Elementwise ``{prim.name}`` with NumPy broadcasting and promotion."
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
logical_not = _unary(ew.not_p, to_float=False)
isfinite = _unary(ew.isfinite_p, to_float=False)
isnan = _unary(ew.isnan_p, to_float=False)
isinf = _unary(ew.isinf_p, to_float=False)
negative = _unary(ew.neg_p, to_float=False)


def positive(x):
    """``+x``: returns ``x`` (as an array)."""
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
    """``log(exp(x) + exp(y))`` without overflow."""
    x, y = promote(x, y, to_float=True)
    # Each branch, x + log1p(exp(y - x)) or y + log1p(exp(x - y)), is log(e^x + e^y) exactly;
    # picking the stable one per element keeps every derivative exact, ties included (a
    # max/min rewrite splits the tie and loses the second derivative). Equal infinities
    # would give inf - inf, so their difference is replaced by 0 (the result is then x).
    x_big = greater_equal(x, y)
    same_inf = logical_and(equal(x, y), isinf(x))
    xs, ys = where(same_inf, 0.0, x), where(same_inf, 0.0, y)
    diff = where(x_big, subtract(ys, xs), subtract(xs, ys))
    return add(where(x_big, x, y), log1p(exp(diff)))


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
arccosh = _unary(ew.acosh_p)
arctanh = _unary(ew.atanh_p)
abs = absolute = _unary(ew.abs_p, to_float=False)  # noqa: A001
sign = _unary(ew.sign_p, to_float=False)
floor = _unary(ew.floor_p)
ceil = _unary(ew.ceil_p)


def round(x, decimals=0):  # noqa: A001
    """Round half to even, like NumPy; ``decimals`` scales by ``10**decimals`` first.
    The derivative is zero (rounding is piecewise constant)."""
    x = asarray(x)
    if not np.issubdtype(get_aval(x).dtype, np.inexact):
        return x
    if decimals == 0:
        return ew.round_p.bind(x)
    scale = 10.0 ** decimals
    return divide(ew.round_p.bind(multiply(x, scale)), scale)


around = round


def log2(x):
    """Base-2 logarithm."""
    return multiply(log(x), float(1.0 / np.log(2.0)))


def log10(x):
    """Base-10 logarithm."""
    return multiply(log(x), float(1.0 / np.log(10.0)))


def square(x):
    """``x * x``."""
    x = asarray(x)
    return multiply(x, x)


def reciprocal(x):
    """``1 / x`` (integers are promoted to float64)."""
    return divide(1, x)


# ---------------------------------------------------------------- complex parts and dtypes

def real(x):
    """Real part; a real array is returned unchanged."""
    x = asarray(x)
    return ew.real(x) if is_complex(get_aval(x).dtype) else x


def imag(x):
    """Imaginary part; zeros for a real array."""
    x = asarray(x)
    a = get_aval(x)
    return ew.imag(x) if is_complex(a.dtype) else np.zeros(a.shape, a.dtype)


def conjugate(x):
    """Complex conjugate; a real array is returned unchanged."""
    x = asarray(x)
    return ew.conj(x) if is_complex(get_aval(x).dtype) else x


conj = conjugate


def astype(x, dtype):
    """``x`` converted to ``dtype``. The derivative flows between inexact dtypes
    (complex to real keeps the real part); integer results carry none."""
    return ew.convert_element_type(asarray(x), np.dtype(dtype))


# ---------------------------------------------------------------- selection

def where(condition, x=None, y=None):
    """``x`` where ``condition`` else ``y`` (the 1-argument form is not supported:
    its shape depends on the data)."""
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


def clip(x, a_min=None, a_max=None, *, min=None, max=None):  # noqa: A002
    """Limit ``x`` to ``[a_min, a_max]``. At a bound (a tie) the derivative is split
    evenly between ``x`` and the bound, as for :func:`maximum`/:func:`minimum`."""
    lo = a_min if a_min is not None else min
    hi = a_max if a_max is not None else max
    x = asarray(x)
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


def _prep(x, axis, op):
    x = asarray(x)
    return x, normalize_axes(axis, get_aval(x).ndim, op)


def sum(x, axis=None, dtype=None, keepdims=False):  # noqa: A001
    """Sum over ``axis`` (None: all axes)."""
    x, axes = _prep(x, axis, "sum")
    x = _accumulate_dtype(x, dtype, "sum")
    return _keep(red.reduce_sum(x, axes), x, axes, keepdims)


def prod(x, axis=None, dtype=None, keepdims=False):
    """Product over ``axis``. Its derivative is exact with zeros in ``x`` (no division).

    >>> import numpy as np
    >>> prod(np.array([[1.0, 2.0], [3.0, 4.0]]), axis=1)
    array([ 2., 12.])
    """
    x, axes = _prep(x, axis, "prod")
    x = _accumulate_dtype(x, dtype, "prod")
    return _keep(red.reduce_prod(x, axes), x, axes, keepdims)


def _count(x, axes):
    s = get_aval(x).shape
    return int(np.prod([s[a] for a in axes], dtype=np.int64))


def mean(x, axis=None, dtype=None, keepdims=False):
    """Arithmetic mean over ``axis`` (integers give float64)."""
    x = asarray(x)
    if dtype is not None:
        x = ew.convert_element_type(x, np.dtype(dtype))
    x, = promote(x, to_float=True)
    axes = normalize_axes(axis, get_aval(x).ndim, "mean")
    return divide(sum(x, axes, keepdims=keepdims), _count(x, axes))


def var(x, axis=None, dtype=None, ddof=0, keepdims=False):
    """Variance ``sum(|x - mean|**2) / (n - ddof)`` over ``axis``; real for complex ``x``."""
    x = asarray(x)
    if dtype is not None:
        x = ew.convert_element_type(x, np.dtype(dtype))
    x, = promote(x, to_float=True)
    axes = normalize_axes(axis, get_aval(x).ndim, "var")
    d = subtract(x, mean(x, axes, keepdims=True))
    sq = ew.real(multiply(d, ew.conj(d))) if is_complex(get_aval(d).dtype) else multiply(d, d)
    n = _count(x, axes) - ddof
    return divide(sum(sq, axes, keepdims=keepdims), np.asarray(n, real_dtype(get_aval(x).dtype)))


def std(x, axis=None, dtype=None, ddof=0, keepdims=False):
    """Standard deviation: ``sqrt(var(x, axis, ddof=ddof))``."""
    return sqrt(var(x, axis, dtype, ddof, keepdims))


def _extremum(prim_fn, name):
    def f(x, axis=None, keepdims=False):
        x, axes = _prep(x, axis, name)
        s = get_aval(x).shape
        if builtins.any(s[a] == 0 for a in axes):
            raise ValueError(f"{name}: reduction over an empty axis of an array of shape {s} "
                             "has no identity")
        out = prim_fn(x, axes) if axes else x
        return _keep(out, x, axes, keepdims)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = (f"{'Maximum' if name == 'max' else 'Minimum'} over ``axis``; ties share the "
                 "derivative evenly.")
    return f


max = amax = _extremum(red.reduce_max, "max")  # noqa: A001
min = amin = _extremum(red.reduce_min, "min")  # noqa: A001


def any(x, axis=None, keepdims=False):  # noqa: A001
    """Logical OR over ``axis`` (boolean; not differentiable)."""
    x, axes = _prep(x, axis, "any")
    b = not_equal(x, 0) if get_aval(x).dtype != np.bool_ else x
    if builtins.any(get_aval(b).shape[a] == 0 for a in axes):
        return _keep(np.zeros(tuple(d for i, d in enumerate(get_aval(b).shape) if i not in axes),
                              bool), b, axes, keepdims)
    return _keep(red.reduce_max(b, axes) if axes else b, b, axes, keepdims)


def all(x, axis=None, keepdims=False):  # noqa: A001
    """Logical AND over ``axis`` (boolean; not differentiable)."""
    return logical_not(any(logical_not(asarray(x)), axis, keepdims))


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


def cumsum(x, axis=None, dtype=None):
    """Running sum along ``axis`` (None: over the flattened array)."""
    x, ax = _flat_axis(x, axis, "cumsum")
    _check_not_0d(x, "cumsum")
    return red.cumsum(_accumulate_dtype(x, dtype, "cumsum"), ax)


def cumprod(x, axis=None, dtype=None):
    """Running product along ``axis``; its derivative is exact with zeros in ``x``."""
    x, ax = _flat_axis(x, axis, "cumprod")
    _check_not_0d(x, "cumprod")
    return red.cumprod(_accumulate_dtype(x, dtype, "cumprod"), ax)


def _arg(prim_fn, name):
    def f(x, axis=None, keepdims=False):
        x0 = asarray(x)
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
    f.__doc__ = (f"Index of the first {name[3:]}imum along ``axis`` (None: flattened). An "
                 "integer: it has no derivative and stops the tangent.")
    return f


argmax = _arg(red.argmax, "argmax")
argmin = _arg(red.argmin, "argmin")


def sort(x, axis=-1):
    """Sorted values along ``axis`` (None: flattened). The derivative follows the
    sorting permutation (stable order at ties)."""
    x, ax = _flat_axis(x, axis, "sort")
    _check_not_0d(x, "sort")
    return red.sort(x, ax)


def argsort(x, axis=-1):
    """Stable sorting permutation along ``axis`` (integer; not differentiable)."""
    x, ax = _flat_axis(x, axis, "argsort")
    _check_not_0d(x, "argsort")
    return red.argsort(x, ax)
