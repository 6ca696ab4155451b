"""More elementwise functions, composed from the primitives of :mod:`._math`, and the
integer/bit functions, which run through the one non-differentiable primitive.

Where NumPy's own result is exact and a composition would round differently (fmod,
nextafter), the value is NumPy's and the derivative comes from a differentiable
surrogate: ``exact + (s - stop(s))`` adds exactly zero to the value.

>>> import numpy as np, spmdgrad, spmdgrad.numpy as jnp
>>> jnp.hypot(3.0, 4.0)
np.float64(5.0)
>>> float(spmdgrad.grad(jnp.sinc)(0.5))  # (pi x cos(pi x) - sin(pi x)) / (pi x**2)
-1.2732395447351625
"""
from __future__ import annotations

import numpy as np

from ..core import Tracer, get_aval
from ..dtypes import is_complex
from ..primitives import elementwise as ew
from . import _math as m
from ._core import asarray, promote
from ._nondiff import NumpyFn, numpy_call

__all__ = [
    "exp2", "hypot", "fmax", "fmin", "sinc", "deg2rad", "rad2deg", "degrees", "radians",
    "logaddexp2", "fabs", "angle", "cbrt", "copysign", "float_power", "fmod", "heaviside",
    "ldexp", "frexp", "modf", "divmod", "nextafter", "spacing", "signbit", "trunc", "rint", "fix",
    "i0", "nan_to_num", "isreal", "iscomplex", "isrealobj", "iscomplexobj", "isneginf",
    "isposinf", "real_if_close", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not",
    "invert", "bitwise_invert", "left_shift", "right_shift", "bitwise_left_shift",
    "bitwise_right_shift", "bitwise_count", "gcd", "lcm", "isscalar", "isclose", "allclose",
    "array_equal", "array_equiv",
    "acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh",
]

acos, acosh, asin, asinh = m.arccos, m.arccosh, m.arcsin, m.arcsinh
atan, atan2, atanh = m.arctan, m.arctan2, m.arctanh

_LN2 = float(np.log(2.0))


def _fn(fun, name, zero_derivative=False, **kw):
    return NumpyFn(fun, name, kw, elementwise=True, zero_derivative=zero_derivative)


def _call(fun, name, *args, zero_derivative=False, to_float=False, **kw):
    """An elementwise NumPy function through the non-differentiable primitive, with
    NumPy's promotion and broadcasting done first."""
    args = promote(*args, to_float=to_float, op=name)
    return numpy_call(_fn(fun, name, zero_derivative, **kw), *args)


_STOP = _fn(np.asarray, "stop_gradient", zero_derivative=True)


def _exact_with_derivative(exact, surrogate):
    """``exact``'s value with ``surrogate``'s derivative (equal values up to rounding)."""
    surrogate = asarray(surrogate)
    if not isinstance(surrogate, Tracer):
        return exact
    return m.add(exact, m.subtract(surrogate, numpy_call(_STOP, surrogate)))


# ---------------------------------------------------------------- real functions

def exp2(x):
    """``2 ** x``.

    >>> exp2(np.array([0.0, 3.0]))
    array([1., 8.])
    """
    x, = promote(x, to_float=True)
    return m.exp(m.multiply(x, _LN2))


def hypot(x1, x2):
    """``sqrt(x1**2 + x2**2)`` without overflow: ``hi * sqrt(1 + (lo/hi)**2)``. At the
    origin the derivative is 0, as for ``abs``."""
    a, b = promote(x1, x2, to_float=True, op="hypot")
    a, b = m.abs(a), m.abs(b)
    hi, lo = m.maximum(a, b), m.minimum(a, b)
    safe = m.where(m.equal(hi, 0), 1.0, hi)
    r = m.multiply(hi, m.sqrt(m.add(1.0, m.square(m.divide(lo, safe)))))
    return m.where(m.isinf(hi), np.inf, r)


def fmax(x1, x2):
    """Elementwise maximum that ignores NaNs (NaN only where both are NaN). At a tie the
    derivative goes to ``x2``, as in JAX."""
    a, b = promote(x1, x2, op="fmax")
    return m.where(m.logical_or(m.isnan(b), m.greater(a, b)), a, b)


