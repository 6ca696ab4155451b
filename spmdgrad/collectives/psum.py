"""psum and pmean; their MPI lowering is one fused ``Allreduce`` per dtype.

- ``psum_p(*xs, axes)`` (declared in core, because the backward pass emits it):
  varying -> invariant over ``axes``; an invariant operand gives ``size * x``.
  Its transpose broadcasts back to every instance, with no communication.
- ``allreduce_p(*xs, op, comm, axis)``: the cross-rank step of psum (and of
  pmax/pmin, pdot and pbroadcast's transpose), bound on the trace below the pmap
  frame. One primitive for a whole list of values: each dtype's values are packed
  into one contiguous buffer and reduced by one buffer ``Allreduce``.
"""
from __future__ import annotations

import math
import sys

import numpy as np

from .. import ad, batching, core
from ..core import Primitive, abstract_rules, get_aval, impl_rules, vma_rules
from ..mpi import consistency, watchdog, wire
from ..primitives.elementwise import convert_element_type, div, eq, mul
from ..primitives.named_axes import as_array, axes_tuple, axis_sizes, def_owner, scale, sum_dtype, unvary_transpose
from ..primitives.structural import reduce_sum, reshape
from ..tree_util import tree_flatten, tree_map, tree_unflatten

psum_p = core.psum_p


def psum(x, axis_name):
    """Sum ``x`` (an array or pytree) over the named axis or axes.

    A varying value becomes invariant; an invariant value ``x`` gives
    ``size * x``. The result dtype follows ``numpy.sum`` (bool and narrow integers
    widen to 64 bits), whatever the axis size or backend.

    >>> import spmdgrad, spmdgrad.numpy as jnp
    >>> spmdgrad.vmap(lambda v: psum(v, 'i'), axis_name='i')(jnp.arange(3.0))
    array([3., 3., 3.])
    """
    axes = axes_tuple(axis_name, "psum")
    leaves, tree = tree_flatten(x)
    if not leaves:
        return x
    leaves = [_widen(as_array(v, "psum")) for v in leaves]
    return tree_unflatten(tree, psum_p.bind(*leaves, axes=axes))


def _widen(x):
    dt = get_aval(x).dtype
    target = sum_dtype(dt)
    return x if target == dt else convert_element_type(x, target)


def pmean(x, axis_name):
    """Mean over the named axis or axes: ``psum(x) / size``. Integer and bool values
    average to float64, as ``numpy.mean``.

    >>> import spmdgrad, spmdgrad.numpy as jnp
    >>> spmdgrad.vmap(lambda v: pmean(v, 'i'), axis_name='i')(jnp.arange(4.0))
    array([1.5, 1.5, 1.5, 1.5])
    """
    axes = axes_tuple(axis_name, "pmean")
    n = axis_sizes(axes)

    def mean(s):
        dt = get_aval(s).dtype
        if dt.kind not in "fc":   # integers and bools average to a float, as np.mean
            s = convert_element_type(s, np.dtype(np.float64))
        return mul(s, np.asarray(1.0 / n, get_aval(s).dtype))
    return tree_map(mean, psum(x, axes))


abstract_rules[psum_p] = lambda *avals, axes: [(a.shape, a.dtype) for a in avals]
vma_rules[psum_p] = lambda vmas, axes: [v - frozenset(axes) for v in vmas]
batching.batch_rules[psum_p] = lambda size, vals, batched, axes: (
    psum_p.bind(*vals, axes=axes), list(batched))


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


def _local_sum(v, k):
    """Sum over the k local instances; with one instance, a free reshape (a view of a
    concrete array is taken directly: it is what the reshape primitive computes)."""
    if k == 1:
        if type(v) is np.ndarray:
            return v.reshape(v.shape[1:])
        return reshape(v, get_aval(v).shape[1:])
    return reduce_sum(v, (0,))


def _psum_owner(frame, vals, batched, axes):
    k = frame.local_size
    outs = [_local_sum(v, k) if b else scale(v, frame.axis_size)
            for v, b in zip(vals, batched, strict=True)]
    if frame.backend is not None:
        idx = [i for i, b in enumerate(batched) if b]
        if idx and k > 1:
            # The wire carries psum's declared result dtype (never narrower than the
            # local sum), so the ranks compute what vmap computes for the same program.
            # (With k == 1 the local sum is a reshape, which keeps the dtype.)
            declared = abstract_rules[psum_p](*[get_aval(vals[i]) for i in idx], axes=axes)
            for i, (_, dt) in zip(idx, declared, strict=True):
                wide = np.promote_types(get_aval(outs[i]).dtype, dt)
                if wide != get_aval(outs[i]).dtype:
                    outs[i] = convert_element_type(outs[i], wide)
        if idx:
            summed = frame.backend.allreduce([outs[i] for i in idx], "sum")
            for i, o in zip(idx, summed, strict=True):
                outs[i] = o
    rest = tuple(a for a in axes if a != frame.axis_name)
    if rest:
        outs = psum_p.bind(*outs, axes=rest)
    return outs, [False] * len(outs)


