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

import math

import numpy as np

from .. import numpy as jnp
from ..core import get_aval
from ..lax import axis_index, axis_size, stop_gradient
from ..numpy._core import normalize_axes, normalize_axis, promote
from ..primitives import elementwise as ew
from ._special import erfc

__all__ = [
    "celu",
    "elu",
    "gelu",
    "glu",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "identity",
    "leaky_relu",
    "log1mexp",
    "log_sigmoid",
    "log_softmax",
    "logmeanexp",
    "logsumexp",
    "mish",
    "one_hot",
    "relu",
    "relu6",
    "selu",
    "sigmoid",
    "silu",
    "soft_sign",
    "softmax",
    "softplus",
    "sparse_plus",
    "sparse_sigmoid",
    "squareplus",
    "standardize",
    "swish",
    "tanh",
]


def _float(x):
    x, = promote(x, to_float=True)
    return x


def identity(x):
    """The identity, as an activation: ``x`` as an array.

    >>> identity(np.array([-1.0, 2.0]))
    array([-1.,  2.])
    """
    return jnp.asarray(x)


def relu(x):
    """``max(x, 0)``. The derivative at 0 is 0 (as in JAX).

    >>> relu(np.array([-1.0, 0.0, 2.0]))
    array([0., 0., 2.])
    """
    x = jnp.asarray(x)
    return jnp.where(jnp.greater(x, 0), x, 0)


def relu6(x):
    """``min(max(x, 0), 6)``; the derivative is 0 at both kinks (as in JAX).

    >>> relu6(np.array([-1.0, 3.0, 7.0]))
    array([0., 3., 6.])
    """
    x = jnp.asarray(x)
    return jnp.where(jnp.greater_equal(x, 6), 6, relu(x))


def leaky_relu(x, negative_slope=0.01):
    """``x`` where ``x >= 0`` else ``negative_slope * x`` (derivative 1 at 0).

    >>> leaky_relu(np.array([-2.0, 3.0]), 0.5)
    array([-1.,  3.])
    """
    x = _float(x)
    return jnp.where(jnp.greater_equal(x, 0), x, jnp.multiply(negative_slope, x))


def elu(x, alpha=1.0):
    """``x`` where ``x > 0`` else ``alpha * expm1(x)``. No overflow for large ``x``, and
    the derivative at 0 is ``alpha`` (the left branch's, as in JAX).

    >>> elu(np.array([-1.0, 0.0, 2.0]))
    array([-0.63212056,  0.        ,  2.        ])
    """
    x = _float(x)
    pos = jnp.greater(x, 0)
    safe = jnp.where(pos, 0, x)  # expm1 of the unused branch never overflows; no tie at 0
    return jnp.where(pos, x, jnp.multiply(alpha, jnp.expm1(safe)))


def celu(x, alpha=1.0):
    """``max(x, 0) + alpha * expm1(min(x, 0) / alpha)`` (continuously differentiable ELU).

    At 0 both ``max`` and ``min`` tie and split the derivative, as in JAX.

    >>> celu(np.array([-1.0, 2.0]), alpha=2.0)
    array([-0.78693868,  2.        ])
    """
    x = _float(x)
    return jnp.add(jnp.maximum(x, 0), jnp.multiply(alpha, jnp.expm1(jnp.divide(jnp.minimum(x, 0), alpha))))


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(x):
    """Scaled ELU: ``scale * elu(x, alpha)`` with the self-normalising constants.

    >>> selu(np.array([-1.0, 1.0]))
    array([-1.11133074,  1.05070099])
    """
    return jnp.multiply(_SELU_SCALE, elu(x, _SELU_ALPHA))


def gelu(x, approximate=True):
    """Gaussian error linear unit: ``x * Phi(x)``; ``approximate=True`` (JAX's default)
    uses the tanh approximation, ``False`` the exact ``erfc`` form.

    >>> gelu(np.array([-1.0, 1.0]))
    array([-0.15880801,  0.84119199])
    >>> gelu(np.array([-1.0, 1.0]), approximate=False)
    array([-0.15865525,  0.84134475])
    """
    x = _float(x)
    if approximate:
        cube = jnp.multiply(jnp.multiply(x, x), x)
        inner = jnp.multiply(math.sqrt(2 / math.pi), jnp.add(x, jnp.multiply(0.044715, cube)))
        return jnp.multiply(x, jnp.multiply(0.5, jnp.add(1.0, jnp.tanh(inner))))
    return jnp.multiply(jnp.multiply(0.5, x), erfc(jnp.multiply(x, -math.sqrt(0.5))))


