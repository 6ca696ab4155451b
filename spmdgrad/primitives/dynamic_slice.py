"""Slices at traced start indices: ``dynamic_slice`` and ``dynamic_update_slice``.

``dynamic_slice(x, *starts, slice_sizes, wrap)`` reads a block of static shape
``slice_sizes`` at start indices that are 0-d integer operands (data, possibly
traced). ``dynamic_update_slice(x, update, *starts, wrap)`` writes ``update`` there.
Index semantics are JAX's: a negative start wraps once (``start + dim``) where
``wrap`` says so, then every start is clamped to ``[0, dim - size]``, so the block
is always in bounds and no index error is ever raised.

Both are linear in their array operands; the starts are never differentiated.
Under vmap, batched starts turn the block into a gather (or scatter) with one
more indexed dimension, the batch, so a batch is never a Python loop.
"""
from __future__ import annotations

import numpy as np

from .. import ad, batching
from ..core import Primitive, Tracer, abstract_rules, get_aval, impl_rules
from .elementwise import add, convert_element_type, lt, maximum, minimum, select_n
from .indexing import gather, scatter_set
from .structural import broadcast_batch, broadcast_in_dim, reshape
from .structural import slice as slice_

_INDEX = np.dtype(np.int64)


# ---------------------------------------------------------------- shared helpers

def _clamped_starts(starts, shape, sizes, wrap):
    """Concrete starts: wrap negatives once (where asked), clamp into bounds."""
    out = []
    for s, d, n, w in zip(starts, shape, sizes, wrap, strict=True):
        s = int(s)
        if w and s < 0:
            s += d
        out.append(min(max(s, 0), d - n))
    return out


def _check_starts(op, x, starts, sizes):
    if len(starts) != x.ndim:
        raise TypeError(f"{op}: got {len(starts)} start indices for an operand of rank {x.ndim} "
                        f"(shape {x.shape}); pass one start index per dimension")
    for s in starts:
        if s.shape != () or not np.issubdtype(s.dtype, np.integer):
            raise TypeError(f"{op}: start indices must be 0-d integers, got {s.str_short()}")
    if len(sizes) != x.ndim or any(not 0 <= n <= d for n, d in zip(sizes, x.shape, strict=True)):
        raise TypeError(f"{op}: slice sizes {tuple(sizes)} do not fit the operand shape {x.shape} "
                        "(one non-negative size per dimension, at most the dimension)")


def _traced_starts(starts, shape, sizes, wrap):
    """Traced starts (any batch shape): wrap and clamp with primitives."""
    out = []
    for s, d, n, w in zip(starts, shape, sizes, wrap, strict=True):
        s = convert_element_type(s, _INDEX)
        if w:
            s = select_n(lt(s, np.asarray(0, _INDEX)), s, add(s, np.asarray(d, _INDEX)))
        out.append(minimum(maximum(s, np.asarray(0, _INDEX)), np.asarray(d - n, _INDEX)))
    return out


def _block_indices(size, starts, batched, shape, sizes, wrap):
    """Index arrays of shape ``(size,) + sizes`` addressing each instance's block."""
    full = (size,) + tuple(sizes)
    starts = [s if b else broadcast_batch(s, size) for s, b in zip(starts, batched, strict=True)]
    idx = []
    for k, s in enumerate(_traced_starts(starts, shape, sizes, wrap)):
        ramp = np.broadcast_to(np.arange(sizes[k], dtype=_INDEX).reshape(
            (1,) * (k + 1) + (sizes[k],) + (1,) * (len(sizes) - k - 1)), full)
        idx.append(add(broadcast_in_dim(s, full, (0,)), np.ascontiguousarray(ramp)))
    batch = np.ascontiguousarray(np.broadcast_to(
        np.arange(size, dtype=_INDEX).reshape((size,) + (1,) * len(sizes)), full))
    return [batch] + idx


# ---------------------------------------------------------------- dynamic_slice
dynamic_slice_p = Primitive("dynamic_slice")


def dynamic_slice_prim(x, *starts, slice_sizes, wrap=None):
    """The primitive: ``x[s0:s0+n0, ...]`` at 0-d integer ``starts`` (clamped)."""
    sizes = tuple(int(n) for n in slice_sizes)
    wrap = tuple(bool(w) for w in wrap) if wrap is not None else (True,) * len(sizes)
    return dynamic_slice_p.bind(x, *starts, slice_sizes=sizes, wrap=wrap)


