"""Laplace distribution, as ``jax.scipy.stats.laplace``.

>>> from spmdgrad.scipy.stats import laplace
>>> float(laplace.cdf(0.0)), float(laplace.pdf(0.0))
(0.5, 0.5)
"""
from __future__ import annotations

from ._common import jnp, promote, standardize


def logpdf(x, loc=0, scale=1):
    """``-|x - loc| / scale - log(2 scale)``; at ``x == loc`` the derivative takes the right-hand
    slope (``-1/scale`` in ``x``), as JAX does.

    >>> round(float(logpdf(1.0)), 12)
    -1.69314718056
    """
    x, loc, scale = promote("laplace.logpdf", x, loc, scale)
    z = standardize(x, loc, scale)
    abs_z = jnp.where(jnp.greater_equal(z, 0), z, jnp.negative(z))   # slope 1 at 0, as JAX's abs
    return jnp.negative(jnp.add(abs_z, jnp.log(jnp.multiply(2, scale))))


def pdf(x, loc=0, scale=1):
    """Density ``exp(logpdf)``.

    >>> round(float(pdf(1.0)), 12)
    0.183939720586
    """
    return jnp.exp(logpdf(x, loc, scale))


def cdf(x, loc=0, scale=1):
    """``exp(z) / 2`` for ``z = (x - loc) / scale <= 0``, else ``1 - exp(-z) / 2``.

    >>> round(float(cdf(1.0)), 12)
    0.816060279414
    """
    x, loc, scale = promote("laplace.cdf", x, loc, scale)
    z = standardize(x, loc, scale)
    return jnp.where(jnp.less_equal(z, 0), jnp.multiply(0.5, jnp.exp(z)),
                     jnp.subtract(1, jnp.multiply(0.5, jnp.exp(jnp.negative(z)))))
