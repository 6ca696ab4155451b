"""Named-axis collectives: psum, pdot, axis_index, axis_size.

Each collective has an impl-free primitive (it only means something inside a
map), a vma rule (how it changes the set of axes a value varies over), a JVP, a
transpose, a batching rule for maps over *other* axes, and a collective rule for
the map that owns the axis. The owner rule does the local work over the batch
axis and, under pmap over MPI, hands the cross-rank step to ``frame.backend``.
"""
from __future__ import annotations

import numpy as np

from .. import ad, batching
from ..core import Primitive, abstract_rules, find_axis, get_aval, vma_rules
from ..primitives.contraction import einsum2, einsum2_p, parse
from ..primitives.elementwise import mul
from ..primitives.reductions import reduce_sum


def _axes_tuple(axis_name, op):
    axes = axis_name if isinstance(axis_name, tuple | list) else (axis_name,)
    if not axes:
        raise ValueError(f"{op}: axis_name must name at least one axis")
    for a in axes:
        find_axis(a, op)
    return tuple(axes)


def _remove_axes(vmas, axes):
    return [v - frozenset(axes) for v in vmas]


def _scale(x, n):
    a = get_aval(x)
    return mul(x, np.asarray(n, a.dtype))


# ---------------------------------------------------------------- psum
psum_p = Primitive("psum", multiple_results=True)


def psum(x, axis_name):
    """Sum ``x`` (an array or pytree) over the named axis or axes.

    A varying value becomes invariant; an invariant value ``x`` gives
    ``size * x``.

    >>> import spmdgrad, spmdgrad.numpy as jnp
    >>> spmdgrad.vmap(lambda v: psum(v, 'i'), axis_name='i')(jnp.arange(3.0))
    array([3., 3., 3.])
    """
    from ..tree_util import tree_flatten, tree_unflatten
    axes = _axes_tuple(axis_name, "psum")
    leaves, tree = tree_flatten(x)
    if not leaves:
        return x
    return tree_unflatten(tree, psum_p.bind(*leaves, axes=axes))


abstract_rules[psum_p] = lambda *avals, axes: [(a.shape, a.dtype) for a in avals]
vma_rules[psum_p] = lambda vmas, axes: _remove_axes(vmas, axes)


def _psum_jvp(primals, tangents, axes):
    outs = psum_p.bind(*primals, axes=axes)
    nz = [i for i, t in enumerate(tangents) if t is not None]
    t_out = [None] * len(primals)
    if nz:
        for i, t in zip(nz, psum_p.bind(*[tangents[i] for i in nz], axes=axes)):
            t_out[i] = t
    return outs, t_out


def _psum_transpose(cts, *args, axes):
    # The transpose of psum is a broadcast back to every instance: no communication.
    return list(cts)


ad.jvp_rules[psum_p] = _psum_jvp
ad.transpose_rules[psum_p] = _psum_transpose
batching.batch_rules[psum_p] = lambda size, vals, batched, axes: (
    psum_p.bind(*vals, axes=axes), list(batched))


def _psum_owner(frame, vals, batched, axes):
    outs = [reduce_sum(v, (0,)) if b else _scale(v, frame.axis_size)
            for v, b in zip(vals, batched)]
    if frame.backend is not None:
        idx = [i for i, b in enumerate(batched) if b]
        if idx:
            for i, o in zip(idx, frame.backend.allreduce([outs[i] for i in idx], "sum")):
                outs[i] = o
    rest = tuple(a for a in axes if a != frame.axis_name)
    if rest:
        outs = psum_p.bind(*outs, axes=rest)
    return outs, [False] * len(outs)


batching.collective_rules[psum_p] = _psum_owner


def pmean(x, axis_name):
    """Mean over the named axis or axes: ``psum(x) / axis_size``."""
    from ..tree_util import tree_map
    axes = _axes_tuple(axis_name, "pmean")
    n = int(np.prod([find_axis(a).axis_size for a in axes]))
    return tree_map(lambda s: mul(s, np.asarray(1.0 / n, get_aval(s).dtype)), psum(x, axes))


# ---------------------------------------------------------------- pdot = psum(einsum2)
pdot_p = Primitive("pdot")


def pdot(x, y, spec, axis_name):
    """``psum(einsum2(x, y, spec), axis_name)`` without materialising the per-instance
    products: under a map the mapped axis is contracted directly."""
    return pdot_p.bind(x, y, spec=spec, axes=_axes_tuple(axis_name, "pdot"))


abstract_rules[pdot_p] = lambda x, y, spec, axes: abstract_rules[einsum2_p](x, y, spec=spec)
vma_rules[pdot_p] = lambda vmas, spec, axes: frozenset().union(*vmas) - frozenset(axes)


def _pdot_lhs_t(ct, x, y, spec, axes):
    a, b, out = parse(spec)
    return einsum2(ct, y, f"{out},{b}->{a}")


def _pdot_rhs_t(ct, x, y, spec, axes):
    a, b, out = parse(spec)
    return einsum2(ct, x, f"{out},{a}->{b}")


ad.defbilinear(pdot_p, _pdot_lhs_t, _pdot_rhs_t)


def _pdot_batch_rule(size, vals, batched, spec, axes):
    a, b, out = parse(spec)
    z = next(c for c in "ZYXWVUTSRQPONMLKJIHGFEDCBA" if c not in spec)
    sa = z + a if batched[0] else a
    sb = z + b if batched[1] else b
    return pdot_p.bind(*vals, spec=f"{sa},{sb}->{z}{out}", axes=axes), True


batching.batch_rules[pdot_p] = _pdot_batch_rule


def _pdot_owner(frame, vals, batched, spec, axes):
    a, b, out = parse(spec)
    x, y = vals
    rest = tuple(n for n in axes if n != frame.axis_name)
    if not any(batched):
        res = _scale(einsum2(x, y, spec), frame.axis_size)
    else:
        z = next(c for c in "ZYXWVUTSRQPONMLKJIHGFEDCBA" if c not in spec)
        s = f"{z + a if batched[0] else a},{z + b if batched[1] else b}->{out}"
        res = einsum2(x, y, s)
        if frame.backend is not None:
            res, = frame.backend.allreduce([res], "sum")
    if rest:
        res, = psum_p.bind(res, axes=rest)
    return res, False


batching.collective_rules[pdot_p] = _pdot_owner

# ---------------------------------------------------------------- axis_index, axis_size
axis_index_p = Primitive("axis_index")
abstract_rules[axis_index_p] = lambda axes: ((), np.dtype(np.int64))
vma_rules[axis_index_p] = lambda vmas, axes: frozenset(axes)


def axis_index(axis_name):
    """This instance's index along the named axis (global under pmap)."""
    return axis_index_p.bind(axes=_axes_tuple(axis_name, "axis_index")[:1])


def _axis_index_owner(frame, vals, batched, axes):
    k = frame.local_size
    offset = 0 if frame.backend is None else frame.backend.rank * k
    return np.arange(offset, offset + k, dtype=np.int64), True


batching.collective_rules[axis_index_p] = _axis_index_owner


def axis_size(axis_name):
    """The size of the named axis (global under pmap)."""
    return find_axis(axis_name, "axis_size").axis_size

