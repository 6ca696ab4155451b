"""Gradient buckets: the reduce_axes Allreduce overlaps the backward pass.

In ``pmap(grad(f, reduce_axes=(axis,)))`` over MPI, the psums the backward pass
carries to the inputs (:func:`spmdgrad.ad.defer_over_ranks`) would all leave in one
fused Allreduce after the last equation. Here each input's cotangent is handed to a
:class:`Bucketer` as soon as it is final: once the last equation transposed among those
that read the input (its first reader in program order) has been transposed
(:func:`spmdgrad.ad.backward_pass` calls the sink). The bucketer lays the buckets out
before the pass, in that order (reverse program order, like DDP), from the program's
types and shapes: the first bucket small (``first`` bytes, default 1 MB) so
communication starts early, the others ``size`` bytes (default 25 MB). It starts a
non-blocking ``Iallreduce`` per bucket and dtype as soon as the bucket's inputs are
final, drives progress with ``Test`` between equations, and waits for all of them at
the end (with the stall watchdog).

- No packing copy where it can be avoided: with one local instance per rank, the
  equation that produces an input's only contribution writes it straight into the
  input's span of the bucket (``ad.transpose_into_rules``: the product of a weight
  gradient's matmul, an elementwise product, a bias gradient's sum). Other cotangents
  are copied in when final.
- Small programs keep the single fused Allreduce: bucketing starts only when the
  inputs' cotangents could exceed the first bucket.
- Results are bitwise those of the fused call: the same local sum, the same wire
  dtype and op, and every element is reduced once across the ranks. (At 3 ranks or
  more, MPI may choose a different reduction order for a different message size;
  the sums are bitwise equal whenever the per-element sum is exact, and replicas
  agree in any case.)
- Sizes: :func:`set_bucket_sizes`, or ``SPMDGRAD_BUCKET_BYTES=first,size`` (bytes;
  ``first=0`` turns bucketing off). The same on every rank.
- Order is deterministic: the same program gives the same buckets on every rank.
- The consistency check is not repeated per bucket: the first bucket runs the usual
  check (one 2-element Allreduce, as the fused call does, started when the buckets are
  laid out and exchanged while the pass runs); every later bucket folds its
  description into the schedule fingerprint without a message
  (:func:`spmdgrad.mpi.consistency.fold`), so the next checked collective compares it.
- Used in eager execution only (the pmap frame directly above evaluation): under
  ``jit``, or inside another transformation, the fused path runs.

>>> first, size = set_bucket_sizes()   # defaults: 1 MB, then 25 MB
>>> size > 0
True
"""
from __future__ import annotations

import math
import os
import zlib

import numpy as np

from .. import ad, core
from ..batching import BatchTracer
from ..mpi import consistency, wire
from ..primitives.named_axes import scale
from .psum import _local_sum, _pack_buffer


def _env_sizes():
    v = os.environ.get("SPMDGRAD_BUCKET_BYTES", "").strip()
    if not v:
        return [1 << 20, 25 << 20]
    try:
        first, size = (int(x) for x in v.split(","))
    except ValueError:
        raise ValueError(f"SPMDGRAD_BUCKET_BYTES must be 'first,size' in bytes (e.g. "
                         f"'1048576,26214400'; first 0 turns bucketing off), got {v!r}") from None
    return [first, max(size, 1)]


_sizes = _env_sizes()   # first bucket, later buckets (bytes)


def set_bucket_sizes(first=None, size=None):
    """Set the gradient bucket sizes in bytes (None leaves one unchanged); returns the
    previous ``(first, size)``. Every rank must use the same sizes. ``first=0``
    turns bucketing off (one fused Allreduce).

    >>> old = set_bucket_sizes(4096, 65536); set_bucket_sizes(*old) == (4096, 65536)
    True
    """
    prev = tuple(_sizes)
    if first is not None:
        _sizes[0] = int(first)
    if size is not None:
        if int(size) <= 0:
            raise ValueError(f"set_bucket_sizes: size must be positive, got {size!r}")
        _sizes[1] = int(size)
    return prev


def _iallreduce(comm, MPI, buf, op):
    """Start one bucket's reduction (a seam for tests that count calls)."""
    return comm.Iallreduce(MPI.IN_PLACE, buf, op)


class _Part:
    """One dtype's buffer in a bucket: ``spans`` are ``(var, start, end)`` in it, and
    ``wire_op`` the reduction it goes on the wire with."""
    __slots__ = ("dtype", "buf", "spans", "wire_op", "req")

    def __init__(self, dtype, buf, spans, wire_op):
        self.dtype, self.buf, self.spans, self.wire_op, self.req = dtype, buf, spans, wire_op, None


