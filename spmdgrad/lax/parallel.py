"""Named-axis reductions: psum, pmean, pmax, pmin, pdot, axis_index, axis_size.

The gathers and scatters live in :mod:`spmdgrad.lax.gather` and the
permutation in :mod:`spmdgrad.lax.permute`. Every collective has, beside its
primitive:

- a shape rule and a **vma rule**: how it changes the set of named axes a value
  varies over (psum/pmean/pmax/pmin/all_gather: varying -> invariant;
  psum_scatter/ppermute/all_to_all: varying -> varying; axis_index: -> varying);
- a JVP and a transpose (psum transposes to a broadcast: no communication);
- a batching rule (``batching.batch_rules``) for maps over *other* axes;
- an **owner rule** (``batching.collective_rules``), run by the map that binds
  the axis, as ``rule(frame, vals, batched, **params) -> (out, out_batched)``.
  It is vectorized over the leading batch axis (never a loop over instances).

An operand that does not vary over a collective's axis is implicitly broadcast
to every instance first (a *pbroadcast*). When a collective's transpose returns
an invariant cotangent for such an operand and the axis is reduced
(``reduce_axes`` or the map boundary), the N identical per-instance cotangents
sum to ``N * ct``: every collective transpose ends with
:func:`unvary_transpose`, which does that without communication.

MPI hook. Under pmap over MPI ranks ``frame.backend`` is not None; each rank
then holds ``frame.local_size`` local instances of a global axis of size
``frame.axis_size`` (global index = rank * local_size + local index).

- psum, pmean, pdot, pmax, pmin: the owner rule reduces the local instances
  over axis 0 first, then calls ``frame.backend.allreduce([values], op)`` with
  op ``"sum"``, ``"max"`` or ``"min"`` (it returns a list).
- all_gather, psum_scatter, ppermute, all_to_all: the owner rule delegates
  entirely, ``return frame.backend.collective(prim, frame, vals, batched,
  **params)``, with the owner rule's signature and return convention. Their
  primitives are *untiled* and bind one axis each (``axes=(name,)``); tiling
  and tuples of names are reshapes and repeated binds in the public functions.
  See each primitive's comment in gather.py and permute.py for its params.
- axis_index adds the rank offset ``rank * local_size`` locally.
"""
from __future__ import annotations

import numpy as np

from .. import ad, batching, core
from ..core import Primitive, abstract_rules, impl_rules, find_axis, get_aval, vma_of, vma_rules
from ..primitives.contraction import einsum2, einsum2_p, parse
from ..primitives.elementwise import add, convert_element_type, div, eq, mul
from ..primitives.reductions import reduce_max, reduce_min, reduce_sum
from ..tree_util import tree_flatten, tree_map, tree_unflatten


# ---------------------------------------------------------------- shared helpers

def axes_tuple(axis_name, op):
    """``axis_name`` (a name or a tuple/list of names) as a tuple of bound names."""
    axes = tuple(axis_name) if isinstance(axis_name, tuple | list) else (axis_name,)
    if not axes:
        raise ValueError(f"{op}: axis_name must name at least one axis, got {axis_name!r}")
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: axis_name {axis_name!r} repeats an axis")
    for a in axes:
        find_axis(a, op)
    return axes


def single_axis(axis_name, op):
    """One bound axis name; a 1-tuple is accepted. Returns ``(name, size)``."""
    axes = axes_tuple(axis_name, op)
    if len(axes) != 1:
        raise NotImplementedError(
            f"{op} over several axes at once ({axis_name!r}) is not supported; apply it "
            "once per axis")
    return axes[0], find_axis(axes[0], op).axis_size


def axis_sizes(axes):
    return int(np.prod([find_axis(a).axis_size for a in axes], dtype=np.int64))


def _remove_axes(vmas, axes):
    return [v - frozenset(axes) for v in vmas]


def scale(x, n):
    """``x * n`` in ``x``'s dtype (0-d constant: no materialised broadcast)."""
    return mul(x, np.asarray(n, get_aval(x).dtype))


