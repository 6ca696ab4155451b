"""Special functions in NumPy for the samplers: bits to unit floats, erf and erf_inv.

``erf_inv`` evaluates M. Giles' polynomial approximations ("Approximating the
erfinv function", GPU Computing Gems 2, 2010), single-precision for float32 and
double-precision for float64: the same approximations XLA uses, so normal draws
agree with JAX to a few ulps.

>>> import numpy as np
>>> float(erf_inv(np.float64(erf(np.float64(0.3))))) - 0.3 < 1e-15
True
>>> unit_float(np.array([0, 2**32 - 1], np.uint32), np.float32)
array([0.       , 0.9999999], dtype=float32)
"""
from __future__ import annotations

import math

import numpy as np

_UINT = {2: np.uint16, 4: np.uint32, 8: np.uint64}


def unit_float(bits, dtype):
    """Floats in [0, 1): the top ``nmant`` bits of ``bits`` as the mantissa of a number
    in [1, 2), minus one (JAX's construction, so the result is bit-identical)."""
    dtype = np.dtype(dtype)
    info = np.finfo(dtype)
    nbits, nmant = dtype.itemsize * 8, info.nmant
    utype = _UINT[dtype.itemsize]
    bits = np.asarray(bits).astype(utype)
    one = np.array(1.0, dtype).view(utype)
    floats = ((bits >> utype(nbits - nmant)) | one).view(dtype) - dtype.type(1)
    return floats


def _two_sum(a, b):
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _split(a):
    t = a * a.dtype.type(134217729.0)  # 2**27 + 1 (Veltkamp)
    hi = t - (t - a)
    return hi, a - hi


def _round_to_odd(s, err):
    """``s`` (= RN(x)) moved to the odd neighbour when inexact, so that a later
    rounding to fewer bits is correct (Boldo and Melquiond's rounding to odd)."""
    bits = s.view(np.int64 if s.dtype == np.float64 else np.int32)
    fix = (err != 0) & ((bits & 1) == 0)
    return np.where(fix, np.nextafter(s, np.where(err > 0, np.inf, -np.inf).astype(s.dtype)), s)


def _power_of_two(x):
    m, _ = np.frexp(x)
    return bool(np.all(np.abs(m) == 0.5))


def fma(a, b, c):
    """``a * b + c`` with one rounding, as XLA computes a fused multiply-add on CPU
    (needed for ``uniform(minval, maxval)`` to match JAX bit for bit)."""
    a, b, c = (np.asarray(x) for x in (a, b, c))
    if _power_of_two(b) or _power_of_two(a):
        return a * b + c  # the product is exact (uniform's default spans 1 and 2 land here)
    a, b, c = np.broadcast_arrays(a, b, c)
    dt = a.dtype
    with np.errstate(over="ignore", invalid="ignore"):
        if dt != np.float64:
            # The product of two floats of <= 24 bits is exact in float64; round the sum to
            # odd in float64, then once to the target dtype.
            a64, b64, c64 = a.astype(np.float64), b.astype(np.float64), c.astype(np.float64)
            s, err = _two_sum(a64 * b64, c64)
            return _round_to_odd(np.atleast_1d(s), np.atleast_1d(err)).reshape(s.shape).astype(dt)
        p = a * b
        ah, al = _split(a)
        bh, bl = _split(b)
        e = ((ah * bh - p) + ah * bl + al * bh) + al * bl  # a * b == p + e exactly
        s, t = _two_sum(p, c)
        u, v = _two_sum(t, e)
        u = _round_to_odd(np.atleast_1d(u), np.atleast_1d(v)).reshape(u.shape)
        out = s + u
        return np.where(np.isfinite(out), out, p + c)


# Giles (2010), single precision: w = -log(1 - x^2); two branches.
_F32_CENTRAL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
                -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)
_F32_TAIL = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
             -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)

# Giles (2010), double precision: three branches in w.
_F64_CENTRAL = (
    -3.6444120640178196996e-21, -1.685059138182016589e-19, 1.2858480715256400167e-18,
    1.115787767802518096e-17, -1.333171662854620906e-16, 2.0972767875968561637e-17,
    6.6376381343583238325e-15, -4.0545662729752068639e-14, -8.1519341976054721522e-14,
    2.6335093153082322977e-12, -1.2975133253453532498e-11, -5.4154120542946279317e-11,
    1.051212273321532285e-09, -4.1126339803469836976e-09, -2.9070369957882005086e-08,
    4.2347877827932403518e-07, -1.3654692000834678645e-06, -1.3882523362786468719e-05,
    0.0001867342080340571352, -0.00074070253416626697512, -0.0060336708714301490533,
    0.24015818242558961693, 1.6536545626831027356)
_F64_MID = (
    2.2137376921775787049e-09, 9.0756561938885390979e-08, -2.7517406297064545428e-07,
    1.8239629214389227755e-08, 1.5027403968909827627e-06, -4.013867526981545969e-06,
    2.9234449089955446044e-06, 1.2475304481671778723e-05, -4.7318229009055733981e-05,
    6.8284851459573175448e-05, 2.4031110387097893999e-05, -0.0003550375203628474796,
    0.00095328937973738049703, -0.0016882755560235047313, 0.0024914420961078508066,
    -0.0037512085075692412107, 0.005370914553590063617, 1.0052589676941592334,
    3.0838856104922207635)
_F64_TAIL = (
    -2.7109920616438573243e-11, -2.5556418169965252055e-10, 1.5076572693500548083e-09,
    -3.7894654401267369937e-09, 7.6157012080783393804e-09, -1.4960026627149240478e-08,
    2.9147953450901080826e-08, -6.7711997758452339498e-08, 2.2900482228026654717e-07,
    -9.9298272942317002539e-07, 4.5260625972231537039e-06, -1.9681778105531670567e-05,
    7.5995277030017761139e-05, -0.00021503011930044477347, -0.00013871931833623122026,
    1.0103004648645343977, 4.8499064014085844221)


