"""Bernoulli distribution, as ``jax.scipy.stats.bernoulli``.

>>> import numpy as np
>>> from spmdgrad.scipy.stats import bernoulli
>>> bernoulli.pmf(np.array([0.0, 1.0, 2.0]), 0.25)
array([0.75, 0.25, 0.  ])
"""
from __future__ import annotations

from .. import special
from ._common import jnp, np, outside, promote


def logpmf(k, p, loc=0):
    """``xlogy(k, p) + xlog1py(1 - k, -p)`` with ``k`` shifted by ``loc``; ``-inf`` outside
    [0, 1]. Differentiable in ``p`` (``k`` too, as the smooth formula, like JAX).

    >>> round(float(logpmf(1.0, 0.25)), 12)
    -1.38629436112
    """
    k, p, loc = promote("bernoulli.logpmf", k, p, loc)
    x = jnp.subtract(k, loc)
    logp = jnp.add(special.xlogy(x, p), special.xlog1py(jnp.subtract(1, x), jnp.negative(p)))
    return jnp.where(outside(x, 0.0, 1.0), -np.inf, logp)


def pmf(k, p, loc=0):
    """``exp(logpmf)``.

    >>> float(pmf(0.0, 0.25))
    0.75
    """
    return jnp.exp(logpmf(k, p, loc))


def _invalid_p(p):
    return jnp.logical_or(jnp.isnan(p), outside(p, 0.0, 1.0))


def cdf(k, p):
    """0 for ``k < 0``, ``1 - p`` for ``0 <= k < 1``, 1 for ``k >= 1``; NaN for invalid input.

    >>> float(cdf(0.5, 0.25))
    0.75
    """
    k, p = promote("bernoulli.cdf", k, p)
    val = jnp.where(jnp.less(k, 0), 0.0, jnp.where(jnp.less(k, 1), jnp.subtract(1, p), 1.0))
    return jnp.where(jnp.logical_or(jnp.isnan(k), _invalid_p(p)), np.nan, val)


def ppf(q, p):
    """Smallest ``k`` in {0, 1} with ``cdf(k) >= q``; NaN for invalid input.

    >>> float(ppf(0.5, 0.25)), float(ppf(0.8, 0.25))
    (0.0, 1.0)
    """
    q, p = promote("bernoulli.ppf", q, p)
    bad = jnp.logical_or(jnp.logical_or(jnp.isnan(q), _invalid_p(p)), outside(q, 0.0, 1.0))
    return jnp.where(bad, np.nan, jnp.where(jnp.less_equal(q, jnp.subtract(1, p)), 0.0, 1.0))