def unvary_transpose(ct, operand, axes):
    """The transpose of the implicit pbroadcast of ``operand`` over ``axes``.

    ``operand`` is an UndefinedPrimal. Over an axis it is invariant over and that
    the backward pass reduces, an invariant ``ct`` stands for N identical
    per-instance cotangents whose total is ``N * ct``. A varying ``ct`` is left
    to the backward pass's reduce rule (one fused psum per variable)."""
    if ct is None:
        return None
    n = 1
    for a in axes:
        if a in operand.psum_axes and a not in operand.aval.vma and a not in vma_of(ct):
            n *= find_axis(a).axis_size
    return ct if n == 1 else scale(ct, n)


def check_real(x, op):
    if np.issubdtype(get_aval(x).dtype, np.complexfloating):
        raise TypeError(f"{op}: complex values have no order; got {get_aval(x).str_short()}. "
                        f"Apply {op} to the real part, or to abs(x).")


# ---------------------------------------------------------------- psum
psum_p = core.psum_p


def psum(x, axis_name):
    """Sum ``x`` (an array or pytree) over the named axis or axes.

    A varying value becomes invariant; an invariant value ``x`` gives
    ``size * x``.

    >>> import spmdgrad, spmdgrad.numpy as jnp
    >>> spmdgrad.vmap(lambda v: psum(v, 'i'), axis_name='i')(jnp.arange(3.0))
    array([3., 3., 3.])
    """
    axes = axes_tuple(axis_name, "psum")
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
        for i, t in zip(nz, psum_p.bind(*[tangents[i] for i in nz], axes=axes), strict=True):
            t_out[i] = t
    return outs, t_out


def _psum_transpose(cts, *args, axes):
    # A broadcast back to every instance: no communication. An operand that was
    # invariant over an axis was broadcast first; its N copies add up.
    return [unvary_transpose(ct, x, axes) for ct, x in zip(cts, args, strict=True)]


ad.jvp_rules[psum_p] = _psum_jvp
ad.transpose_rules[psum_p] = _psum_transpose
batching.batch_rules[psum_p] = lambda size, vals, batched, axes: (
    psum_p.bind(*vals, axes=axes), list(batched))


def _local_sum(v, k):
    """Sum over the k local instances; with one instance, a free reshape."""
    if k == 1:
        from ..primitives.structural import reshape
        return reshape(v, get_aval(v).shape[1:])
    return reduce_sum(v, (0,))


def _psum_owner(frame, vals, batched, axes):
    k = frame.local_size
    outs = [_local_sum(v, k) if b else scale(v, frame.axis_size)
            for v, b in zip(vals, batched, strict=True)]
    if frame.backend is not None:
        idx = [i for i, b in enumerate(batched) if b]
        if idx:
            summed = frame.backend.allreduce([outs[i] for i in idx], "sum")
            for i, o in zip(idx, summed, strict=True):
                outs[i] = o
    rest = tuple(a for a in axes if a != frame.axis_name)
    if rest:
        outs = psum_p.bind(*outs, axes=rest)
    return outs, [False] * len(outs)


batching.collective_rules[psum_p] = _psum_owner
ad.collective_prims.add(psum_p)


def pmean(x, axis_name):
    """Mean over the named axis or axes: ``psum(x) / size``.

    >>> import spmdgrad, spmdgrad.numpy as jnp
    >>> spmdgrad.vmap(lambda v: pmean(v, 'i'), axis_name='i')(jnp.arange(4.0))
    array([1.5, 1.5, 1.5, 1.5])
    """
    axes = axes_tuple(axis_name, "pmean")
    n = axis_sizes(axes)
    return tree_map(lambda s: mul(s, np.asarray(1.0 / n, get_aval(s).dtype)), psum(x, axes))


# ---------------------------------------------------------------- pmax, pmin
#
# pmax_p / pmin_p: one operand, param ``axes`` (tuple of names). Varying ->
# invariant. The public functions drop the axes the operand does not vary over:
# the maximum of N identical copies is the value itself (derivative 1).
# Derivative: it flows to the instance(s) holding the extremum; ties share it
# evenly (each of k tied instances gets 1/k).

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

    batching.batch_rules[prim] = lambda size, vals, batched, axes: (
        prim.bind(vals[0], axes=axes), batched[0])

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
    batching.collective_rules[prim] = owner
    ad.collective_prims.add(prim)
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


# ---------------------------------------------------------------- pdot = psum(einsum2)
pdot_p = Primitive("pdot")


