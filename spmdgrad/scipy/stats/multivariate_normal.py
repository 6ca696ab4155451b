"""Multivariate normal distribution, as ``jax.scipy.stats.multivariate_normal``.

``x`` and ``mean`` have shape (..., n) and broadcast together; ``cov`` is a scalar (an
isotropic covariance), or an (..., n, n) positive-definite matrix whose Hermitian part
is used (its Cholesky factor gives the log-determinant and the whitened residual).

>>> import numpy as np
>>> from spmdgrad.scipy.stats import multivariate_normal as mvn
>>> round(float(mvn.logpdf(np.zeros(2), np.zeros(2), np.eye(2))), 12)   # -log(2 pi)
-1.837877066409
"""
from __future__ import annotations

from .. import linalg
from .._util import promote_float
from ._common import jnp, np

_LOG_2PI = float(np.log(2 * np.pi))


def last_axis_sum(x):
    return jnp.sum(x, axis=-1)


def logpdf(x, mean, cov, allow_singular=None):
    """Log density. ``allow_singular`` is not supported (as in JAX): pass None.

    >>> import numpy as np
    >>> round(float(logpdf(np.ones(2), np.zeros(2), 2.0)), 12)
    -3.031024246969
    """
    if allow_singular is not None:
        raise NotImplementedError("multivariate_normal.logpdf: allow_singular is not supported; "
                                  "pass a positive-definite cov")
    x, mean, cov = promote_float("multivariate_normal.logpdf", x, mean, cov, broadcast=False)
    xs, ms, cs = jnp.shape(x), jnp.shape(mean), jnp.shape(cov)
    if not ms:   # univariate
        return jnp.negative(jnp.multiply(0.5, jnp.add(jnp.divide(jnp.square(jnp.subtract(x, mean)), cov),
                                                      jnp.add(_LOG_2PI, jnp.log(cov)))))
    n = ms[-1]
    if not xs or xs[-1] != n:
        raise ValueError(f"multivariate_normal.logpdf: x has shape {xs} and mean has shape {ms}; "
                         "their last axes must be equal")
    y = jnp.subtract(x, mean)
    if not cs:
        quad = jnp.divide(last_axis_sum(jnp.square(y)), cov)
        log_norm = jnp.multiply(0.5 * n, jnp.add(_LOG_2PI, jnp.log(cov)))
        return jnp.negative(jnp.add(jnp.multiply(0.5, quad), log_norm))
    if len(cs) < 2 or cs[-2:] != (n, n):
        raise ValueError(f"multivariate_normal.logpdf: cov has shape {cs}; it must be a scalar or "
                         f"(..., {n}, {n}) to match mean {ms}")
    L = jnp.linalg.cholesky(cov)
    z = jnp.squeeze(linalg.solve_triangular(L, jnp.expand_dims(y, -1), lower=True), -1)
    half_logdet = last_axis_sum(jnp.log(last_axis_sum(jnp.multiply(L, np.eye(n, dtype=jnp.result_type(L))))))
    return jnp.subtract(jnp.negative(jnp.multiply(0.5, jnp.add(last_axis_sum(jnp.square(z)), n * _LOG_2PI))),
                        half_logdet)


def pdf(x, mean, cov):
    """Density ``exp(logpdf)``.

    >>> import numpy as np
    >>> round(float(pdf(np.zeros(2), np.zeros(2), np.eye(2))), 12)   # 1 / (2 pi)
    0.159154943092
    """
    return jnp.exp(logpdf(x, mean, cov))
