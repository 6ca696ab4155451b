"""More elementwise functions, composed from the primitives of :mod:`._math`, and the
integer/bit functions, which run through the one non-differentiable primitive.

Where NumPy's own result is exact and a composition would round differently (fmod,
nextafter), the value is NumPy's and the derivative comes from a differentiable
surrogate: ``exact + (s - stop(s))`` adds exactly zero to the value.

>>> import numpy as np, spmdgrad, spmdgrad.numpy as jnp
>>> jnp.hypot(3.0, 4.0)
array(5.)
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
from ..primitives.numpy_call import NumpyFn, numpy_call

__all__ = [
    "exp2", "hypot", "fmax", "fmin", "sinc", "deg2rad", "rad2deg", "degrees", "radians",
    "logaddexp2", "fabs", "angle", "cbrt", "copysign", "float_power", "fmod", "heaviside",
    "ldexp", "frexp", "modf", "divmod", "nextafter", "spacing", "signbit", "trunc", "rint", "fix",
    "i0", "nan_to_num", "isreal", "iscomplex", "isrealobj", "iscomplexobj", "isneginf",
    "isposinf", "real_if_close", "isscalar",
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
    origin the derivative is 0, as for ``abs``.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.hypot(np.array([3.0, 5.0]), 4.0)
    array([5.        , 6.40312424])
    """
    a, b = promote(x1, x2, to_float=True, op="hypot")
    a, b = m.abs(a), m.abs(b)
    hi, lo = m.maximum(a, b), m.minimum(a, b)
    safe = m.where(m.equal(hi, 0), 1.0, hi)
    r = m.multiply(hi, m.sqrt(m.add(1.0, m.square(m.divide(lo, safe)))))
    return m.where(m.isinf(hi), np.inf, r)


def fmax(x1, x2):
    """Elementwise maximum that ignores NaNs (NaN only where both are NaN). At a tie the
    derivative goes to ``x2``, as in JAX.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.fmax(np.array([1.0, np.nan]), 0.5)
    array([1. , 0.5])
    """
    a, b = promote(x1, x2, op="fmax")
    return m.where(m.logical_or(m.isnan(b), m.greater(a, b)), a, b)


def fmin(x1, x2):
    """Elementwise minimum that ignores NaNs (NaN only where both are NaN). At a tie the
    derivative goes to ``x2``, as in JAX.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.fmin(np.array([1.0, np.nan]), 0.5)
    array([0.5, 0.5])
    """
    a, b = promote(x1, x2, op="fmin")
    return m.where(m.logical_or(m.isnan(b), m.less(a, b)), a, b)


def sinc(x):
    """``sin(pi x) / (pi x)``, 1 at 0. Near 0 a Taylor series is used, so every
    derivative is right at 0 too (``sinc''(0) = -pi**2/3``).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.sinc(np.array([0.0, 0.5]))
    array([1.        , 0.63661977])
    """
    x, = promote(x, to_float=True)
    y = m.multiply(x, np.pi)
    small = m.less(m.abs(y), 1e-2)
    ys = m.where(small, 1.0, y)
    y2 = m.square(m.where(small, y, 0.0))
    inner = m.add(1 / 120, m.multiply(y2, -1 / 5040))
    series = m.add(1.0, m.multiply(y2, m.add(-1 / 6, m.multiply(y2, inner))))
    return m.where(small, series, m.divide(m.sin(ys), ys))


def deg2rad(x):
    """Degrees to radians.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.deg2rad(180.0)
    np.float64(3.141592653589793)
    """
    x, = promote(x, to_float=True)
    return m.multiply(x, np.pi / 180)


def rad2deg(x):
    """Radians to degrees.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.rad2deg(np.pi)
    np.float64(180.0)
    """
    x, = promote(x, to_float=True)
    return m.multiply(x, 180 / np.pi)


radians, degrees = deg2rad, rad2deg


def logaddexp2(x1, x2):
    """``log2(2**x1 + 2**x2)`` without overflow.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.logaddexp2(1.0, 1.0)
    np.float64(2.0)
    """
    a, b = promote(x1, x2, to_float=True)
    return m.divide(m.logaddexp(m.multiply(a, _LN2), m.multiply(b, _LN2)), _LN2)