def_owner(psum_p, _psum_owner)

# ---------------------------------------------------------------- MPI: Allreduce
allreduce_p = Primitive("allreduce", multiple_results=True, effectful=True)
_OPS = ("sum", "max", "min")


def allreduce(xs, op, comm, axis):
    """Reduce each value of ``xs`` elementwise across the ranks of ``comm`` (a CommState)."""
    if op not in _OPS:
        raise ValueError(f"allreduce: op must be one of {_OPS}, got {op!r}")
    return allreduce_p.bind(*xs, op=op, comm=comm, axis=axis) if xs else []


def _allreduce_impl(*xs, op, comm, axis, bufs=None, placed=(), groups=None):
    MPI = comm.mpi
    state = comm.state
    if bufs is None:
        xs = [x if type(x) is np.ndarray else np.asarray(x) for x in xs]
        what, groups = _plan(op, axis, xs)
        if isinstance(groups, Exception):
            comm.check(what, xs)
            raise groups
        # The check's exchange runs while this rank packs; its verdict comes before the data.
        consistency.start(state, what, xs, "", comm.site)
    # (else jit's buffers and plan: _Packing.alloc started the check)
    outs = [None] * len(xs)
    for g, (dtype, idx, wire_dtype, wire_op, total, spans) in enumerate(groups):
        if bufs is None:
            buf = _pack_buffer(wire_dtype, total)  # pack: one copy of each value into one buffer
            np.concatenate([xs[i].reshape(-1) for i in idx], out=buf, casting="unsafe")
        else:   # jit's buffers: the values it produced in place (placed) are not copied
            buf = bufs[g]
            for i, (a, b, shape) in zip(idx, spans):
                if i not in placed:
                    np.copyto(buf[a:b].reshape(shape), xs[i], casting="unsafe")
        consistency.finish(state)
        watchdog.wait(state, comm.comm.Iallreduce(MPI.IN_PLACE, buf, wire.mpi_op(MPI, wire_op)))
        if wire_dtype != dtype:
            buf = buf.astype(dtype)
        for i, (a, b, shape) in zip(idx, spans):   # unpack: views of the reduced buffer
            # (a value produced in place already is that view)
            outs[i] = xs[i] if i in placed else buf[a:b].reshape(shape)
    return outs


# Per signature (op, axis, shapes and dtypes): the check's text, the per-dtype grouping
# and each value's span in its group's buffer, computed once rather than on every call.
_plans = {}


def _plan(op, axis, xs):
    """``(check text, groups)`` for values with these shapes and dtypes (arrays or
    :class:`_Shape`), from the cache."""
    key = (op, axis, tuple([(x.shape, x.dtype) for x in xs]))
    plan = _plans.get(key)
    return plan if plan is not None else _make_plan(op, axis, xs, key)


def _make_plan(op, axis, xs, key):
    by_dtype = {}
    for i, x in enumerate(xs):
        by_dtype.setdefault(x.dtype, []).append(i)
    groups = []
    for dtype, idx in by_dtype.items():
        if op != "sum" and np.issubdtype(dtype, np.complexfloating):
            # raised after the consistency check, so that every rank reaches the check
            return (f"allreduce[{op}] over axis {axis!r}",
                    TypeError(f"p{op} (allreduce {op}): complex values ({dtype}) have no order"))
        wire_dtype, wire_op = wire.reduce_wire(dtype, op)  # e.g. half as float32, bool as uint8
        spans, off = [], 0
        for i in idx:
            spans.append((off, off + xs[i].size, xs[i].shape))
            off += xs[i].size
        groups.append((dtype, idx, wire_dtype, wire_op, off, spans))
    if len(_plans) > 4096:
        _plans.clear()
    plan = _plans[key] = (f"allreduce[{op}] over axis {axis!r}", groups)
    return plan


# Reusable pack buffers. A fresh multi-MB buffer costs page faults comparable to the
# Allreduce itself, so a buffer is reused once nothing outside the pool refers to it:
# results are views of it, and keep it busy for as long as the caller holds them. A
# loop that rebinds its results (``g = step(...)``) still holds the previous call's
# while the next one runs, so the pool keeps two generations of every reduction's
# buffers (each gradient bucket has its own), up to _POOL_SIZE per dtype; the
# smallest idle buffer that is large enough is taken.
_POOL_SIZE = 16
_pools = {}


