"""``spmdgrad.scipy.special``: SciPy's special functions, differentiable and batched,
with ``jax.scipy.special``'s signatures.

Values come from SciPy (in the operands' dtype); derivatives are spmdgrad's own, to
any order. Integer inputs become float64; complex inputs are refused, as in JAX.

>>> import numpy as np, spmdgrad
>>> from spmdgrad.scipy import special
>>> float(special.erf(0.5))
0.5204998778130465
>>> round(float(spmdgrad.grad(special.gammaln)(3.0)), 12)   # digamma(3)
0.922784335098
"""
from __future__ import annotations

import operator

import numpy as np

from .. import nn
from .. import numpy as jnp
from ..primitives import elementwise as ew
from ..primitives import special as sp
from ._util import promote_float

__all__ = [
    "betainc",
    "betaln",
    "digamma",
    "entr",
    "erf",
    "erfc",
    "erfinv",
    "expit",
    "gammainc",
    "gammaincc",
    "gammaln",
    "log_ndtr",
    "log_softmax",
    "logit",
    "logsumexp",
    "ndtr",
    "ndtri",
    "polygamma",
    "softmax",
    "xlog1py",
    "xlogy",
]


def _unary(prim, name):
    def f(x):
        x, = promote_float(name, x)
        return prim.bind(x)
    return f


_erf = _unary(sp.erf_p, "erf")
_erfc = _unary(sp.erfc_p, "erfc")
_erfinv = _unary(sp.erfinv_p, "erfinv")
_expit = _unary(ew.logistic_p, "expit")
_logit = _unary(sp.logit_p, "logit")
_gammaln = _unary(sp.gammaln_p, "gammaln")
_digamma = _unary(sp.digamma_p, "digamma")
_entr = _unary(sp.entr_p, "entr")
_ndtr = _unary(sp.ndtr_p, "ndtr")
_ndtri = _unary(sp.ndtri_p, "ndtri")
_log_ndtr = _unary(sp.log_ndtr_p, "log_ndtr")


def erf(x):
    """Error function ``2/sqrt(pi) * integral_0^x exp(-t**2) dt``.

    >>> float(erf(0.0))
    0.0
    """
    return _erf(x)


def erfc(x):
    """Complementary error function ``1 - erf(x)``, accurate for large ``x``.

    >>> float(erfc(0.0))
    1.0
    """
    return _erfc(x)


def erfinv(x):
    """Inverse of ``erf`` on (-1, 1); +-inf at +-1 (derivative +inf there).

    >>> round(float(erfinv(erf(0.3))), 12)
    0.3
    """
    return _erfinv(x)


def expit(x):
    """Logistic sigmoid ``1 / (1 + exp(-x))``, stable in both tails.

    >>> float(expit(0.0))
    0.5
    """
    return _expit(x)


def logit(x):
    """``log(x / (1 - x))``, the inverse of ``expit``; -inf/inf at 0/1.

    >>> float(logit(0.5))
    0.0
    """
    return _logit(x)


def gammaln(x):
    """``log|Gamma(x)|``; its derivative is ``digamma``.

    >>> float(gammaln(4.0)) == float(np.log(6.0))
    True
    """
    return _gammaln(x)


def digamma(x):
    """``d/dx log Gamma(x)``; NaN at the poles 0, -1, -2, ... (as JAX).

    >>> round(float(digamma(1.0)), 12)   # minus Euler's constant
    -0.577215664902
    """
    return _digamma(x)


def polygamma(n, x):
    """The ``n``-th derivative of digamma; ``n`` a concrete non-negative integer.

    >>> round(float(polygamma(1, 1.0)), 12)   # pi**2 / 6
    1.644934066848
    """
    try:
        n = operator.index(np.asarray(n).item()) if np.ndim(n) == 0 else None
    except TypeError:
        n = None
    if n is None or n < 0:
        raise TypeError(f"polygamma: n must be a concrete non-negative integer, got {n!r}")
    x, = promote_float("polygamma", x)
    return sp.polygamma(x, n)


def betaln(a, b):
    """``log|B(a, b)|``, accurate also where ``Gamma`` overflows.

    >>> round(float(betaln(1.0, 2.0)), 12)   # log(1/2)
    -0.69314718056
    """
    return sp.betaln_p.bind(*promote_float("betaln", a, b))


