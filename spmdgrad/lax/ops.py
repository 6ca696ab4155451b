"""``jax.lax``'s elementwise operations, with lax's strict typing.

As in JAX: operands of a binary op have one dtype (``lax.add(float32, float64)``
is a ``TypeError``; ``spmdgrad.numpy`` is the promoting front end), Python
scalars are weakly typed (a Python float takes a float operand's dtype, a Python
int an integer operand's), shapes have equal rank or are 0-d, and size-1 axes
broadcast. Transcendental ops accept only inexact dtypes. Integer ``div``
rounds toward zero and ``rem`` takes the dividend's sign (C semantics), with
XLA's results for a zero divisor (``x // 0 = -1``, ``x % 0 = x``).

Each op is the strict primitive of :mod:`spmdgrad.primitives`, so every one
differentiates, batches and jits; integer and boolean results carry no tangent.
``add``, ``max`` and ``min`` are :mod:`spmdgrad.lax.windowed`'s (they also name
``reduce_window``'s monoids), checked the same way here.

>>> import numpy as np
>>> from spmdgrad import lax
>>> lax.mul(np.array([1.0, 2.0]), 3.0)
array([3., 6.])
>>> lax.div(np.array([-7, 7]), np.array([2, 2]))
array([-3,  3])
"""
from __future__ import annotations

import builtins
import enum

import numpy as np

from ..core import Tracer, get_aval
from ..primitives import elementwise as ew
from ..primitives.lax_arith import bitwise as _bitwise
from ..primitives.lax_arith import int_div_p, rem_p
from ..primitives.elementwise import convert_element_type as _convert
from ..primitives.stop_gradient import stop_gradient
from ..primitives.structural import broadcast_in_dim, reshape
from . import windowed

__all__ = [
    "RoundingMethod", "abs", "acos", "acosh", "add", "asin", "asinh", "atan", "atan2", "atanh",
    "bitwise_and", "bitwise_not", "bitwise_or", "bitwise_xor", "cbrt", "ceil", "clamp", "complex",
    "conj", "convert_element_type", "cos", "cosh", "div", "eq", "exp", "exp2", "expm1", "floor",
    "ge", "gt", "imag", "integer_pow", "is_finite", "le", "log", "log1p", "logistic", "lt", "max",
    "min", "mul", "ne", "neg", "pow", "real", "reciprocal", "rem", "round", "rsqrt", "select",
    "select_n", "shift_left", "shift_right_arithmetic", "sign", "sin", "sinh", "sqrt", "square",
    "sub", "tan", "tanh",
]

_PY_SCALARS = (bool, int, float, builtins.complex)
_KIND = {bool: "b", int: "iu", float: "f", builtins.complex: "c"}
_DEFAULT = {bool: np.dtype(bool), int: np.dtype(np.int64), float: np.dtype(np.float64),
            builtins.complex: np.dtype(np.complex128)}


def _is_py_scalar(x):
    return type(x) in _PY_SCALARS


def _array(x, name):
    if isinstance(x, Tracer | np.ndarray | np.generic):
        return x
    if _is_py_scalar(x):
        return np.asarray(x, _DEFAULT[type(x)])
    try:
        out = np.asarray(x)
    except Exception as e:  # noqa: BLE001
        raise TypeError(f"lax.{name}: operand {x!r} is not an array") from e
    if out.dtype == object or out.dtype.kind in "USV":
        raise TypeError(f"lax.{name}: operand {x!r} is not a numeric array")
    return out


def _weak(x, dtype):
    """A Python scalar as an array: of ``dtype`` if of the same kind (JAX's weak type)."""
    return np.asarray(x, dtype if dtype.kind in _KIND[type(x)] else _DEFAULT[type(x)])