class Bucketer:
    """The input sink of one backward pass (see the module docstring)."""
    __slots__ = ("frame", "axes", "state", "MPI", "final_at", "into_at", "buckets", "where",
                 "dest", "placed", "left", "flushed", "unfinished", "results")

    def __init__(self, frame, axes, jaxpr, types, plan):
        (axis,) = axes
        self.frame = frame
        self.axes = axes
        self.state = frame.backend.state      # tagged with the user's call site
        self.MPI = self.state.mpi
        self.final_at = final_at = ad.final_readers(jaxpr)
        # The buckets are laid out before the pass, in the order the inputs' cotangents
        # become final (reverse program order, like DDP): the same on every rank.
        n = len(jaxpr.eqns)
        # (Other dtypes, e.g. bfloat16, stay with the fused psum after the pass.)
        order = [v for j in (-1, *range(n - 1, -1, -1)) for v in final_at.get(j, ())
                 if axis not in types[v] and v.aval.dtype.kind in "fc"]
        groups, limit, current, nbytes = [], _sizes[0], [], 0
        for v in order:
            current.append(v)
            nbytes += v.aval.dtype.itemsize * math.prod(v.aval.shape)
            if nbytes >= limit:
                groups.append(current)
                current, nbytes, limit = [], 0, _sizes[1]
        if current:
            groups.append(current)
        self.buckets, self.where, self.dest = [], {}, {}
        one = frame.local_size == 1
        for b, vs in enumerate(groups):
            by_dtype = {}
            for v in vs:
                by_dtype.setdefault(v.aval.dtype, []).append(v)
            parts = []
            for dtype, dvs in by_dtype.items():
                wire_dtype, wire_op = wire.reduce_wire(dtype, "sum")
                spans, off = [], 0
                for v in dvs:
                    spans.append((v, off, off + math.prod(v.aval.shape)))
                    off = spans[-1][2]
                part = _Part(dtype, _pack_buffer(wire_dtype, off), spans, wire_op)  # reused, as fused
                for v, a, e in spans:
                    self.where[v] = (b, part, a, e)
                    if one and part.buf.dtype == dtype:   # a destination for transpose_into
                        self.dest[v] = part.buf[a:e].reshape(v.aval.shape)
                parts.append(part)
            self.buckets.append(parts)
        self.left = [len(vs) for vs in groups]   # inputs not yet final, per bucket
        self.flushed = 0
        self.placed = {}                          # var -> its cotangent, written in place
        self.unfinished = []                      # the requests that progress() still drives
        self.results = {}                         # var -> reduced (or scaled) cotangent
        self.into_at = {}                         # eqn index -> (operand index, var)
        into = ad.transpose_into_rules
        for j, vs in final_at.items():
            if j >= 0 and jaxpr.eqns[j].prim in into:
                hits = [v for v in vs if v in self.dest]
                if len(hits) == 1 and jaxpr.eqns[j].invars.count(hits[0]) == 1:
                    self.into_at[j] = (jaxpr.eqns[j].invars.index(hits[0]), hits[0])
        if plan is not None and self.buckets:
            # One check per reduction, exchanged while the pass runs; the program's
            # fingerprint fixes every later bucket. Its verdict comes before the data.
            consistency.start(self.state.state, self._what(), self._avals(0),
                              f"bucket 1, {plan}", self.state.site)

    def _what(self):
        return f"allreduce[sum] over axis {self.frame.axis_name!r}"

    def _avals(self, b):
        return [v.aval for part in self.buckets[b] for v, _, _ in part.spans]

    def _instance(self, x):
        """The one local instance of a value in the frame (k = 1), or None."""
        if type(x) is BatchTracer:
            return x.val.reshape(x.val.shape[1:]) if x._trace is self.frame else None
        return x if type(x) is np.ndarray or isinstance(x, np.generic) else None

    def transpose_into(self, j, eqn, extra, ct, operands, groups):
        hit = self.into_at.get(j)
        if hit is None:
            return None
        i, v = hit
        u = operands[i]
        if groups.get(v) or type(u) is not ad.UndefinedPrimal or (u.psum_axes | extra) != self.axes:
            return None
        args = [None] * len(operands)   # the undefined operand stays None
        for k, o in enumerate(operands):
            if k != i:
                args[k] = None if type(o) is ad.UndefinedPrimal else self._instance(o)
                if args[k] is None:
                    return None
        ct = self._instance(ct)
        out = self.dest[v]
        if ct is None or not ad.transpose_into_rules[eqn.prim](out, ct, *args, **eqn.params):
            return None
        val = self.placed[v] = out.reshape((1,) + out.shape)
        return v, self.axes, BatchTracer(self.frame, val)

    def final(self, v, groups):
        where = self.where.get(v)
        if where is None:
            return
        b, part, a, e = where
        span = part.buf[a:e]
        c = groups.pop(self.axes, None) if groups else None
        if c is None:
            self.results[v] = None      # no deferred contribution: the span only carries zeros
            span.fill(0)
        elif type(c) is not BatchTracer or c._trace is not self.frame:
            self.results[v] = scale(c, self.frame.axis_size)  # invariant: N equal copies
            span.fill(0)
        elif self.placed.pop(v, None) is not c.val:
            x = np.asarray(_local_sum(c.val, self.frame.local_size))
            if x.shape != v.aval.shape or x.dtype != part.dtype:
                groups[self.axes] = c   # not what the layout expects: the fused psum takes it
                self.results[v] = None
                span.fill(0)
            else:
                np.copyto(span.reshape(x.shape), x, casting="unsafe")
        self.left[b] -= 1
        while self.flushed < len(self.buckets) and self.left[self.flushed] == 0:
            self._flush()

    def _flush(self):
        b = self.flushed
        self.flushed += 1
        if b:
            consistency.fold(self.state.state, self._what(), self._avals(b), f"bucket {b + 1}",
                             self.state.site)
        consistency.finish(self.state.state)
        MPI = self.MPI
        for part in self.buckets[b]:
            part.req = _iallreduce(self.state.comm, MPI, part.buf, wire.mpi_op(MPI, part.wire_op))
            self.unfinished.append(part.req)

    def progress(self):
        if self.unfinished:
            # Test drives MPI's progress; a completed request needs no more of it.
            self.unfinished = [r for r in self.unfinished if not r.Test()]

    def finish(self, groups):
        if self.flushed < len(self.buckets):
            raise RuntimeError(f"gradient buckets: {sum(self.left)} input cotangent(s) never became "
                               "final in the backward pass; please report this")
        results = self.results
        for parts in self.buckets:
            for part in parts:
                self.state.wait(part.req)
                part.req = None
                buf = part.buf if part.buf.dtype == part.dtype else part.buf.astype(part.dtype)
                for v, a, e in part.spans:   # unpack: views of the reduced buffer
                    if v not in results:
                        results[v] = buf[a:e].reshape(v.aval.shape)
        self.buckets, self.unfinished = [], []
        for v, r in results.items():
            if r is None:
                continue
            g = groups.setdefault(v, {})
            g[ad._EMPTY] = ad._add(g.get(ad._EMPTY), r)

    def __del__(self):
        # A pass that raised with buckets in flight: MPI may still write into their
        # buffers, so they must never return to the pool or be freed.
        if any(part.req is not None for parts in self.buckets for part in parts):
            _abandoned.append(self.buckets)


