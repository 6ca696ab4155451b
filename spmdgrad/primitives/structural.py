"""Shape primitives: broadcast_in_dim, reshape, transpose, slice, pad, concatenate, rev."""
from __future__ import annotations

import builtins
import math

import numpy as np

from .. import ad, batching
from ..core import Primitive, abstract_rules, get_aval, impl_rules, lowering_into_rules, lowering_rules

# ---------------------------------------------------------------- broadcast_in_dim
broadcast_in_dim_p = Primitive("broadcast_in_dim")


def normalize_axis(axis, nd, op):
    """A non-negative axis in ``[0, nd)``; clear errors otherwise (shared by the front ends
    and the collectives).

    >>> normalize_axis(-1, 3, "op")
    2
    """
    if isinstance(axis, bool) or not isinstance(axis, int | np.integer):
        raise TypeError(f"{op}: axis must be an int, got {axis!r}")
    if not -nd <= axis < max(nd, 1):
        raise ValueError(f"{op}: axis {axis} is out of bounds for an array of rank {nd}")
    return int(axis) % max(nd, 1)


def broadcast_in_dim(x, shape, broadcast_dimensions):
    """Operand dim ``i`` becomes output dim ``broadcast_dimensions[i]`` (size 1 or equal)."""
    shape, bd = tuple(shape), tuple(broadcast_dimensions)
    if get_aval(x).shape == shape and bd == tuple(range(len(shape))):
        return x
    return broadcast_in_dim_p.bind(x, shape=shape, broadcast_dimensions=bd)


def _bid_impl(x, shape, broadcast_dimensions):
    x = np.asarray(x)  # then its methods, not NumPy's dispatching functions (~0.5 us each)
    if broadcast_dimensions == tuple(range(len(shape) - x.ndim, len(shape))):
        return np.broadcast_to(x, shape)  # trailing-aligned: NumPy broadcasting as is
    if x.size == math.prod(shape):
        return x.reshape(shape)  # only size-1 dims are added: a view (np.broadcast_to costs ~5 us)
    expanded = [1] * len(shape)
    for i, d in enumerate(broadcast_dimensions):
        expanded[d] = x.shape[i]
    return np.broadcast_to(x.reshape(expanded), shape)


def _bid_abstract(x, shape, broadcast_dimensions):
    if len(broadcast_dimensions) != x.ndim or any(
            x.shape[i] not in (1, shape[d]) for i, d in enumerate(broadcast_dimensions)):
        raise ValueError(f"broadcast_in_dim: cannot broadcast {x.shape} to {shape} "
                         f"with dimensions {broadcast_dimensions}")
    return shape, x.dtype


def _summed_dims(in_shape, shape, broadcast_dimensions):
    """The output dims a broadcast created or grew: its transpose sums over them."""
    new_dims = tuple(d for d in range(len(shape)) if d not in broadcast_dimensions)
    grown = tuple(d for i, d in enumerate(broadcast_dimensions)
                  if in_shape[i] == 1 and shape[d] != 1)
    return tuple(sorted(new_dims + grown))


def _bid_transpose(ct, x, shape, broadcast_dimensions):
    in_shape = x.aval.shape
    out = reduce_sum(ct, _summed_dims(in_shape, shape, broadcast_dimensions))
    return [reshape(out, in_shape)]


def _bid_into(out, ct, x, shape, broadcast_dimensions):
    # The gradient buckets' destination (a bias gradient): the transpose's sum, in place.
    if ct.dtype != out.dtype:
        return False
    axes = _summed_dims(out.shape, shape, broadcast_dimensions)
    kept = tuple(d for i, d in enumerate(ct.shape) if i not in axes)
    np.add.reduce(ct, axis=axes, out=out.reshape(kept))
    return True


def _bid_lowering(avals, shape, broadcast_dimensions):
    # For jit: a broadcast that only adds size-1 dims (a keepdims view) is one reshape.
    if math.prod(avals[0].shape) == math.prod(shape) and list(broadcast_dimensions) == sorted(
            broadcast_dimensions):
        return lambda x: x.reshape(shape)
    return None


impl_rules[broadcast_in_dim_p] = _bid_impl
abstract_rules[broadcast_in_dim_p] = _bid_abstract
lowering_rules[broadcast_in_dim_p] = _bid_lowering
ad.deflinear(broadcast_in_dim_p, _bid_transpose)
ad.transpose_into_rules[broadcast_in_dim_p] = _bid_into