def fabs(x):
    """Absolute value of a real array (complex input is a TypeError, as in NumPy).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.fabs(np.array([-1.5, 2.0]))
    array([1.5, 2. ])
    """
    x, = promote(x, to_float=True)
    if is_complex(get_aval(x).dtype):
        raise TypeError("fabs: complex input is not supported (use abs)")
    return m.abs(x)


def angle(z, deg=False):
    """Argument of a complex number (``arctan2(imag, real)``), in degrees if ``deg``.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.angle(np.array([1j, -1.0]))
    array([1.57079633, 3.14159265])
    """
    z, = promote(z, to_float=True)
    a = m.arctan2(m.imag(z), m.real(z))
    return rad2deg(a) if deg else a


def cbrt(x):
    """Real cube root: ``sign(x) * |x|**(1/3)``.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.cbrt(np.array([-8.0, 27.0]))
    array([-2.,  3.])
    """
    x, = promote(x, to_float=True)
    return m.multiply(m.sign(x), m.power(m.abs(x), 1 / 3))


def copysign(x1, x2):
    """``|x1|`` with the sign (bit) of ``x2``; no derivative in ``x2``.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.copysign(2.0, -0.0)
    array(-2.)
    """
    a, b = promote(x1, x2, to_float=True)
    return m.where(signbit(b), m.negative(m.abs(a)), m.abs(a))


def float_power(x1, x2):
    """``x1 ** x2`` computed in float64 (complex128 for complex input).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.float_power(2, 3)
    np.float64(8.0)
    """
    a, b = promote(x1, x2, to_float=True)
    dt = np.complex128 if is_complex(get_aval(a).dtype) else np.float64
    return m.power(m.astype(a, dt), m.astype(b, dt))


def fmod(x1, x2):
    """C's ``fmod``: the remainder has the sign of ``x1``. NumPy's exact value, with the
    derivative of ``x1 - trunc(x1/x2) * x2`` (1 in ``x1``, ``-trunc(x1/x2)`` in ``x2``).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.fmod(np.array([-5.0, 5.0]), 3.0)
    array([-2.,  2.])
    """
    a, b = promote(x1, x2, op="fmod")
    exact = numpy_call(_fn(np.fmod, "fmod", zero_derivative=True), a, b)
    if get_aval(exact).dtype.kind not in "fc":
        return exact
    q = trunc(m.divide(a, b))
    return _exact_with_derivative(exact, m.subtract(a, m.multiply(q, b)))


def heaviside(x1, x2):
    """0 for ``x1 < 0``, ``x2`` at 0, 1 for ``x1 > 0``.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.heaviside(np.array([-1.0, 0.0, 2.0]), 0.5)
    array([0. , 0.5, 1. ])
    """
    a, b = promote(x1, x2, to_float=True)
    return m.where(m.less(a, 0), 0.0, m.where(m.greater(a, 0), 1.0, b))


def ldexp(x1, x2):
    """``x1 * 2**x2`` for integer ``x2`` (exact).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.ldexp(1.5, np.array([1, 2]))
    array([3., 6.])
    """
    x1, = promote(x1, to_float=True)
    x2 = asarray(x2)
    if get_aval(x2).dtype.kind not in "iub":
        raise TypeError(f"ldexp: the exponent must be an integer array, got {get_aval(x2).dtype}")
    scale = numpy_call(_fn(np.ldexp, "ldexp"), np.ones((), get_aval(x1).dtype), x2)
    return m.multiply(x1, scale)


def frexp(x):
    """``(mantissa, exponent)`` with ``x = mantissa * 2**exponent``; the mantissa is
    differentiable (its derivative is ``2**-exponent``).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.frexp(np.array([8.0, 0.75]))
    (array([0.5 , 0.75]), array([4, 0], dtype=int32))
    """
    x, = promote(x, to_float=True)
    e = numpy_call(_fn(lambda v: np.frexp(v)[1], "frexp"), x)
    return m.multiply(x, ldexp(np.ones((), get_aval(x).dtype), m.negative(e))), e


def modf(x, out=None):
    """``(fractional part, integral part)``, both with the sign of ``x``.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.modf(np.array([2.5, -1.25]))
    (array([ 0.5 , -0.25]), array([ 2., -1.]))
    """
    m.check_out(out, "modf")
    x, = promote(x, to_float=True)
    t = trunc(x)
    return m.subtract(x, t), t


