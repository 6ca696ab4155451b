"""Beta distribution on ``[loc, loc + scale]``, as ``jax.scipy.stats.beta``.

The CDF and survival function are differentiable in ``x``, ``loc`` and ``scale``; the
derivative in the shape parameters ``a``, ``b`` is not available (as in JAX).

>>> from spmdgrad.scipy.stats import beta
>>> float(beta.cdf(0.25, 1.0, 1.0)), float(beta.pdf(0.5, 2.0, 2.0))
(0.25, 1.5)
"""
from __future__ import annotations

from .. import special
from ._common import jnp, np, outside, promote, standardize


def logpdf(x, a, b, loc=0, scale=1):
    """``xlogy(a-1, y) + xlog1py(b-1, -y) - betaln(a, b) - log(scale)``, ``y = (x-loc)/scale``;
    ``-inf`` outside the support, NaN for non-positive ``a``, ``b`` or ``scale``.

    >>> round(float(logpdf(0.5, 2.0, 2.0)), 12)
    0.405465108108
    """
    x, a, b, loc, scale = promote("beta.logpdf", x, a, b, loc, scale)
    y = standardize(x, loc, scale)
    logp = jnp.subtract(jnp.add(special.xlogy(jnp.subtract(a, 1), y),
                                special.xlog1py(jnp.subtract(b, 1), jnp.negative(y))),
                        jnp.add(special.betaln(a, b), jnp.log(scale)))
    logp = jnp.where(outside(x, loc, jnp.add(loc, scale)), -np.inf, logp)
    bad = jnp.logical_or(jnp.logical_or(jnp.less_equal(a, 0), jnp.less_equal(b, 0)),
                         jnp.less_equal(scale, 0))
    return jnp.where(bad, np.nan, logp)


def pdf(x, a, b, loc=0, scale=1):
    """Density ``exp(logpdf)``.

    >>> float(pdf(2.0, 2.0, 2.0))
    0.0
    """
    return jnp.exp(logpdf(x, a, b, loc, scale))


def _y(op, x, a, b, loc, scale):
    x, a, b, loc, scale = promote(op, x, a, b, loc, scale)
    return jnp.clip(standardize(x, loc, scale), 0.0, 1.0), a, b


def cdf(x, a, b, loc=0, scale=1):
    """``betainc(a, b, clip((x - loc) / scale, 0, 1))``.

    >>> float(cdf(0.5, 2.0, 2.0))
    0.5
    """
    y, a, b = _y("beta.cdf", x, a, b, loc, scale)
    return special.betainc(a, b, y)


def logcdf(x, a, b, loc=0, scale=1):
    """``log(cdf)``.

    >>> round(float(logcdf(0.5, 2.0, 2.0)), 12)
    -0.69314718056
    """
    return jnp.log(cdf(x, a, b, loc, scale))


def sf(x, a, b, loc=0, scale=1):
    """``betainc(b, a, 1 - y)``, accurate in the right tail.

    >>> float(sf(0.5, 2.0, 2.0))
    0.5
    """
    y, a, b = _y("beta.sf", x, a, b, loc, scale)
    return special.betainc(b, a, jnp.subtract(1, y))


def logsf(x, a, b, loc=0, scale=1):
    """``log(sf)``.

    >>> round(float(logsf(0.5, 2.0, 2.0)), 12)
    -0.69314718056
    """
    return jnp.log(sf(x, a, b, loc, scale))
