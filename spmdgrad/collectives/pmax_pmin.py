"""pmax and pmin: elementwise extrema over named axes.

``pmax_p`` / ``pmin_p``: one operand, param ``axes`` (tuple of names). Varying ->
invariant. The public functions drop the axes the operand does not vary over:
the maximum of N identical copies is the value itself (derivative 1). The
derivative flows to the instance(s) holding the extremum; ties share it evenly
(each of k tied instances gets 1/k). Zeros follow IEEE 754-2019 (-0 < +0) and
NaN propagates, so the result does not depend on the order of the instances.

MPI: ``mpi_pextremum_p(x, op, comm, axis)`` gathers every rank's local result
(``Allgather`` of the raw bytes, so bool and bfloat16 travel as they are) and
reduces the stack with the same implementation vmap uses: every rank computes
bitwise the same value, equal to vmap's. It costs ``nranks`` times the operand's
memory, unlike an ``Allreduce``.
"""
from __future__ import annotations

import numpy as np

from .. import ad, batching
from ..core import Primitive, abstract_rules, get_aval, impl_rules, vma_of, vma_rules
from ..primitives.elementwise import convert_element_type, div, eq, mul
from ..primitives.named_axes import as_array, axes_tuple, check_real, def_owner
from ..primitives.reductions import reduce_max, reduce_max_p, reduce_min, reduce_min_p
from ..tree_util import tree_map
from .psum import allreduce_p, psum_p


def _extremum(name, local_reduce, op):
    prim = Primitive(name)

    def public(x, axis_name):
        axes = axes_tuple(axis_name, name)

        def leaf(v):
            v = as_array(v, name)
            check_real(v, name)
            varying = tuple(a for a in axes if a in vma_of(v))
            return prim.bind(v, axes=varying) if varying else v
        return tree_map(leaf, x)

    abstract_rules[prim] = lambda x, axes: (x.shape, x.dtype)
    vma_rules[prim] = lambda vmas, axes: vmas[0] - frozenset(axes)
    batching.batch_rules[prim] = lambda size, vals, batched, axes: (
        prim.bind(vals[0], axes=axes), batched[0])

    def jvp(primals, tangents, axes):
        x, = primals
        t, = tangents
        ans = prim.bind(x, axes=axes)
        dt = get_aval(x).dtype
        mask = convert_element_type(eq(x, ans), dt)
        count, = psum_p.bind(mask, axes=axes)
        picked, = psum_p.bind(mul(t, mask), axes=axes)
        return ans, div(picked, count)
    ad.jvp_rules[prim] = jvp

    def owner(frame, vals, batched, axes):
        v, = vals
        if batched[0]:
            v = local_reduce(v, (0,))
            if frame.backend is not None:
                v = mpi_pextremum_p.bind(v, op=op, comm=frame.backend.state, axis=frame.axis_name)
        rest = tuple(a for a in axes if a != frame.axis_name)
        if rest:
            v = prim.bind(v, axes=rest)
        return v, False
    def_owner(prim, owner)
    return prim, public


# ---------------------------------------------------------------- MPI: Allgather, reduce locally
mpi_pextremum_p = Primitive("mpi_pextremum", effectful=True)
_LOCAL = {"max": reduce_max_p, "min": reduce_min_p}


def _pextremum_impl(x, op, comm, axis):
    x = np.ascontiguousarray(x)
    comm.check(f"p{op} over axis {axis!r}", [x])
    raw = x.reshape(-1).view(np.uint8)
    out = np.empty((comm.nranks, raw.size), np.uint8)
    comm.wait(comm.comm.Iallgather(raw, out))
    stacked = out.view(x.dtype).reshape((comm.nranks,) + x.shape)
    return impl_rules[_LOCAL[op]](stacked, axes=(0,))


def _pextremum_jvp(primals, tangents, op, comm, axis):
    # The derivative flows to the ranks holding the extremum; ties share it evenly.
    x, = primals
    t, = tangents
    ans = mpi_pextremum_p.bind(x, op=op, comm=comm, axis=axis)
    mask = convert_element_type(eq(x, ans), get_aval(x).dtype)
    count, = allreduce_p.bind(mask, op="sum", comm=comm, axis=axis)   # primal work only
    picked, = allreduce_p.bind(mul(t, mask), op="sum", comm=comm, axis=axis)
    return ans, div(picked, count)


impl_rules[mpi_pextremum_p] = _pextremum_impl
abstract_rules[mpi_pextremum_p] = lambda x, op, comm, axis: (x.shape, x.dtype)
ad.jvp_rules[mpi_pextremum_p] = _pextremum_jvp
batching.batch_rules[mpi_pextremum_p] = lambda size, vals, batched, op, comm, axis: (
    mpi_pextremum_p.bind(vals[0], op=op, comm=comm, axis=axis), batched[0])


pmax_p, _pmax = _extremum("pmax", reduce_max, "max")
pmin_p, _pmin = _extremum("pmin", reduce_min, "min")


def pmax(x, axis_name):
    """Maximum of ``x`` (an array or pytree) over the named axis or axes, elementwise.

    The gradient flows to the instance holding the maximum; ties split it evenly.

    >>> import spmdgrad, spmdgrad.numpy as jnp
    >>> spmdgrad.vmap(lambda v: pmax(v, 'i'), axis_name='i')(jnp.array([1.0, 5.0, 2.0]))
    array([5., 5., 5.])
    """
    return _pmax(x, axis_name)


def pmin(x, axis_name):
    """Minimum of ``x`` (an array or pytree) over the named axis or axes, elementwise.

    The gradient flows to the instance holding the minimum; ties split it evenly.

    >>> import spmdgrad, spmdgrad.numpy as jnp
    >>> spmdgrad.vmap(lambda v: pmin(v, 'i'), axis_name='i')(jnp.array([1.0, 5.0, 2.0]))
    array([1., 1., 1.])
    """
    return _pmin(x, axis_name)