def _operands(name, *xs):
    """One dtype (Python scalars weakly typed), equal ranks or 0-d, size-1 axes broadcast."""
    arrays = [x for x in xs if not _is_py_scalar(x)]
    dtype = get_aval(_array(arrays[0], name)).dtype if arrays else None
    out = []
    for x in xs:
        if _is_py_scalar(x):
            out.append(_weak(x, dtype) if dtype is not None else _array(x, name))
        else:
            out.append(_array(x, name))
    avals = [get_aval(x) for x in out]
    dts = [a.dtype for a in avals]
    if any(d != dts[0] for d in dts):
        raise TypeError(f"lax.{name} requires arguments to have the same dtypes, got "
                        f"{', '.join(d.name for d in dts)} (spmdgrad.numpy.{name} promotes)")
    shapes = [a.shape for a in avals if a.shape != ()]
    if shapes:
        ranks = {len(s) for s in shapes}
        if len(ranks) > 1:
            raise TypeError(f"lax.{name}: arrays must have the same number of dimensions, got shapes "
                            f"{[a.shape for a in avals]}")
        target = tuple(builtins.max(d) for d in zip(*shapes))
        for s in shapes:
            if any(d != t and d != 1 for d, t in zip(s, target)):
                raise TypeError(f"lax.{name} got incompatible shapes for broadcasting: "
                                f"{', '.join(str(a.shape) for a in avals)}")
        out = [x if a.shape in ((), target) else
               broadcast_in_dim(_squeeze1(x, a.shape, target), target,
                                tuple(i for i, (d, t) in enumerate(zip(a.shape, target)) if d == t))
               for x, a in zip(out, avals)]
    return out


def _squeeze1(x, shape, target):
    return reshape(x, tuple(d for d, t in zip(shape, target) if d == t))


_KIND_NAMES = {"f": "floating", "c": "complexfloating", "i": "signedinteger", "u": "unsignedinteger",
               "b": "bool"}


def _check_kind(name, x, kinds, position=None):
    dt = get_aval(x).dtype
    if dt.kind not in kinds:
        where = "" if position is None else f" at position {position}"
        accepted = ", ".join(_KIND_NAMES[k] for k in kinds)
        raise TypeError(f"lax.{name} does not accept dtype {dt.name}{where}. Accepted dtypes are "
                        f"subtypes of {accepted}")
    return x


_INEXACT, _FLOAT, _NUMERIC, _INT, _INT_BOOL = "fc", "f", "iufc", "iu", "iub"


def _unary(name, prim, kinds, doc):
    def op(x):
        x, = _operands(name, x)
        return prim.bind(_check_kind(name, x, kinds))
    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


def _binary(name, fn, kinds, doc):
    def op(x, y):
        x, y = _operands(name, x, y)
        _check_kind(name, x, kinds)
        return fn(x, y)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


def _doc(what, example, result):
    return f"{what}\n\n    >>> import numpy as np\n    >>> {example}\n    {result}\n    "


# ---------------------------------------------------------------- arithmetic
add = _binary("add", windowed.add, _NUMERIC, windowed.add.__doc__)
max = _binary("max", windowed.max, _NUMERIC + "b", windowed.max.__doc__)  # noqa: A001
min = _binary("min", windowed.min, _NUMERIC + "b", windowed.min.__doc__)  # noqa: A001
# reduce_window recognises its monoids by identity: these checked forms name them too.
windowed._MONOIDS.update({id(add): "add", id(max): "max", id(min): "min"})
sub = _binary("sub", ew.sub, _NUMERIC, _doc(
    "Elementwise difference ``x - y`` (one dtype).", "sub(np.array([3.0]), np.array([1.0]))",
    "array([2.])"))
mul = _binary("mul", ew.mul, _NUMERIC + "b", _doc(
    "Elementwise product ``x * y`` (one dtype).", "mul(np.array([3.0]), 2.0)", "array([6.])"))
atan2 = _binary("atan2", lambda x, y: ew.atan2_p.bind(x, y), _FLOAT, _doc(
    "Elementwise ``arctan(x / y)`` in the right quadrant.", "atan2(np.array([1.0]), np.array([1.0]))",
    "array([0.78539816])"))


