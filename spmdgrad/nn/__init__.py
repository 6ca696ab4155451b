"""Neural-network functions, numerically stable, with ``axis`` parameters as in ``jax.nn``,
and weight initializers in :mod:`spmdgrad.nn.initializers`.

Every function is built from differentiable ``spmdgrad.numpy`` operations, so it
works under grad, vmap and pmap. Large inputs neither overflow nor give NaN.

>>> import numpy as np
>>> from spmdgrad import nn
>>> nn.softmax(np.array([1000.0, 1000.0]))
array([0.5, 0.5])
>>> nn.logsumexp(np.array([1000.0, 1000.0]))
np.float64(1000.6931471805599)
"""
from . import initializers
from .functions import (
    celu,
    elu,
    gelu,
    glu,
    hard_sigmoid,
    hard_silu,
    hard_swish,
    hard_tanh,
    identity,
    leaky_relu,
    log1mexp,
    log_sigmoid,
    log_softmax,
    logmeanexp,
    logsumexp,
    mish,
    one_hot,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    soft_sign,
    softmax,
    softplus,
    sparse_plus,
    sparse_sigmoid,
    squareplus,
    standardize,
    swish,
    tanh,
)

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
                        "initializers",
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