_abandoned = []


def _make_sink(jaxpr, types, defer_axes):
    """A :class:`Bucketer` for this backward pass, or None (fused path)."""
    if _sizes[0] <= 0 or len(defer_axes) != 1:
        return None
    (axis,) = defer_axes
    frame = core.find_axis(axis)
    if (frame is None or frame.backend is None or core.current_trace() is not frame
            or type(frame.parent) is not core.EvalTrace):
        return None
    # Only inputs whose tangent is invariant over the axis can get a deferred psum.
    nbytes = sum(v.aval.dtype.itemsize * math.prod(v.aval.shape)
                 for v in jaxpr.invars if axis not in types[v])
    if nbytes <= _sizes[0]:
        return None
    return Bucketer(frame, defer_axes, jaxpr, types,
                    _plan(jaxpr) if consistency.checks_enabled() else None)


def _plan(jaxpr):
    """What fixes the buckets on every rank: the backward program's equations and inputs
    (finalization order, sizes). A short text, compared by the first bucket's check."""
    if not consistency.checks_enabled():
        return ""
    pos = {v: i for i, v in enumerate(jaxpr.invars)}
    get = pos.get
    prog = []   # each equation's primitive, followed by the inputs it reads
    for e in jaxpr.eqns:
        prog.append(e.prim.name)
        for v in e.invars:
            i = get(v)
            if i is not None:
                prog.append(i)
    text = repr((prog, [_aval_text(v.aval) for v in jaxpr.invars]))
    return f"program {len(jaxpr.eqns)} eqns crc {zlib.crc32(text.encode()):08x}"


_aval_texts = {}


def _aval_text(aval):
    t = _aval_texts.get(aval)
    if t is None:
        if len(_aval_texts) > 4096:
            _aval_texts.clear()
        t = _aval_texts[aval] = str(aval)
    return t


ad.input_sinks.append(_make_sink)