def glu(x, axis=-1):
    """Gated linear unit: split ``x`` in two halves along ``axis``, ``a * sigmoid(b)``.

    >>> glu(np.array([1.0, 2.0, 0.0, 0.0]))
    array([0.5, 1. ])
    """
    x = _float(x)
    shape = get_aval(x).shape
    ax = normalize_axis(axis, len(shape), "spmdgrad.nn.glu")
    if shape[ax] % 2:
        raise ValueError(f"spmdgrad.nn.glu: axis {axis} of an input of shape {shape} has odd size "
                         f"{shape[ax]}; glu splits it into two equal halves")
    a, b = jnp.split(x, 2, axis=ax)
    return jnp.multiply(a, sigmoid(b))


def sigmoid(x):
    """Logistic function ``1 / (1 + exp(-x))``, stable in both tails.

    >>> sigmoid(np.array([-800.0, 0.0, 800.0]))
    array([0. , 0.5, 1. ])
    """
    return ew.logistic_p.bind(_float(x))


def softplus(x):
    """``log(1 + exp(x))``: ``x + log1p(exp(-x))`` for ``x > 0``, ``log1p(exp(x))`` otherwise.

    No overflow, and no tie-splitting kink: the derivative is ``sigmoid(x)`` and the second
    derivative ``sigmoid'(x)`` everywhere, 0.5 and 0.25 at 0 (as in JAX).

    >>> softplus(np.array([-100.0, 0.0, 100.0]))
    array([3.72007598e-44, 6.93147181e-01, 1.00000000e+02])
    """
    x = _float(x)
    pos = jnp.greater(x, 0)
    hi = jnp.where(pos, x, 0)  # each branch sees only arguments where exp cannot overflow
    lo = jnp.where(pos, 0, x)
    return jnp.where(pos, jnp.add(hi, jnp.log1p(jnp.exp(jnp.negative(hi)))), jnp.log1p(jnp.exp(lo)))


def log_sigmoid(x):
    """``log(sigmoid(x)) = -softplus(-x)``, finite for large negative ``x``.

    >>> log_sigmoid(np.array([-100.0, 0.0]))
    array([-100.        ,   -0.69314718])
    """
    return jnp.negative(softplus(jnp.negative(_float(x))))


def silu(x):
    """``x * sigmoid(x)`` (also called swish).

    >>> silu(np.array([0.0, 1.0]))
    array([0.        , 0.73105858])
    """
    x = _float(x)
    return jnp.multiply(x, sigmoid(x))


swish = silu


def mish(x):
    """``x * tanh(softplus(x))``.

    >>> mish(np.array([0.0, 1.0]))
    array([0.        , 0.86509839])
    """
    x = _float(x)
    return jnp.multiply(x, jnp.tanh(softplus(x)))


def tanh(x):
    """Hyperbolic tangent (as ``jax.nn.tanh``).

    >>> tanh(np.array([0.0]))
    array([0.])
    """
    return jnp.tanh(x)


def hard_tanh(x):
    """``x`` clipped to ``[-1, 1]``; the derivative at ``±1`` is 1 (as in JAX).

    >>> hard_tanh(np.array([-2.0, 0.5, 2.0]))
    array([-1. ,  0.5,  1. ])
    """
    x = _float(x)
    return jnp.where(jnp.greater(x, 1), 1, jnp.where(jnp.less(x, -1), -1, x))


def hard_sigmoid(x):
    """``relu6(x + 3) / 6``.

    >>> hard_sigmoid(np.array([-4.0, 0.0, 4.0]))
    array([0. , 0.5, 1. ])
    """
    return jnp.divide(relu6(jnp.add(_float(x), 3.0)), 6.0)


def hard_silu(x):
    """``x * hard_sigmoid(x)`` (also called hard swish).

    >>> hard_silu(np.array([-4.0, 1.0, 4.0]))
    array([-0.        ,  0.66666667,  4.        ])
    """
    x = _float(x)
    return jnp.multiply(x, hard_sigmoid(x))


hard_swish = hard_silu


