"""MPI owner rules of all_gather, psum_scatter, all_to_all and ppermute.

The owner rule of a pmap frame receives the rank's local block (k shards along
axis 0) or an invariant value, and returns ``(out, out_batched)``. The local
reshaping is done with ordinary primitives; the cross-rank movement is one of
four primitives below, each acting along one dimension ``dim`` of a contiguous
buffer:

- ``mpi_allgather(x, dim)``: the ranks' blocks concatenated along ``dim``
  (``Allgather``); the result is replicated. Transpose: this rank's slice.
- ``mpi_reduce_scatter(x, dim)``: ``x`` has ``nranks * m`` entries along ``dim``;
  rank r gets the cross-rank sum of block r (``Reduce_scatter_block``).
  Transpose: ``mpi_allgather``.
- ``mpi_alltoall(x, dim)``: ``x`` has ``nranks`` entries along ``dim``; entry s
  goes to rank s, and entry t of the result came from rank t (``Alltoall``).
  It is its own transpose.
- ``mpi_permute(x, perm, dim)``: shard j (global index ``rank * k + j``) goes to
  the global destinations of ``perm`` (point-to-point ``Isend``/``Irecv``);
  shards that receive nothing get zeros. Transpose: the reversed permutation.

All four are linear, have batching rules (an outer vmap adds a leading
dimension, so ``dim`` shifts by one), and are bound on the trace below the pmap
frame, so grad of pmap and vmap of pmap compose with them.
"""
from __future__ import annotations

import numpy as np

from .. import ad, batching
from ..core import Primitive, abstract_rules, get_aval, impl_rules
from ..primitives.reductions import reduce_sum
from ..primitives.structural import (bdim_from_front, bdim_to_front, broadcast_batch, reshape,
                                     slice as slice_, transpose)
from ._comm import _mpi, describe


def _front(x, dim):
    """``x`` with ``dim`` moved to the front, as a C-contiguous array."""
    return np.ascontiguousarray(np.moveaxis(np.asarray(x), dim, 0))


def _check(comm, what, x, axis, extra=""):
    comm.check(f"{what} over axis {axis!r}", lambda: describe([np.asarray(x)]) + extra)


def _shifted(prim):
    """Batching rule for a primitive acting along ``dim``: shift ``dim`` by one."""
    def rule(size, vals, batched, dim, **params):
        return prim.bind(vals[0], dim=dim + 1, **params), True
    batching.batch_rules[prim] = rule


# ---------------------------------------------------------------- Allgather
mpi_allgather_p = Primitive("mpi_allgather")


def _allgather_impl(x, dim, comm, axis):
    _check(comm, "all_gather", x, axis, f" dim={dim}")
    src = _front(x, dim)
    out = np.empty((comm.nranks * src.shape[0],) + src.shape[1:], src.dtype)
    comm.comm.Allgather(src, out)
    return np.moveaxis(out, 0, dim)


def _allgather_transpose(ct, x, dim, comm, axis):
    # The result is one value shared by all ranks; each rank's block gets its part.
    shape = x.aval.shape
    start = [0] * len(shape)
    start[dim] = comm.rank * shape[dim]
    limit = list(get_aval(ct).shape)
    limit[dim] = start[dim] + shape[dim]
    return [slice_(ct, tuple(start), tuple(limit))]


def _allgather_abstract(x, dim, comm, axis):
    return x.shape[:dim] + (comm.nranks * x.shape[dim],) + x.shape[dim + 1:], x.dtype


impl_rules[mpi_allgather_p] = _allgather_impl
abstract_rules[mpi_allgather_p] = _allgather_abstract
ad.deflinear(mpi_allgather_p, _allgather_transpose)
_shifted(mpi_allgather_p)

# ---------------------------------------------------------------- Reduce_scatter
mpi_reduce_scatter_p = Primitive("mpi_reduce_scatter")


