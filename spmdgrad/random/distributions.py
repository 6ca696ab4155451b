"""Continuous draws: uniform, normal and everything built on them.

Every draw is ``random_bits`` (a primitive) turned into floats by ``unit_float``
(a primitive) and then ordinary ``spmdgrad.numpy`` arithmetic, in JAX's order of
operations and in the requested dtype. So draws are bit-identical to JAX where
the arithmetic is exact (``uniform``), within a few ulps where a special function
is involved, and differentiable in their float parameters (``minval``,
``lower``, ``mean``, ``cov``, ...), never in the key. The default dtype is
float64, JAX's with ``jax_enable_x64`` on.

>>> import spmdgrad.random as random
>>> random.uniform(random.PRNGKey(0), (3,))
array([0.41845711, 0.21629545, 0.96532146])
"""
from __future__ import annotations

import math
import operator

import numpy as np

import spmdgrad.numpy as jnp

from ..core import get_aval
from ..primitives.stop_gradient import stop_gradient
from . import primitives as P
from .keys import check_key

# --------------------------------------------------------------------------- argument helpers

def canonical_shape(name, shape):
    if shape is None:
        return None
    if isinstance(shape, int | np.integer):
        return (operator.index(shape),)
    try:
        return tuple(operator.index(d) for d in shape)
    except TypeError:
        raise TypeError(f"spmdgrad.random.{name}: shape must be a tuple of integers, got "
                        f"{shape!r}") from None


def float_dtype(name, dtype):
    dtype = np.dtype(np.float64 if dtype is None else dtype)
    if dtype.kind != "f" or dtype.itemsize not in (2, 4, 8):
        raise ValueError(f"spmdgrad.random.{name}: dtype must be a float dtype (float16, "
                         f"float32 or float64), got {dtype}")
    return dtype


def check_shape(name, shape, *param_shapes):
    """``shape`` must be the broadcast of itself with the parameters' shapes."""
    try:
        out = np.broadcast_shapes(shape, *param_shapes)
    except ValueError:
        out = None
    if out != tuple(shape):
        raise ValueError(f"spmdgrad.random.{name}: parameter shapes {list(param_shapes)} must "
                         f"broadcast to the requested shape {tuple(shape)}")


def as_float(x, dtype):
    """A parameter converted to ``dtype`` (tracers stay traced and differentiable)."""
    return jnp.asarray(x, dtype) if get_aval(jnp.asarray(x)).dtype != dtype else jnp.asarray(x)


def broadcast_all(*xs):
    """Operands broadcast to one shape (strict elementwise primitives need it)."""
    xs = [jnp.asarray(x) for x in xs]
    shape = np.broadcast_shapes(*(get_aval(x).shape for x in xs))
    return [x if get_aval(x).shape == shape else jnp.broadcast_to(x, shape) for x in xs]


def split2(data, num=2):
    keys = P.random_split(data, (num,))
    return [keys[i] for i in range(num)]


def unit_uniform(data, shape, dtype):
    """Floats in [0, 1) of ``shape`` from a single key's data."""
    nbits = dtype.itemsize * 8
    return P.unit_float(P.random_bits(data, nbits, shape), dtype)


def uniform_from(data, shape, dtype, minval, maxval):
    floats = unit_uniform(data, shape, dtype)
    minval, maxval = as_float(minval, dtype), as_float(maxval, dtype)
    # XLA fuses floats * span + minval into one FMA; so does this, to stay bit-identical.
    return jnp.maximum(minval, P.fma(*broadcast_all(floats, maxval - minval, minval)))


def normal_from(data, shape, dtype):
    lo = np.nextafter(dtype.type(-1), dtype.type(0))
    u = uniform_from(data, shape, dtype, lo, dtype.type(1))
    return dtype.type(math.sqrt(2)) * P.erf_inv(u)


# --------------------------------------------------------------------------- public draws

def uniform(key, shape=(), dtype=None, minval=0.0, maxval=1.0):
    """Uniform floats in ``[minval, maxval)``; bit-identical to JAX.

    >>> from spmdgrad.random import PRNGKey
    >>> uniform(PRNGKey(0), (2,), minval=-1.0, maxval=1.0)
    array([-0.16308578, -0.56740909])
    """
    data, _ = check_key("uniform", key)
    dtype = float_dtype("uniform", dtype)
    shape = canonical_shape("uniform", shape)
    check_shape("uniform", shape, jnp.shape(minval), jnp.shape(maxval))
    return uniform_from(data, shape, dtype, minval, maxval)


