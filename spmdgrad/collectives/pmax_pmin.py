"""pmax and pmin: elementwise extrema over named axes.

``pmax_p`` / ``pmin_p``: one operand, param ``axes`` (tuple of names). Varying ->
invariant. The public functions drop the axes the operand does not vary over:
the maximum of N identical copies is the value itself (derivative 1). The
derivative flows to the instance(s) holding the extremum; ties share it evenly
(each of k tied instances gets 1/k). Over MPI the cross-rank step is psum's
``allreduce_p`` with op ``"max"`` or ``"min"``.
"""
from __future__ import annotations

from .. import ad, batching
from ..core import Primitive, abstract_rules, get_aval, vma_of, vma_rules
from ..primitives.elementwise import convert_element_type, div, eq, mul
from ..primitives.reductions import reduce_max, reduce_min
from ..tree_util import tree_map
from ._common import axes_tuple, check_real, def_owner
from .psum import psum_p


def _extremum(name, local_reduce, mpi_op):
    prim = Primitive(name)

    def public(x, axis_name):
        axes = axes_tuple(axis_name, name)

        def leaf(v):
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
                v, = frame.backend.allreduce([v], mpi_op)
        rest = tuple(a for a in axes if a != frame.axis_name)
        if rest:
            v = prim.bind(v, axes=rest)
        return v, False
    def_owner(prim, owner)
    return prim, public


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
