"""The cross-rank reduction primitives: ``pvary`` and ``allreduce``.

``pvary`` is the implicit broadcast of a rank-replicated value to every rank's
shards: identity forward, a cross-rank sum when transposed. ``allreduce`` is the
cross-rank step of psum/pmax/pmin: one primitive for a whole list of values,
one ``Allreduce`` per dtype on a packed contiguous buffer.

Both are bound on the trace below the pmap frame, so linearize, transpose and
outer vmaps see them as ordinary primitives.
"""
from __future__ import annotations

import sys

import numpy as np

from .. import ad, batching
from ..core import Primitive, abstract_rules, get_aval, impl_rules
from ..primitives.elementwise import convert_element_type, div, eq, mul
from ._comm import _mpi, describe

_OPS = ("sum", "max", "min")


# ---------------------------------------------------------------- pvary
pvary_p = Primitive("pvary")


def pvary(x, comm, axis):
    """Mark a rank-replicated value as varying across ranks (identity forward)."""
    return pvary_p.bind(x, comm=comm, axis=axis)


impl_rules[pvary_p] = lambda x, comm, axis: x
abstract_rules[pvary_p] = lambda x, comm, axis: (x.shape, x.dtype)
ad.deflinear(pvary_p, lambda ct, x, comm, axis: [allreduce_p.bind(ct, op="sum", comm=comm,
                                                                  axis=axis)[0]])
batching.batch_rules[pvary_p] = lambda size, vals, batched, comm, axis: (
    pvary_p.bind(vals[0], comm=comm, axis=axis), batched[0])

# ---------------------------------------------------------------- allreduce
allreduce_p = Primitive("allreduce", multiple_results=True)


def allreduce(xs, op, comm, axis):
    """Reduce each value of ``xs`` elementwise across the ranks of ``comm``."""
    if op not in _OPS:
        raise ValueError(f"allreduce: op must be one of {_OPS}, got {op!r}")
    return allreduce_p.bind(*xs, op=op, comm=comm, axis=axis) if xs else []


def _mpi_op(op):
    MPI = _mpi()
    return {"sum": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}[op]


def _allreduce_impl(*xs, op, comm, axis):
    xs = [np.asarray(x) for x in xs]
    comm.check(f"allreduce[{op}] over axis {axis!r}", lambda: describe(xs))
    outs = [None] * len(xs)
    by_dtype = {}
    for i, x in enumerate(xs):
        by_dtype.setdefault(x.dtype, []).append(i)
    mpi_op = _mpi_op(op)
    for dtype, idx in by_dtype.items():
        wire = np.dtype(np.float32) if dtype == np.float16 else dtype  # MPI has no half
        if op != "sum" and np.issubdtype(dtype, np.complexfloating):
            raise TypeError(f"p{op} (allreduce {op}): complex values ({dtype}) have no order")
        total = sum(xs[i].size for i in idx)
        buf = _pack_buffer(wire, total)     # pack: one copy of each value into one buffer
        np.concatenate([xs[i].reshape(-1) for i in idx], out=buf)
        comm.comm.Allreduce(_mpi().IN_PLACE, buf, mpi_op)
        if wire != dtype:
            buf = buf.astype(dtype)
        off = 0
        for i in idx:                       # unpack: views of the reduced buffer
            n = xs[i].size
            outs[i] = buf[off:off + n].reshape(xs[i].shape)
            off += n
    return outs


# Reusable pack buffers. A fresh multi-MB buffer costs page faults comparable to the
# Allreduce itself, so a buffer is reused once nothing outside the pool refers to it:
# results are views of it, and keep it busy for as long as the caller holds them.
_POOL_SIZE = 2
_pools = {}


def _pack_buffer(dtype, n):
    pool = _pools.setdefault(np.dtype(dtype), [])
    for i in range(len(pool)):
        # References: the pool's list slot and getrefcount's own argument.
        if pool[i].size >= n and sys.getrefcount(pool[i]) == 2:
            return pool[i][:n]
    buf = np.empty(n, dtype)
    if len(pool) < _POOL_SIZE:
        pool.append(buf)
    else:  # replace an idle buffer if there is one, else leave this one unpooled
        for i in range(len(pool)):
            if sys.getrefcount(pool[i]) == 2:
                pool[i] = buf
                break
    return buf


impl_rules[allreduce_p] = _allreduce_impl
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
        ts = [mul(tangents[i], div(m, c)) for i, m, c in zip(nz, masks, counts)]
    for i, t in zip(nz, allreduce_p.bind(*ts, op="sum", comm=comm, axis=axis)):
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
