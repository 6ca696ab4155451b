"""Weight initializers with ``jax.nn.initializers``' API.

An initializer is a function ``init(key, shape, dtype=None) -> array``. The ones that
draw random numbers take a PRNG key from :mod:`spmdgrad.random` and draw exactly what
JAX's do (same distribution call, same scaling), so a seed gives JAX's weights.
``dtype=None`` means the default float dtype.

>>> import numpy as np
>>> zeros(None, (2, 3)).shape
(2, 3)
>>> constant(-7.0)(None, (2,))
array([-7., -7.])
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import dtypes, random
from .. import numpy as jnp

__all__ = [
    "Initializer",
    "constant",
    "delta_orthogonal",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "kaiming_normal",
    "kaiming_uniform",
    "lecun_normal",
    "lecun_uniform",
    "normal",
    "ones",
    "orthogonal",
    "truncated_normal",
    "uniform",
    "variance_scaling",
    "xavier_normal",
    "xavier_uniform",
    "zeros",
]


# An initializer: ``init(key, shape, dtype=None) -> array`` (the type JAX names Initializer).
Initializer = Callable[..., Any]


def _dtype(dtype):
    if dtype is not None:
        return np.dtype(dtype)
    default = getattr(dtypes, "default_float_dtype", None)
    return np.dtype(default() if default is not None else np.float64)


def _shape(shape, who):
    try:
        return tuple(int(d) for d in shape)
    except TypeError:
        raise TypeError(f"spmdgrad.nn.initializers.{who}: shape must be a tuple of ints, "
                        f"got {shape!r}") from None


def zeros(key, shape, dtype=None):
    """An array of zeros (``key`` is ignored).

    >>> zeros(None, (2,), np.float32)
    array([0., 0.], dtype=float32)
    """
    return jnp.zeros(_shape(shape, "zeros"), _dtype(dtype))


def ones(key, shape, dtype=None):
    """An array of ones (``key`` is ignored).

    >>> ones(None, (2,))
    array([1., 1.])
    """
    return jnp.ones(_shape(shape, "ones"), _dtype(dtype))


def constant(value, dtype=None):
    """An initializer filling arrays with ``value``.

    >>> constant(2.0, np.float32)(None, (2,))
    array([2., 2.], dtype=float32)
    """
    def init(key, shape, dtype=dtype):
        return jnp.full(_shape(shape, "constant"), value, dtype=_dtype(dtype))
    return init


def uniform(scale=1e-2, dtype=None):
    """An initializer drawing uniformly from ``[0, scale)``.

    >>> init = uniform(0.5)
    >>> callable(init)
    True
    """
    def init(key, shape, dtype=dtype):
        dt = _dtype(dtype)
        return jnp.multiply(random.uniform(key, _shape(shape, "uniform"), dt), jnp.array(scale, dt))
    return init


def normal(stddev=1e-2, dtype=None):
    """An initializer drawing from a centred normal with standard deviation ``stddev``.

    >>> callable(normal(1.0))
    True
    """
    def init(key, shape, dtype=dtype):
        dt = _dtype(dtype)
        return jnp.multiply(random.normal(key, _shape(shape, "normal"), dt), jnp.array(stddev, dt))
    return init


def truncated_normal(stddev=1e-2, dtype=None, lower=-2.0, upper=2.0):
    """An initializer drawing a standard normal truncated to ``(lower, upper)``, then
    scaled by ``stddev`` (no variance correction, as in JAX).

    >>> callable(truncated_normal(1.0))
    True
    """
    def init(key, shape, dtype=dtype):
        dt = _dtype(dtype)
        draw = random.truncated_normal(key, lower, upper, _shape(shape, "truncated_normal"), dt)
        return jnp.multiply(draw, jnp.array(stddev, dt))
    return init


def _size(shape, axes):
    if isinstance(axes, int):
        return shape[axes]
    return math.prod(shape[i] for i in axes)


def _compute_fans(shape, in_axis=-2, out_axis=-1, batch_axis=()):
    """``(fan_in, fan_out)``: the in/out sizes times the receptive field (the other axes)."""
    if isinstance(in_axis, int) and in_axis == -2 and len(shape) <= 1:
        raise ValueError(f"spmdgrad.nn.initializers: cannot compute fan in/out of a {len(shape)}-d "
                         f"weight of shape {shape} with the default in_axis; use a 2-d or larger "
                         "shape or pass in_axis")
    try:
        in_size, out_size = _size(shape, in_axis), _size(shape, out_axis)
        batch_size = _size(shape, batch_axis)
    except IndexError:
        raise ValueError(f"spmdgrad.nn.initializers: in_axis={in_axis}, out_axis={out_axis} or "
                         f"batch_axis={batch_axis} is out of range for a weight of shape {shape}") from None
    receptive = math.prod(shape) / in_size / out_size / batch_size
    return in_size * receptive, out_size * receptive


_MODES = ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")
_DISTRIBUTIONS = ("truncated_normal", "normal", "uniform")
# The standard deviation of a standard normal truncated to (-2, 2).
_TRUNC_STD = .87962566103423978


def variance_scaling(scale, mode, distribution, in_axis=-2, out_axis=-1, batch_axis=(), dtype=None):
    """An initializer with variance ``scale / n``, ``n`` given by ``mode`` (``"fan_in"``,
    ``"fan_out"``, ``"fan_avg"`` or ``"fan_geo_avg"``), drawn from ``distribution``
    (``"truncated_normal"`` at two standard deviations, ``"normal"`` or ``"uniform"``).
    Axes other than ``in_axis``, ``out_axis`` and ``batch_axis`` are the receptive field.

    >>> variance_scaling(1.0, "fan_sum", "normal")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: spmdgrad.nn.initializers.variance_scaling: invalid mode 'fan_sum'; expected one of (...)
    """
    if mode not in _MODES:
        raise ValueError(f"spmdgrad.nn.initializers.variance_scaling: invalid mode {mode!r}; "
                         f"expected one of {_MODES}")
    if distribution not in _DISTRIBUTIONS:
        raise ValueError(f"spmdgrad.nn.initializers.variance_scaling: invalid distribution "
                         f"{distribution!r}; expected one of {_DISTRIBUTIONS}")

    def init(key, shape, dtype=dtype):
        shape, dt = _shape(shape, "variance_scaling"), _dtype(dtype)
        if not np.issubdtype(dt, np.floating):
            raise TypeError(f"spmdgrad.nn.initializers.variance_scaling: dtype {dt} is not supported; "
                            "use a real floating dtype")
        fan_in, fan_out = _compute_fans(shape, in_axis, out_axis, batch_axis)
        denominator = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2,
                       "fan_geo_avg": (fan_in * fan_out) ** 0.5}[mode]
        variance = jnp.array(scale / denominator, dtype=dt)
        if distribution == "truncated_normal":
            stddev = jnp.divide(jnp.sqrt(variance), jnp.array(_TRUNC_STD, dt))
            return jnp.multiply(random.truncated_normal(key, -2, 2, shape, dt), stddev)
        if distribution == "normal":
            return jnp.multiply(random.normal(key, shape, dt), jnp.sqrt(variance))
        return jnp.multiply(random.uniform(key, shape, dt, -1), jnp.sqrt(jnp.multiply(3, variance)))
    return init


def _specialize(scale, mode, distribution, doc):
    def make(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None):
        return variance_scaling(scale, mode, distribution, in_axis=in_axis, out_axis=out_axis,
                                batch_axis=batch_axis, dtype=dtype)
    make.__doc__ = (f"{doc}: ``variance_scaling({scale}, {mode!r}, {distribution!r})``.\n\n"
                    f"    >>> callable(make())\n    True\n")
    return make


glorot_uniform = _specialize(1.0, "fan_avg", "uniform", "Glorot (Xavier) uniform initializer")
glorot_normal = _specialize(1.0, "fan_avg", "truncated_normal", "Glorot (Xavier) normal initializer")
lecun_uniform = _specialize(1.0, "fan_in", "uniform", "LeCun uniform initializer")
lecun_normal = _specialize(1.0, "fan_in", "truncated_normal", "LeCun normal initializer")
he_uniform = _specialize(2.0, "fan_in", "uniform", "He (Kaiming) uniform initializer")
he_normal = _specialize(2.0, "fan_in", "truncated_normal", "He (Kaiming) normal initializer")
for _name in ("glorot_uniform", "glorot_normal", "lecun_uniform", "lecun_normal", "he_uniform",
              "he_normal"):
    globals()[_name].__name__ = globals()[_name].__qualname__ = _name
    globals()[_name].__doc__ = globals()[_name].__doc__.replace("make()", _name + "()")
del _name
xavier_uniform, xavier_normal = glorot_uniform, glorot_normal
kaiming_uniform, kaiming_normal = he_uniform, he_normal


def orthogonal(scale=1.0, column_axis=-1, dtype=None):
    """An initializer of (scaled) uniformly distributed orthogonal matrices: the
    ``column_axis`` holds orthonormal columns (or rows, whichever are fewer) of the
    matrix that flattens every other axis.

    >>> orthogonal()(None, (3,))
    Traceback (most recent call last):
    ...
    ValueError: spmdgrad.nn.initializers.orthogonal: needs a shape of at least 2 dimensions, got (3,)
    """
    def init(key, shape, dtype=dtype):
        shape, dt = _shape(shape, "orthogonal"), _dtype(dtype)
        if len(shape) < 2:
            raise ValueError("spmdgrad.nn.initializers.orthogonal: needs a shape of at least 2 "
                             f"dimensions, got {shape}")
        if 0 in shape:
            return jnp.zeros(shape, dt)
        n_cols = shape[column_axis]
        n_rows = math.prod(shape) // n_cols
        q = random.orthogonal(key, n_rows, (), dt, n_cols)
        q = jnp.reshape(q, tuple(np.delete(shape, column_axis)) + (n_cols,))
        return jnp.multiply(jnp.array(scale, dt), jnp.moveaxis(q, -1, column_axis))
    return init


def delta_orthogonal(scale=1.0, column_axis=-1, dtype=None):
    """An initializer of delta-orthogonal convolution kernels (3-d, 4-d or 5-d shapes):
    an orthogonal ``(in, out)`` matrix at the spatial centre, zeros elsewhere.

    >>> delta_orthogonal()(None, (3, 3))
    Traceback (most recent call last):
    ...
    ValueError: spmdgrad.nn.initializers.delta_orthogonal: needs a 3-d, 4-d or 5-d shape, got (3, 3)
    """
    def init(key, shape, dtype=dtype):
        shape, dt = _shape(shape, "delta_orthogonal"), _dtype(dtype)
        if len(shape) not in (3, 4, 5):
            raise ValueError("spmdgrad.nn.initializers.delta_orthogonal: needs a 3-d, 4-d or 5-d "
                             f"shape, got {shape}")
        if shape[-1] < shape[-2]:
            raise ValueError(f"spmdgrad.nn.initializers.delta_orthogonal: shape {shape} has fan_in "
                             f"{shape[-2]} > fan_out {shape[-1]}; fan_in must be at most fan_out")
        ortho = orthogonal(scale=scale, column_axis=column_axis, dtype=dt)(key, shape[-2:])
        centre = np.zeros(shape[:-2] + (1, 1), bool)
        centre[tuple((k - 1) // 2 for k in shape[:-2])] = True
        return jnp.where(centre, ortho, jnp.zeros((), dt))
    return init
