"""Draws that are closed-form transforms of the basic ones: t, chisquare, f, pareto,
lognormal, maxwell, double_sided_maxwell, weibull_min, rayleigh, wald, geometric and
triangular, each in JAX's order of operations (so within a few ulps of JAX).

>>> from spmdgrad.random import PRNGKey, lognormal
>>> bool((lognormal(PRNGKey(0), 0.5, (4,)) > 0).all())
True
"""
from __future__ import annotations

import numpy as np

import spmdgrad.numpy as jnp

from ..core import get_aval
from .discrete import rademacher_from
from .distributions import (
    as_float,
    canonical_shape,
    check_shape,
    float_dtype,
    normal_from,
    split2,
    unit_uniform,
)
from .gamma import gamma_from
from .keys import check_key


def _setup(name, key, dtype, shape, *params):
    data, _ = check_key(name, key)
    dtype = float_dtype(name, dtype)
    shape = canonical_shape(name, shape)
    shapes = [jnp.shape(p) for p in params]
    if shape is None:
        shape = np.broadcast_shapes(*shapes) if shapes else ()
    else:
        check_shape(name, shape, *shapes)
    return data, dtype, tuple(shape), [as_float(p, dtype) for p in params]


def t(key, df, shape=None, dtype=None):
    """Student's t draws with ``df`` degrees of freedom.

    >>> from spmdgrad.random import PRNGKey
    >>> t(PRNGKey(0), 3.0, (2,)).shape
    (2,)
    """
    data, dtype, shape, (df,) = _setup("t", key, dtype, shape, df)
    key_n, key_g = split2(data)
    n = normal_from(key_n, shape, dtype)
    half_df = df / dtype.type(2)
    g = gamma_from(key_g, half_df, shape, dtype)
    return n * jnp.sqrt(half_df / g)


def _chisquare(data, df, shape, dtype):
    half_df = df / dtype.type(2)
    return jnp.exp(gamma_from(data, half_df, shape, dtype, log_space=True)) * dtype.type(2)


def chisquare(key, df, shape=None, dtype=None):
    """Chi-square draws with ``df`` degrees of freedom.

    >>> from spmdgrad.random import PRNGKey
    >>> chisquare(PRNGKey(0), 2.0, (2,)).shape
    (2,)
    """
    data, dtype, shape, (df,) = _setup("chisquare", key, dtype, shape, df)
    return _chisquare(data, df, shape, dtype)


def f(key, dfnum, dfden, shape=None, dtype=None):
    """F-distribution draws.

    >>> from spmdgrad.random import PRNGKey
    >>> f(PRNGKey(0), 2.0, 5.0, (2,)).shape
    (2,)
    """
    data, dtype, shape, (dfnum, dfden) = _setup("f", key, dtype, shape, dfnum, dfden)
    key_dfd, key_dfn = split2(data)
    num = _chisquare(key_dfn, dfnum, shape, dtype) / dfnum
    den = _chisquare(key_dfd, dfden, shape, dtype) / dfden
    return num / den


def pareto(key, b, shape=None, dtype=None):
    """Pareto draws with shape parameter ``b``: ``exp(e / b)``, ``e`` exponential.

    >>> from spmdgrad.random import PRNGKey
    >>> bool((pareto(PRNGKey(0), 2.0, (3,)) >= 1).all())
    True
    """
    data, dtype, shape, (b,) = _setup("pareto", key, dtype, shape, b)
    e = -jnp.log1p(-unit_uniform(data, shape, dtype))
    return jnp.exp(e / b)


def lognormal(key, sigma=1.0, shape=None, dtype=None):
    """Log-normal draws ``exp(sigma * z)``."""
    data, dtype, shape, (sigma,) = _setup("lognormal", key, dtype, shape, sigma)
    return jnp.exp(normal_from(data, shape, dtype) * sigma)


def _maxwell(data, shape, dtype):
    z = normal_from(data, tuple(shape) + (3,), dtype)
    return jnp.sqrt(jnp.sum(z * z, axis=-1))


def maxwell(key, shape=(), dtype=None):
    """Maxwell draws: the norm of a 3-d standard normal.

    >>> from spmdgrad.random import PRNGKey
    >>> maxwell(PRNGKey(0), (2,)).shape
    (2,)
    """
    data, dtype, shape, _ = _setup("maxwell", key, dtype, shape)
    return _maxwell(data, shape, dtype)


