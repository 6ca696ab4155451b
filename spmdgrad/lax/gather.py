"""Collectives that move blocks between instances: all_gather, psum_scatter, all_to_all.

Each primitive is *untiled* and binds one axis (``axes=(name,)``) plus the
axis size (``axis_size``, global under pmap), so its shape rule needs no axis
lookup. Tiling is a reshape in the public function, and all_gather over a tuple
of names is one bind per name, first name major.

- ``all_gather_p(x, axes, axis, axis_size)``: varying -> invariant; the
  instances' values stacked along a new dimension at ``axis``.
- ``psum_scatter_p(x, axes, scatter_dimension, axis_size)``: varying -> varying;
  ``x.shape[scatter_dimension] == axis_size``; instance i gets the sum over
  instances of ``x[..., i, ...]`` (that dimension removed).
- ``all_to_all_p(x, axes, split_axis, concat_axis, axis_size)``: varying ->
  varying; ``x.shape[split_axis] == axis_size``; instance i gets
  ``stack_j(x_j[..., i, ...])`` with ``j`` at ``concat_axis`` of the output.

Under pmap over MPI the owner rules hand the whole step to
``frame.backend.collective`` (see :mod:`spmdgrad.lax.parallel`).
"""
from __future__ import annotations

import numpy as np

from .. import ad, batching
from ..core import Primitive, Tracer, abstract_rules, get_aval, vma_rules
from ..numpy._core import normalize_axis
from ..primitives.contraction import einsum2
from ..primitives.elementwise import convert_element_type, eq
from ..primitives.reductions import reduce_sum
from ..primitives.structural import bdim_from_front, bdim_to_front, broadcast_batch, reshape, transpose
from ..tree_util import tree_map
from .parallel import axes_tuple, axis_index_p, find_axis, scale, single_axis, unvary_transpose

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _leaf(x):
    return x if isinstance(x, Tracer | np.ndarray) else np.asarray(x)


def _no_groups(axis_index_groups, op):
    if axis_index_groups is not None:
        raise NotImplementedError(f"{op}: axis_index_groups is not supported")


def _delegate(prim, frame, vals, batched, params):
    return frame.backend.collective(prim, frame, vals, batched, **params)


def _add_axes(vmas, axes):
    return vmas[0] | frozenset(axes)


# ---------------------------------------------------------------- all_gather
all_gather_p = Primitive("all_gather")


def all_gather(x, axis_name, axis=0, tiled=False, *, axis_index_groups=None):
    """Every instance's ``x`` (an array or pytree), gathered along the named axis.

    Untiled, the values are stacked along a new dimension at ``axis``; with
    ``tiled=True`` they are concatenated along the existing dimension ``axis``.
    For a tuple of names the gathered index runs over their product, first name
    major. The result is invariant over the axis. Its transpose gives each
    instance its own slice of the cotangent.

    >>> import spmdgrad, spmdgrad.numpy as jnp
    >>> spmdgrad.vmap(lambda v: all_gather(v, 'i'), axis_name='i')(jnp.arange(3.0))[0]
    array([0., 1., 2.])
    """
    _no_groups(axis_index_groups, "all_gather")
    axes = axes_tuple(axis_name, "all_gather")

    def leaf(v):
        v = _leaf(v)
        shape = get_aval(v).shape
        if tiled:
            if not shape:
                raise ValueError("all_gather with tiled=True needs an operand of rank >= 1, "
                                 "got a 0-d value; use tiled=False to stack scalars")
            ax = normalize_axis(axis, len(shape), "all_gather(tiled=True)")
        else:
            ax = normalize_axis(axis, len(shape) + 1, "all_gather")
        for name in reversed(axes):
            v = all_gather_p.bind(v, axes=(name,), axis=ax,
                                  axis_size=find_axis(name).axis_size)
        merged = len(axes) + (1 if tiled else 0)
        if merged > 1:
            s = get_aval(v).shape
            v = reshape(v, s[:ax] + (int(np.prod(s[ax:ax + merged])),) + s[ax + merged:])
        return v
    return tree_map(leaf, x)


def _all_gather_abstract(x, axes, axis, axis_size):
    if not 0 <= axis <= x.ndim:
        raise ValueError(f"all_gather: axis {axis} is out of range for an operand of shape "
                         f"{x.shape}")
    return x.shape[:axis] + (axis_size,) + x.shape[axis:], x.dtype


def _own_slice(ct, name, size, axis):
    """``ct[..., axis_index(name), ...]``: a contraction with a one-hot vector, so it
    vectorizes (and differentiates) like any other contraction."""
    dt = get_aval(ct).dtype
    onehot = convert_element_type(eq(np.arange(size, dtype=np.int64),
                                     axis_index_p.bind(axes=(name,))), dt)
    letters = _LETTERS[:get_aval(ct).ndim]
    kept = letters[:axis] + letters[axis + 1:]
    return einsum2(ct, onehot, f"{letters},{letters[axis]}->{kept}")


