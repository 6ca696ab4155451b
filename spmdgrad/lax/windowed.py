"""Windowed reductions (``reduce_window``), pooling, and the binary ops that name
their monoid (``add``, ``max``, ``min``), with ``jax.lax``'s semantics.

``reduce_window`` is a reduction of the operand's patches over the window axes
(:mod:`spmdgrad.primitives.windowed`), so its derivatives and batching are those
of ``patches`` and of ``reduce_sum``/``reduce_max``/``reduce_min``: the gradient of
max pooling goes to the arg-max of each window, and tied elements share it evenly,
exactly as for ``spmdgrad.numpy.max``. Padding and base-dilation holes never win
a max or min and add nothing to a sum; the init value enters each window once
(the numbers JAX computes).

``init_value`` must be a concrete scalar (it is not differentiated).
"""
from __future__ import annotations

import operator

import numpy as np

from ..core import Tracer, get_aval
from ..numpy import _math as _jnp
from ..numpy._core import asarray
from ..primitives import elementwise as ew
from ..primitives.reductions import reduce_max, reduce_min, reduce_sum
from ..primitives.structural import reshape
from ..primitives.structural import slice as slice_
from ..primitives.windowed import dilate_dim, patches
from .conv import _pairs, padtype_to_pads

__all__ = ["add", "avg_pool", "max", "max_pool", "min", "reduce_window"]


def add(x, y):
    """Elementwise sum of two arrays of one dtype (0-d operands broadcast), as ``lax.add``.

    >>> import numpy as np
    >>> add(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    array([4., 6.])
    """
    return ew.add(x, y)


def max(x, y):
    """Elementwise maximum of two arrays of one dtype, as ``lax.max``.

    >>> import numpy as np
    >>> max(np.array([1.0, 5.0]), np.array([3.0, 4.0]))
    array([3., 5.])
    """
    return ew.maximum(x, y)


def min(x, y):
    """Elementwise minimum of two arrays of one dtype, as ``lax.min``.

    >>> import numpy as np
    >>> min(np.array([1.0, 5.0]), np.array([3.0, 4.0]))
    array([1., 4.])
    """
    return ew.minimum(x, y)


_MONOIDS = {id(f): kind for kind, fs in (
    ("add", (add, np.add, operator.add, _jnp.add, ew.add)),
    ("max", (max, np.maximum, _jnp.maximum, ew.maximum)),
    ("min", (min, np.minimum, _jnp.minimum, ew.minimum))) for f in fs}


def _kind(computation):
    # spmdgrad.numpy's public functions wrap the _math ones (eager results get .at)
    kind = _MONOIDS.get(id(getattr(computation, "__wrapped__", computation)))
    if kind is None:
        raise NotImplementedError(
            f"reduce_window: computation {computation!r} is not supported; use lax.add, lax.max "
            "or lax.min (numpy.add/maximum/minimum and their spmdgrad.numpy forms also work)")
    return kind


def _identity(kind, dtype):
    if kind == "add":
        return 0
    if np.issubdtype(dtype, np.floating):
        return -np.inf if kind == "max" else np.inf
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return info.min if kind == "max" else info.max
    raise TypeError(f"reduce_window: {kind} of dtype {dtype} is not supported")


def _seq(v, n, what, default=1):
    if v is None:
        return (default,) * n
    v = tuple(operator.index(a) for a in v)
    if len(v) != n:
        raise ValueError(f"reduce_window: {what} {v} needs {n} entries, one per operand "
                         "dimension")
    return v


def window_params(shape, window_dimensions, window_strides, padding, base_dilation,
                  window_dilation):
    """Resolved ``patches`` parameters for an operand of ``shape`` (strings -> pairs)."""
    n = len(shape)
    window_dimensions = _seq(window_dimensions, n, "window_dimensions")
    window_strides = _seq(window_strides, n, "window_strides")
    base_dilation = _seq(base_dilation, n, "base_dilation")
    window_dilation = _seq(window_dilation, n, "window_dilation")
    if isinstance(padding, str):
        eff = [dilate_dim(k, d) for k, d in zip(window_dimensions, window_dilation)]
        padding = padtype_to_pads(shape, eff, window_strides, padding)
    return {"window_dimensions": window_dimensions, "window_strides": window_strides,
            "padding": _pairs(padding, n, "reduce_window"), "base_dilation": base_dilation,
            "window_dilation": window_dilation}


def _real_mask(shape, params):
    """Which window slots hold operand elements (not padding or dilation holes)."""
    return np.asarray(patches(np.ones(shape, bool), **params))