def _ds_impl(x, *starts, slice_sizes, wrap):
    x = np.asarray(x)
    begin = _clamped_starts(starts, x.shape, slice_sizes, wrap)
    return np.array(x[tuple(slice(b, b + n) for b, n in zip(begin, slice_sizes, strict=True))])


def _ds_abstract(x, *starts, slice_sizes, wrap):
    _check_starts("dynamic_slice", x, starts, slice_sizes)
    return slice_sizes, x.dtype


def _ds_transpose(ct, x, *starts, slice_sizes, wrap):
    zeros = np.zeros(x.aval.shape, x.aval.dtype)
    return [dynamic_update_slice_p.bind(zeros, ct, *starts, wrap=wrap)] + [None] * len(starts)


def _ds_batch(size, vals, batched, slice_sizes, wrap):
    x, starts = vals[0], vals[1:]
    if not any(batched[1:]):
        zero = np.asarray(0, _INDEX)
        return dynamic_slice_p.bind(x, zero, *starts, slice_sizes=(size,) + slice_sizes,
                                    wrap=(False,) + wrap), True
    shape = get_aval(x).shape[1:] if batched[0] else get_aval(x).shape
    batch, *idx = _block_indices(size, starts, batched[1:], shape, slice_sizes, wrap)
    if batched[0]:
        return gather(x, batch, *idx, axes=tuple(range(len(shape) + 1))), True
    return gather(x, *idx, axes=tuple(range(len(shape)))), True


impl_rules[dynamic_slice_p] = _ds_impl
abstract_rules[dynamic_slice_p] = _ds_abstract
ad.deflinear1(dynamic_slice_p, _ds_transpose)
batching.batch_rules[dynamic_slice_p] = _ds_batch

# ---------------------------------------------------------------- dynamic_update_slice
dynamic_update_slice_p = Primitive("dynamic_update_slice")


def dynamic_update_slice_prim(x, update, *starts, wrap=None):
    """The primitive: ``x`` with ``update`` written at 0-d integer ``starts`` (clamped)."""
    wrap = tuple(bool(w) for w in wrap) if wrap is not None else (True,) * len(starts)
    return dynamic_update_slice_p.bind(x, update, *starts, wrap=wrap)


def _dus_impl(x, update, *starts, wrap):
    out = np.array(x)
    update = np.asarray(update)
    begin = _clamped_starts(starts, out.shape, update.shape, wrap)
    out[tuple(slice(b, b + n) for b, n in zip(begin, update.shape, strict=True))] = update
    return out


def _dus_abstract(x, update, *starts, wrap):
    if update.ndim != x.ndim or update.dtype != x.dtype:
        raise TypeError(f"dynamic_update_slice: the update {update.str_short()} must have the "
                        f"operand's rank and dtype ({x.str_short()})")
    _check_starts("dynamic_update_slice", x, starts, update.shape)
    return x.shape, x.dtype


def _dus_jvp(primals, tangents, wrap):
    if any(t is not None for t in tangents[2:]):
        raise NotImplementedError("'dynamic_update_slice' is not differentiable in its start indices")
    x, u, *starts = primals
    ans = ad.primal(dynamic_update_slice_p, primals, {"wrap": wrap})
    tx = ad.zeros_like(x) if tangents[0] is None else tangents[0]
    tu = ad.zeros_like(u) if tangents[1] is None else tangents[1]
    return ans, dynamic_update_slice_p.bind(tx, tu, *starts, wrap=wrap)


def _dus_transpose(ct, x, u, *starts, wrap):
    ushape = u.aval.shape if ad.is_undefined(u) else get_aval(u).shape
    ct_x = ct_u = None
    if ad.is_undefined(x):
        ct_x = dynamic_update_slice_p.bind(ct, np.zeros(ushape, x.aval.dtype), *starts, wrap=wrap)
    if ad.is_undefined(u):
        ct_u = dynamic_slice_p.bind(ct, *starts, slice_sizes=ushape, wrap=wrap)
    return [ct_x, ct_u] + [None] * len(starts)


def _dus_batch(size, vals, batched, wrap):
    x, u, starts = vals[0], vals[1], vals[2:]
    x = x if batched[0] else broadcast_batch(x, size)
    u = u if batched[1] else broadcast_batch(u, size)
    if not any(batched[2:]):
        zero = np.asarray(0, _INDEX)
        return dynamic_update_slice_p.bind(x, u, zero, *starts, wrap=(False,) + wrap), True
    shape = get_aval(x).shape[1:]
    idx = _block_indices(size, starts, batched[2:], shape, get_aval(u).shape[1:], wrap)
    return scatter_set(x, u, *idx, axes=tuple(range(len(shape) + 1))), True


