"""Special-function primitives: SciPy computes the values, spmdgrad the derivatives.

Each is an elementwise primitive (strict: one dtype, equal shapes or 0-d operands;
:mod:`spmdgrad.scipy.special` promotes and broadcasts). Every JVP is written with
differentiable primitives, so derivatives of any order work. At edge points
(poles, ``x = 0`` in ``xlogy``, ``p = 0`` in ``ndtri``) the derivatives follow
JAX's conventions, listed in ``docs/scipy.md``.

This module imports SciPy; :mod:`spmdgrad.primitives` does not import it, so
``import spmdgrad`` works without SciPy.
"""
from __future__ import annotations

import numpy as np
import scipy.special as sc

from .. import ad
from ..core import get_aval
from . import elementwise as ew
from .elementwise import add, div, exp, log, mul, neg, sub
from .structural import broadcast_in_dim


def _scipy(fn):
    """Run a SciPy function and keep the operands' dtype (SciPy may compute in float64)."""
    def impl(*args, **params):
        dt = np.result_type(*args)
        with np.errstate(all="ignore"):
            out = np.asarray(fn(*args, **params), dtype=dt)
        return out if out.ndim else out[()]
    return impl


def _c(x, value):
    """A 0-d constant of ``x``'s dtype."""
    return np.asarray(value, get_aval(x).dtype)


def _fit(t, ans):
    """A tangent of a 0-d operand broadcast to the output's shape."""
    shape = get_aval(ans).shape
    return t if get_aval(t).shape == shape else broadcast_in_dim(t, shape, ())


def _sq(x):
    return mul(x, x)


def _is_nonpositive_int(x):
    return (x <= 0) & (x == np.floor(x))


# ---------------------------------------------------------------- error function family
erf_p = ew.elementwise("erf", _scipy(sc.erf))
erfc_p = ew.elementwise("erfc", _scipy(sc.erfc))
erfinv_p = ew.elementwise("erfinv", _scipy(sc.erfinv))
ndtr_p = ew.elementwise("ndtr", _scipy(sc.ndtr))
ndtri_p = ew.elementwise("ndtri", _scipy(sc.ndtri))
log_ndtr_p = ew.elementwise("log_ndtr", _scipy(sc.log_ndtr))

_TWO_OVER_SQRT_PI = 2 / np.sqrt(np.pi)
_SQRT_2PI = np.sqrt(2 * np.pi)


def _gauss(x, scale):
    """``scale * exp(-x**2)``."""
    return mul(_c(x, scale), exp(neg(_sq(x))))


ad.defjvp(erf_p, lambda t, ans, x: mul(t, _gauss(x, _TWO_OVER_SQRT_PI)))
ad.defjvp(erfc_p, lambda t, ans, x: mul(t, _gauss(x, -_TWO_OVER_SQRT_PI)))
# d erfinv(x) = sqrt(pi)/2 exp(erfinv(x)**2): infinite at x = +-1, as in JAX.
ad.defjvp(erfinv_p, lambda t, ans, x: mul(t, mul(_c(x, np.sqrt(np.pi) / 2), exp(_sq(ans)))))
ad.defjvp(ndtr_p, lambda t, ans, x: mul(t, div(exp(mul(_c(x, -0.5), _sq(x))), _c(x, _SQRT_2PI))))


def _ndtri_dp(t, ans, p):
    # 1 / pdf(ndtri(p)). JAX's convention: 0 at p = 0 and p = 1, where ndtri is infinite.
    d = mul(_c(p, _SQRT_2PI), exp(mul(_c(p, 0.5), _sq(ans))))
    return mul(t, ew.select_n(ew.isinf_p.bind(ans), d, _c(d, 0.0)))


ad.defjvp(ndtri_p, _ndtri_dp)
# pdf(x) / ndtr(x) = exp(-x**2/2 - log_ndtr(x)) / sqrt(2 pi): finite far in the left
# tail (about -x), NaN at x = -inf (as in JAX).
ad.defjvp(log_ndtr_p, lambda t, ans, x: mul(t, div(
    exp(sub(mul(_c(x, -0.5), _sq(x)), ans)), _c(x, _SQRT_2PI))))

# ---------------------------------------------------------------- gamma family


def _digamma(x):
    # NaN at the poles 0, -1, -2, ... (JAX's value; SciPy gives -inf/inf at -0/+0).
    out = sc.digamma(x)
    return np.where(_is_nonpositive_int(x), np.nan, out)


