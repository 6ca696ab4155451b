"""Draws built on the gamma sampler: gamma, loggamma, beta, dirichlet,
generalized_normal and ball; and orthogonal matrices.

The gamma sampler is a primitive (a rejection loop in NumPy, vectorised over
elements); each element gets its own key from ``split(key, a.size)``, as in JAX,
so draws are reproducible element by element and batch under ``vmap``.

>>> import spmdgrad.random as random
>>> random.gamma(random.PRNGKey(0), 2.0, (3,))
array([1.3520308 , 1.12435945, 3.73240416])
"""
from __future__ import annotations

import numpy as np

import spmdgrad.numpy as jnp

from ..core import get_aval
from . import primitives as P
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
from .keys import check_key


def gamma_from(data, a, shape, dtype, log_space=False):
    a = as_float(a, dtype)
    a_shape = get_aval(a).shape
    if shape is None:
        shape = a_shape
    else:
        check_shape("gamma", shape, a_shape)
        if a_shape != tuple(shape):
            a = jnp.broadcast_to(a, shape)
    n = int(np.prod(shape, dtype=np.int64))
    keys = jnp.reshape(P.random_split(data, (n,)), tuple(shape) + (2,))
    return P.random_gamma(keys, a, log_space)


def gamma(key, a, shape=None, dtype=None):
    """Gamma(a, 1) draws (Marsaglia-Tsang), differentiable in ``a`` (implicit
    reparameterisation, as JAX).

    >>> from spmdgrad.random import PRNGKey
    >>> gamma(PRNGKey(0), np.array([0.5, 5.0]))
    array([0.09805369, 3.71164505])
    """
    data, _ = check_key("gamma", key)
    dtype = float_dtype("gamma", dtype)
    return gamma_from(data, a, canonical_shape("gamma", shape), dtype)


def loggamma(key, a, shape=None, dtype=None):
    """``log`` of Gamma(a, 1) draws, accurate for small ``a`` where the draws underflow.

    >>> from spmdgrad.random import PRNGKey
    >>> loggamma(PRNGKey(0), np.array([0.5, 5.0]))
    array([-2.32224013,  1.31147519])
    """
    data, _ = check_key("loggamma", key)
    dtype = float_dtype("loggamma", dtype)
    return gamma_from(data, a, canonical_shape("loggamma", shape), dtype, log_space=True)


def beta(key, a, b, shape=None, dtype=None):
    """Beta(a, b) draws, from two log-gamma draws.

    >>> from spmdgrad.random import PRNGKey
    >>> beta(PRNGKey(0), 2.0, 3.0, (2,))
    array([0.32795607, 0.61380901])
    """
    data, _ = check_key("beta", key)
    dtype = float_dtype("beta", dtype)
    shape = canonical_shape("beta", shape)
    if shape is None:
        shape = np.broadcast_shapes(jnp.shape(a), jnp.shape(b))
    else:
        check_shape("beta", shape, jnp.shape(a), jnp.shape(b))
    key_a, key_b = split2(data)
    a = jnp.broadcast_to(as_float(a, dtype), shape)
    b = jnp.broadcast_to(as_float(b, dtype), shape)
    log_ga = gamma_from(key_a, a, shape, dtype, log_space=True)
    log_gb = gamma_from(key_b, b, shape, dtype, log_space=True)
    log_max = jnp.maximum(log_ga, log_gb)
    ga, gb = jnp.exp(log_ga - log_max), jnp.exp(log_gb - log_max)
    return ga / (ga + gb)


def dirichlet(key, alpha, shape=None, dtype=None):
    """Dirichlet(alpha) draws over the last axis of ``alpha``.

    >>> from spmdgrad.random import PRNGKey
    >>> dirichlet(PRNGKey(0), np.ones(3)).sum()
    np.float64(0.9999999999999999)
    """
    data, _ = check_key("dirichlet", key)
    dtype = float_dtype("dirichlet", dtype)
    a_shape = jnp.shape(alpha)
    if len(a_shape) < 1:
        raise ValueError(f"spmdgrad.random.dirichlet: alpha must have at least 1 dimension, "
                         f"got shape {a_shape}")
    shape = canonical_shape("dirichlet", shape)
    if shape is None:
        shape = a_shape[:-1]
    else:
        check_shape("dirichlet", shape, a_shape[:-1])
    log_g = gamma_from(data, as_float(alpha, dtype), tuple(shape) + a_shape[-1:], dtype,
                       log_space=True)
    # softmax over the last axis, shifted by its (constant) maximum
    e = jnp.exp(log_g - jnp.max(log_g, axis=-1, keepdims=True))
    return e / jnp.sum(e, axis=-1, keepdims=True)


def generalized_normal(key, p, shape=(), dtype=None):
    """Generalized normal draws with density proportional to ``exp(-|x|^p)``.

    >>> from spmdgrad.random import PRNGKey
    >>> generalized_normal(PRNGKey(0), 2.0, (2,)).shape
    (2,)
    """
    data, _ = check_key("generalized_normal", key)
    dtype = float_dtype("generalized_normal", dtype)
    return _generalized_normal(data, p, canonical_shape("generalized_normal", shape), dtype)


def _generalized_normal(data, p, shape, dtype):
    k1, k2 = split2(data)
    g = gamma_from(k1, 1 / p, shape, dtype)
    r = rademacher_from(k2, shape, dtype)
    return r * g ** (1 / p)


def ball(key, d, p=2, shape=(), dtype=None):
    """Uniform draws from the unit ``p``-norm ball in ``d`` dimensions (shape ``shape + (d,)``).

    >>> from spmdgrad.random import PRNGKey
    >>> bool(np.linalg.norm(ball(PRNGKey(0), 3)) < 1)
    True
    """
    data, _ = check_key("ball", key)
    dtype = float_dtype("ball", dtype)
    shape = canonical_shape("ball", shape)
    d = _concrete_int("ball", "d", d)
    k1, k2 = split2(data)
    g = _generalized_normal(k1, p, tuple(shape) + (d,), dtype)
    e = -jnp.log1p(-unit_uniform(k2, shape, dtype))
    return g / (((jnp.abs(g) ** p).sum(-1) + e) ** (1 / p))[..., None]


def orthogonal(key, n, shape=(), dtype=None, m=None):
    """Uniform (Haar) draws of ``n x m`` matrices with orthonormal columns or rows
    (``m = n`` by default: orthogonal matrices), shape ``shape + (n, m)``.

    >>> from spmdgrad.random import PRNGKey
    >>> q = orthogonal(PRNGKey(0), 3)
    >>> np.allclose(q @ q.T, np.eye(3))
    True
    """
    data, _ = check_key("orthogonal", key)
    dtype = float_dtype("orthogonal", dtype)
    shape = canonical_shape("orthogonal", shape)
    n = _concrete_int("orthogonal", "n", n)
    m = n if m is None else _concrete_int("orthogonal", "m", m)
    z = normal_from(data, tuple(shape) + (max(n, m), min(n, m)), dtype)
    x = P.orthonormalize(z)
    return jnp.swapaxes(x, -1, -2) if n < m else x


def _concrete_int(name, arg, v):
    try:
        return int(np.asarray(v).item()) if not isinstance(v, int) else v
    except Exception:  # noqa: BLE001
        raise TypeError(f"spmdgrad.random.{name}: {arg} must be a concrete Python int, got "
                        f"{v!r}") from None