impl_rules[dynamic_update_slice_p] = _dus_impl
abstract_rules[dynamic_update_slice_p] = _dus_abstract
ad.jvp_rules[dynamic_update_slice_p] = _dus_jvp
ad.transpose_rules[dynamic_update_slice_p] = _dus_transpose
batching.batch_rules[dynamic_update_slice_p] = _dus_batch


# ---------------------------------------------------------------- public functions (jax.lax names)

def _as_operand(x, op):
    if isinstance(x, Tracer):
        return x
    x = np.asarray(x)
    if x.dtype == object:
        raise TypeError(f"{op}: expected an array, got {x!r}")
    return x


def _starts(start_indices, ndim, op):
    """Start indices as 0-d integer operands: a sequence of scalars or a 1-d array."""
    if isinstance(start_indices, Tracer | np.ndarray):
        a = get_aval(start_indices)
        if a.ndim != 1:
            raise TypeError(f"{op}: start_indices must be a sequence of scalars or a 1-d array, "
                            f"got an array of shape {a.shape}")
        starts = [reshape(slice_(start_indices, (i,), (i + 1,)), ()) for i in range(a.shape[0])]
    else:
        starts = [s if isinstance(s, Tracer) else np.asarray(s) for s in start_indices]
    if len(starts) != ndim:
        raise TypeError(f"{op}: got {len(starts)} start indices for an operand of rank {ndim}; "
                        "pass one start index per dimension")
    for s in starts:
        a = get_aval(s)
        if a.shape != () or not np.issubdtype(a.dtype, np.integer):
            raise TypeError(f"{op}: start indices must be integer scalars, got {a.str_short()}")
    return starts


def _static_sizes(sizes, op):
    import operator
    try:
        return tuple(operator.index(n) for n in sizes)
    except TypeError:
        raise TypeError(f"{op}: slice sizes must be Python integers (static), got {tuple(sizes)!r}") from None


def _check_sizes(op, what, sizes, shape):
    if len(sizes) != len(shape) or any(not 0 <= n <= d for n, d in zip(sizes, shape, strict=True)):
        raise TypeError(f"{op}: {what} {tuple(sizes)} do not fit the operand shape {shape} "
                        "(one non-negative size per dimension, at most the dimension)")


def _check_negative(op, starts, wrap, shape):
    """As in JAX: with allow_negative_indices=False a concrete negative start is an error."""
    for d, (s, w) in enumerate(zip(starts, wrap, strict=True)):
        if not w and not isinstance(s, Tracer) and int(s) < 0:
            raise ValueError(f"{op}: start index {int(s)} is out of bounds for dimension {d} (size "
                             f"{shape[d]}) with allow_negative_indices=False")


def _wrap_flags(allow_negative_indices, ndim):
    if isinstance(allow_negative_indices, bool | np.bool_):
        return (bool(allow_negative_indices),) * ndim
    flags = tuple(bool(w) for w in allow_negative_indices)
    if len(flags) != ndim:
        raise TypeError(f"allow_negative_indices: expected {ndim} flags, got {len(flags)}")
    return flags


def dynamic_slice(operand, start_indices, slice_sizes, *, allow_negative_indices=True):
    """The block of shape ``slice_sizes`` starting at (possibly traced) ``start_indices``.

    As in JAX, a negative start wraps once and every start is then clamped so that
    the block lies inside the operand.

    >>> import numpy as np
    >>> x = np.arange(10.0)
    >>> dynamic_slice(x, (8,), (3,))   # clamped to start at 7
    array([7., 8., 9.])
    """
    x = _as_operand(operand, "dynamic_slice")
    nd = get_aval(x).ndim
    sizes = _static_sizes(slice_sizes, "dynamic_slice")
    starts, wrap = _starts(start_indices, nd, "dynamic_slice"), _wrap_flags(allow_negative_indices, nd)
    _check_sizes("dynamic_slice", "slice sizes", sizes, get_aval(x).shape)
    _check_negative("dynamic_slice", starts, wrap, get_aval(x).shape)
    return dynamic_slice_prim(x, *starts, slice_sizes=sizes, wrap=wrap)


