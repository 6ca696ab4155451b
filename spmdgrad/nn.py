"""Neural-network functions, numerically stable, with ``axis`` parameters as in ``jax.nn``.

Every function is built from differentiable ``spmdgrad.numpy`` operations, so it
works under grad, vmap and pmap. Large inputs neither overflow nor give NaN.

>>> import numpy as np
>>> from spmdgrad import nn
>>> nn.softmax(np.array([1000.0, 1000.0]))
array([0.5, 0.5])
>>> nn.logsumexp(np.array([1000.0, 1000.0]))
np.float64(1000.6931471805599)
"""
from __future__ import annotations

import numpy as np

from . import numpy as jnp
from .core import get_aval
from .numpy._core import normalize_axes, normalize_axis, promote
from .primitives import elementwise as ew
from .primitives.stop_gradient import stop_gradient

__all__ = ["relu", "relu6", "leaky_relu", "elu", "sigmoid", "log_sigmoid", "softplus", "silu",
           "swish", "logsumexp", "log_softmax", "softmax", "one_hot"]


def _float(x):
    x, = promote(x, to_float=True)
    return x


def relu(x):
    """``max(x, 0)``. The derivative at 0 is 0 (as in JAX).

    >>> relu(np.array([-1.0, 0.0, 2.0]))
    array([0., 0., 2.])
    """
    x = jnp.asarray(x)
    return jnp.where(jnp.greater(x, 0), x, 0)


def relu6(x):
    """``min(max(x, 0), 6)``; the derivative is 0 at both kinks."""
    x = jnp.asarray(x)
    return jnp.where(jnp.greater_equal(x, 6), 6, relu(x))


def leaky_relu(x, negative_slope=0.01):
    """``x`` where ``x >= 0`` else ``negative_slope * x``."""
    x = _float(x)
    return jnp.where(jnp.greater_equal(x, 0), x, jnp.multiply(negative_slope, x))


def elu(x, alpha=1.0):
    """``x`` where ``x > 0`` else ``alpha * expm1(x)`` (no overflow for large ``x``)."""
    x = _float(x)
    safe = jnp.minimum(x, 0)  # expm1 of the unused branch never overflows
    return jnp.where(jnp.greater(x, 0), x, jnp.multiply(alpha, jnp.expm1(safe)))


def sigmoid(x):
    """Logistic function ``1 / (1 + exp(-x))``, stable in both tails.

    >>> sigmoid(np.array([-800.0, 0.0, 800.0]))
    array([0. , 0.5, 1. ])
    """
    return ew.logistic_p.bind(_float(x))


def softplus(x):
    """``log(1 + exp(x))`` computed as ``log1p(exp(-|x|)) + max(x, 0)``: no overflow,
    and its derivative is exactly ``sigmoid(x)`` (including at 0)."""
    x = _float(x)
    return jnp.add(jnp.log1p(jnp.exp(jnp.negative(jnp.abs(x)))), jnp.maximum(x, 0))


def log_sigmoid(x):
    """``log(sigmoid(x)) = -softplus(-x)``, finite for large negative ``x``."""
    return jnp.negative(softplus(jnp.negative(_float(x))))


def silu(x):
    """``x * sigmoid(x)`` (also called swish)."""
    x = _float(x)
    return jnp.multiply(x, sigmoid(x))


swish = silu


def _shifted(x, axis):
    """``(x - m, m)`` with ``m`` the max over ``axis`` (kept dims), replaced by 0 where
    it is not finite so that all-``-inf`` slices do not produce NaN. ``m`` cancels
    exactly in every function below, so it is a constant to differentiation."""
    m = jnp.max(x, axis=axis, keepdims=True)
    m = stop_gradient(jnp.where(jnp.isfinite(m), m, 0))
    return jnp.subtract(x, m), m


def _axis(x, axis):
    return normalize_axes(axis, get_aval(x).ndim, "spmdgrad.nn")


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """``log(sum(b * exp(a), axis))`` without overflow. With ``b`` the sum may be
    negative; ``return_sign=True`` then returns ``(log|sum|, sign)``.

    >>> logsumexp(np.array([0.0, np.log(3.0)]))
    np.float64(1.3862943611198906)
    """
    a = _float(a)
    axes = _axis(a, axis)
    shifted, m = _shifted(a, axes)
    e = jnp.exp(shifted)
    if b is not None:
        e = jnp.multiply(e, b)
    s = jnp.sum(e, axis=axes, keepdims=keepdims)
    if not keepdims:
        m = jnp.reshape(m, get_aval(s).shape)
    sign = jnp.sign(s)
    out = jnp.add(jnp.log(jnp.abs(s)), m)
    if not return_sign and b is not None:
        out = jnp.where(jnp.less(s, 0), np.nan, out)
    return (out, sign) if return_sign else out


def log_softmax(x, axis=-1):
    """``x - logsumexp(x, axis, keepdims=True)``, stable for large inputs.

    >>> log_softmax(np.array([0.0, np.log(3.0)]))
    array([-1.38629436, -0.28768207])
    """
    x = _float(x)
    axes = _axis(x, axis)
    shifted, _ = _shifted(x, axes)
    lse = jnp.log(jnp.sum(jnp.exp(shifted), axis=axes, keepdims=True))
    return jnp.subtract(shifted, lse)


def softmax(x, axis=-1):
    """``exp(x) / sum(exp(x), axis)``, stable for large inputs.

    >>> softmax(np.array([0.0, np.log(3.0)]))
    array([0.25, 0.75])
    """
    x = _float(x)
    axes = _axis(x, axis)
    shifted, _ = _shifted(x, axes)
    e = jnp.exp(shifted)
    return jnp.divide(e, jnp.sum(e, axis=axes, keepdims=True))


def one_hot(x, num_classes, dtype=np.float64, axis=-1):
    """One-hot encoding of integer labels along a new ``axis`` (not differentiable).

    >>> one_hot(np.array([0, 2]), 3)
    array([[1., 0., 0.],
           [0., 0., 1.]])
    """
    x = jnp.asarray(x)
    nd = get_aval(x).ndim + 1
    ax = normalize_axis(axis, nd, "one_hot")
    shape = tuple(get_aval(x).shape)
    xs = jnp.reshape(x, shape[:ax] + (1,) + shape[ax:])
    classes = np.arange(num_classes).reshape([num_classes if i == ax else 1 for i in range(nd)])
    return jnp.astype(jnp.equal(xs, classes), dtype)
