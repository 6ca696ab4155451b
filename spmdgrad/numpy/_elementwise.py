"""Elementwise math of the NumPy front end: arithmetic, comparisons, logic, unary
functions, complex parts, ``where`` and ``clip``.

Operands are promoted (NumPy rules; a Python scalar never widens an array) and
broadcast here, then handed to the strict elementwise primitives.

>>> import numpy as np, spmdgrad.numpy as jnp
>>> jnp.exp(np.zeros(2, np.float32)) * 2.0
array([2., 2.], dtype=float32)
"""
from __future__ import annotations

import numpy as np

from ..core import Tracer, get_aval
from ..dtypes import is_complex
from ..primitives import elementwise as ew
from ._core import asarray, broadcast_to, doc_example, promote, same_float_tracers

__all__ = [
    "add", "subtract", "multiply", "divide", "true_divide", "floor_divide", "remainder", "mod",
    "power", "pow", "negative", "positive", "maximum", "minimum", "arctan2", "logaddexp",
    "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
    "logical_and", "logical_or", "logical_xor", "logical_not", "isfinite", "isnan", "isinf",
    "exp", "log", "log1p", "expm1", "log2", "log10", "sqrt", "square", "reciprocal",
    "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh",
    "arcsinh", "arccosh", "arctanh", "abs", "absolute", "sign", "floor", "ceil", "round",
    "around", "real", "imag", "conj", "conjugate", "astype", "where", "clip",
]


def check_out(out, op):
    """NumPy's ``out=`` writes in place, which immutable (traced) arrays cannot do."""
    if out is not None:
        raise TypeError(f"{op}: out= is not supported (spmdgrad arrays are immutable, as in "
                        "JAX); use the returned value")


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
        elif same_float_tracers(x, y):
            # Fast path: of one shape (or a 0-d one, which the primitive broadcasts).
            sx, sy = x.aval.shape, y.aval.shape
            if sx == sy or not sx or not sy:
                return prim.bind(x, y)
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

def real(val):
    """Real part; a real array is returned unchanged.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.real(np.array([1.0 + 2.0j]))
    array([1.])
    """
    x = asarray(val)
    return ew.real(x) if is_complex(get_aval(x).dtype) else x


def imag(val):
    """Imaginary part; zeros for a real array.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.imag(np.array([1.0 + 2.0j]))
    array([2.])
    """
    x = asarray(val)
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


def astype(x, dtype, /, *, copy=True, device=None):
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