def div(x, y):
    """Elementwise quotient; integers round toward zero (``x // 0 == -1``, as XLA).

    >>> import numpy as np
    >>> div(np.array([7.0, -7.0]), 2.0), div(np.array([7, -7]), np.array([2, 2]))
    (array([ 3.5, -3.5]), array([ 3, -3]))
    """
    x, y = _operands("div", x, y)
    _check_kind("div", x, _NUMERIC)
    if get_aval(x).dtype.kind in "iu":
        return int_div_p.bind(x, y)
    return ew.div(x, y)


def rem(x, y):
    """Elementwise remainder with the dividend's sign (C's ``fmod``); ``x % 0 == x`` for integers.

    >>> import numpy as np
    >>> rem(np.array([-7, 7]), np.array([2, -2])), rem(np.array([-7.5]), 2.0)
    (array([-1,  1]), array([-1.5]))
    """
    x, y = _operands("rem", x, y)
    _check_kind("rem", x, _NUMERIC)
    return rem_p.bind(x, y)


def pow(x, y):  # noqa: A001
    """``x ** y`` for inexact ``x``; ``y`` of ``x``'s dtype or an integer array.

    >>> import numpy as np
    >>> pow(np.array([2.0, 3.0]), np.array([2, 3]))
    array([ 4., 27.])
    """
    x = _array(x, "pow") if not _is_py_scalar(x) else x
    if not _is_py_scalar(y) and get_aval(_array(y, "pow")).dtype.kind in "iu":
        x, = _operands("pow", x)
        _check_kind("pow", x, _INEXACT, 0)
        y = _array(y, "pow")
        x, y_f = _operands("pow", x, _convert(y, get_aval(x).dtype))
        return ew.pow(x, y_f)
    x, y = _operands("pow", x, y)
    _check_kind("pow", x, _INEXACT, 0)
    return ew.pow(x, y)


def integer_pow(x, y):
    """``x ** y`` for a static Python int ``y`` (negative only for inexact ``x``).

    >>> import numpy as np
    >>> integer_pow(np.array([2.0, 3.0]), -2), integer_pow(np.array([2, 3]), 3)
    (array([0.25      , 0.11111111]), array([ 8, 27]))
    """
    if not isinstance(y, int | np.integer) or isinstance(y, bool):
        raise TypeError(f"lax.integer_pow: the exponent must be a Python int, got {y!r}")
    x, = _operands("integer_pow", x)
    _check_kind("integer_pow", x, _NUMERIC)
    dt = get_aval(x).dtype
    if y < 0 and dt.kind in "iu":
        raise TypeError(f"lax.integer_pow: negative exponent {y} for integer dtype {dt.name}")
    if y == 0:
        return ew.add(ew.mul(x, np.zeros((), dt)), np.ones((), dt))
    acc, base, n = None, x, builtins.abs(int(y))
    while n:  # square-and-multiply: exact for integers, derivatives by the chain rule
        if n & 1:
            acc = base if acc is None else ew.mul(acc, base)
        n >>= 1
        if n:
            base = ew.mul(base, base)
    return ew.div(np.ones((), dt), acc) if y < 0 else acc


def square(x):
    """``x * x``.

    >>> import numpy as np
    >>> square(np.array([3, -2]))
    array([9, 4])
    """
    return integer_pow(x, 2)


def reciprocal(x):
    """``1 / x`` for inexact ``x``.

    >>> import numpy as np
    >>> reciprocal(np.array([4.0]))
    array([0.25])
    """
    x, = _operands("reciprocal", x)
    _check_kind("reciprocal", x, _INEXACT)
    return ew.div(np.ones((), get_aval(x).dtype), x)


neg = _unary("neg", ew.neg_p, _NUMERIC, _doc("Elementwise ``-x``.", "neg(np.array([1, -2]))",
                                             "array([-1,  2])"))
sign = _unary("sign", ew.sign_p, _NUMERIC, _doc("Elementwise sign (0 at 0).",
                                                "sign(np.array([-2.0, 0.0, 3.0]))",
                                                "array([-1.,  0.,  1.])"))
abs = _unary("abs", ew.abs_p, _NUMERIC, _doc("Elementwise absolute value (real for complex).",  # noqa: A001
                                             "abs(np.array([-2, 3]))", "array([2, 3])"))