def pdot(x, y, spec, axis_name):
    """``psum(einsum2(x, y, spec), axis_name)`` without materialising the per-instance
    products: under a map the mapped axis is contracted directly."""
    return pdot_p.bind(x, y, spec=spec, axes=axes_tuple(axis_name, "pdot"))


abstract_rules[pdot_p] = lambda x, y, spec, axes: abstract_rules[einsum2_p](x, y, spec=spec)
vma_rules[pdot_p] = lambda vmas, spec, axes: frozenset().union(*vmas) - frozenset(axes)


def _pdot_lhs_t(ct, x, y, spec, axes):
    a, b, out = parse(spec)
    return unvary_transpose(einsum2(ct, y, f"{out},{b}->{a}"), x, axes)


def _pdot_rhs_t(ct, x, y, spec, axes):
    a, b, out = parse(spec)
    return unvary_transpose(einsum2(ct, x, f"{out},{a}->{b}"), y, axes)


ad.defbilinear(pdot_p, _pdot_lhs_t, _pdot_rhs_t)


def _fresh_letter(spec):
    return next(c for c in "ZYXWVUTSRQPONMLKJIHGFEDCBA" if c not in spec)


def _pdot_batch_rule(size, vals, batched, spec, axes):
    a, b, out = parse(spec)
    z = _fresh_letter(spec)
    sa = z + a if batched[0] else a
    sb = z + b if batched[1] else b
    return pdot_p.bind(*vals, spec=f"{sa},{sb}->{z}{out}", axes=axes), True


batching.batch_rules[pdot_p] = _pdot_batch_rule


def _pdot_owner(frame, vals, batched, spec, axes):
    a, b, out = parse(spec)
    x, y = vals
    rest = tuple(n for n in axes if n != frame.axis_name)
    if not any(batched):
        res = scale(einsum2(x, y, spec), frame.axis_size)
    else:
        z = _fresh_letter(spec)
        s = f"{z + a if batched[0] else a},{z + b if batched[1] else b}->{out}"
        res = einsum2(x, y, s)
        if frame.backend is not None:
            res, = frame.backend.allreduce([res], "sum")
    if rest:
        res, = psum_p.bind(res, axes=rest)
    return res, False


batching.collective_rules[pdot_p] = _pdot_owner
ad.collective_prims.add(pdot_p)

# ---------------------------------------------------------------- axis_index, axis_size
axis_index_p = Primitive("axis_index")
abstract_rules[axis_index_p] = lambda axes: ((), np.dtype(np.int64))
vma_rules[axis_index_p] = lambda vmas, axes: frozenset(axes)


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


def _axis_index_owner(frame, vals, batched, axes):
    k = frame.local_size
    offset = 0 if frame.backend is None else frame.backend.rank * k
    return np.arange(offset, offset + k, dtype=np.int64), True


batching.collective_rules[axis_index_p] = _axis_index_owner
ad.collective_prims.add(axis_index_p)


def axis_size(axis_name):
    """The size of the named axis (global under pmap).

    >>> import spmdgrad, spmdgrad.numpy as jnp
    >>> spmdgrad.vmap(lambda v: v * axis_size('i'), axis_name='i')(jnp.ones(3))
    array([3., 3., 3.])
    """
    return find_axis(axis_name, "axis_size").axis_size


# ---------------------------------------------------------------- pbroadcast
pbroadcast_p = core.pbroadcast_p


def pbroadcast(x, axis_name):
    """Mark ``x`` as varying over the named axes (identity on values).

    It is the explicit form of the implicit broadcast that happens when an invariant
    value meets a varying one. Its transpose is the reduce_axes rule's psum: the
    backward pass sums its cotangent over the axes that are reduced, and leaves it
    per-example over the others.
    """
    return pbroadcast_p.bind(x, axes=axes_tuple(axis_name, "pbroadcast"))


impl_rules[pbroadcast_p] = lambda x, axes: x
abstract_rules[pbroadcast_p] = lambda x, axes: (x.shape, x.dtype)
vma_rules[pbroadcast_p] = lambda vmas, axes: vmas[0] | frozenset(axes)
# The value is the same in every instance, so under a map it stays unbatched.
batching.batch_rules[pbroadcast_p] = lambda size, vals, batched, axes: (
    pbroadcast_p.bind(vals[0], axes=axes), batched[0])
ad.deflinear(pbroadcast_p, lambda ct, x, axes: [ct])