def _bid_batch(size, vals, batched, shape, broadcast_dimensions):
    return broadcast_in_dim_p.bind(vals[0], shape=(size,) + shape,
                                   broadcast_dimensions=(0,) + batching.shift_axes(broadcast_dimensions)), True


batching.batch_rules[broadcast_in_dim_p] = _bid_batch

# ---------------------------------------------------------------- reduce_sum
# Linear, and the transpose of broadcast_in_dim (and vice versa): the two live together.
reduce_sum_p = Primitive("reduce_sum")


def reduce_sum(x, axes):
    """Sum ``x`` over the (non-negative) ``axes``."""
    axes = _sorted_axes(axes)
    return x if not axes else reduce_sum_p.bind(x, axes=axes)


def _sorted_axes(axes):
    if type(axes) is tuple and len(axes) == 1 and type(axes[0]) is int:
        return axes  # the usual case (transposes ask for one axis), without sorting
    return tuple(sorted(int(a) for a in axes))


def _reduce_sum_abstract(x, axes):
    if any(not 0 <= a < x.ndim for a in axes) or len(set(axes)) != len(axes):
        raise ValueError(f"reduce_sum: axes {axes} are invalid for an operand of shape {x.shape}")
    return tuple(d for i, d in enumerate(x.shape) if i not in axes), x.dtype


def _reduce_sum_transpose(ct, x, axes):
    shape = x.aval.shape
    return [broadcast_in_dim(ct, shape, tuple(i for i in range(len(shape)) if i not in axes))]


impl_rules[reduce_sum_p] = lambda x, axes: np.add.reduce(x, axis=axes)  # np.sum, less dispatch
lowering_into_rules[reduce_sum_p] = lambda avals, axes: lambda x, out: np.add.reduce(x, axis=axes, out=out)
abstract_rules[reduce_sum_p] = _reduce_sum_abstract
ad.deflinear(reduce_sum_p, _reduce_sum_transpose)
batching.batch_rules[reduce_sum_p] = lambda size, vals, batched, axes: (
    reduce_sum_p.bind(vals[0], axes=batching.shift_axes(axes)), True)

# ---------------------------------------------------------------- reshape
reshape_p = Primitive("reshape")


def reshape(x, new_sizes):
    new_sizes = tuple(int(s) for s in new_sizes)
    if get_aval(x).shape == new_sizes:
        return x
    return reshape_p.bind(x, new_sizes=new_sizes)


def _reshape_abstract(x, new_sizes):
    if int(np.prod(new_sizes, dtype=np.int64)) != x.size:
        raise ValueError(f"reshape: cannot reshape {x.shape} (size {x.size}) into {new_sizes}")
    return new_sizes, x.dtype


impl_rules[reshape_p] = lambda x, new_sizes: (  # the method skips np.reshape's dispatch
    x.reshape(new_sizes) if type(x) is np.ndarray else np.reshape(x, new_sizes))
abstract_rules[reshape_p] = _reshape_abstract
ad.deflinear(reshape_p, lambda ct, x, new_sizes: [reshape(ct, x.aval.shape)])
batching.batch_rules[reshape_p] = lambda size, vals, batched, new_sizes: (
    reshape_p.bind(vals[0], new_sizes=(size,) + new_sizes), True)

# ---------------------------------------------------------------- transpose
transpose_p = Primitive("transpose")


def transpose(x, permutation):
    permutation = tuple(int(p) for p in permutation)
    if permutation == tuple(range(len(permutation))):
        return x
    return transpose_p.bind(x, permutation=permutation)


def _transpose_abstract(x, permutation):
    if sorted(permutation) != list(range(x.ndim)):
        raise ValueError(f"transpose: {permutation} is not a permutation of the axes of {x.shape}")
    return tuple(x.shape[p] for p in permutation), x.dtype


impl_rules[transpose_p] = lambda x, permutation: np.transpose(x, permutation)
abstract_rules[transpose_p] = _transpose_abstract
ad.deflinear(transpose_p, lambda ct, x, permutation: [transpose(ct, tuple(np.argsort(permutation)))])
batching.batch_rules[transpose_p] = lambda size, vals, batched, permutation: (
    transpose_p.bind(vals[0], permutation=(0,) + batching.shift_axes(permutation)), True)