def fmin(x1, x2):
    """Elementwise minimum that ignores NaNs (NaN only where both are NaN). At a tie the
    derivative goes to ``x2``, as in JAX."""
    a, b = promote(x1, x2, op="fmin")
    return m.where(m.logical_or(m.isnan(b), m.less(a, b)), a, b)


def sinc(x):
    """``sin(pi x) / (pi x)``, 1 at 0. Near 0 a Taylor series is used, so every
    derivative is right at 0 too (``sinc''(0) = -pi**2/3``)."""
    x, = promote(x, to_float=True)
    y = m.multiply(x, np.pi)
    small = m.less(m.abs(y), 1e-2)
    ys = m.where(small, 1.0, y)
    y2 = m.square(m.where(small, y, 0.0))
    inner = m.add(1 / 120, m.multiply(y2, -1 / 5040))
    series = m.add(1.0, m.multiply(y2, m.add(-1 / 6, m.multiply(y2, inner))))
    return m.where(small, series, m.divide(m.sin(ys), ys))


def deg2rad(x):
    """Degrees to radians."""
    x, = promote(x, to_float=True)
    return m.multiply(x, np.pi / 180)


def rad2deg(x):
    """Radians to degrees."""
    x, = promote(x, to_float=True)
    return m.multiply(x, 180 / np.pi)


radians, degrees = deg2rad, rad2deg


def logaddexp2(x1, x2):
    """``log2(2**x1 + 2**x2)`` without overflow."""
    a, b = promote(x1, x2, to_float=True)
    return m.divide(m.logaddexp(m.multiply(a, _LN2), m.multiply(b, _LN2)), _LN2)


def fabs(x):
    """Absolute value of a real array (complex input is a TypeError, as in NumPy)."""
    x, = promote(x, to_float=True)
    if is_complex(get_aval(x).dtype):
        raise TypeError("fabs: complex input is not supported (use abs)")
    return m.abs(x)


def angle(z, deg=False):
    """Argument of a complex number (``arctan2(imag, real)``), in degrees if ``deg``."""
    z, = promote(z, to_float=True)
    a = m.arctan2(m.imag(z), m.real(z))
    return rad2deg(a) if deg else a


def cbrt(x):
    """Real cube root: ``sign(x) * |x|**(1/3)``."""
    x, = promote(x, to_float=True)
    return m.multiply(m.sign(x), m.power(m.abs(x), 1 / 3))


def copysign(x1, x2):
    """``|x1|`` with the sign (bit) of ``x2``; no derivative in ``x2``."""
    a, b = promote(x1, x2, to_float=True)
    return m.where(signbit(b), m.negative(m.abs(a)), m.abs(a))


def float_power(x1, x2):
    """``x1 ** x2`` computed in float64 (complex128 for complex input)."""
    a, b = promote(x1, x2, to_float=True)
    dt = np.complex128 if is_complex(get_aval(a).dtype) else np.float64
    return m.power(m.astype(a, dt), m.astype(b, dt))


def fmod(x1, x2):
    """C's ``fmod``: the remainder has the sign of ``x1``. NumPy's exact value, with the
    derivative of ``x1 - trunc(x1/x2) * x2`` (1 in ``x1``, ``-trunc(x1/x2)`` in ``x2``)."""
    a, b = promote(x1, x2, op="fmod")
    exact = numpy_call(_fn(np.fmod, "fmod", zero_derivative=True), a, b)
    if get_aval(exact).dtype.kind not in "fc":
        return exact
    q = trunc(m.divide(a, b))
    return _exact_with_derivative(exact, m.subtract(a, m.multiply(q, b)))


def heaviside(x1, x2):
    """0 for ``x1 < 0``, ``x2`` at 0, 1 for ``x1 > 0``."""
    a, b = promote(x1, x2, to_float=True)
    return m.where(m.less(a, 0), 0.0, m.where(m.greater(a, 0), 1.0, b))


def ldexp(x1, x2):
    """``x1 * 2**x2`` for integer ``x2`` (exact)."""
    x1, = promote(x1, to_float=True)
    x2 = asarray(x2)
    if get_aval(x2).dtype.kind not in "iub":
        raise TypeError(f"ldexp: the exponent must be an integer array, got {get_aval(x2).dtype}")
    scale = numpy_call(_fn(np.ldexp, "ldexp"), np.ones((), get_aval(x1).dtype), x2)
    return m.multiply(x1, scale)