# ---------------------------------------------------------------- transcendental (inexact only)
def _transcendental(name, prim, result):
    arg = 1.0 if name == "log" else 0.0
    return _unary(name, prim, _INEXACT, _doc(f"Elementwise ``{name}`` (inexact dtypes only).",
                                             f"{name}(np.array([{arg}]))", result))


exp = _transcendental("exp", ew.exp_p, "array([1.])")
log = _transcendental("log", ew.log_p, "array([0.])")
log1p = _transcendental("log1p", ew.log1p_p, "array([0.])")
expm1 = _transcendental("expm1", ew.expm1_p, "array([0.])")
sin = _transcendental("sin", ew.sin_p, "array([0.])")
cos = _transcendental("cos", ew.cos_p, "array([1.])")
tan = _transcendental("tan", ew.tan_p, "array([0.])")
asin = _transcendental("asin", ew.asin_p, "array([0.])")
acos = _transcendental("acos", ew.acos_p, "array([1.57079633])")
atan = _transcendental("atan", ew.atan_p, "array([0.])")
sinh = _transcendental("sinh", ew.sinh_p, "array([0.])")
cosh = _transcendental("cosh", ew.cosh_p, "array([1.])")
tanh = _transcendental("tanh", ew.tanh_p, "array([0.])")
asinh = _transcendental("asinh", ew.asinh_p, "array([0.])")
atanh = _transcendental("atanh", ew.atanh_p, "array([0.])")
logistic = _transcendental("logistic", ew.logistic_p, "array([0.5])")
sqrt = _transcendental("sqrt", ew.sqrt_p, "array([0.])")
acosh = _unary("acosh", ew.acosh_p, _INEXACT, _doc("Elementwise ``acosh``.", "acosh(np.array([1.0]))",
                                                    "array([0.])"))
floor = _unary("floor", ew.floor_p, _FLOAT, _doc("Elementwise floor (floating dtypes only).",
                                                 "floor(np.array([-1.5]))", "array([-2.])"))
ceil = _unary("ceil", ew.ceil_p, _FLOAT, _doc("Elementwise ceiling (floating dtypes only).",
                                              "ceil(np.array([-1.5]))", "array([-1.])"))


def exp2(x):
    """``2 ** x`` for inexact ``x``.

    >>> import numpy as np
    >>> exp2(np.array([3.0]))
    array([8.])
    """
    x, = _operands("exp2", x)
    _check_kind("exp2", x, _INEXACT)
    return ew.exp(ew.mul(x, np.asarray(np.log(2.0), get_aval(x).dtype)))


def rsqrt(x):
    """``1 / sqrt(x)`` for inexact ``x``.

    >>> import numpy as np
    >>> rsqrt(np.array([4.0]))
    array([0.5])
    """
    x, = _operands("rsqrt", x)
    _check_kind("rsqrt", x, _INEXACT)
    return ew.div(np.ones((), get_aval(x).dtype), ew.sqrt(x))


def cbrt(x):
    """Real cube root (negative for negative ``x``), floating dtypes only.

    >>> import numpy as np
    >>> cbrt(np.array([-8.0, 27.0]))
    array([-2.,  3.])
    """
    x, = _operands("cbrt", x)
    _check_kind("cbrt", x, _FLOAT)
    dt = get_aval(x).dtype
    mag = ew.pow(ew.abs_p.bind(x), np.asarray(1.0 / 3.0, dt))
    return ew.mul(ew.sign_p.bind(x), mag)


class RoundingMethod(enum.IntEnum):
    """``lax.round``'s tie rule: away from zero (lax's default) or to nearest even."""
    AWAY_FROM_ZERO = 0
    TO_NEAREST_EVEN = 1


