"""Array creation. Results are constants: invariant over every named axis."""
from __future__ import annotations

import numpy as np

from ..core import get_aval

__all__ = ["zeros", "ones", "full", "empty", "arange", "linspace", "eye", "identity",
           "zeros_like", "ones_like", "full_like", "empty_like"]


def zeros(shape, dtype=None):
    return np.zeros(shape, dtype or np.float64)


def ones(shape, dtype=None):
    return np.ones(shape, dtype or np.float64)


def empty(shape, dtype=None):
    return np.zeros(shape, dtype or np.float64)


def full(shape, fill_value, dtype=None):
    return np.full(shape, fill_value, dtype)


def arange(start, stop=None, step=None, dtype=None):
    return np.arange(start, stop, step, dtype=dtype) if stop is not None else np.arange(start, dtype=dtype)


def linspace(start, stop, num=50, endpoint=True, dtype=None):
    return np.linspace(start, stop, num, endpoint=endpoint, dtype=dtype)


def eye(N, M=None, k=0, dtype=None):  # noqa: N803
    return np.eye(N, M, k, dtype=dtype or np.float64)


def identity(n, dtype=None):
    return np.identity(n, dtype=dtype or np.float64)


def _like(x, dtype, shape):
    a = get_aval(x)
    return (a.shape if shape is None else shape), (a.dtype if dtype is None else dtype)


def zeros_like(x, dtype=None, shape=None):
    return np.zeros(*_like(x, dtype, shape))


def ones_like(x, dtype=None, shape=None):
    return np.ones(*_like(x, dtype, shape))


def empty_like(x, dtype=None, shape=None):
    return np.zeros(*_like(x, dtype, shape))


def full_like(x, fill_value, dtype=None, shape=None):
    s, d = _like(x, dtype, shape)
    return np.full(s, fill_value, d)
