"""``spmdgrad.random``: JAX's random API on JAX's default PRNG, threefry2x32.

The same seed gives the same numbers as JAX (with ``jax_enable_x64``, JAX's
default ``jax_threefry_partitionable=True``): keys, ``split``, ``fold_in``,
``bits``, ``randint``, ``uniform``, ``bernoulli`` and ``permutation`` bit for bit,
draws through special functions to a few ulps. Keys work under ``vmap``,
``jit`` and ``grad``. See docs/random.md.

>>> import spmdgrad, spmdgrad.random as random
>>> key = random.key(0)
>>> k1, k2 = random.split(key)
>>> spmdgrad.vmap(lambda k: random.normal(k, (2,)))(random.split(k1, 3)).shape
(3, 2)
"""
from .derived import (
    chisquare,
    double_sided_maxwell,
    f,
    geometric,
    lognormal,
    maxwell,
    pareto,
    rayleigh,
    t,
    triangular,
    wald,
    weibull_min,
)
from .discrete import (
    bernoulli,
    binomial,
    bits,
    categorical,
    choice,
    multinomial,
    permutation,
    poisson,
    rademacher,
    randint,
    shuffle,
)
from .distributions import (
    cauchy,
    exponential,
    gumbel,
    laplace,
    logistic,
    multivariate_normal,
    normal,
    truncated_normal,
    uniform,
)
from .gamma import ball, beta, dirichlet, gamma, generalized_normal, loggamma, orthogonal
from .keys import (
    KeyDType,
    PRNGKey,
    PRNGKeyArray,
    clone,
    fold_in,
    key,
    key_data,
    key_impl,
    split,
    wrap_key_data,
)

__all__ = [
    "KeyDType",
    "PRNGKey",
    "PRNGKeyArray",
    "ball",
    "bernoulli",
    "beta",
    "binomial",
    "bits",
    "categorical",
    "cauchy",
    "chisquare",
    "choice",
    "clone",
    "dirichlet",
    "double_sided_maxwell",
    "exponential",
    "f",
    "fold_in",
    "gamma",
    "generalized_normal",
    "geometric",
    "gumbel",
    "key",
    "key_data",
    "key_impl",
    "laplace",
    "loggamma",
    "logistic",
    "lognormal",
    "maxwell",
    "multinomial",
    "multivariate_normal",
    "normal",
    "orthogonal",
    "pareto",
    "permutation",
    "poisson",
    "rademacher",
    "randint",
    "rayleigh",
    "shuffle",
    "split",
    "t",
    "triangular",
    "truncated_normal",
    "uniform",
    "wald",
    "weibull_min",
    "wrap_key_data",
]
