"""Uniform distribution on ``[loc, loc + scale]``, as ``jax.scipy.stats.uniform``.

>>> from spmdgrad.scipy.stats import uniform
>>> float(uniform.pdf(0.5)), float(uniform.logpdf(2.0))
(1.0, -inf)
"""
from __future__ import annotations

from ._common import jnp, np, outside, promote


def logpdf(x, loc=0, scale=1):
    """``-log(scale)`` on the closed support, ``-inf`` outside.

    >>> float(logpdf(1.0, 0.0, 2.0)) == -float(np.log(2.0))
    True
    """
    x, loc, scale = promote("uniform.logpdf", x, loc, scale)
    return jnp.where(outside(x, loc, jnp.add(loc, scale)), -np.inf, jnp.negative(jnp.log(scale)))


def pdf(x, loc=0, scale=1):
    """Density ``exp(logpdf)``.

    >>> float(pdf(0.5, 0.0, 2.0))
    0.5
    """
    return jnp.exp(logpdf(x, loc, scale))


def cdf(x, loc=0, scale=1):
    """0 below the support, 1 above, ``(x - loc) / scale`` on it.

    >>> float(cdf(0.25)), float(cdf(-1.0)), float(cdf(3.0))
    (0.25, 0.0, 1.0)
    """
    x, loc, scale = promote("uniform.cdf", x, loc, scale)
    inside = jnp.divide(jnp.subtract(x, loc), scale)
    return jnp.where(jnp.less(x, loc), 0.0, jnp.where(jnp.greater(x, jnp.add(loc, scale)), 1.0, inside))


def ppf(q, loc=0, scale=1):
    """Quantile ``loc + scale * q``; NaN for ``q`` outside [0, 1].

    >>> float(ppf(0.5, 1.0, 2.0))
    2.0
    """
    q, loc, scale = promote("uniform.ppf", q, loc, scale)
    bad = jnp.logical_or(jnp.isnan(q), outside(q, 0.0, 1.0))
    return jnp.where(bad, np.nan, jnp.add(loc, jnp.multiply(scale, q)))
