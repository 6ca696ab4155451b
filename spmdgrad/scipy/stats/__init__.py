"""``spmdgrad.scipy.stats``: ``jax.scipy.stats``'s distributions, differentiable and batched.

One module per distribution, each with JAX's functions and signatures (``loc``, ``scale``
and shape parameters broadcast against ``x``).

>>> from spmdgrad.scipy import stats
>>> float(stats.norm.cdf(0.0)), float(stats.uniform.pdf(0.5))
(0.5, 1.0)
"""
from . import (  # noqa: F401
               bernoulli,
               beta,
               cauchy,
               gamma,
               laplace,
               logistic,
               multivariate_normal,
               norm,
               poisson,
               t,
               uniform,
)
