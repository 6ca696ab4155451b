"""Elementwise math and reductions of the NumPy front end."""
from __future__ import annotations

import numpy as np

from ..core import get_aval
from ..primitives import elementwise as ew
from ..primitives import reductions as red
from ..primitives.structural import reshape
from ._core import asarray, normalize_axes, promote


def _unary(prim, to_float=True):
    def f(x):
        x, = promote(x, to_float=to_float)
        return prim.bind(x)
    f.__name__ = prim.name
    f.__doc__ = f"Elementwise ``{prim.name}`` (NumPy semantics, differentiable)."
    return f


def _binary(prim, to_float=False):
    def f(x, y):
        return prim.bind(*promote(x, y, to_float=to_float))
    f.__name__ = prim.name
    f.__doc__ = f"Elementwise ``{prim.name}`` with NumPy broadcasting and promotion."
    return f


add = _binary(ew.add_p)
subtract = _binary(ew.sub_p)
multiply = _binary(ew.mul_p)
true_divide = divide = _binary(ew.div_p, to_float=True)
maximum = _binary(ew.max_p)
minimum = _binary(ew.min_p)
arctan2 = _binary(ew.atan2_p, to_float=True)
remainder = mod = _binary(ew.rem_p)
floor_divide = _binary(ew.floor_divide_p)
equal = _binary(ew.eq_p)
not_equal = _binary(ew.ne_p)
less = _binary(ew.lt_p)
less_equal = _binary(ew.le_p)
greater = _binary(ew.gt_p)
greater_equal = _binary(ew.ge_p)
logical_and = _binary(ew.and_p)
logical_or = _binary(ew.or_p)
logical_xor = _binary(ew.xor_p)
logical_not = _unary(ew.not_p, to_float=False)
isfinite = _unary(ew.isfinite_p, to_float=False)
isnan = _unary(ew.isnan_p, to_float=False)


def power(x, y):
    """``x ** y``; an integer-valued Python exponent stays exact (x * x * ...)."""
    if isinstance(y, int) and not isinstance(y, bool) and 0 <= y <= 4:
        x = asarray(x)
        if y == 0:
            return ones_like_value(x)
        out = x
        for _ in range(y - 1):
            out = multiply(out, x)
        return out
    return ew.pow_p.bind(*promote(x, y))


def ones_like_value(x):
    a = get_aval(x)
    return np.ones(a.shape, a.dtype)


negative = _unary(ew.neg_p, to_float=False)
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
round = _unary(ew.round_p)  # noqa: A001
real = _unary(ew.real_p, to_float=False)
imag = _unary(ew.imag_p, to_float=False)
conjugate = conj = _unary(ew.conj_p, to_float=False)


def log2(x):
    x, = promote(x, to_float=True)
    return multiply(log(x), 1.0 / np.log(2.0))


def log10(x):
    x, = promote(x, to_float=True)
    return multiply(log(x), 1.0 / np.log(10.0))


def square(x):
    return multiply(x, x)


def reciprocal(x):
    return divide(1.0, x)


def where(condition, x=None, y=None):
    """``x`` where ``condition`` else ``y`` (the 1-argument form is not differentiable)."""
    if x is None or y is None:
        raise TypeError("spmdgrad.numpy.where needs three arguments (condition, x, y); the "
                        "one-argument form has a data-dependent shape")
    c = asarray(condition)
    if get_aval(c).dtype != np.bool_:
        c = not_equal(c, 0)
    x, y = promote(x, y)
    c, x, y = promote_shapes(c, x, y)
    return ew.select_n(c, y, x)


def promote_shapes(*args):
    """Broadcast to one shape without touching dtypes."""
    from ._core import broadcast_to
    shapes = [get_aval(a).shape for a in args]
    target = np.broadcast_shapes(*shapes)
    return [a if s in (target, ()) else broadcast_to(a, target) for a, s in zip(args, shapes, strict=True)]


def clip(x, a_min=None, a_max=None):
    if a_min is not None:
        x = maximum(x, a_min)
    if a_max is not None:
        x = minimum(x, a_max)
    return x


# ---------------------------------------------------------------- reductions

def _keep(out, x, axes, keepdims):
    if not keepdims:
        return out
    s = get_aval(x).shape
    return reshape(out, tuple(1 if i in axes else d for i, d in enumerate(s)))


def sum(x, axis=None, dtype=None, keepdims=False):  # noqa: A001
    x = asarray(x)
    if dtype is not None:
        x = ew.convert_element_type(x, dtype)
    elif get_aval(x).dtype == np.bool_:
        x = ew.convert_element_type(x, np.int64)
    axes = normalize_axes(axis, get_aval(x).ndim, "sum")
    return _keep(red.reduce_sum(x, axes), x, axes, keepdims)


def mean(x, axis=None, keepdims=False):
    x, = promote(x, to_float=True)
    axes = normalize_axes(axis, get_aval(x).ndim, "mean")
    n = int(np.prod([get_aval(x).shape[a] for a in axes], dtype=np.int64))
    return divide(sum(x, axes, keepdims=keepdims), n)


def max(x, axis=None, keepdims=False):  # noqa: A001
    x = asarray(x)
    axes = normalize_axes(axis, get_aval(x).ndim, "max")
    return _keep(red.reduce_max(x, axes), x, axes, keepdims)


def min(x, axis=None, keepdims=False):  # noqa: A001
    x = asarray(x)
    axes = normalize_axes(axis, get_aval(x).ndim, "min")
    return _keep(red.reduce_min(x, axes), x, axes, keepdims)


amax, amin = max, min