def frexp(x):
    """``(mantissa, exponent)`` with ``x = mantissa * 2**exponent``; the mantissa is
    differentiable (its derivative is ``2**-exponent``)."""
    x, = promote(x, to_float=True)
    e = numpy_call(_fn(lambda v: np.frexp(v)[1], "frexp"), x)
    return m.multiply(x, ldexp(np.ones((), get_aval(x).dtype), m.negative(e))), e


def modf(x, out=None):
    """``(fractional part, integral part)``, both with the sign of ``x``."""
    m.check_out(out, "modf")
    x, = promote(x, to_float=True)
    t = trunc(x)
    return m.subtract(x, t), t


def divmod(x1, x2):  # noqa: A001
    """``(floor_divide(x1, x2), remainder(x1, x2))``."""
    return m.floor_divide(x1, x2), m.remainder(x1, x2)


def nextafter(x1, x2):
    """The next float after ``x1`` towards ``x2`` (NumPy's value; derivative 1 in ``x1``)."""
    a, b = promote(x1, x2, to_float=True)
    return _exact_with_derivative(numpy_call(_fn(np.nextafter, "nextafter", True), a, b), a)


def spacing(x):
    """Distance to the next float (piecewise constant: zero derivative)."""
    return _call(np.spacing, "spacing", x, zero_derivative=True, to_float=True)


def signbit(x):
    """True where the sign bit is set (-0.0 included)."""
    return _call(np.signbit, "signbit", x, to_float=True)


def trunc(x, out=None):
    """Round towards zero (zero derivative)."""
    m.check_out(out, "trunc")
    x = asarray(x)
    if get_aval(x).dtype.kind in "iub":
        return x
    return m.where(m.less(x, 0), m.ceil(x), m.floor(x))


fix = trunc


def rint(x, out=None):
    """Round to the nearest integer, halves to even (zero derivative)."""
    return m.round(x, 0, out)


def i0(x):
    """Modified Bessel function of the first kind, order 0 (no derivative: grad raises)."""
    return _call(np.i0, "i0", x, to_float=True)


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """NaN to ``nan``, infinities to ``posinf``/``neginf`` (default: the largest finite
    floats); the derivative is 1 at finite entries."""
    x = asarray(x)
    dt = get_aval(x).dtype
    if dt.kind not in "fc":
        return x
    if is_complex(dt):
        return ew.complex(nan_to_num(m.real(x), copy, nan, posinf, neginf),
                          nan_to_num(m.imag(x), copy, nan, posinf, neginf))
    info = np.finfo(dt)
    hi = info.max if posinf is None else posinf
    lo = info.min if neginf is None else neginf
    x = m.where(m.isnan(x), nan, x)
    return m.where(m.isinf(x), m.where(m.greater(x, 0), hi, lo), x)


def isreal(x):
    """True where the imaginary part is zero."""
    return m.equal(m.imag(x), 0)


def iscomplex(x):
    """True where the imaginary part is non-zero."""
    return m.not_equal(m.imag(x), 0)


def isrealobj(x):
    """True unless ``x`` has a complex dtype (a property of the type, not the values)."""
    return not is_complex(get_aval(asarray(x)).dtype)


def iscomplexobj(x):
    """True if ``x`` has a complex dtype."""
    return is_complex(get_aval(asarray(x)).dtype)


def isscalar(element):
    """True for Python and NumPy scalars (and 0-d traced values, as in JAX)."""
    if isinstance(element, Tracer):
        return element.ndim == 0
    return bool(np.isscalar(element))


def isposinf(x):
    """True at +inf."""
    x = asarray(x)
    return m.logical_and(m.isinf(x), m.greater(x, 0))


def isneginf(x):
    """True at -inf."""
    x = asarray(x)
    return m.logical_and(m.isinf(x), m.less(x, 0))