def _pack_buffer(dtype, n):
    pool = _pools.setdefault(np.dtype(dtype), [])
    best = None
    for i in range(len(pool)):
        # References: the pool's list slot and getrefcount's own argument.
        if pool[i].size >= n and sys.getrefcount(pool[i]) == 2 and (
                best is None or pool[i].size < pool[best].size):
            best = i
    if best is not None:
        return pool[best][:n]
    buf = np.empty(n, dtype)
    if len(pool) < _POOL_SIZE:
        pool.append(buf)
    else:  # replace the smallest idle buffer if there is one, else leave this one unpooled
        idle = [i for i in range(len(pool)) if sys.getrefcount(pool[i]) == 2]
        if idle:
            pool[min(idle, key=lambda i: pool[i].size)] = buf
    return buf


impl_rules[allreduce_p] = _allreduce_impl


class _Packing:
    """jit's handle on one allreduce signature: its pack buffers can be taken before the
    operands are computed, so that their producers write straight into them (the
    compiled program then skips the packing copy; ``core.pack_rules``)."""
    __slots__ = ("params", "what", "shaped", "groups", "spans")

    def __init__(self, avals, params):
        self.params = params
        self.shaped = [_Shape(a.shape, a.dtype) for a in avals]
        self.what, self.groups = _plan(params["op"], params["axis"], self.shaped)
        self.spans = [None] * len(avals)
        for g, (dtype, idx, wire_dtype, _, _, spans) in enumerate(self.groups):
            if wire_dtype == dtype:
                for i, (a, b, _) in zip(idx, spans):
                    self.spans[i] = (g, a, b)

    def alloc(self):
        # The consistency check starts here, before the operands are computed, so its
        # exchange overlaps that work (the same record as the allreduce's own check).
        comm = self.params["comm"]
        consistency.start(comm.state, self.what, self.shaped, "", comm.site)
        return [_pack_buffer(wire_dtype, total) for _, _, wire_dtype, _, total, _ in self.groups]

    def run(self, bufs, placed, *xs):
        return impl_rules[allreduce_p](*xs, bufs=bufs, placed=placed, groups=self.groups,
                                       **self.params)  # through the table


class _Shape:
    """What :func:`_plan` reads of a value: its shape, size and dtype."""
    __slots__ = ("shape", "dtype", "size")

    def __init__(self, shape, dtype):
        self.shape, self.dtype, self.size = shape, dtype, math.prod(shape)


def _packing(avals, op, comm, axis):
    if not avals:
        return None
    p = _Packing(avals, {"op": op, "comm": comm, "axis": axis})
    return None if isinstance(p.groups, Exception) else p


core.pack_rules[allreduce_p] = _packing
abstract_rules[allreduce_p] = lambda *avals, op, comm, axis: [(a.shape, a.dtype) for a in avals]


def _allreduce_jvp(primals, tangents, op, comm, axis):
    outs = allreduce_p.bind(*primals, op=op, comm=comm, axis=axis)
    nz = [i for i, t in enumerate(tangents) if t is not None]
    t_out = [None] * len(primals)
    if not nz:
        return outs, t_out
    if op == "sum":
        ts = [tangents[i] for i in nz]
    else:
        # The derivative flows to the ranks holding the extremum; ties share it evenly.
        masks = [convert_element_type(eq(primals[i], outs[i]), get_aval(primals[i]).dtype)
                 for i in nz]
        counts = allreduce_p.bind(*masks, op="sum", comm=comm, axis=axis)
        ts = [mul(tangents[i], div(m, c)) for i, m, c in zip(nz, masks, counts, strict=True)]
    for i, t in zip(nz, allreduce_p.bind(*ts, op="sum", comm=comm, axis=axis), strict=True):
        t_out[i] = t
    return outs, t_out


def _allreduce_transpose(cts, *xs, op, comm, axis):
    if op != "sum":
        raise NotImplementedError(f"allreduce[{op}] is not linear and has no transpose")
    # The output is replicated on every rank, so each rank's operand receives the
    # (replicated) cotangent unchanged: the transpose is a broadcast, no communication.
    return list(cts)


ad.jvp_rules[allreduce_p] = _allreduce_jvp
ad.transpose_rules[allreduce_p] = _allreduce_transpose
batching.batch_rules[allreduce_p] = lambda size, vals, batched, op, comm, axis: (
    allreduce_p.bind(*vals, op=op, comm=comm, axis=axis), list(batched))
