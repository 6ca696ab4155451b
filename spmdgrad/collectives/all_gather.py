"""all_gather: every instance's value, stacked (or concatenated) along a dimension.

- ``all_gather_p(x, axes, axis, axis_size)``: *untiled*, one axis
  (``axes=(name,)``), ``axis_size`` global under pmap (so the shape rule needs no
  axis lookup). Varying -> invariant; the instances' values stacked along a new
  dimension at ``axis``. Tiling is a reshape in the public function, and a tuple
  of names is one bind per name, first name major. Transpose: each instance
  takes its own slice of the cotangent.
- MPI: ``mpi_allgather_p(x, dim, comm, axis)``: the ranks' blocks concatenated
  along ``dim`` by one ``Allgather``; the result is replicated. Its transpose is
  this rank's slice.
"""
from __future__ import annotations

import numpy as np

from .. import ad, batching
from ..core import Primitive, abstract_rules, find_axis, get_aval, impl_rules, vma_rules
from ..mpi import wire
from ..primitives.contraction import einsum2
from ..primitives.elementwise import convert_element_type, eq
from ..primitives.named_axes import as_array, axes_tuple, def_owner, no_groups, unvary_transpose
from ..primitives.structural import bdim_from_front, broadcast_batch, normalize_axis, reshape
from ..primitives.structural import slice as slice_
from ..tree_util import tree_map
from ._lowering import def_shifted_batching, front
from .axis_index import axis_index_p

_LETTERS = "abcdefghijklmnopqrstuvwxyz"

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
    no_groups(axis_index_groups, "all_gather")
    axes = axes_tuple(axis_name, "all_gather")

    def leaf(v):
        v = as_array(v, "all_gather")
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


abstract_rules[all_gather_p] = _all_gather_abstract
vma_rules[all_gather_p] = lambda vmas, axes, **_: vmas[0] - frozenset(axes)
batching.batch_rules[all_gather_p] = lambda size, vals, batched, axes, axis, axis_size: (
    all_gather_p.bind(vals[0], axes=axes, axis=axis + 1, axis_size=axis_size), True)


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


ad.deflinear(all_gather_p, _all_gather_transpose)


def _all_gather_owner(frame, vals, batched, axes, axis, axis_size):
    x, = vals
    if frame.backend is not None and batched[0]:
        x = mpi_allgather_p.bind(x, dim=0, comm=frame.backend.state, axis=frame.axis_name)
    elif not batched[0]:   # every instance holds the same value: no communication
        x = broadcast_batch(x, axis_size)
    return bdim_from_front(x, axis), False


def_owner(all_gather_p, _all_gather_owner)

# ---------------------------------------------------------------- MPI: Allgather
mpi_allgather_p = Primitive("mpi_allgather", effectful=True)


def _allgather_impl(x, dim, comm, axis):
    comm.check(f"all_gather over axis {axis!r}", [np.asarray(x)], f"dim={dim}")
    src = front(x, dim)
    raw = wire.as_bytes(src)                   # bit-exact for every dtype
    out = np.empty((comm.nranks * raw.shape[0],) + raw.shape[1:], np.uint8)
    comm.wait(comm.comm.Iallgather(raw, out))
    out = wire.from_bytes(out, src.dtype, (comm.nranks * src.shape[0],) + src.shape[1:])
    return np.moveaxis(out, 0, dim)


def _allgather_abstract(x, dim, comm, axis):
    return x.shape[:dim] + (comm.nranks * x.shape[dim],) + x.shape[dim + 1:], x.dtype


def _allgather_transpose(ct, x, dim, comm, axis):
    # The result is one value shared by all ranks; each rank's block gets its part.
    shape = x.aval.shape
    start = [0] * len(shape)
    start[dim] = comm.rank * shape[dim]
    limit = list(get_aval(ct).shape)
    limit[dim] = start[dim] + shape[dim]
    return [slice_(ct, tuple(start), tuple(limit))]


impl_rules[mpi_allgather_p] = _allgather_impl
abstract_rules[mpi_allgather_p] = _allgather_abstract
ad.deflinear(mpi_allgather_p, _allgather_transpose)
def_shifted_batching(mpi_allgather_p)
