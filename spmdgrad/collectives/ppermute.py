"""ppermute: send each instance's value to another instance along a named axis.

- ``ppermute_p(x, axes, perm)``: varying -> varying; ``axes=(name,)``, ``perm`` a
  tuple of ``(source, destination)`` pairs of global indices, no source or
  destination repeated. Instances that are no destination receive zeros. The
  transpose is ppermute with every pair reversed.
- Under vmap the owner rule is one static row selection of the batch axis
  (``take_rows_p``, below).
- MPI: ``mpi_permute_p(x, perm, dim, comm, axis)``: shard j (global index
  ``rank * k + j``) goes to the global destinations of ``perm`` by point-to-point
  ``Isend``/``Irecv``; shards that receive nothing get zeros. Its transpose is the
  reversed permutation.
"""
from __future__ import annotations

import numpy as np

from .. import ad, batching
from ..core import Primitive, abstract_rules, impl_rules, vma_rules
from ..mpi import wire
from ..primitives.named_axes import as_array, def_owner, single_axis, unvary_transpose
from ..primitives.structural import broadcast_batch
from ..tree_util import tree_map
from ._lowering import def_shifted_batching, front
from .pbroadcast import local_block

# ---------------------------------------------------------------- take_rows (static)
#
# take_rows_p(x, rows, dim): out[..., r, ...] = x[..., rows[r], ...] along ``dim``,
# zeros where rows[r] == -1. Sources are distinct, so the transpose is again a
# take_rows, with the inverse selection.
take_rows_p = Primitive("take_rows")


def take_rows(x, rows, dim):
    return take_rows_p.bind(x, rows=tuple(int(r) for r in rows), dim=int(dim))


def _take_rows_impl(x, rows, dim):
    x = np.asarray(x)
    rows = np.asarray(rows, dtype=np.int64)
    valid = rows >= 0
    out = np.take(x, np.where(valid, rows, 0), axis=dim)
    if valid.all():
        return out
    shape = [1] * x.ndim
    shape[dim] = len(rows)
    return np.where(valid.reshape(shape), out, np.zeros((), x.dtype))


def _take_rows_abstract(x, rows, dim):
    used = [r for r in rows if r >= 0]
    if not 0 <= dim < x.ndim or any(r >= x.shape[dim] for r in used) or \
            len(set(used)) != len(used):
        raise ValueError(f"take_rows: rows {rows} along dimension {dim} are invalid for "
                         f"shape {x.shape}")
    return x.shape[:dim] + (len(rows),) + x.shape[dim + 1:], x.dtype


def _take_rows_transpose(ct, x, rows, dim):
    inverse = [-1] * x.aval.shape[dim]
    for r, src in enumerate(rows):
        if src >= 0:
            inverse[src] = r
    return [take_rows(ct, inverse, dim)]


impl_rules[take_rows_p] = _take_rows_impl
abstract_rules[take_rows_p] = _take_rows_abstract
ad.deflinear(take_rows_p, _take_rows_transpose)
batching.batch_rules[take_rows_p] = lambda size, vals, batched, rows, dim: (
    take_rows(vals[0], rows, dim + 1), True)

# ---------------------------------------------------------------- ppermute
ppermute_p = Primitive("ppermute")


def _check_perm(perm, name, n):
    try:
        pairs = tuple((int(s), int(d)) for s, d in perm)
    except (TypeError, ValueError):
        raise TypeError(f"ppermute over {name!r}: perm must be a sequence of (source, "
                        f"destination) pairs of ints, got {perm!r}") from None
    for s, d in pairs:
        if not (0 <= s < n and 0 <= d < n):
            raise ValueError(f"ppermute over axis {name!r} of size {n}: the pair ({s}, {d}) "
                             f"is out of range; indices must lie in [0, {n})")
    for what, idx in (("source", 0), ("destination", 1)):
        seen = [p[idx] for p in pairs]
        if len(set(seen)) != len(seen):
            raise ValueError(f"ppermute over {name!r}: perm {perm!r} repeats a {what} index; "
                             "each instance may send once and receive once")
    return pairs


def ppermute(x, axis_name, perm):
    """Send ``x`` (an array or pytree) along the named axis: for every pair
    ``(source, destination)`` in ``perm``, instance ``destination`` receives the
    value of instance ``source``. Instances that receive nothing get zeros.

    >>> import spmdgrad, spmdgrad.numpy as jnp
    >>> ring = [(0, 1), (1, 2), (2, 0)]
    >>> spmdgrad.vmap(lambda v: ppermute(v, 'i', ring), axis_name='i')(jnp.array([1., 2., 3.]))
    array([3., 1., 2.])
    """
    name, n = single_axis(axis_name, "ppermute")
    pairs = _check_perm(perm, name, n)
    return tree_map(lambda v: ppermute_p.bind(as_array(v, "ppermute"), axes=(name,), perm=pairs), x)


def _ppermute_owner(frame, vals, batched, axes, perm):
    x, = vals
    if frame.backend is not None:
        x = local_block(frame, x, batched[0])
        return mpi_permute_p.bind(x, perm=perm, dim=0, comm=frame.backend.state,
                                  axis=frame.axis_name), True
    if not batched[0]:
        x = broadcast_batch(x, frame.local_size)
    rows = [-1] * frame.axis_size
    for s, d in perm:
        rows[d] = s
    return take_rows(x, rows, 0), True


abstract_rules[ppermute_p] = lambda x, axes, perm: (x.shape, x.dtype)
vma_rules[ppermute_p] = lambda vmas, axes, perm: vmas[0] | frozenset(axes)
ad.deflinear(ppermute_p, lambda ct, x, axes, perm: [unvary_transpose(
    ppermute_p.bind(ct, axes=axes, perm=tuple((d, s) for s, d in perm)), x, axes)])
batching.batch_rules[ppermute_p] = lambda size, vals, batched, axes, perm: (
    ppermute_p.bind(vals[0], axes=axes, perm=perm), True)
def_owner(ppermute_p, _ppermute_owner)

# ---------------------------------------------------------------- MPI: Isend/Irecv
mpi_permute_p = Primitive("mpi_permute", effectful=True)


def _permute_impl(x, perm, dim, comm, axis):
    comm.check(f"ppermute over axis {axis!r}", [np.asarray(x)], f"dim={dim} perm={perm}")
    x = front(x, dim)
    src = wire.as_bytes(x)                     # bit-exact for every dtype
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
    for r in requests:
        comm.wait(r)
    return np.moveaxis(wire.from_bytes(out, x.dtype, x.shape), 0, dim)


impl_rules[mpi_permute_p] = _permute_impl
abstract_rules[mpi_permute_p] = lambda x, perm, dim, comm, axis: (x.shape, x.dtype)
ad.deflinear(mpi_permute_p, lambda ct, x, perm, dim, comm, axis: [mpi_permute_p.bind(
    ct, perm=tuple((d, s) for s, d in perm), dim=dim, comm=comm, axis=axis)])
def_shifted_batching(mpi_permute_p)