# ---------------------------------------------------------------- slice (static, strided)
slice_p = Primitive("slice")


def slice(x, start_indices, limit_indices, strides=None):  # noqa: A001
    """``x[start:limit:stride]`` per dimension (static, non-negative bounds)."""
    nd = get_aval(x).ndim
    strides = (1,) * nd if strides is None else tuple(int(s) for s in strides)
    start, limit = tuple(int(s) for s in start_indices), tuple(int(s) for s in limit_indices)
    if start == (0,) * nd and limit == get_aval(x).shape and strides == (1,) * nd:
        return x
    return slice_p.bind(x, start_indices=start, limit_indices=limit, strides=strides)


def _slice_impl(x, start_indices, limit_indices, strides):
    return x[tuple(builtin_slice(a, b, s) for a, b, s in zip(start_indices, limit_indices, strides))]


builtin_slice = builtins.slice  # the name slice is this module's primitive


def _slice_abstract(x, start_indices, limit_indices, strides):
    if not (len(start_indices) == len(limit_indices) == len(strides) == x.ndim) or any(
            not 0 <= a <= b <= d or s < 1
            for a, b, s, d in zip(start_indices, limit_indices, strides, x.shape)):
        raise ValueError(f"slice: bounds {start_indices}:{limit_indices}:{strides} are invalid "
                         f"for shape {x.shape}")
    return tuple(max(0, -(-(b - a) // s)) for a, b, s in zip(start_indices, limit_indices, strides)), x.dtype


def _slice_transpose(ct, x, start_indices, limit_indices, strides):
    shape = x.aval.shape
    out_shape = get_aval(ct).shape
    config = []
    for a, s, d, n in zip(start_indices, strides, shape, out_shape):
        used = a + (n - 1) * s + 1 if n else a
        config.append((a, d - used, s - 1) if n else (a, d - a, 0))
    if any(n == 0 for n in out_shape):
        return [np.zeros(shape, x.aval.dtype)]
    return [pad(ct, tuple(config))]


impl_rules[slice_p] = _slice_impl
abstract_rules[slice_p] = _slice_abstract
ad.deflinear(slice_p, _slice_transpose)
batching.batch_rules[slice_p] = lambda size, vals, batched, start_indices, limit_indices, strides: (
    slice_p.bind(vals[0], start_indices=(0,) + start_indices, limit_indices=(size,) + limit_indices,
                 strides=(1,) + strides), True)

# ---------------------------------------------------------------- pad (with zeros)
pad_p = Primitive("pad")


def pad(x, padding_config):
    """Zero padding: ``padding_config[i] = (low, high, interior)``, all >= 0."""
    config = tuple((int(lo), int(hi), int(it)) for lo, hi, it in padding_config)
    if all(c == (0, 0, 0) for c in config):
        return x
    return pad_p.bind(x, padding_config=config)


def _pad_shape(shape, config):
    return tuple(lo + hi + d + max(d - 1, 0) * it for d, (lo, hi, it) in zip(shape, config))


def _pad_impl(x, padding_config):
    x = np.asarray(x)
    out = np.zeros(_pad_shape(x.shape, padding_config), x.dtype)
    idx = tuple(builtin_slice(lo, lo + max(d - 1, 0) * (it + 1) + 1 if d else lo, it + 1)
                for d, (lo, hi, it) in zip(x.shape, padding_config))
    out[idx] = x
    return out


def _pad_abstract(x, padding_config):
    if len(padding_config) != x.ndim or any(v < 0 for c in padding_config for v in c):
        raise ValueError(f"pad: config {padding_config} is invalid for shape {x.shape}")
    return _pad_shape(x.shape, padding_config), x.dtype


def _pad_transpose(ct, x, padding_config):
    shape = x.aval.shape
    start = tuple(lo for lo, _, _ in padding_config)
    limit = tuple(lo + max(d - 1, 0) * (it + 1) + 1 if d else lo
                  for d, (lo, _, it) in zip(shape, padding_config))
    strides = tuple(it + 1 for _, _, it in padding_config)
    return [slice(ct, start, limit, strides)]


impl_rules[pad_p] = _pad_impl
abstract_rules[pad_p] = _pad_abstract
ad.deflinear(pad_p, _pad_transpose)
batching.batch_rules[pad_p] = lambda size, vals, batched, padding_config: (
    pad_p.bind(vals[0], padding_config=((0, 0, 0),) + padding_config), True)

# ---------------------------------------------------------------- concatenate
concatenate_p = Primitive("concatenate")


def concatenate(operands, dimension):
    """Join ``operands`` (one dtype, equal shapes except on ``dimension``) along ``dimension``."""
    operands = list(operands)
    if len(operands) == 1:
        return operands[0]
    return concatenate_p.bind(*operands, dimension=int(dimension))


def _concatenate_abstract(*avals, dimension):
    first = avals[0]
    if not 0 <= dimension < first.ndim:
        raise ValueError(f"concatenate: dimension {dimension} is out of range for operands of "
                         f"rank {first.ndim}")
    for a in avals[1:]:
        if a.dtype != first.dtype:
            raise TypeError(f"concatenate: operands have dtypes "
                            f"{[b.dtype.name for b in avals]}; the primitive needs one dtype")
        if a.ndim != first.ndim or any(d != e for i, (d, e) in enumerate(zip(a.shape, first.shape))
                                       if i != dimension):
            raise ValueError(f"concatenate: shapes {[b.shape for b in avals]} differ outside "
                             f"dimension {dimension}")
    shape = list(first.shape)
    shape[dimension] = sum(a.shape[dimension] for a in avals)
    return tuple(shape), first.dtype


def _concatenate_transpose(ct, *operands, dimension):
    shape = get_aval(ct).shape
    out, start = [], 0
    for x in operands:
        xs = x.aval.shape if ad.is_undefined(x) else get_aval(x).shape
        stop = start + xs[dimension]
        if ad.is_undefined(x):
            lo = tuple(start if i == dimension else 0 for i in range(len(shape)))
            hi = tuple(stop if i == dimension else d for i, d in enumerate(shape))
            out.append(slice(ct, lo, hi))
        else:
            out.append(None)
        start = stop
    return out


impl_rules[concatenate_p] = lambda *xs, dimension: np.concatenate(xs, axis=dimension)
abstract_rules[concatenate_p] = _concatenate_abstract
ad.deflinear(concatenate_p, _concatenate_transpose)
batching.batch_rules[concatenate_p] = lambda size, vals, batched, dimension: (
    concatenate_p.bind(*broadcast_operands(size, vals, batched),
                       dimension=dimension + 1), True)

# ---------------------------------------------------------------- rev (flip)
rev_p = Primitive("rev")


def rev(x, dimensions):
    """Reverse ``x`` along each of ``dimensions``."""
    dimensions = tuple(sorted(int(d) for d in dimensions))
    if not dimensions:
        return x
    return rev_p.bind(x, dimensions=dimensions)


def _rev_abstract(x, dimensions):
    if any(not 0 <= d < x.ndim for d in dimensions) or len(set(dimensions)) != len(dimensions):
        raise ValueError(f"rev: dimensions {dimensions} are invalid for shape {x.shape}")
    return x.shape, x.dtype


impl_rules[rev_p] = lambda x, dimensions: np.flip(x, dimensions)
abstract_rules[rev_p] = _rev_abstract
ad.deflinear(rev_p, lambda ct, x, dimensions: [rev(ct, dimensions)])
batching.batch_rules[rev_p] = lambda size, vals, batched, dimensions: (
    rev_p.bind(vals[0], dimensions=batching.shift_axes(dimensions)), True)


# --------------------------------------------------------------------------- batching helpers
# Structural moves that batching rules share: they live beside the primitives they bind.

def broadcast_batch(x, size):
    """Give an unbatched value a leading batch axis of ``size`` (explicit broadcast)."""
    a = get_aval(x)
    return broadcast_in_dim(x, (size,) + a.shape, tuple(range(1, len(a.shape) + 1)))


def bdim_to_front(x, axis):
    nd = get_aval(x).ndim
    if axis == 0:
        return x
    perm = (axis,) + tuple(i for i in range(nd) if i != axis)
    return transpose(x, perm)


def bdim_from_front(x, axis):
    nd = get_aval(x).ndim
    if axis == 0:
        return x
    perm = list(range(1, nd))
    perm.insert(axis, 0)
    return transpose(x, tuple(perm))


def broadcast_operands(size, vals, batched):
    """Every operand batched: unbatched ones are broadcast along the batch axis."""
    return [v if b else broadcast_batch(v, size) for v, b in zip(vals, batched)]