def real_if_close(a, tol=100):
    """The real part if every imaginary part is within ``tol`` machine epsilons of 0.
    The result's dtype depends on the values, so a traced complex input is an error."""
    a = asarray(a)
    dt = get_aval(a).dtype
    if not is_complex(dt):
        return a
    if isinstance(a, Tracer):
        try:
            v = a.concrete()
        except TypeError:
            raise TypeError("real_if_close: the result's dtype depends on the values, which "
                            "are abstract here (vmap/jit); use jnp.real(a) explicitly") from None
    else:
        v = a
    eps = np.finfo(dt).eps
    t = tol * eps if tol > 1 else tol
    return m.real(a) if np.all(np.abs(np.imag(v)) < t) else a


# ---------------------------------------------------------------- integer and bit functions

def _bitwise(fun, name, logical=None):
    def f(x1, x2):
        a, b = promote(x1, x2, op=name)
        dt = get_aval(a).dtype
        if dt == np.bool_ and logical is not None:
            return logical(a, b)
        if dt.kind not in "iub":
            raise TypeError(f"{name}: only integer and boolean arrays are supported, got {dt}")
        return numpy_call(_fn(fun, name), a, b)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"Elementwise ``{name}`` of integer or boolean arrays (no derivative)."
    return f


bitwise_and = _bitwise(np.bitwise_and, "bitwise_and", m.logical_and)
bitwise_or = _bitwise(np.bitwise_or, "bitwise_or", m.logical_or)
bitwise_xor = _bitwise(np.bitwise_xor, "bitwise_xor", m.logical_xor)
left_shift = bitwise_left_shift = _bitwise(np.left_shift, "left_shift")
right_shift = bitwise_right_shift = _bitwise(np.right_shift, "right_shift")
gcd = _bitwise(np.gcd, "gcd")
lcm = _bitwise(np.lcm, "lcm")


def invert(x):
    """Bitwise NOT (logical NOT for booleans)."""
    x = asarray(x)
    dt = get_aval(x).dtype
    if dt == np.bool_:
        return m.logical_not(x)
    if dt.kind not in "iu":
        raise TypeError(f"invert: only integer and boolean arrays are supported, got {dt}")
    return numpy_call(_fn(np.invert, "invert"), x)


bitwise_not = bitwise_invert = invert


def bitwise_count(x):
    """Number of 1 bits in ``|x|`` (uint8)."""
    x = asarray(x)
    if get_aval(x).dtype.kind not in "iub":
        raise TypeError(f"bitwise_count: integer input needed, got {get_aval(x).dtype}")
    return numpy_call(_fn(np.bitwise_count, "bitwise_count"), x)


# ---------------------------------------------------------------- closeness and equality

def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """``|a - b| <= atol + rtol * |b|`` elementwise; infinities are close only to
    themselves, NaN to NaN only with ``equal_nan`` (boolean, no derivative)."""
    x, y = promote(a, b, to_float=True, op="isclose")
    finite = m.logical_and(m.isfinite(x), m.isfinite(y))
    xs, ys = m.where(finite, x, 0.0), m.where(finite, y, 0.0)
    close = m.less_equal(m.abs(m.subtract(xs, ys)), m.add(atol, m.multiply(rtol, m.abs(ys))))
    out = m.where(finite, close, m.equal(x, y))
    if equal_nan:
        out = m.logical_or(out, m.logical_and(m.isnan(x), m.isnan(y)))
    return out


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True if every pair of entries is :func:`isclose`."""
    return m.all(isclose(a, b, rtol, atol, equal_nan))


def array_equal(a1, a2, equal_nan=False):
    """True if the shapes agree and every entry is equal (NaNs equal with ``equal_nan``)."""
    a, b = asarray(a1), asarray(a2)
    if get_aval(a).shape != get_aval(b).shape:
        return False
    eq = m.equal(a, b)
    if equal_nan and get_aval(a).dtype.kind in "fc":
        eq = m.logical_or(eq, m.logical_and(m.isnan(a), m.isnan(b)))
    return m.all(eq)


def array_equiv(a1, a2):
    """True if the arrays broadcast together and every entry is equal."""
    a, b = asarray(a1), asarray(a2)
    try:
        np.broadcast_shapes(get_aval(a).shape, get_aval(b).shape)
    except ValueError:
        return False
    return m.all(m.equal(a, b))