def dynamic_update_slice(operand, update, start_indices, *, allow_negative_indices=True):
    """``operand`` with ``update`` written at (possibly traced) ``start_indices``,
    wrapped and clamped as in :func:`dynamic_slice`.

    >>> import numpy as np
    >>> dynamic_update_slice(np.zeros(5), np.ones(2), (-1,))
    array([0., 0., 0., 1., 1.])
    """
    x = _as_operand(operand, "dynamic_update_slice")
    a = get_aval(x)
    u = _as_operand(update, "dynamic_update_slice")
    if not isinstance(update, np.ndarray) and type(u) is np.ndarray:
        u = u.astype(a.dtype)  # a Python scalar or list takes the operand's dtype
    ua = get_aval(u)
    if ua.dtype != a.dtype or ua.ndim != a.ndim:
        raise TypeError(f"dynamic_update_slice: the update {ua.str_short()} must have the "
                        f"operand's rank and dtype ({a.str_short()})")
    starts = _starts(start_indices, a.ndim, "dynamic_update_slice")
    _check_sizes("dynamic_update_slice", "update shape", ua.shape, a.shape)
    wrap = _wrap_flags(allow_negative_indices, a.ndim)
    _check_negative("dynamic_update_slice", starts, wrap, a.shape)
    return dynamic_update_slice_prim(x, u, *starts, wrap=wrap)


def _axis(axis, ndim, op):
    if not -ndim <= axis < ndim:
        raise ValueError(f"{op}: axis {axis} is out of bounds for an operand of rank {ndim}")
    return axis % ndim


def _in_dim_starts(start_index, axis, ndim):
    zero = np.asarray(0, _INDEX)
    return [start_index if d == axis else zero for d in range(ndim)]


def dynamic_slice_in_dim(operand, start_index, slice_size, axis=0, *, allow_negative_indices=True):
    """:func:`dynamic_slice` along one axis, the other axes kept whole.

    >>> import numpy as np
    >>> dynamic_slice_in_dim(np.arange(6).reshape(2, 3), 1, 2, axis=1)
    array([[1, 2],
           [4, 5]])
    """
    x = _as_operand(operand, "dynamic_slice_in_dim")
    shape = get_aval(x).shape
    axis = _axis(axis, len(shape), "dynamic_slice_in_dim")
    size, = _static_sizes((slice_size,), "dynamic_slice_in_dim")
    sizes = tuple(size if d == axis else n for d, n in enumerate(shape))
    return dynamic_slice(x, _in_dim_starts(start_index, axis, len(shape)), sizes,
                         allow_negative_indices=allow_negative_indices)


def dynamic_index_in_dim(operand, index, axis=0, keepdims=True, *, allow_negative_indices=True):
    """The entry at (possibly traced) ``index`` along ``axis``; ``keepdims=False`` drops the axis.

    >>> import numpy as np
    >>> dynamic_index_in_dim(np.arange(6).reshape(2, 3), -1, axis=1, keepdims=False)
    array([2, 5])
    """
    x = _as_operand(operand, "dynamic_index_in_dim")
    shape = get_aval(x).shape
    axis = _axis(axis, len(shape), "dynamic_index_in_dim")
    out = dynamic_slice_in_dim(x, index, 1, axis, allow_negative_indices=allow_negative_indices)
    return out if keepdims else reshape(out, shape[:axis] + shape[axis + 1:])


def dynamic_update_slice_in_dim(operand, update, start_index, axis, *, allow_negative_indices=True):
    """:func:`dynamic_update_slice` at ``start_index`` along ``axis`` (0 elsewhere).

    >>> import numpy as np
    >>> dynamic_update_slice_in_dim(np.zeros((2, 3)), np.ones((2, 1)), 2, axis=1)
    array([[0., 0., 1.],
           [0., 0., 1.]])
    """
    x = _as_operand(operand, "dynamic_update_slice_in_dim")
    nd = get_aval(x).ndim
    axis = _axis(axis, nd, "dynamic_update_slice_in_dim")
    return dynamic_update_slice(x, update, _in_dim_starts(start_index, axis, nd),
                                allow_negative_indices=allow_negative_indices)


def dynamic_update_index_in_dim(operand, update, index, axis, *, allow_negative_indices=True):
    """Write ``update`` at ``index`` along ``axis``; ``update`` may lack that axis.

    >>> import numpy as np
    >>> dynamic_update_index_in_dim(np.zeros((2, 3)), np.ones(2), 0, axis=1)
    array([[1., 0., 0.],
           [1., 0., 0.]])
    """
    x = _as_operand(operand, "dynamic_update_index_in_dim")
    shape = get_aval(x).shape
    axis = _axis(axis, len(shape), "dynamic_update_index_in_dim")
    u = _as_operand(update, "dynamic_update_index_in_dim")
    us = get_aval(u).shape
    if len(us) == len(shape) - 1:
        u = reshape(u, us[:axis] + (1,) + us[axis:])
    return dynamic_update_slice_in_dim(x, u, index, axis,
                                       allow_negative_indices=allow_negative_indices)
