"""pbroadcast: the implicit broadcast of an invariant value over named axes.

- ``pbroadcast_p(x, axes)`` (declared in core, because the linearizer records it):
  identity on values, varying over ``axes`` in type. Its transpose is the
  reduce_axes rule's psum, applied by the backward pass. Under a map the value is
  the same in every instance, so it stays unbatched.
- MPI: ``mpi_pbroadcast_p(x, comm, axis)`` is the same broadcast across ranks,
  bound below a pmap frame whenever a replicated value meets a rank-local one:
  identity forward, a cross-rank sum (psum's ``allreduce_p``) transposed.
"""
from __future__ import annotations

from .. import ad, batching, core
from ..core import Primitive, abstract_rules, impl_rules, vma_rules
from ..primitives.named_axes import axes_tuple
from ..primitives.structural import broadcast_batch
from .psum import allreduce_p

pbroadcast_p = core.pbroadcast_p


def pbroadcast(x, axis_name):
    """Mark ``x`` as varying over the named axes (identity on values).

    It is the explicit form of the implicit broadcast that happens when an invariant
    value meets a varying one. Its transpose is the reduce_axes rule's psum: the
    backward pass sums its cotangent over the axes that are reduced, and leaves it
    per-example over the others.

    >>> import spmdgrad, spmdgrad.numpy as jnp
    >>> spmdgrad.vmap(lambda v: pbroadcast(2.0, 'i') * v, axis_name='i')(jnp.ones(2))
    array([2., 2.])
    """
    return pbroadcast_p.bind(x, axes=axes_tuple(axis_name, "pbroadcast"))


impl_rules[pbroadcast_p] = lambda x, axes: x
abstract_rules[pbroadcast_p] = lambda x, axes: (x.shape, x.dtype)
vma_rules[pbroadcast_p] = lambda vmas, axes: vmas[0] | frozenset(axes)
batching.batch_rules[pbroadcast_p] = lambda size, vals, batched, axes: (
    pbroadcast_p.bind(vals[0], axes=axes), batched[0])
ad.deflinear(pbroadcast_p, lambda ct, x, axes: [ct])

# ---------------------------------------------------------------- MPI: across ranks
mpi_pbroadcast_p = Primitive("mpi_pbroadcast")


def mpi_pbroadcast(x, comm, axis):
    """Mark a rank-replicated value as varying across ranks (identity forward)."""
    return mpi_pbroadcast_p.bind(x, comm=comm, axis=axis)


def local_block(frame, x, batched):
    """The rank's local block of a pmap frame, k shards first: an invariant
    (replicated) value is broadcast to the shards, and its transpose sums over ranks."""
    return x if batched else broadcast_batch(frame.backend.pbroadcast(x), frame.local_size)


impl_rules[mpi_pbroadcast_p] = lambda x, comm, axis: x
abstract_rules[mpi_pbroadcast_p] = lambda x, comm, axis: (x.shape, x.dtype)
ad.deflinear(mpi_pbroadcast_p, lambda ct, x, comm, axis: [
    allreduce_p.bind(ct, op="sum", comm=comm, axis=axis)[0]])
batching.batch_rules[mpi_pbroadcast_p] = lambda size, vals, batched, comm, axis: (
    mpi_pbroadcast_p.bind(vals[0], comm=comm, axis=axis), batched[0])