def normal(key, shape=(), dtype=None):
    """Standard normal draws: ``sqrt(2) * erf_inv(u)`` with ``u`` uniform in (-1, 1).

    >>> from spmdgrad.random import PRNGKey
    >>> normal(PRNGKey(0), (2,))
    array([-0.20584214, -0.78476578])
    """
    data, _ = check_key("normal", key)
    dtype = float_dtype("normal", dtype)
    return normal_from(data, canonical_shape("normal", shape), dtype)


def truncated_normal(key, lower, upper, shape=None, dtype=None):
    """Normal draws conditioned on ``lower < x < upper`` (inverse-CDF method).

    >>> from spmdgrad.random import PRNGKey
    >>> x = truncated_normal(PRNGKey(0), -0.5, 0.5, (100,))
    >>> bool((x > -0.5).all() and (x < 0.5).all())
    True
    """
    data, _ = check_key("truncated_normal", key)
    dtype = float_dtype("truncated_normal", dtype)
    shape = canonical_shape("truncated_normal", shape)
    lo_shape, hi_shape = jnp.shape(lower), jnp.shape(upper)
    if shape is None:
        shape = np.broadcast_shapes(lo_shape, hi_shape)
    else:
        check_shape("truncated_normal", shape, lo_shape, hi_shape)
    sqrt2 = dtype.type(math.sqrt(2))
    lower, upper = as_float(lower, dtype), as_float(upper, dtype)
    a, b = P.erf(lower / sqrt2), P.erf(upper / sqrt2)
    out = sqrt2 * P.erf_inv(uniform_from(data, shape, dtype, a, b))
    # Rounding may land on a bound; keep draws strictly inside, as JAX does.
    lo = P.nextafter(*broadcast_all(stop_gradient(lower), dtype.type(np.inf)))
    hi = P.nextafter(*broadcast_all(stop_gradient(upper), dtype.type(-np.inf)))
    return jnp.clip(out, lo, hi)


def multivariate_normal(key, mean, cov, shape=None, dtype=None, method="cholesky"):
    """Draws from N(mean, cov): ``mean + factor @ z`` with ``factor`` the Cholesky factor
    (``method='svd'``/``'eigh'`` need those decompositions in ``spmdgrad.numpy.linalg``).

    >>> import numpy as np
    >>> from spmdgrad.random import PRNGKey
    >>> multivariate_normal(PRNGKey(0), np.zeros(2), np.eye(2)).shape
    (2,)
    """
    data, _ = check_key("multivariate_normal", key)
    mean, cov = jnp.asarray(mean), jnp.asarray(cov)
    dt = np.result_type(get_aval(mean).dtype, get_aval(cov).dtype, np.float16)
    dt = np.dtype(np.float64) if dt.kind != "f" else dt
    mean, cov = as_float(mean, dt), as_float(cov, dt)
    dtype = dt if dtype is None else float_dtype("multivariate_normal", dtype)
    if method not in ("svd", "eigh", "cholesky"):
        raise ValueError("spmdgrad.random.multivariate_normal: method must be one of 'svd', "
                         f"'eigh', 'cholesky', got {method!r}")
    ms, cs = get_aval(mean).shape, get_aval(cov).shape
    if len(ms) < 1 or len(cs) < 2 or cs[-2:] != (ms[-1], ms[-1]):
        raise ValueError("spmdgrad.random.multivariate_normal: needs mean of shape (..., n) and "
                         f"cov of shape (..., n, n); got mean {ms} and cov {cs}")
    shape = canonical_shape("multivariate_normal", shape)
    if shape is None:
        shape = np.broadcast_shapes(ms[:-1], cs[:-2])
    else:
        check_shape("multivariate_normal", shape, ms[:-1], cs[:-2])
    if method == "cholesky":
        factor = jnp.linalg.cholesky(cov)
    else:
        fn = getattr(jnp.linalg, method, None)
        if fn is None:
            raise NotImplementedError(
                f"spmdgrad.random.multivariate_normal: method={method!r} needs "
                f"spmdgrad.numpy.linalg.{method}, which is not available; use "
                "method='cholesky' (the default)")
        if method == "svd":
            u, s, _ = fn(cov)
            factor = u * jnp.sqrt(s[..., None, :])
        else:
            w, v = fn(cov)
            factor = v * jnp.sqrt(w[..., None, :])
    z = normal_from(data, tuple(shape) + ms[-1:], dtype)
    return mean + jnp.einsum("...ij,...j->...i", factor, z)


