"""all_to_all: instance i receives block i of every instance's value.

- ``all_to_all_p(x, axes, split_axis, concat_axis, axis_size)``: untiled, one
  axis. Varying -> varying; ``x.shape[split_axis] == axis_size``; instance i gets
  ``stack_j(x_j[..., i, ...])`` with ``j`` at ``concat_axis`` of the output. Its
  transpose is all_to_all with the two axes swapped.
- MPI: ``mpi_alltoall_p(x, dim, comm, axis)``: ``x`` has ``nranks`` entries along
  ``dim``; entry s goes to rank s, and entry t of the result came from rank t, by
  one ``Alltoall``. It is its own transpose.
"""
from __future__ import annotations

import numpy as np

from .. import ad, batching
from ..core import Primitive, abstract_rules, get_aval, impl_rules, vma_rules
from ..mpi import wire
from ..primitives.named_axes import as_array, def_owner, no_groups, single_axis, unvary_transpose
from ..primitives.structural import bdim_to_front, broadcast_batch, normalize_axis, reshape, transpose
from ..tree_util import tree_map
from ._lowering import def_shifted_batching, front
from .pbroadcast import local_block

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
    no_groups(axis_index_groups, "all_to_all")
    name, n = single_axis(axis_name, "all_to_all")

    def leaf(v):
        v = as_array(v, "all_to_all")
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


abstract_rules[all_to_all_p] = _all_to_all_abstract
vma_rules[all_to_all_p] = lambda vmas, axes, **_: vmas[0] | frozenset(axes)
batching.batch_rules[all_to_all_p] = lambda size, vals, batched, axes, split_axis, concat_axis, \
    axis_size: (all_to_all_p.bind(vals[0], axes=axes, split_axis=split_axis + 1,
                                  concat_axis=concat_axis + 1, axis_size=axis_size), True)


def _all_to_all_transpose(ct, x, axes, split_axis, concat_axis, axis_size):
    return [unvary_transpose(all_to_all_p.bind(ct, axes=axes, split_axis=concat_axis,
                                               concat_axis=split_axis, axis_size=axis_size),
                             x, axes)]


ad.deflinear(all_to_all_p, _all_to_all_transpose)


def _all_to_all_owner(frame, vals, batched, axes, split_axis, concat_axis, axis_size):
    x, = vals
    if frame.backend is not None:
        return _mpi_all_to_all(frame, x, batched[0], split_axis, concat_axis), True
    if not batched[0]:
        x = broadcast_batch(x, frame.local_size)
    # x[j, ..., i (at split_axis + 1), ...] -> out[i, ..., j (at concat_axis + 1), ...]
    nd = get_aval(x).ndim - 1
    others = [k + 1 for k in range(nd) if k != split_axis]
    perm = [split_axis + 1] + others[:concat_axis] + [0] + others[concat_axis:]
    return transpose(x, tuple(perm)), True


def_owner(all_to_all_p, _all_to_all_owner)

# ---------------------------------------------------------------- MPI: Alltoall
mpi_alltoall_p = Primitive("mpi_alltoall", effectful=True)


def _mpi_all_to_all(frame, x, batched, split_axis, concat_axis):
    b = frame.backend
    n, k = b.nranks, b.local_size
    x = local_block(frame, x, batched)                     # (k_j, ..., N at split+1, ...)
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
    return transpose(x, tuple(perm))


def _alltoall_impl(x, dim, comm, axis):
    comm.check(f"all_to_all over axis {axis!r}", [np.asarray(x)], f"dim={dim}")
    src = front(x, dim)
    raw = wire.as_bytes(src)                   # bit-exact for every dtype
    out = np.empty_like(raw)
    comm.wait(comm.comm.Ialltoall(raw, out))
    return np.moveaxis(wire.from_bytes(out, src.dtype, src.shape), 0, dim)


def _alltoall_abstract(x, dim, comm, axis):
    if x.shape[dim] != comm.nranks:
        raise ValueError(f"all_to_all over MPI: dimension {dim} of {x.shape} must equal the "
                         f"number of ranks {comm.nranks}")
    return x.shape, x.dtype


impl_rules[mpi_alltoall_p] = _alltoall_impl
abstract_rules[mpi_alltoall_p] = _alltoall_abstract
ad.deflinear(mpi_alltoall_p, lambda ct, x, dim, comm, axis: [
    mpi_alltoall_p.bind(ct, dim=dim, comm=comm, axis=axis)])
def_shifted_batching(mpi_alltoall_p)