def soft_sign(x):
    """``x / (|x| + 1)``. ``|x|`` is taken with JAX's derivative convention at 0 (slope 1),
    so the second derivative at 0 is -2, as in JAX.

    >>> soft_sign(np.array([-1.0, 3.0]))
    array([-0.5 ,  0.75])
    """
    x = _float(x)
    magnitude = jnp.where(jnp.greater_equal(x, 0), x, jnp.negative(x))
    return jnp.divide(x, jnp.add(magnitude, 1.0))


def squareplus(x, b=4):
    """``(x + sqrt(x**2 + b)) / 2``, a smooth ReLU.

    >>> squareplus(np.array([0.0, 1.5]))
    array([1., 2.])
    """
    x = _float(x)
    return jnp.divide(jnp.add(x, jnp.sqrt(jnp.add(jnp.square(x), b))), 2.0)


def sparse_plus(x):
    """0 for ``x <= -1``, ``(x + 1)**2 / 4`` on ``(-1, 1)``, ``x`` for ``x >= 1``.

    >>> sparse_plus(np.array([-2.0, 0.0, 2.0]))
    array([0.  , 0.25, 2.  ])
    """
    x = _float(x)
    mid = jnp.divide(jnp.square(jnp.add(x, 1.0)), 4.0)
    return jnp.where(jnp.less_equal(x, -1.0), 0.0, jnp.where(jnp.greater_equal(x, 1.0), x, mid))


def sparse_sigmoid(x):
    """``clip(x + 1, 0, 2) / 2``; at ``x = ±1`` the clip ties split the derivative (as in JAX).

    >>> sparse_sigmoid(np.array([-2.0, 0.0, 2.0]))
    array([0. , 0.5, 1. ])
    """
    return jnp.multiply(0.5, jnp.clip(jnp.add(_float(x), 1.0), 0.0, 2.0))


def log1mexp(x):
    """``log(1 - exp(-x))`` for ``x > 0``, accurate near 0 and for large ``x``.

    >>> log1mexp(np.array([1.0]))
    array([-0.45867515])
    """
    x = _float(x)
    return jnp.where(jnp.less(x, math.log(2.0)), jnp.log(jnp.negative(jnp.expm1(jnp.negative(x)))),
                     jnp.log1p(jnp.negative(jnp.exp(jnp.negative(x)))))


def _masked(x, where, fill):
    """``x`` with the entries outside the boolean mask ``where`` replaced by ``fill``."""
    return x if where is None else jnp.where(where, x, fill)


def _shifted(x, axis):
    """``(x - m, m)`` with ``m`` the max over ``axis`` (kept dims), replaced by 0 where
    it is not finite so that all-``-inf`` slices do not produce NaN. ``m`` cancels
    exactly in every function below, so it is a constant to differentiation."""
    m = jnp.max(x, axis=axis, keepdims=True)
    m = stop_gradient(jnp.where(jnp.isfinite(m), m, 0))
    return jnp.subtract(x, m), m


def _axis(x, axis):
    return normalize_axes(axis, get_aval(x).ndim, "spmdgrad.nn")


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False, where=None):
    """``log(sum(b * exp(a), axis))`` without overflow. With ``b`` the sum may be
    negative; ``return_sign=True`` then returns ``(log|sum|, sign)``. Entries outside the
    boolean mask ``where`` are left out of the sum.

    >>> logsumexp(np.array([0.0, np.log(3.0)]))
    np.float64(1.3862943611198906)
    """
    a = _masked(_float(a), where, -np.inf)
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


def logmeanexp(x, axis=None, where=None, keepdims=False):
    """``logsumexp(x, axis) - log(n)``, with ``n`` the number of entries averaged.

    >>> logmeanexp(np.array([0.0, np.log(3.0)]))
    np.float64(0.6931471805599453)
    """
    x = _float(x)
    axes = _axis(x, axis)
    lse = logsumexp(x, axis=axes, keepdims=keepdims, where=where)
    if where is None:
        count = float(np.prod([get_aval(x).shape[i] for i in axes]))
    else:
        mask = jnp.broadcast_to(jnp.asarray(where), get_aval(x).shape)
        count = jnp.sum(jnp.astype(mask, get_aval(lse).dtype), axis=axes, keepdims=keepdims)
    return jnp.subtract(lse, jnp.log(jnp.asarray(count, dtype=get_aval(lse).dtype)))