def divmod(x1, x2):  # noqa: A001
    """``(floor_divide(x1, x2), remainder(x1, x2))``.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.divmod(np.array([7, -7]), 3)
    (array([ 2, -3]), array([1, 2]))
    """
    return m.floor_divide(x1, x2), m.remainder(x1, x2)


def nextafter(x1, x2):
    """The next float after ``x1`` towards ``x2`` (NumPy's value; derivative 1 in ``x1``).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.nextafter(1.0, 2.0) - 1.0
    np.float64(2.220446049250313e-16)
    """
    a, b = promote(x1, x2, to_float=True)
    return _exact_with_derivative(numpy_call(_fn(np.nextafter, "nextafter", True), a, b), a)


def spacing(x):
    """Distance to the next float (piecewise constant: zero derivative).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.spacing(1.0)
    array(2.22044605e-16)
    """
    return _call(np.spacing, "spacing", x, zero_derivative=True, to_float=True)


def signbit(x):
    """True where the sign bit is set (-0.0 included).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.signbit(np.array([-0.0, 1.0]))
    array([ True, False])
    """
    return _call(np.signbit, "signbit", x, to_float=True)


def trunc(x, out=None):
    """Round towards zero (zero derivative).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.trunc(np.array([-1.7, 1.7]))
    array([-1.,  1.])
    """
    m.check_out(out, "trunc")
    x = asarray(x)
    if get_aval(x).dtype.kind in "iub":
        return x
    return m.where(m.less(x, 0), m.ceil(x), m.floor(x))


fix = trunc


def rint(x, out=None):
    """Round to the nearest integer, halves to even (zero derivative).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.rint(np.array([0.5, 1.5, 2.6]))
    array([0., 2., 3.])
    """
    return m.round(x, 0, out)


def i0(x):
    """Modified Bessel function of the first kind, order 0 (no derivative: grad raises).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.i0(np.array([0.0, 1.0]))
    array([1.        , 1.26606588])
    """
    return _call(np.i0, "i0", x, to_float=True)


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """NaN to ``nan``, infinities to ``posinf``/``neginf`` (default: the largest finite
    floats); the derivative is 1 at finite entries.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.nan_to_num(np.array([np.nan, 1.0]))
    array([0., 1.])
    """
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
    """True where the imaginary part is zero.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.isreal(np.array([1.0, 1j]))
    array([ True, False])
    """
    return m.equal(m.imag(x), 0)


def iscomplex(x):
    """True where the imaginary part is non-zero.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.iscomplex(np.array([1.0, 1j]))
    array([False,  True])
    """
    return m.not_equal(m.imag(x), 0)


def isrealobj(x):
    """True unless ``x`` has a complex dtype (a property of the type, not the values).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.isrealobj(np.ones(2))
    True
    """
    return not is_complex(get_aval(asarray(x)).dtype)


def iscomplexobj(x):
    """True if ``x`` has a complex dtype.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.iscomplexobj(np.ones(2) + 0j)
    True
    """
    return is_complex(get_aval(asarray(x)).dtype)


def isscalar(element):
    """True for Python and NumPy scalars (and 0-d traced values, as in JAX).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.isscalar(3.0)
    True
    """
    if isinstance(element, Tracer):
        return element.ndim == 0
    return bool(np.isscalar(element))


def isposinf(x, out=None):
    """True at +inf (``out`` must be None).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.isposinf(np.array([-np.inf, np.inf]))
    array([False,  True])
    """
    m.check_out(out, "isposinf")
    x = asarray(x)
    return m.logical_and(m.isinf(x), m.greater(x, 0))


def isneginf(x, out=None):
    """True at -inf (``out`` must be None).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.isneginf(np.array([-np.inf, np.inf]))
    array([ True, False])
    """
    m.check_out(out, "isneginf")
    x = asarray(x)
    return m.logical_and(m.isinf(x), m.less(x, 0))


def real_if_close(a, tol=100):
    """The real part if every imaginary part is within ``tol`` machine epsilons of 0.
    The result's dtype depends on the values, so a traced complex input is an error.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.real_if_close(np.array([1.0 + 1e-20j]))
    array([1.])
    """
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