def round(x, rounding_method=RoundingMethod.AWAY_FROM_ZERO):  # noqa: A001
    """Round to an integral value; ties away from zero by default (``lax.round``'s rule).

    >>> import numpy as np
    >>> round(np.array([0.5, 1.5, 2.5, -0.5])), round(np.array([0.5, 2.5]), RoundingMethod.TO_NEAREST_EVEN)
    (array([ 1.,  2.,  3., -1.]), array([0., 2.]))
    """
    x, = _operands("round", x)
    _check_kind("round", x, _FLOAT)
    method = RoundingMethod(rounding_method)
    if method == RoundingMethod.TO_NEAREST_EVEN:
        return ew.round_p.bind(x)
    dt = get_aval(x).dtype
    mag = ew.floor(ew.add(ew.abs_p.bind(x), np.asarray(0.5, dt)))
    # copysign keeps -0.0 and the sign of values that round to 0
    return ew.select_n(ew.lt(x, np.zeros((), dt)), mag, ew.neg(mag))


def is_finite(x):
    """True where ``x`` is neither infinite nor NaN (floating dtypes only).

    >>> import numpy as np
    >>> is_finite(np.array([1.0, np.inf, np.nan]))
    array([ True, False, False])
    """
    x, = _operands("is_finite", x)
    return ew.isfinite_p.bind(_check_kind("is_finite", x, _FLOAT))


real = _unary("real", ew.real_p, "c", _doc("Real part of a complex array.", "real(np.array([1+2j]))",
                                           "array([1.])"))
imag = _unary("imag", ew.imag_p, "c", _doc("Imaginary part of a complex array.",
                                           "imag(np.array([1+2j]))", "array([2.])"))
conj = _unary("conj", ew.conj_p, "fc", _doc("Complex conjugate.", "conj(np.array([1+2j]))",
                                            "array([1.-2.j])"))
complex = _binary("complex", ew.complex, _FLOAT, _doc(  # noqa: A001
    "``x + 1j * y`` from two floating arrays.", "complex(np.array([1.0]), np.array([2.0]))",
    "array([1.+2.j])"))

# ---------------------------------------------------------------- comparisons and bit operations
def _comparison(name, prim, np_fn):
    example = "np.array([1.0, 2.0]), 2.0"
    return _binary(name, prim.bind, _NUMERIC + "b", _doc(
        f"Elementwise comparison ``{name}`` (one dtype): a boolean array.", f"{name}({example})",
        repr(np_fn(np.array([1.0, 2.0]), 2.0))))


eq = _comparison("eq", ew.eq_p, np.equal)
ne = _comparison("ne", ew.ne_p, np.not_equal)
lt = _comparison("lt", ew.lt_p, np.less)
le = _comparison("le", ew.le_p, np.less_equal)
gt = _comparison("gt", ew.gt_p, np.greater)
ge = _comparison("ge", ew.ge_p, np.greater_equal)


def _bitwise_binary(name):
    return _binary(name, _bitwise[name].bind, _INT_BOOL, _doc(
        f"Elementwise ``{name}`` of integer or boolean arrays.", f"{name}(np.array([6]), np.array([3]))",
        repr(getattr(np, name)(np.array([6]), np.array([3])))))


bitwise_and = _bitwise_binary("bitwise_and")
bitwise_or = _bitwise_binary("bitwise_or")
bitwise_xor = _bitwise_binary("bitwise_xor")
bitwise_not = _unary("bitwise_not", _bitwise["bitwise_not"], _INT_BOOL, _doc(
    "Elementwise bit inversion (logical not for booleans).", "bitwise_not(np.array([True, False]))",
    "array([False,  True])"))
shift_left = _binary("shift_left", _bitwise["shift_left"].bind, _INT, _doc(
    "``x << y`` for integers.", "shift_left(np.array([1]), np.array([3]))", "array([8])"))
shift_right_arithmetic = _binary("shift_right_arithmetic", _bitwise["shift_right_arithmetic"].bind,
                                 _INT, _doc("``x >> y`` keeping the sign.",
                                            "shift_right_arithmetic(np.array([-8]), np.array([1]))",
                                            "array([-4])"))


# ---------------------------------------------------------------- selection and conversion
def select(pred, on_true, on_false):
    """``on_true`` where ``pred`` else ``on_false``; ``pred`` boolean, 0-d or of the cases' shape.

    >>> import numpy as np
    >>> select(np.array([True, False]), np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    array([1., 4.])
    """
    return select_n(pred, on_false, on_true)