def log_softmax(x, axis=-1, where=None):
    """``x - logsumexp(x, axis, keepdims=True)``, stable for large inputs. Entries outside
    the boolean mask ``where`` are left out and come out as ``-inf``.

    >>> log_softmax(np.array([0.0, np.log(3.0)]))
    array([-1.38629436, -0.28768207])
    """
    x = _masked(_float(x), where, -np.inf)
    axes = _axis(x, axis)
    shifted, _ = _shifted(x, axes)
    lse = jnp.log(jnp.sum(jnp.exp(shifted), axis=axes, keepdims=True))
    return _masked(jnp.subtract(shifted, lse), where, -np.inf)


def softmax(x, axis=-1, where=None):
    """``exp(x) / sum(exp(x), axis)``, stable for large inputs. Entries outside the boolean
    mask ``where`` are left out and come out as 0.

    >>> softmax(np.array([0.0, np.log(3.0)]))
    array([0.25, 0.75])
    """
    x = _masked(_float(x), where, -np.inf)
    axes = _axis(x, axis)
    shifted, _ = _shifted(x, axes)
    e = jnp.exp(shifted)
    return _masked(jnp.divide(e, jnp.sum(e, axis=axes, keepdims=True)), where, 0.0)


def _mean(x, axes, where):
    if where is None:
        return jnp.mean(x, axis=axes, keepdims=True)
    mask = jnp.broadcast_to(jnp.asarray(where), get_aval(x).shape)
    n = jnp.sum(jnp.astype(mask, get_aval(x).dtype), axis=axes, keepdims=True)
    return jnp.divide(jnp.sum(jnp.where(mask, x, 0), axis=axes, keepdims=True), n)


def standardize(x, axis=-1, mean=None, variance=None, epsilon=1e-5, where=None, *, algorithm="fast"):
    """``(x - mean) / sqrt(variance + epsilon)`` over ``axis``; the mean and variance are
    computed (over the entries in ``where``) unless given. ``algorithm="fast"`` (JAX's
    default) takes the variance as ``mean(x**2) - mean(x)**2`` clipped at 0, ``"stable"``
    as ``mean((x - mean)**2)``.

    >>> standardize(np.array([1.0, 3.0]), epsilon=0.0)
    array([-1.,  1.])
    """
    x = _float(x)
    axes = _axis(x, axis)
    if mean is None:
        mean = _mean(x, axes, where)
    if variance is None:
        if algorithm == "stable":
            variance = _mean(jnp.square(jnp.subtract(x, mean)), axes, where)
        elif algorithm == "fast":
            variance = jnp.clip(jnp.subtract(_mean(jnp.square(x), axes, where), jnp.square(mean)), 0)
        else:
            raise ValueError(f"spmdgrad.nn.standardize: unknown algorithm {algorithm!r}; "
                             "expected 'fast' or 'stable'")
    return jnp.divide(jnp.subtract(x, mean), jnp.sqrt(jnp.add(variance, epsilon)))


def one_hot(x, num_classes, dtype=np.float64, axis=-1):
    """One-hot encoding of integer labels along a new ``axis`` (not differentiable).
    Labels outside ``[0, num_classes)`` give all-zero rows. ``axis`` may also name a
    mapped axis (vmap/pmap ``axis_name``): each instance then holds its own class's slice.

    >>> one_hot(np.array([0, 2]), 3)
    array([[1., 0., 0.],
           [0., 0., 1.]])
    """
    x = jnp.asarray(x)
    dtype = np.float64 if dtype is None else dtype
    if isinstance(axis, str):
        if axis_size(axis) != num_classes:
            raise ValueError(f"spmdgrad.nn.one_hot: num_classes={num_classes} but the mapped axis "
                             f"{axis!r} has size {axis_size(axis)}; they must be equal")
        return jnp.astype(jnp.equal(x, axis_index(axis)), dtype)
    nd = get_aval(x).ndim + 1
    ax = normalize_axis(axis, nd, "one_hot")
    shape = tuple(get_aval(x).shape)
    xs = jnp.reshape(x, shape[:ax] + (1,) + shape[ax:])
    classes = np.arange(num_classes).reshape([num_classes if i == ax else 1 for i in range(nd)])
    return jnp.astype(jnp.equal(xs, classes), dtype)