def _tiles(x, shape, params):
    """When the windows tile the operand (stride = window, no padding or dilation):
    ``x`` cut to whole windows and reshaped to ``(P0, K0, P1, K1, ...)``, and the
    window axes. A reshape instead of ``patches``: its transpose is a reshape too, and
    the reductions run over contiguous blocks. None otherwise."""
    k, s = params["window_dimensions"], params["window_strides"]
    if (k != s or any(d != 1 for d in params["base_dilation"] + params["window_dilation"])
            or any(p != (0, 0) for p in params["padding"])):
        return None
    whole = tuple(n - n % w for n, w in zip(shape, k))
    if whole != tuple(shape):
        x = slice_(x, (0,) * len(shape), whole)
    blocks = tuple(d for n, w in zip(whole, k) for d in (n // w, w))
    return reshape(x, blocks), tuple(range(1, 2 * len(shape), 2))


def reduce_window(operand, init_value, computation, window_dimensions, window_strides=None,
                  padding="VALID", base_dilation=None, window_dilation=None):
    """Reduce every window of ``operand`` with ``computation`` (``lax.add``, ``lax.max``
    or ``lax.min``), starting from ``init_value``, as ``jax.lax.reduce_window``.

    ``padding`` is ``'VALID'``, ``'SAME'``, ``'SAME_LOWER'`` or one ``(low, high)`` pair
    per dimension. Padding and base-dilation holes never win a max or min and add
    nothing to a sum; ``init_value`` enters each window once.

    >>> import numpy as np
    >>> reduce_window(np.arange(6.0), -np.inf, max, (2,), (2,))
    array([1., 3., 5.])
    """
    kind = _kind(computation)
    x = asarray(operand)
    if isinstance(init_value, Tracer):
        raise TypeError("reduce_window: init_value must be a concrete scalar, not a traced value "
                        "(it is not differentiated)")
    a = get_aval(x)
    init = np.asarray(init_value, a.dtype)
    if init.ndim:
        raise ValueError(f"reduce_window: init_value must be a scalar, got shape {init.shape}")
    params = window_params(a.shape, window_dimensions, window_strides, padding, base_dilation,
                           window_dilation)
    n = a.ndim
    tiled = _tiles(x, a.shape, params)
    if tiled is not None:  # pooling's common case: the windows tile the operand
        pat, axes = tiled
    else:
        pat, axes = patches(x, **params), tuple(range(n, 2 * n))
    holes = any(lo > 0 or hi > 0 for lo, hi in params["padding"]) or \
        any(d > 1 for d in params["base_dilation"])
    if kind == "add":
        y = reduce_sum(pat, axes)
        # Padded slots add nothing and the init is added once (what JAX computes; XLA's
        # text says padding holds the init, which differs for a non-zero init).
        return y if init == 0 else ew.add(y, init)
    identity = np.asarray(_identity(kind, a.dtype), a.dtype)
    if holes:
        pat = ew.select_n(_real_mask(a.shape, params), identity, pat)
    y = (reduce_max if kind == "max" else reduce_min)(pat, axes)
    if init != identity:
        y = (ew.maximum if kind == "max" else ew.minimum)(y, init)
    return y


def _pool_dims(x, window_shape, strides, padding, name):
    nd = get_aval(x).ndim
    k = len(window_shape)
    if nd < k + 1:
        raise ValueError(f"{name}: input of rank {nd} cannot hold {k} window dimensions plus a "
                         "feature dimension (layout: batch..., window dims..., features)")
    lead = nd - k - 1
    strides = (1,) * k if strides is None else tuple(strides)
    if len(strides) != k:
        raise ValueError(f"{name}: strides {strides} need {k} entries, like window_shape")
    dims = (1,) * lead + tuple(window_shape) + (1,)
    st = (1,) * lead + tuple(strides) + (1,)
    if not isinstance(padding, str):
        padding = ((0, 0),) * lead + tuple(_pairs(padding, k, name)) + ((0, 0),)
    return dims, st, padding


def max_pool(x, window_shape, strides=None, padding="VALID"):
    """Max pooling over the dimensions before the last (features) one, flax's layout
    ``(batch..., *window dims, features)``; ``strides`` default to 1.

    >>> import numpy as np
    >>> max_pool(np.arange(8.0).reshape(1, 4, 2), (2,), (2,))[0]
    array([[2., 3.],
           [6., 7.]])
    """
    x = asarray(x)
    dims, st, padding = _pool_dims(x, window_shape, strides, padding, "max_pool")
    return reduce_window(x, -np.inf, max, dims, st, padding)


def avg_pool(x, window_shape, strides=None, padding="VALID", count_include_pad=True):
    """Average pooling, layout as :func:`max_pool`. With ``count_include_pad=False``
    each window is divided by its number of real (unpadded) elements.

    >>> import numpy as np
    >>> avg_pool(np.arange(8.0).reshape(1, 4, 2), (2,), (2,))[0]
    array([[1., 2.],
           [5., 6.]])
    """
    x = asarray(x)
    dims, st, padding = _pool_dims(x, window_shape, strides, padding, "avg_pool")
    total = reduce_window(x, 0.0, add, dims, st, padding)
    dtype = get_aval(total).dtype
    if count_include_pad:
        return _jnp.divide(total, np.asarray(np.prod(window_shape), dtype))
    params = window_params(get_aval(x).shape, dims, st, padding, None, None)
    count = _real_mask(get_aval(x).shape, params).sum(axis=tuple(range(len(dims), 2 * len(dims))))
    return _jnp.divide(total, count.astype(dtype))