def _reduce_scatter_impl(x, dim, comm, axis):
    _check(comm, "psum_scatter", x, axis, f" dim={dim}")
    src = _front(x, dim)
    wire = np.dtype(np.float32) if src.dtype == np.float16 else src.dtype  # MPI has no half
    src = src.astype(wire, copy=False)
    out = np.empty((src.shape[0] // comm.nranks,) + src.shape[1:], wire)
    comm.comm.Reduce_scatter_block(src, out, _mpi().SUM)
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
_shifted(mpi_reduce_scatter_p)

# ---------------------------------------------------------------- Alltoall
mpi_alltoall_p = Primitive("mpi_alltoall")


def _alltoall_impl(x, dim, comm, axis):
    _check(comm, "all_to_all", x, axis, f" dim={dim}")
    src = _front(x, dim)
    out = np.empty_like(src)
    comm.comm.Alltoall(src, out)
    return np.moveaxis(out, 0, dim)


def _alltoall_abstract(x, dim, comm, axis):
    if x.shape[dim] != comm.nranks:
        raise ValueError(f"all_to_all over MPI: dimension {dim} of {x.shape} must equal the "
                         f"number of ranks {comm.nranks}")
    return x.shape, x.dtype


impl_rules[mpi_alltoall_p] = _alltoall_impl
abstract_rules[mpi_alltoall_p] = _alltoall_abstract
ad.deflinear(mpi_alltoall_p, lambda ct, x, dim, comm, axis: [
    mpi_alltoall_p.bind(ct, dim=dim, comm=comm, axis=axis)])
_shifted(mpi_alltoall_p)

# ---------------------------------------------------------------- point-to-point permutation
mpi_permute_p = Primitive("mpi_permute")


def _permute_impl(x, perm, dim, comm, axis):
    _check(comm, "ppermute", x, axis, f" dim={dim} perm={perm}")
    src = _front(x, dim)
    k, me = src.shape[0], comm.rank
    out = np.zeros_like(src)
    requests = []
    for s, d in perm:
        s_rank, d_rank = divmod(s, k)[0], divmod(d, k)[0]
        if s_rank == me and d_rank == me:
            out[d - me * k] = src[s - me * k]
        elif s_rank == me:   # the tag is the destination index: unique within perm
            requests.append(comm.comm.Isend(src[s - me * k], dest=d_rank, tag=d))
        elif d_rank == me:
            requests.append(comm.comm.Irecv(out[d - me * k], source=s_rank, tag=d))
    if requests:
        _mpi().Request.Waitall(requests)
    return np.moveaxis(out, 0, dim)


impl_rules[mpi_permute_p] = _permute_impl
abstract_rules[mpi_permute_p] = lambda x, perm, dim, comm, axis: (x.shape, x.dtype)
ad.deflinear(mpi_permute_p, lambda ct, x, perm, dim, comm, axis: [mpi_permute_p.bind(
    ct, perm=tuple((d, s) for s, d in perm), dim=dim, comm=comm, axis=axis)])
_shifted(mpi_permute_p)


# ---------------------------------------------------------------- owner rules

def _local(frame, x, batched):
    """The local block with its k shards first. An invariant (replicated) value is
    broadcast to the shards through pvary, whose transpose sums over the ranks."""
    return x if batched else broadcast_batch(frame.backend.pbroadcast(x), frame.local_size)


def _all_gather(frame, x, batched, axes, axis, axis_size):
    if batched:
        x = mpi_allgather_p.bind(x, dim=0, comm=frame.backend.state, axis=frame.axis_name)
    else:   # every instance holds the same value: no communication
        x = broadcast_batch(x, axis_size)
    return bdim_from_front(x, axis), False


def _psum_scatter(frame, x, batched, axes, scatter_dimension, axis_size):
    b = frame.backend
    d = scatter_dimension
    if batched:
        total = mpi_reduce_scatter_p.bind(reduce_sum(x, (0,)), dim=d, comm=b.state,
                                          axis=frame.axis_name)
    else:   # invariant operand: the sum is size * x, of which this rank keeps its block
        from ..lax.parallel import scale
        total = scale(b.pbroadcast(x), axis_size)
        shape = get_aval(total).shape
        start = tuple(b.rank * b.local_size if i == d else 0 for i in range(len(shape)))
        limit = tuple((b.rank + 1) * b.local_size if i == d else n for i, n in enumerate(shape))
        total = slice_(total, start, limit)
    return bdim_to_front(total, d), True


def _all_to_all(frame, x, batched, axes, split_axis, concat_axis, axis_size):
    b = frame.backend
    n, k = b.nranks, b.local_size
    x = _local(frame, x, batched)                          # (k_j, ..., N at split+1, ...)
    x = bdim_to_front(x, split_axis + 1)                   # (N_i, k_j, rest...)
    rest = get_aval(x).shape[2:]
    x = reshape(x, (n, k, k) + rest)                       # (dest rank, i, j, rest...)
    x = mpi_alltoall_p.bind(x, dim=0, comm=b.state, axis=frame.axis_name)  # (src rank, i, j)
    x = transpose(x, (1, 0, 2) + tuple(range(3, 3 + len(rest))))          # (i, src rank, j)
    x = reshape(x, (k, n * k) + rest)                      # (i, global j, rest...)
    # Place the gathered index j at concat_axis of the per-instance result.
    nd = 1 + len(rest)
    perm = [0] + [p + 2 for p in range(concat_axis)] + [1] + \
        [p + 2 for p in range(concat_axis, nd - 1)]
    return transpose(x, tuple(perm)), True


def _ppermute(frame, x, batched, axes, perm):
    x = _local(frame, x, batched)
    return mpi_permute_p.bind(x, perm=tuple(perm), dim=0, comm=frame.backend.state,
                              axis=frame.axis_name), True


_OWNERS = {"all_gather": _all_gather, "psum_scatter": _psum_scatter,
           "all_to_all": _all_to_all, "ppermute": _ppermute}


def owner_rule(prim, frame, vals, batched, **params):
    """Dispatch a collective on the pmap frame's own axis to its MPI implementation."""
    rule = _OWNERS.get(prim.name)
    if rule is None:
        raise NotImplementedError(f"'{prim}' has no MPI implementation (pmap over MPI ranks)")
    x, = vals
    return rule(frame, x, batched[0], **params)