def _all_gather_transpose(ct, x, axes, axis, axis_size):
    return [unvary_transpose(_own_slice(ct, axes[0], axis_size, axis), x, axes)]


def _all_gather_owner(frame, vals, batched, axes, axis, axis_size):
    if frame.backend is not None:
        return _delegate(all_gather_p, frame, vals, batched,
                         dict(axes=axes, axis=axis, axis_size=axis_size))
    x, = vals
    if not batched[0]:
        x = broadcast_batch(x, frame.local_size)
    return bdim_from_front(x, axis), False


abstract_rules[all_gather_p] = _all_gather_abstract
vma_rules[all_gather_p] = lambda vmas, axes, **_: vmas[0] - frozenset(axes)
ad.deflinear(all_gather_p, _all_gather_transpose)
batching.batch_rules[all_gather_p] = lambda size, vals, batched, axes, axis, axis_size: (
    all_gather_p.bind(vals[0], axes=axes, axis=axis + 1, axis_size=axis_size), True)
batching.collective_rules[all_gather_p] = _all_gather_owner
ad.collective_prims.add(all_gather_p)

# ---------------------------------------------------------------- psum_scatter
psum_scatter_p = Primitive("psum_scatter")


def psum_scatter(x, axis_name, scatter_dimension=0, tiled=False, *, axis_index_groups=None):
    """``psum(x, axis_name)`` of which each instance keeps only its own block.

    Untiled, ``x.shape[scatter_dimension]`` must equal the axis size and instance
    ``i`` gets ``psum(x)[..., i, ...]`` (that dimension removed). With
    ``tiled=True`` the dimension must be a multiple of the axis size and instance
    ``i`` gets the ``i``-th of its equal blocks. The result varies over the axis;
    its transpose is an all_gather.

    >>> import spmdgrad, spmdgrad.numpy as jnp
    >>> spmdgrad.vmap(lambda v: psum_scatter(v, 'i'), axis_name='i')(jnp.eye(3) + 1.0)
    array([4., 4., 4.])
    """
    _no_groups(axis_index_groups, "psum_scatter")
    name, n = single_axis(axis_name, "psum_scatter")

    def leaf(v):
        v = _leaf(v)
        shape = get_aval(v).shape
        if not shape:
            raise ValueError(f"psum_scatter over {name!r} needs an operand of rank >= 1 to "
                             "scatter, got a 0-d value; use psum for scalars")
        d = normalize_axis(scatter_dimension, len(shape), "psum_scatter")
        if tiled:
            if shape[d] % n:
                raise ValueError(
                    f"psum_scatter(tiled=True) over axis {name!r} of size {n}: dimension "
                    f"{d} of the operand (shape {shape}) has size {shape[d]}, which is not a "
                    f"multiple of {n}")
            v = reshape(v, shape[:d] + (n, shape[d] // n) + shape[d + 1:])
        elif shape[d] != n:
            raise ValueError(
                f"psum_scatter over axis {name!r} of size {n}: dimension {d} of the operand "
                f"(shape {shape}) has size {shape[d]}, but untiled psum_scatter needs it to "
                f"equal the axis size; pass tiled=True to scatter blocks of a larger dimension")
        return psum_scatter_p.bind(v, axes=(name,), scatter_dimension=d, axis_size=n)
    return tree_map(leaf, x)


def _psum_scatter_abstract(x, axes, scatter_dimension, axis_size):
    d = scatter_dimension
    if not 0 <= d < x.ndim or x.shape[d] != axis_size:
        raise ValueError(f"psum_scatter: dimension {d} of shape {x.shape} must have the axis "
                         f"size {axis_size}")
    return x.shape[:d] + x.shape[d + 1:], x.dtype


def _psum_scatter_transpose(ct, x, axes, scatter_dimension, axis_size):
    gathered = all_gather_p.bind(ct, axes=axes, axis=scatter_dimension, axis_size=axis_size)
    return [unvary_transpose(gathered, x, axes)]


def _psum_scatter_owner(frame, vals, batched, axes, scatter_dimension, axis_size):
    if frame.backend is not None:
        return _delegate(psum_scatter_p, frame, vals, batched,
                         dict(axes=axes, scatter_dimension=scatter_dimension,
                              axis_size=axis_size))
    x, = vals
    total = reduce_sum(x, (0,)) if batched[0] else scale(x, frame.axis_size)
    return bdim_to_front(total, scatter_dimension), True


abstract_rules[psum_scatter_p] = _psum_scatter_abstract
vma_rules[psum_scatter_p] = lambda vmas, axes, **_: _add_axes(vmas, axes)
ad.deflinear(psum_scatter_p, _psum_scatter_transpose)
batching.batch_rules[psum_scatter_p] = lambda size, vals, batched, axes, scatter_dimension, \
    axis_size: (psum_scatter_p.bind(vals[0], axes=axes, scatter_dimension=scatter_dimension + 1,
                                    axis_size=axis_size), True)
batching.collective_rules[psum_scatter_p] = _psum_scatter_owner
ad.collective_prims.add(psum_scatter_p)

# ---------------------------------------------------------------- all_to_all
all_to_all_p = Primitive("all_to_all")


def all_to_all(x, axis_name, split_axis, concat_axis, tiled=False, *, axis_index_groups=None):
    """Exchange blocks between instances: instance ``i`` receives block ``i`` of
    dimension ``split_axis`` from every instance ``j``, placed at position ``j``
    of dimension ``concat_axis`` of the result.

    Untiled, ``x.shape[split_axis]`` must equal the axis size; the split
    dimension is removed and a new dimension of the axis size appears at
    ``concat_axis`` (an index into the result). With ``tiled=True`` the split
    dimension is cut into equal blocks and the received blocks are concatenated
    along the existing ``concat_axis``. The transpose is all_to_all with the two
    axes swapped.

    >>> import spmdgrad, spmdgrad.numpy as jnp
    >>> xs = jnp.arange(4.0).reshape(2, 2)
    >>> spmdgrad.vmap(lambda v: all_to_all(v, 'i', 0, 0), axis_name='i')(xs)
    array([[0., 2.],
           [1., 3.]])
    """
    _no_groups(axis_index_groups, "all_to_all")
    name, n = single_axis(axis_name, "all_to_all")

    def leaf(v):
        v = _leaf(v)
        shape = get_aval(v).shape
        if not shape:
            raise ValueError(f"all_to_all over {name!r} needs an operand of rank >= 1, "
                             "got a 0-d value")
        s = normalize_axis(split_axis, len(shape), "all_to_all (split_axis)")
        t = normalize_axis(concat_axis, len(shape), "all_to_all (concat_axis)")
        if not tiled:
            if shape[s] != n:
                raise ValueError(
                    f"all_to_all over axis {name!r} of size {n}: split_axis {s} of the operand "
                    f"(shape {shape}) has size {shape[s]}, but untiled all_to_all needs it to "
                    "equal the axis size; pass tiled=True to split it into blocks")
            return all_to_all_p.bind(v, axes=(name,), split_axis=s, concat_axis=t, axis_size=n)
        if shape[s] % n:
            raise ValueError(
                f"all_to_all(tiled=True) over axis {name!r} of size {n}: split_axis {s} of "
                f"the operand (shape {shape}) has size {shape[s]}, not a multiple of {n}")
        v = reshape(v, shape[:s] + (n, shape[s] // n) + shape[s + 1:])
        v = all_to_all_p.bind(v, axes=(name,), split_axis=s, concat_axis=t, axis_size=n)
        out = get_aval(v).shape
        return reshape(v, out[:t] + (n * out[t + 1],) + out[t + 2:])
    return tree_map(leaf, x)


def _all_to_all_abstract(x, axes, split_axis, concat_axis, axis_size):
    if not (0 <= split_axis < x.ndim and 0 <= concat_axis < x.ndim) or \
            x.shape[split_axis] != axis_size:
        raise ValueError(f"all_to_all: split_axis {split_axis} / concat_axis {concat_axis} are "
                         f"invalid for shape {x.shape} and axis size {axis_size}")
    out = list(x.shape)
    del out[split_axis]
    out.insert(concat_axis, axis_size)
    return tuple(out), x.dtype


def _all_to_all_transpose(ct, x, axes, split_axis, concat_axis, axis_size):
    return [unvary_transpose(all_to_all_p.bind(ct, axes=axes, split_axis=concat_axis,
                                               concat_axis=split_axis, axis_size=axis_size),
                             x, axes)]


def _all_to_all_owner(frame, vals, batched, axes, split_axis, concat_axis, axis_size):
    if frame.backend is not None:
        return _delegate(all_to_all_p, frame, vals, batched,
                         dict(axes=axes, split_axis=split_axis, concat_axis=concat_axis,
                              axis_size=axis_size))
    x, = vals
    if not batched[0]:
        x = broadcast_batch(x, frame.local_size)
    # x[j, ..., i (at split_axis + 1), ...] -> out[i, ..., j (at concat_axis + 1), ...]
    nd = get_aval(x).ndim - 1
    others = [k + 1 for k in range(nd) if k != split_axis]
    perm = [split_axis + 1] + others[:concat_axis] + [0] + others[concat_axis:]
    return transpose(x, tuple(perm)), True


abstract_rules[all_to_all_p] = _all_to_all_abstract
vma_rules[all_to_all_p] = lambda vmas, axes, **_: _add_axes(vmas, axes)
ad.deflinear(all_to_all_p, _all_to_all_transpose)
batching.batch_rules[all_to_all_p] = lambda size, vals, batched, axes, split_axis, concat_axis, \
    axis_size: (all_to_all_p.bind(vals[0], axes=axes, split_axis=split_axis + 1,
                                  concat_axis=concat_axis + 1, axis_size=axis_size), True)
batching.collective_rules[all_to_all_p] = _all_to_all_owner
ad.collective_prims.add(all_to_all_p)
