"""Gamma distribution with shape ``a``, as ``jax.scipy.stats.gamma``.

The CDF and survival function are differentiable in ``x``, ``loc`` and ``scale``; the
derivative in the shape ``a`` is not available (JAX has one; see docs/scipy.md).

>>> from spmdgrad.scipy.stats import gamma
>>> round(float(gamma.cdf(1.0, 1.0)), 12)   # exponential: 1 - exp(-1)
0.632120558829
"""
from __future__ import annotations

from .. import special
from ._common import jnp, np, promote


def logpdf(x, a, loc=0, scale=1):
    """``xlogy(a-1, y) - y - gammaln(a) - log(scale)`` with ``y = (x - loc) / scale``;
    ``-inf`` below ``loc``.

    >>> round(float(logpdf(1.0, 1.0)), 12)
    -1.0
    """
    x, a, loc, scale = promote("gamma.logpdf", x, a, loc, scale)
    ok = jnp.greater_equal(x, loc)
    y = jnp.where(ok, jnp.divide(jnp.subtract(x, loc), scale), 1.0)
    logp = jnp.subtract(jnp.subtract(special.xlogy(jnp.subtract(a, 1), y), y),
                        jnp.add(special.gammaln(a), jnp.log(scale)))
    return jnp.where(ok, logp, -np.inf)


def pdf(x, a, loc=0, scale=1):
    """Density ``exp(logpdf)``.

    >>> round(float(pdf(1.0, 1.0)), 12)
    0.367879441171
    """
    return jnp.exp(logpdf(x, a, loc, scale))


def cdf(x, a, loc=0, scale=1):
    """``gammainc(a, max((x - loc) / scale, 0))``.

    >>> float(cdf(-1.0, 2.0))
    0.0
    """
    x, a, loc, scale = promote("gamma.cdf", x, a, loc, scale)
    return special.gammainc(a, jnp.maximum(jnp.divide(jnp.subtract(x, loc), scale), 0.0))


def logcdf(x, a, loc=0, scale=1):
    """``log(cdf)``.

    >>> round(float(logcdf(1.0, 1.0)), 12)
    -0.458675145387
    """
    return jnp.log(cdf(x, a, loc, scale))


def sf(x, a, loc=0, scale=1):
    """``gammaincc(a, y)``, and 1 below ``loc``.

    >>> round(float(sf(1.0, 1.0)), 12)
    0.367879441171
    """
    x, a, loc, scale = promote("gamma.sf", x, a, loc, scale)
    y = jnp.divide(jnp.subtract(x, loc), scale)
    return jnp.where(jnp.less(y, 0), 1.0, special.gammaincc(a, jnp.maximum(y, 0.0)))


def logsf(x, a, loc=0, scale=1):
    """``log(sf)``.

    >>> round(float(logsf(1.0, 1.0)), 12)
    -1.0
    """
    return jnp.log(sf(x, a, loc, scale))