gammaln_p = ew.elementwise("gammaln", _scipy(sc.gammaln))
digamma_p = ew.elementwise("digamma", _scipy(_digamma))
polygamma_p = ew.elementwise("polygamma", _scipy(lambda x, n: sc.polygamma(n, x)))


def polygamma(x, n):
    """The ``n``-th derivative of digamma at ``x`` (``n`` a static non-negative int)."""
    return digamma_p.bind(x) if n == 0 else polygamma_p.bind(x, n=n)


ad.defjvp(gammaln_p, lambda t, ans, x: mul(t, digamma_p.bind(x)))
ad.defjvp(digamma_p, lambda t, ans, x: mul(t, polygamma(x, 1)))
ad.defjvp(polygamma_p, lambda t, ans, x, n: mul(t, polygamma(x, n + 1)))

betaln_p = ew.elementwise("betaln", _scipy(sc.betaln))


def _betaln_d(t, ans, a, b, own):
    return _fit(mul(t, sub(digamma_p.bind(own), digamma_p.bind(add(a, b)))), ans)


ad.defjvp(betaln_p, lambda t, ans, a, b: _betaln_d(t, ans, a, b, a),
          lambda t, ans, a, b: _betaln_d(t, ans, a, b, b))


def _not_differentiable(op, arg, hint):
    def rule(*_, **__):
        raise NotImplementedError(f"{op}: the derivative with respect to {arg} is not "
                                  f"implemented; {hint}")
    return rule


# Regularised incomplete gamma and beta functions: derivatives in x only (JAX has no
# derivative of betainc in a, b either).
gammainc_p = ew.elementwise("gammainc", _scipy(sc.gammainc))
gammaincc_p = ew.elementwise("gammaincc", _scipy(sc.gammaincc))
betainc_p = ew.elementwise("betainc", _scipy(sc.betainc))


def _gamma_density(a, x):
    """``x**(a-1) exp(-x) / Gamma(a)``, the derivative of gammainc in x."""
    return exp(sub(sub(xlogy(sub(a, _c(a, 1)), x), x), gammaln_p.bind(a)))


_NO_SHAPE = "wrap the shape parameter in spmdgrad.stop_gradient or differentiate in x only"
ad.defjvp(gammainc_p, _not_differentiable("gammainc", "a", _NO_SHAPE),
          lambda t, ans, a, x: _fit(mul(t, _gamma_density(a, x)), ans))
ad.defjvp(gammaincc_p, _not_differentiable("gammaincc", "a", _NO_SHAPE),
          lambda t, ans, a, x: _fit(neg(mul(t, _gamma_density(a, x))), ans))


def _betainc_dx(t, ans, a, b, x):
    one = _c(x, 1)
    logd = sub(add(xlogy(sub(a, one), x), xlog1py_p.bind(sub(b, one), neg(x))), betaln_p.bind(a, b))
    return _fit(mul(t, exp(logd)), ans)


ad.defjvp(betainc_p, _not_differentiable("betainc", "a", _NO_SHAPE),
          _not_differentiable("betainc", "b", _NO_SHAPE), _betainc_dx)

# ---------------------------------------------------------------- logs and entropies
xlogy_p = ew.elementwise("xlogy", _scipy(sc.xlogy))
xlog1py_p = ew.elementwise("xlog1py", _scipy(sc.xlog1py))
entr_p = ew.elementwise("entr", _scipy(sc.entr))
logit_p = ew.elementwise("logit", _scipy(sc.logit))


def xlogy(x, y):
    return xlogy_p.bind(x, y)


# JAX's rule: d = dx log(y) + dy x / y, also at x = 0 (so xlogy(0, 0) has derivatives
# -inf and NaN, as in JAX).
ad.defjvp(xlogy_p, lambda t, ans, x, y: _fit(mul(t, log(y)), ans),
          lambda t, ans, x, y: _fit(mul(t, div(x, y)), ans))
ad.defjvp(xlog1py_p, lambda t, ans, x, y: _fit(mul(t, ew.log1p_p.bind(y)), ans),
          lambda t, ans, x, y: _fit(mul(t, div(x, add(y, _c(y, 1)))), ans))
# -(log x + 1): +inf at 0, NaN for x < 0 (JAX's reverse-mode numbers).
ad.defjvp(entr_p, lambda t, ans, x: mul(t, neg(add(log(x), _c(x, 1)))))
# 1 / (x (1 - x)): +inf at 0 and 1.
ad.defjvp(logit_p, lambda t, ans, x: div(t, mul(x, sub(_c(x, 1), x))))
