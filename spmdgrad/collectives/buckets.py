"""Gradient buckets: the reduce_axes Allreduce overlaps the backward pass.

In ``pmap(grad(f, reduce_axes=(axis,)))`` over MPI, the psums the backward pass
carries to the inputs (:func:`spmdgrad.ad.defer_over_ranks`) would all leave in one
fused Allreduce after the last equation. Here each input's cotangent is handed to a
:class:`Bucketer` as soon as it is final: once the last equation transposed among those
that read the input (its first reader in program order) has been transposed
(:func:`spmdgrad.ad.backward_pass` calls the sink). The bucketer packs
cotangents in that order (reverse program order, like DDP) into buckets, the first
one small (``first`` bytes, default 1 MB) so communication starts early, the others
``size`` bytes (default 25 MB); it starts a non-blocking ``Iallreduce`` per bucket and
dtype, drives progress with ``Test`` between equations, and waits for all of them at
the end (with the stall watchdog).

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
  check (one 2-element Allreduce, as the fused call does, exchanged while the bucket is
  packed); every later bucket folds its description into the schedule fingerprint
  without a message (:func:`spmdgrad.mpi.consistency.fold`), so the next checked
  collective compares it.
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


class Bucketer:
    """The input sink of one backward pass (see the module docstring)."""
    __slots__ = ("frame", "axes", "state", "current", "current_bytes", "inflight",
                 "unfinished", "results", "plan", "MPI")

    def __init__(self, frame, axes, plan):
        self.frame = frame
        self.axes = axes
        self.state = frame.backend.state      # tagged with the user's call site
        self.MPI = self.state.mpi
        self.current = []                     # [(var, local sum)] of the open bucket
        self.current_bytes = 0
        self.inflight = []                    # per bucket [(dtype, buf, req, [(var, start, end, shape)])]
        self.unfinished = []                  # the requests that progress() still drives
        self.results = {}                     # var -> reduced cotangent
        self.plan = plan                      # the program's fingerprint, for the first check

    def final(self, v, groups):
        if not groups:
            return
        c = groups.pop(self.axes, None)
        if c is None:
            return
        if type(c) is not BatchTracer or c._trace is not self.frame:
            self.results[v] = scale(c, self.frame.axis_size)  # invariant: N equal copies
            return
        x = np.asarray(_local_sum(c.val, self.frame.local_size))
        self.current.append((v, x))
        self.current_bytes += x.nbytes
        if self.current_bytes >= _sizes[0 if not self.inflight else 1]:
            self._flush()

    def _flush(self):
        if not self.current:
            return
        vs = [v for v, _ in self.current]
        xs = [x for _, x in self.current]
        self.current, self.current_bytes = [], 0
        what = f"allreduce[sum] over axis {self.frame.axis_name!r}"
        extra = f"bucket {len(self.inflight) + 1}"
        if self.plan is not None:
            # One check per reduction: the program fingerprint fixes every later bucket.
            # Its exchange runs while this rank packs; its verdict comes before the data.
            consistency.start(self.state.state, what, xs, f"{extra}, {self.plan}", self.state.site)
            self.plan = None
        else:
            consistency.fold(self.state.state, what, xs, extra, self.state.site)
        MPI = self.MPI
        by_dtype = {}
        for i, x in enumerate(xs):
            by_dtype.setdefault(x.dtype, []).append(i)
        parts = []
        for dtype, idx in by_dtype.items():
            wire_dtype, wire_op = wire.reduce_wire(dtype, "sum")
            spans, off = [], 0
            for i in idx:
                spans.append((vs[i], off, off + xs[i].size, xs[i].shape))
                off += xs[i].size
            buf = _pack_buffer(wire_dtype, off)  # reused, as fused
            np.concatenate([xs[i].reshape(-1) for i in idx], out=buf, casting="unsafe")
            consistency.finish(self.state.state)
            req = _iallreduce(self.state.comm, MPI, buf, wire.mpi_op(MPI, wire_op))
            parts.append((dtype, buf, req, spans))
            self.unfinished.append(req)
        self.inflight.append(parts)

    def progress(self):
        if self.unfinished:
            # Test drives MPI's progress; a completed request needs no more of it.
            self.unfinished = [r for r in self.unfinished if not r.Test()]

    def finish(self, groups):
        self._flush()
        results = self.results
        for parts in self.inflight:
            for dtype, buf, req, spans in parts:
                self.state.wait(req)
                if buf.dtype != dtype:
                    buf = buf.astype(dtype)
                for v, a, b, shape in spans:   # unpack: views of the reduced buffer
                    results[v] = buf[a:b].reshape(shape)
        self.inflight, self.unfinished = [], []
        for v, r in self.results.items():
            g = groups.setdefault(v, {})
            g[ad._EMPTY] = ad._add(g.get(ad._EMPTY), r)


    def __del__(self):
        # A pass that raised with buckets in flight: MPI may still write into their
        # buffers, so they must never return to the pool or be freed.
        if self.inflight:
            _abandoned.append(self.inflight)


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
    return Bucketer(frame, defer_axes, _plan(jaxpr))


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