def _horner(coeffs, w):
    p = np.full_like(w, coeffs[0])
    for c in coeffs[1:]:
        p = p * w + w.dtype.type(c)
    return p


def erf_inv(x):
    """Inverse error function of a float array; +-inf at +-1, nan outside [-1, 1]."""
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    dt = x.dtype
    work = np.float64 if dt == np.float64 else np.float32
    xf = x.astype(work)
    with np.errstate(divide="ignore", invalid="ignore"):
        if work == np.float32:
            w = -np.log1p(-xf * xf)
            central = w < 5
            p = _horner(_F32_CENTRAL, w - np.float32(2.5))
            tail = ~central
            if tail.any():  # the tail polynomial only where it is needed
                p[tail] = _horner(_F32_TAIL, np.sqrt(w[tail]) - np.float32(3))
        else:
            w = -np.log((1 - xf) * (1 + xf))
            p = _horner(_F64_CENTRAL, w - 3.125)
            mid = w >= 6.25
            if mid.any():
                s = np.sqrt(w[mid])
                p[mid] = np.where(s < 4, _horner(_F64_MID, s - 3.25), _horner(_F64_TAIL, s - 5.0))
        out = p * xf
    out = np.where(np.abs(xf) == 1, np.copysign(np.inf, xf), out)
    return out.astype(dt)


_erf_scalar = np.frompyfunc(math.erf, 1, 1)


def erf(x):
    """Error function, correctly rounded from ``math.erf`` (used on distribution
    parameters, never on full-size draws)."""
    x = np.asarray(x)
    dt = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    return np.asarray(_erf_scalar(x.astype(np.float64)), np.float64).astype(dt)


def digamma(x):
    """The digamma function for positive ``x``: recurrence up to 10, then the asymptotic series."""
    x = np.asarray(x, np.float64).copy()
    acc = np.zeros_like(x)
    for _ in range(10):
        small = x < 10
        acc = np.where(small, acc - 1 / np.where(small, x, 1), acc)
        x = np.where(small, x + 1, x)
    r = 1 / (x * x)
    series = r * (1 / 12 - r * (1 / 120 - r * (1 / 252 - r * (1 / 240 - r * (1 / 132 - r * 691 / 32760)))))
    return acc + np.log(x) - 0.5 / x - series


def gamma_sample_grad(a, x, max_terms=100000):
    """``d x / d a`` for a draw ``x`` of Gamma(a, 1) held at a fixed CDF level (implicit
    reparameterisation): ``-dP(a, x)/da / p(x; a)`` with ``P`` the regularized lower
    incomplete gamma function. Series for ``x < a + 1``, continued fraction otherwise, each
    carried with its derivative in ``a``; the density's prefactor cancels, so no Gamma
    function is evaluated. Computed in float64."""
    a = np.asarray(a, np.float64)
    x = np.asarray(x, np.float64)
    a, x = np.broadcast_arrays(a, x)
    out = np.zeros(a.shape)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ser = (x < a + 1) & (x > 0)
        cf = (x >= a + 1) & (x > 0)
        if ser.any():
            out[ser] = _grad_series(a[ser], x[ser], max_terms)
        if cf.any():
            out[cf] = _grad_cf(a[cf], x[cf], max_terms)
    return out


def _grad_series(a, x, max_terms):
    # P = D S with D = x^a e^-x / Gamma(a+1), S = sum_n x^n / ((a+1)...(a+n)); p = D a / x.
    t, dt = np.ones_like(a), np.zeros_like(a)
    s, ds = np.ones_like(a), np.zeros_like(a)
    for n in range(1, max_terms):
        r = x / (a + n)
        dt = (dt - t / (a + n)) * r
        t = t * r
        s, ds = s + t, ds + dt
        if np.all((np.abs(t) <= 1e-17 * s) & (np.abs(dt) <= 1e-17 * np.abs(ds) + 1e-300)):
            break
    dlog_d = np.log(x) - digamma(a + 1)
    return -(dlog_d * s + ds) * x / a


def _grad_cf(a, x, max_terms):
    # Q = E h with E = x^a e^-x / Gamma(a), h a continued fraction (modified Lentz, carried
    # as value/derivative pairs); p = E / x, so dx/da = x (dlogE h + dh).
    tiny = 1e-300
    b, db = x + 1 - a, -np.ones_like(a)
    c, dc = np.full_like(a, 1 / tiny), np.zeros_like(a)
    d = 1 / b
    dd = -db * d * d
    h, dh = d.copy(), dd.copy()
    for i in range(1, max_terms):
        an, dan = -i * (i - a), np.full_like(a, float(i))
        b = b + 2
        # d <- 1 / (an d + b); c <- b + an / c
        den = an * d + b
        dden = dan * d + an * dd + db
        den = np.where(np.abs(den) < tiny, tiny, den)
        d, dd = 1 / den, -dden / (den * den)
        c_new = b + an / c
        dc = db + (dan * c - an * dc) / (c * c)
        c = np.where(np.abs(c_new) < tiny, tiny, c_new)
        delta, ddelta = d * c, dd * c + d * dc
        h, dh = h * delta, dh * delta + h * ddelta
        if np.all((np.abs(delta - 1) <= 1e-16) & (np.abs(ddelta) <= 1e-16 * np.abs(dh / h) + 1e-300)):
            break
    dlog_e = np.log(x) - digamma(a)
    return x * (dlog_e * h + dh)