def gammainc(a, x):
    """Regularised lower incomplete gamma ``P(a, x)``; differentiable in ``x`` only.

    >>> round(float(gammainc(1.0, 1.0)), 12)   # 1 - exp(-1)
    0.632120558829
    """
    return sp.gammainc_p.bind(*promote_float("gammainc", a, x))


def gammaincc(a, x):
    """Regularised upper incomplete gamma ``Q(a, x) = 1 - P(a, x)``; differentiable in ``x`` only.

    >>> round(float(gammaincc(1.0, 1.0)), 12)   # exp(-1)
    0.367879441171
    """
    return sp.gammaincc_p.bind(*promote_float("gammaincc", a, x))


def betainc(a, b, x):
    """Regularised incomplete beta ``I_x(a, b)``; differentiable in ``x`` only (as JAX).

    >>> float(betainc(1.0, 1.0, 0.25))
    0.25
    """
    return sp.betainc_p.bind(*promote_float("betainc", a, b, x))


def xlogy(x, y):
    """``x * log(y)``, 0 where ``x == 0``. Derivatives ``(log y, x / y)`` everywhere, as JAX
    (so at (0, 0) they are -inf and NaN).

    >>> float(xlogy(0.0, 0.0))
    0.0
    """
    return sp.xlogy_p.bind(*promote_float("xlogy", x, y))


def xlog1py(x, y):
    """``x * log1p(y)``, 0 where ``x == 0``.

    >>> float(xlog1py(0.0, -1.0))
    0.0
    """
    return sp.xlog1py_p.bind(*promote_float("xlog1py", x, y))


def entr(x):
    """``-x log x`` for ``x > 0``, 0 at 0, -inf for ``x < 0``.

    >>> float(entr(1.0))
    -0.0
    """
    return _entr(x)


def ndtr(x):
    """Standard normal CDF.

    >>> float(ndtr(0.0))
    0.5
    """
    return _ndtr(x)


def ndtri(p):
    """Inverse of ``ndtr``: -inf/inf at 0/1 (where the derivative is 0, JAX's convention).

    >>> float(ndtri(0.5))
    0.0
    """
    return _ndtri(p)


def log_ndtr(x, series_order=3):
    """``log(ndtr(x))``, accurate far in the left tail. ``series_order`` is accepted for JAX
    compatibility; SciPy's algorithm needs no series order.

    >>> round(float(log_ndtr(-40.0)), 6)
    -804.608442
    """
    if not isinstance(series_order, int | np.integer) or not 0 <= series_order <= 30:
        raise ValueError(f"log_ndtr: series_order must be an int in [0, 30], got {series_order!r}")
    return _log_ndtr(x)


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False, where=None):
    """``log(sum(b * exp(a), axis))``, stable, as ``jax.scipy.special.logsumexp``.

    Entries with ``b == 0`` or ``where == False`` do not take part (even if ``a`` is
    infinite there). Without ``return_sign`` a negative sum gives NaN; with it, the
    result is ``(log|sum|, sign)``. The derivative is ``softmax``-weighted; on an
    all ``-inf`` slice it is NaN, as in JAX.

    >>> float(logsumexp(np.array([0.0, np.log(3.0)])))
    1.3862943611198906
    >>> logsumexp(np.array([1.0, 2.0]), b=np.array([1.0, -1.0]), return_sign=True)[1]
    np.float64(-1.0)
    """
    args = (a,) if b is None else (a, b)
    args = promote_float("logsumexp", *args)
    a = args[0]
    if b is not None:
        b = args[1]
        a = jnp.where(jnp.not_equal(b, 0), a, -np.inf)
    if where is not None:
        a = jnp.where(where, a, -np.inf)
    return nn.logsumexp(a, axis=axis, b=b, keepdims=keepdims, return_sign=return_sign)


def softmax(x, /, *, axis=None):
    """``exp(x) / sum(exp(x), axis)``; ``axis=None`` (the default, as SciPy) means all axes.

    >>> softmax(np.array([0.0, np.log(3.0)]))
    array([0.25, 0.75])
    """
    x, = promote_float("softmax", x)
    return nn.softmax(x, axis=axis)


def log_softmax(x, /, *, axis=None):
    """``x - logsumexp(x, axis, keepdims=True)``; ``axis=None`` means all axes.

    >>> log_softmax(np.array([0.0, np.log(3.0)]))
    array([-1.38629436, -0.28768207])
    """
    x, = promote_float("log_softmax", x)
    return nn.log_softmax(x, axis=axis)
