"""Normal distribution ``N(loc, scale**2)``, as ``jax.scipy.stats.norm``.

>>> from spmdgrad.scipy.stats import norm
>>> float(norm.cdf(0.0)), round(float(norm.logpdf(0.0)), 12)
(0.5, -0.918938533205)
"""
from __future__ import annotations

from .. import special
from ._common import jnp, np, promote, standardize

_LOG_2PI = float(np.log(2 * np.pi))   # a Python float keeps float32 inputs float32


def logpdf(x, loc=0, scale=1):
    """Log density ``-((x - loc) / scale)**2 / 2 - log(scale) - log(2 pi) / 2``.

    >>> round(float(logpdf(1.0, 1.0, 2.0)), 12)
    -1.612085713765
    """
    x, loc, scale = promote("norm.logpdf", x, loc, scale)
    z = standardize(x, loc, scale)
    return jnp.negative(jnp.add(jnp.multiply(0.5, jnp.add(jnp.square(z), _LOG_2PI)), jnp.log(scale)))


def pdf(x, loc=0, scale=1):
    """Density ``exp(logpdf)``.

    >>> round(float(pdf(0.0)), 12)
    0.398942280401
    """
    return jnp.exp(logpdf(x, loc, scale))


def cdf(x, loc=0, scale=1):
    """``ndtr((x - loc) / scale)``.

    >>> float(cdf(2.0, 2.0))
    0.5
    """
    x, loc, scale = promote("norm.cdf", x, loc, scale)
    return special.ndtr(standardize(x, loc, scale))


def logcdf(x, loc=0, scale=1):
    """``log_ndtr((x - loc) / scale)``, accurate far in the left tail.

    >>> round(float(logcdf(-40.0)), 6)
    -804.608442
    """
    x, loc, scale = promote("norm.logcdf", x, loc, scale)
    return special.log_ndtr(standardize(x, loc, scale))


def sf(x, loc=0, scale=1):
    """Survival function ``1 - cdf``, computed as ``cdf(-x, -loc, scale)``.

    >>> float(sf(0.0))
    0.5
    """
    x, loc, scale = promote("norm.sf", x, loc, scale)
    return cdf(jnp.negative(x), jnp.negative(loc), scale)


def logsf(x, loc=0, scale=1):
    """``log(sf)``, accurate far in the right tail.

    >>> round(float(logsf(40.0)), 6)
    -804.608442
    """
    x, loc, scale = promote("norm.logsf", x, loc, scale)
    return logcdf(jnp.negative(x), jnp.negative(loc), scale)


def ppf(q, loc=0, scale=1):
    """Quantile ``loc + scale * ndtri(q)``.

    >>> float(ppf(0.5, 3.0))
    3.0
    """
    q, loc, scale = promote("norm.ppf", q, loc, scale)
    return jnp.add(jnp.multiply(special.ndtri(q), scale), loc)


def isf(q, loc=0, scale=1):
    """Inverse survival function ``ppf(1 - q)``.

    >>> float(isf(0.5))
    0.0
    """
    q, loc, scale = promote("norm.isf", q, loc, scale)
    return ppf(jnp.subtract(1, q), loc, scale)
