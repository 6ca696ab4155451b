"""Logistic distribution, as ``jax.scipy.stats.logistic``.

>>> from spmdgrad.scipy.stats import logistic
>>> float(logistic.cdf(0.0)), float(logistic.ppf(0.5))
(0.5, 0.0)
"""
from __future__ import annotations

from .. import special
from ._common import jnp, promote, standardize


def logpdf(x, loc=0, scale=1):
    """``-2 logaddexp(z/2, -z/2) - log(scale)``, finite for large ``|z|``.

    >>> round(float(logpdf(0.0)), 12)
    -1.38629436112
    """
    x, loc, scale = promote("logistic.logpdf", x, loc, scale)
    half = jnp.multiply(0.5, standardize(x, loc, scale))
    return jnp.subtract(jnp.multiply(-2.0, jnp.logaddexp(half, jnp.negative(half))), jnp.log(scale))


def pdf(x, loc=0, scale=1):
    """Density ``exp(logpdf)``.

    >>> float(pdf(0.0))
    0.25
    """
    return jnp.exp(logpdf(x, loc, scale))


def cdf(x, loc=0, scale=1):
    """``expit((x - loc) / scale)``.

    >>> float(cdf(1.0, 1.0))
    0.5
    """
    x, loc, scale = promote("logistic.cdf", x, loc, scale)
    return special.expit(standardize(x, loc, scale))


def sf(x, loc=0, scale=1):
    """``expit(-(x - loc) / scale)``.

    >>> float(sf(0.0))
    0.5
    """
    x, loc, scale = promote("logistic.sf", x, loc, scale)
    return special.expit(jnp.negative(standardize(x, loc, scale)))


def ppf(x, loc=0, scale=1):
    """Quantile ``loc + scale * logit(x)``.

    >>> float(ppf(0.5, 2.0))
    2.0
    """
    x, loc, scale = promote("logistic.ppf", x, loc, scale)
    return jnp.add(jnp.multiply(special.logit(x), scale), loc)


def isf(x, loc=0, scale=1):
    """Inverse survival function ``loc - scale * logit(x)``.

    >>> float(isf(0.5, 2.0))
    2.0
    """
    x, loc, scale = promote("logistic.isf", x, loc, scale)
    return jnp.subtract(loc, jnp.multiply(special.logit(x), scale))