def select_n(which, *cases):
    """``cases[which]`` elementwise: ``which`` boolean (two cases) or integer, 0-d or of the
    cases' shape; the cases share one dtype and shape.

    >>> import numpy as np
    >>> select_n(np.array([0, 2, 1]), np.zeros(3), np.ones(3), np.full(3, 2.0))
    array([0., 2., 1.])
    """
    if not cases:
        raise ValueError("lax.select_n needs at least one case")
    which = _array(which, "select_n")
    cases = [_array(c, "select_n") if not _is_py_scalar(c) else c for c in cases]
    cases = _operands("select_n", *cases) if len(cases) > 1 else [_array(cases[0], "select_n")]
    wa, shapes = get_aval(which), {get_aval(c).shape for c in cases}
    if len(shapes) > 1:
        raise TypeError(f"lax.select cases must have the same shapes, got {sorted(shapes)}")
    shape = shapes.pop()
    if wa.dtype.kind not in "biu":
        raise TypeError(f"lax.select `which` must be boolean or integer type, got {wa.dtype.name}")
    if wa.shape not in ((), shape):
        raise TypeError(f"lax.select `which` must be scalar or have the same shape as cases, got "
                        f"`which` shape {wa.shape} but case shape {shape}")
    if wa.dtype.kind == "b" and len(cases) != 2:
        raise TypeError(f"lax.select_n: a boolean `which` needs 2 cases, got {len(cases)}")
    if len(cases) == 1:
        return cases[0]
    if wa.dtype.kind == "b":
        return ew.select_n(which, cases[0], cases[1])
    out = cases[-1]
    for i in range(len(cases) - 2, -1, -1):  # out-of-range indices pick the last case
        out = ew.select_n(ew.eq(which, np.asarray(i, wa.dtype)), out, cases[i])
    return out


def clamp(min, x, max):  # noqa: A002
    """``x`` clipped to ``[min, max]`` (bounds 0-d or of ``x``'s shape, one dtype).

    As JAX: the derivative goes to ``x`` strictly inside the bounds and to a bound
    strictly beyond it; at a tie neither gets one.

    >>> import numpy as np
    >>> clamp(0.0, np.array([-1.0, 0.5, 2.0]), 1.0)
    array([0. , 0.5, 1. ])
    """
    lo, x, hi = _operands("clamp", min, x, max)
    _check_kind("clamp", x, _NUMERIC + "b")
    tie = ew.or_p.bind(ew.eq(x, lo), ew.eq(x, hi))
    inner = ew.select_n(tie, x, stop_gradient(x))
    return ew.select_n(ew.lt(x, lo), ew.select_n(ew.gt(x, hi), inner, hi), lo)


def convert_element_type(operand, new_dtype):
    """Cast to ``new_dtype``; floating to integer truncates toward zero, saturates out of
    range and maps NaN to 0 (XLA's rule, where NumPy's cast is undefined).

    >>> import numpy as np
    >>> convert_element_type(np.array([1.7, -1.7, np.nan, 1e300]), np.int32)
    array([         1,         -1,          0, 2147483647], dtype=int32)
    """
    x = _array(operand, "convert_element_type") if not _is_py_scalar(operand) else \
        np.asarray(operand, _DEFAULT[type(operand)])
    new = np.dtype(new_dtype)
    old = get_aval(x).dtype
    if old.kind in "fc" and new.kind in "iu":
        if old.kind == "c":
            x = ew.real(x)
            old = get_aval(x).dtype
        info = np.iinfo(new)
        lo, hi = np.asarray(info.min, old), np.asarray(info.max, old)
        below, above, nan = ew.lt(x, lo), ew.ge_p.bind(x, hi), ew.isnan_p.bind(x)
        safe = ew.select_n(ew.or_p.bind(ew.or_p.bind(below, above), nan), x, np.zeros((), old))
        out = _convert(safe, new)
        out = ew.select_n(below, out, np.asarray(info.min, new))
        return ew.select_n(above, out, np.asarray(info.max, new))
    if old.kind == "c" and new.kind not in "c":
        x = ew.real(x)
    return _convert(x, new)
