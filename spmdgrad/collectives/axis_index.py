"""axis_index and axis_size: where an instance sits along a named axis.

``axis_index_p(axes)``: no operands; varies over its one axis. Under pmap the
index is global: the rank's offset ``rank * local_size`` is added locally, with
no communication.
"""
from __future__ import annotations

import numpy as np

from ..core import Primitive, abstract_rules, find_axis, vma_rules
from ..primitives.elementwise import add, mul
from ..primitives.named_axes import axes_tuple, def_owner

axis_index_p = Primitive("axis_index")


def axis_index(axis_name):
    """This instance's index along the named axis (global under pmap). For a tuple of
    names, the row-major index over their product (the first name is the major one).

    >>> import spmdgrad, spmdgrad.numpy as jnp
    >>> spmdgrad.vmap(lambda v: axis_index('i'), axis_name='i')(jnp.zeros(3))
    array([0, 1, 2])
    """
    idx = None
    for a in axes_tuple(axis_name, "axis_index"):
        i = axis_index_p.bind(axes=(a,))
        idx = i if idx is None else add(mul(idx, np.asarray(find_axis(a).axis_size)), i)
    return idx


def axis_size(axis_name):
    """The size of the named axis (global under pmap).

    >>> import spmdgrad, spmdgrad.numpy as jnp
    >>> spmdgrad.vmap(lambda v: v * axis_size('i'), axis_name='i')(jnp.ones(3))
    array([3., 3., 3.])
    """
    return find_axis(axis_name, "axis_size").axis_size


abstract_rules[axis_index_p] = lambda axes: ((), np.dtype(np.int64))
vma_rules[axis_index_p] = lambda vmas, axes: frozenset(axes)


def _axis_index_owner(frame, vals, batched, axes):
    k = frame.local_size
    offset = 0 if frame.backend is None else frame.backend.rank * k
    return np.arange(offset, offset + k, dtype=np.int64), True


def_owner(axis_index_p, _axis_index_owner)
