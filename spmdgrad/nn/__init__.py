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
from . import functions, initializers
from .functions import *  # noqa: F401,F403  (the names listed in functions.__all__)

__all__ = [*functions.__all__, "initializers"]