def double_sided_maxwell(key, loc, scale, shape=(), dtype=None):
    """Maxwell draws with a random sign, scaled and shifted; JAX's shape rule: the output
    shape is ``shape + broadcast(loc, scale).shape``.

    >>> from spmdgrad.random import PRNGKey
    >>> double_sided_maxwell(PRNGKey(0), 0.0, 1.0, (2,)).shape
    (2,)
    """
    data, _ = check_key("double_sided_maxwell", key)
    dtype = float_dtype("double_sided_maxwell", dtype)
    shape = canonical_shape("double_sided_maxwell", shape)
    params_shape = np.broadcast_shapes(jnp.shape(loc), jnp.shape(scale))
    shape = (tuple(shape) or params_shape) + params_shape
    k_max, k_sign = split2(data)
    rvs = _maxwell(k_max, shape, dtype)
    sign = rademacher_from(k_sign, shape, dtype)
    return sign * rvs * as_float(scale, dtype) + as_float(loc, dtype)


def weibull_min(key, scale, concentration, shape=(), dtype=None):
    """Weibull draws: ``(-log1p(-u)) ** (1 / concentration) * scale``.

    >>> from spmdgrad.random import PRNGKey
    >>> weibull_min(PRNGKey(0), 1.0, 2.0, (2,)).shape
    (2,)
    """
    data, _ = check_key("weibull_min", key)
    dtype = float_dtype("weibull_min", dtype)
    shape = canonical_shape("weibull_min", shape)
    u = unit_uniform(data, shape, dtype)
    conc, scale = as_float(concentration, dtype), as_float(scale, dtype)
    return jnp.power(-jnp.log1p(-u), dtype.type(1) / conc) * scale


def rayleigh(key, scale, shape=None, dtype=None):
    """Rayleigh draws ``scale * sqrt(-2 log u)``.

    >>> from spmdgrad.random import PRNGKey
    >>> rayleigh(PRNGKey(0), 1.0, (2,)).shape
    (2,)
    """
    data, dtype, shape, (scale,) = _setup("rayleigh", key, dtype, shape, scale)
    u = unit_uniform(data, shape, dtype)
    return jnp.broadcast_to(scale, shape) * jnp.sqrt(jnp.log(u) * dtype.type(-2))


def wald(key, mean, shape=None, dtype=None):
    """Wald (inverse Gaussian) draws with the given ``mean`` (and unit scale).

    >>> from spmdgrad.random import PRNGKey
    >>> wald(PRNGKey(0), 1.0, (2,)).shape
    (2,)
    """
    data, dtype, shape, (mean,) = _setup("wald", key, dtype, shape, mean)
    k1, k2 = split2(data)
    mean = jnp.broadcast_to(mean, shape)
    v = normal_from(k1, shape, dtype)
    z = unit_uniform(k2, shape, dtype)
    y = v * v
    y_sq = y * y
    mean_sq = mean * mean
    sqrt_term = jnp.sqrt(dtype.type(4) * mean * y + mean_sq * y_sq)
    x = mean + mean_sq * y / dtype.type(2) - mean / dtype.type(2) * sqrt_term
    return jnp.where(z <= mean / (mean + x), x, mean_sq / x)


def geometric(key, p, shape=None, dtype=None):
    """Number of Bernoulli(p) trials up to the first success (integers >= 1).

    >>> from spmdgrad.random import PRNGKey
    >>> bool((geometric(PRNGKey(0), 0.3, (5,)) >= 1).all())
    True
    """
    data, _ = check_key("geometric", key)
    dtype = np.dtype(np.int64 if dtype is None else dtype)
    if dtype.kind not in "iu":
        raise TypeError(f"spmdgrad.random.geometric: dtype must be an integer dtype, got {dtype}")
    p = jnp.asarray(p)
    pdt = get_aval(p).dtype if get_aval(p).dtype.kind == "f" else np.dtype(np.float64)
    p = as_float(p, pdt)
    shape = canonical_shape("geometric", shape)
    if shape is None:
        shape = get_aval(p).shape
    else:
        check_shape("geometric", shape, get_aval(p).shape)
    u = unit_uniform(data, shape, pdt)
    u = jnp.where(u == 0, pdt.type(1), u)
    g = jnp.floor(jnp.log(u) / jnp.broadcast_to(jnp.log1p(-p), shape)) + pdt.type(1)
    return jnp.asarray(g, dtype)


def triangular(key, left, mode, right, shape=None, dtype=None):
    """Triangular draws on ``[left, right]`` with peak at ``mode``.

    >>> from spmdgrad.random import PRNGKey
    >>> x = triangular(PRNGKey(0), 0.0, 0.3, 1.0, (4,))
    >>> bool(((x >= 0) & (x <= 1)).all())
    True
    """
    data, dtype, shape, (left, mode, right) = _setup("triangular", key, dtype, shape, left,
                                                     mode, right)
    left, mode, right = (jnp.broadcast_to(v, shape) for v in (left, mode, right))
    fc = (mode - left) / (right - left)
    u = unit_uniform(data, shape, dtype)
    out1 = left + jnp.sqrt(u * (right - left) * (mode - left))
    out2 = right - jnp.sqrt((dtype.type(1) - u) * (right - left) * (right - mode))
    return jnp.where(u < fc, out1, out2)