def exponential(key, shape=(), dtype=None):
    """Exponential(1) draws, ``-log1p(-u)``.

    >>> from spmdgrad.random import PRNGKey
    >>> exponential(PRNGKey(0), (2,))
    array([0.54207056, 0.24372319])
    """
    data, _ = check_key("exponential", key)
    dtype = float_dtype("exponential", dtype)
    u = unit_uniform(data, canonical_shape("exponential", shape), dtype)
    return -jnp.log1p(-u)


def laplace(key, shape=(), dtype=None):
    """Laplace(0, 1) draws.

    >>> from spmdgrad.random import PRNGKey
    >>> laplace(PRNGKey(0), (2,))
    array([0.17803369, 0.83796278])
    """
    data, _ = check_key("laplace", key)
    dtype = float_dtype("laplace", dtype)
    u = uniform_from(data, canonical_shape("laplace", shape), dtype,
                     dtype.type(-1) + np.finfo(dtype).epsneg, dtype.type(1))
    return jnp.sign(u) * jnp.log1p(-jnp.abs(u))


def logistic(key, shape=(), dtype=None):
    """Standard logistic draws, ``log(u) - log1p(-u)``.

    >>> from spmdgrad.random import PRNGKey
    >>> logistic(PRNGKey(0), (2,))
    array([-0.32911032, -1.28738678])
    """
    data, _ = check_key("logistic", key)
    dtype = float_dtype("logistic", dtype)
    x = uniform_from(data, canonical_shape("logistic", shape), dtype, np.finfo(dtype).tiny,
                     dtype.type(1))
    return jnp.log(x) - jnp.log1p(-x)


def gumbel(key, shape=(), dtype=None, mode=None):
    """Standard Gumbel draws. ``mode='high'`` spends two uniforms per draw for more
    resolution near 0 (``'highest'`` equals ``'high'`` except in float32, where it raises).

    >>> from spmdgrad.random import PRNGKey
    >>> gumbel(PRNGKey(0), (2,))
    array([ 0.13790566, -0.42599294])
    """
    data, _ = check_key("gumbel", key)
    dtype = float_dtype("gumbel", dtype)
    shape = canonical_shape("gumbel", shape)
    return gumbel_from(data, shape, dtype, mode)


def gumbel_from(data, shape, dtype, mode=None):
    mode = "low" if mode is None else mode
    if mode not in ("low", "high", "highest"):
        raise ValueError(f"spmdgrad.random.gumbel: mode must be 'low', 'high' or 'highest', "
                         f"got {mode!r}")
    if mode == "highest" and dtype == np.float32:
        raise NotImplementedError(
            "spmdgrad.random.gumbel: mode='highest' for float32 (JAX's bit-level construction) "
            "is not implemented; use mode='high', or float64 where 'highest' equals 'high'")
    info = np.finfo(dtype)
    if mode == "low":
        u = uniform_from(data, shape, dtype, info.tiny, dtype.type(1))
        return -jnp.log(-jnp.log(u))
    u = unit_uniform(data, (2,) + tuple(shape), dtype)
    high, low = u[0], u[1]
    x = jnp.where(high >= 0.5, high, high + dtype.type(2.0 ** -info.nmant) * low + info.tiny)
    return -jnp.log(-jnp.log1p(-x))


def cauchy(key, shape=(), dtype=None):
    """Standard Cauchy draws, ``tan(pi (u - 1/2))``.

    >>> from spmdgrad.random import PRNGKey
    >>> cauchy(PRNGKey(0), (2,)).shape
    (2,)
    """
    data, _ = check_key("cauchy", key)
    dtype = float_dtype("cauchy", dtype)
    u = uniform_from(data, canonical_shape("cauchy", shape), dtype, np.finfo(dtype).eps,
                     dtype.type(1))
    return jnp.tan(dtype.type(np.pi) * (u - dtype.type(0.5)))
