"""psum_scatter: a psum of which each instance keeps only its own block.

- ``psum_scatter_p(x, axes, scatter_dimension, axis_size)``: untiled, one axis.
  Varying -> varying; ``x.shape[scatter_dimension] == axis_size``; instance i
  gets the sum over instances of ``x[..., i, ...]`` (that dimension removed).
  Its transpose is an all_gather.
- MPI: ``mpi_reduce_scatter_p(x, dim, comm, axis)``: ``x`` has ``nranks * m``
  entries along ``dim``; rank r gets the cross-rank sum of block r, by one
  ``Reduce_scatter_block``. Its transpose is ``mpi_allgather_p``.
"""
from __future__ import annotations

import numpy as np

from .. import ad, batching
from ..core import Primitive, abstract_rules, get_aval, impl_rules, vma_rules
from ..mpi import wire
from ..primitives.named_axes import as_array, def_owner, no_groups, scale, single_axis, unvary_transpose
from ..primitives.structural import bdim_to_front, normalize_axis, reduce_sum, reshape
from ..primitives.structural import slice as slice_
from ..tree_util import tree_map
from ._lowering import def_shifted_batching, front
from .all_gather import all_gather_p, mpi_allgather_p

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
    no_groups(axis_index_groups, "psum_scatter")
    name, n = single_axis(axis_name, "psum_scatter")

    def leaf(v):
        v = as_array(v, "psum_scatter")
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


abstract_rules[psum_scatter_p] = _psum_scatter_abstract
vma_rules[psum_scatter_p] = lambda vmas, axes, **_: vmas[0] | frozenset(axes)
batching.batch_rules[psum_scatter_p] = lambda size, vals, batched, axes, scatter_dimension, \
    axis_size: (psum_scatter_p.bind(vals[0], axes=axes, scatter_dimension=scatter_dimension + 1,
                                    axis_size=axis_size), True)


def _psum_scatter_transpose(ct, x, axes, scatter_dimension, axis_size):
    gathered = all_gather_p.bind(ct, axes=axes, axis=scatter_dimension, axis_size=axis_size)
    return [unvary_transpose(gathered, x, axes)]


ad.deflinear(psum_scatter_p, _psum_scatter_transpose)


def _psum_scatter_owner(frame, vals, batched, axes, scatter_dimension, axis_size):
    x, = vals
    d = scatter_dimension
    b = frame.backend
    if b is None:
        total = reduce_sum(x, (0,)) if batched[0] else scale(x, frame.axis_size)
    elif batched[0]:
        total = mpi_reduce_scatter_p.bind(reduce_sum(x, (0,)), dim=d, comm=b.state,
                                          axis=frame.axis_name)
    else:   # invariant operand: the sum is size * x, of which this rank keeps its block
        total = scale(b.pbroadcast(x), axis_size)
        shape = get_aval(total).shape
        start = tuple(b.rank * b.local_size if i == d else 0 for i in range(len(shape)))
        limit = tuple((b.rank + 1) * b.local_size if i == d else n for i, n in enumerate(shape))
        total = slice_(total, start, limit)
    return bdim_to_front(total, d), True


def_owner(psum_scatter_p, _psum_scatter_owner)

# ---------------------------------------------------------------- MPI: Reduce_scatter_block
mpi_reduce_scatter_p = Primitive("mpi_reduce_scatter", effectful=True)


def _reduce_scatter_impl(x, dim, comm, axis):
    comm.check(f"psum_scatter over axis {axis!r}", [np.asarray(x)], f"dim={dim}")
    src = front(x, dim)
    wire_dtype, op = wire.reduce_wire(src.dtype, "sum")  # e.g. half as float32
    src = src.astype(wire_dtype, copy=False)
    out = np.empty((src.shape[0] // comm.nranks,) + src.shape[1:], wire_dtype)
    comm.wait(comm.comm.Ireduce_scatter_block(src, out, wire.mpi_op(comm.mpi, op)))
    return np.moveaxis(out.astype(np.asarray(x).dtype, copy=False), 0, dim)


def _reduce_scatter_abstract(x, dim, comm, axis):
    if x.shape[dim] % comm.nranks:
        raise ValueError(f"psum_scatter over MPI: dimension {dim} of {x.shape} is not a "
                         f"multiple of the number of ranks {comm.nranks}")
    return x.shape[:dim] + (x.shape[dim] // comm.nranks,) + x.shape[dim + 1:], x.dtype


impl_rules[mpi_reduce_scatter_p] = _reduce_scatter_impl
abstract_rules[mpi_reduce_scatter_p] = _reduce_scatter_abstract
ad.deflinear(mpi_reduce_scatter_p, lambda ct, x, dim, comm, axis: [
    mpi_allgather_p.bind(ct, dim=dim, comm=comm, axis=axis)])
def_shifted_batching(mpi_reduce_scatter_p)
