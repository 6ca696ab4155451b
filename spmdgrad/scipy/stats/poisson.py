"""Poisson distribution, as ``jax.scipy.stats.poisson``.

>>> import numpy as np
>>> from spmdgrad.scipy.stats import poisson
>>> bool(np.isclose(poisson.pmf(2.0, 3.0), 4.5 * np.exp(-3.0)))
True
"""
from __future__ import annotations

from .. import special
from ._common import jnp, np, promote


def logpmf(k, mu, loc=0):
    """``xlogy(k, mu) - gammaln(k + 1) - mu`` with ``k`` shifted by ``loc``; ``-inf`` for
    negative or non-integer ``k``.

    >>> round(float(logpmf(0.0, 2.0)), 12)
    -2.0
    """
    k, mu, loc = promote("poisson.logpmf", k, mu, loc)
    x = jnp.subtract(k, loc)
    logp = jnp.subtract(jnp.subtract(special.xlogy(x, mu), special.gammaln(jnp.add(x, 1))), mu)
    bad = jnp.logical_or(jnp.less(x, 0), jnp.not_equal(jnp.round(k), k))
    return jnp.where(bad, -np.inf, logp)


def pmf(k, mu, loc=0):
    """``exp(logpmf)``.

    >>> round(float(pmf(0.0, 2.0)), 12)
    0.135335283237
    """
    return jnp.exp(logpmf(k, mu, loc))


def cdf(k, mu, loc=0):
    """``gammaincc(floor(k - loc) + 1, mu)``, 0 below ``loc``; differentiable in ``mu``.

    >>> round(float(cdf(0.0, 2.0)), 12)
    0.135335283237
    """
    k, mu, loc = promote("poisson.cdf", k, mu, loc)
    x = jnp.subtract(k, loc)
    safe = jnp.maximum(jnp.floor(x), 0.0)
    return jnp.where(jnp.less(x, 0), 0.0, special.gammaincc(jnp.add(safe, 1), mu))


_K = np.arange(260.0)


def entropy(mu, loc=0):
    """``-sum_k pmf(k) log pmf(k)``: a direct sum over ``k < 260`` for ``mu < 100`` (the mass
    beyond is below 1e-30), an asymptotic series above. ``loc`` does not change it.

    >>> round(float(entropy(1.0)), 12)
    1.304842242256
    """
    mu, loc = promote("poisson.entropy", mu, loc)
    shape = np.broadcast_shapes(jnp.shape(mu), jnp.shape(loc))
    m = jnp.broadcast_to(mu, shape)
    small = jnp.less(m, 100.0)
    m_small = jnp.where(small, m, 1.0)          # keeps the unused branch finite
    k = jnp.reshape(jnp.asarray(_K, jnp.result_type(m)), _K.shape + (1,) * len(shape))
    logp = logpmf(k, m_small)
    # -p log p from log p: no 0 * log 0 where p underflows, so the derivative stays finite
    direct = jnp.negative(jnp.sum(jnp.multiply(jnp.exp(logp), logp), axis=0))
    m_large = jnp.where(small, 100.0, m)
    series = jnp.subtract(jnp.multiply(0.5, jnp.log(jnp.multiply(2 * np.pi * np.e, m_large))),
                          jnp.add(jnp.divide(1.0, jnp.multiply(12.0, m_large)),
                                  jnp.add(jnp.divide(1.0, jnp.multiply(24.0, jnp.square(m_large))),
                                          jnp.divide(19.0, jnp.multiply(360.0, jnp.power(m_large, 3.0))))))
    return jnp.where(jnp.equal(m, 0), 0.0, jnp.where(small, direct, series))
