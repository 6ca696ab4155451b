"""Cauchy distribution, as ``jax.scipy.stats.cauchy``.

>>> from spmdgrad.scipy.stats import cauchy
>>> float(cauchy.cdf(0.0)), round(float(cauchy.ppf(0.75)), 12)
(0.5, 1.0)
"""
from __future__ import annotations

from ._common import jnp, np, promote, standardize


def logpdf(x, loc=0, scale=1):
    """``-log(pi scale) - log1p(z**2)`` with ``z = (x - loc) / scale``.

    >>> round(float(logpdf(0.0)), 12) == round(-float(np.log(np.pi)), 12)
    True
    """
    x, loc, scale = promote("cauchy.logpdf", x, loc, scale)
    z = standardize(x, loc, scale)
    return jnp.negative(jnp.add(jnp.log(jnp.multiply(np.pi, scale)), jnp.log1p(jnp.square(z))))


def pdf(x, loc=0, scale=1):
    """Density ``exp(logpdf)``.

    >>> round(float(pdf(1.0)), 12)
    0.159154943092
    """
    return jnp.exp(logpdf(x, loc, scale))


def cdf(x, loc=0, scale=1):
    """``1/2 + arctan(z) / pi``.

    >>> float(cdf(1.0))
    0.75
    """
    x, loc, scale = promote("cauchy.cdf", x, loc, scale)
    return jnp.add(0.5, jnp.divide(jnp.arctan(standardize(x, loc, scale)), np.pi))


def logcdf(x, loc=0, scale=1):
    """``log(cdf)``.

    >>> round(float(logcdf(1.0)), 12)
    -0.287682072452
    """
    return jnp.log(cdf(x, loc, scale))


def sf(x, loc=0, scale=1):
    """``cdf(-x, -loc, scale)``.

    >>> float(sf(1.0))
    0.25
    """
    x, loc, scale = promote("cauchy.sf", x, loc, scale)
    return cdf(jnp.negative(x), jnp.negative(loc), scale)


def logsf(x, loc=0, scale=1):
    """``log(sf)``.

    >>> round(float(logsf(1.0)), 12)
    -1.38629436112
    """
    x, loc, scale = promote("cauchy.logsf", x, loc, scale)
    return logcdf(jnp.negative(x), jnp.negative(loc), scale)


def ppf(q, loc=0, scale=1):
    """Quantile ``loc + scale * tan(pi (q - 1/2))``.

    >>> round(float(ppf(0.25)), 12)
    -1.0
    """
    q, loc, scale = promote("cauchy.ppf", q, loc, scale)
    return jnp.add(jnp.multiply(jnp.tan(jnp.multiply(np.pi, jnp.subtract(q, 0.5))), scale), loc)


def isf(q, loc=0, scale=1):
    """Inverse survival function ``loc + scale * tan(pi (1/2 - q))``.

    >>> round(float(isf(0.25)), 12)
    1.0
    """
    q, loc, scale = promote("cauchy.isf", q, loc, scale)
    return jnp.add(jnp.multiply(jnp.tan(jnp.multiply(np.pi, jnp.subtract(0.5, q))), scale), loc)
