"""Vectorization over a named axis: the trace behind ``vmap`` and ``pmap``.

A :class:`BatchTracer` holds a value whose *leading* dimension is the mapped
axis; it varies over that axis. Values that are not tracers of a map's trace are
invariant over its axis. Batching rules therefore see, per operand, either a
batched value (axis 0) or an unbatched one, and return ``(out, out_batched)``.

Collectives on the axis a trace owns go to ``collective_rules`` with the trace
itself, so the rule knows the axis size and the backend (local or MPI).
"""
from __future__ import annotations

import numpy as np

from . import core
from .core import Tracer, get_aval, zip

batch_rules = {}       # prim -> fn(size, vals, batched, **params) -> (out, out_batched)
collective_rules = {}  # prim -> fn(frame, vals, batched, **params) -> (out, out_batched)
# Rules every map frame applies, batched operands or not, given the frame itself
# (custom-derivative calls, which re-create the frame around user code).
frame_rules = {}       # prim -> fn(frame, vals, batched, **params) -> (out, out_batched)


class BatchTracer(Tracer):
    __slots__ = ("val", "_aval")

    def __init__(self, trace, val):
        self._trace = trace
        self.val = val
        self._aval = None

    @property
    def aval(self):
        if self._aval is None:
            a = get_aval(self.val)
            key = (a, self._trace.axis_set)
            inner = _inner_avals.get(key)
            if inner is None:
                if len(_inner_avals) > 4096:
                    _inner_avals.clear()
                inner = _inner_avals[key] = core.ShapedArray(a.shape[1:], a.dtype, a.vma | self._trace.axis_set)
            self._aval = inner
        return self._aval


_inner_avals: dict = {}  # (value's aval, axis set) -> the instances' aval (avals are immutable)


class BatchTrace(core.Trace):
    """One map frame: binds ``axis_name`` with ``axis_size`` instances.

    ``backend`` is None for vmap and single-process pmap. For pmap over MPI it is
    the object that carries the communicator; then ``axis_size`` is the global
    size and the local values hold ``backend.local_size`` shards.
    """
    __slots__ = ("axis_name", "axis_size", "axis_set", "backend", "local_size")

    def __init__(self, parent, axis_name, axis_size, backend=None):
        super().__init__(parent)
        self.axis_name = axis_name
        self.axis_size = axis_size
        self.axis_set = frozenset() if axis_name is None else frozenset([axis_name])
        self.backend = backend
        self.local_size = axis_size if backend is None else backend.local_size

    def process_primitive(self, prim, args, params):
        vals, batched, any_batched = [], [], False
        for a in args:
            if type(a) is BatchTracer and a._trace is self:
                vals.append(a.val)
                batched.append(True)
                any_batched = True
            else:
                vals.append(a)
                batched.append(False)
        crule = None
        if prim in frame_rules:
            crule = frame_rules[prim]
        elif prim in collective_rules and self.axis_name in params.get("axes", ()):
            crule = collective_rules[prim]
        if crule is not None:
            rule, first = crule, self
        elif not any_batched:
            return self.forward(prim, args, params)
        else:
            rule = batch_rules.get(prim)
            if rule is None:
                raise NotImplementedError(f"'{prim}' has no batching rule (vmap/pmap)")
            first = self.local_size
            if self.backend is not None:
                # An invariant value meeting a varying one is implicitly broadcast over
                # the ranks: identity forward, a cross-rank sum transposed.
                vals = [v if b else self.backend.pbroadcast(v) for v, b in zip(vals, batched)]
        prev = core._state.trace
        core._state.trace = self.parent
        try:
            out, out_b = rule(first, vals, batched, **params)
        finally:
            core._state.trace = prev
        if prim.multiple_results:
            return [BatchTracer(self, o) if b else o for o, b in zip(out, out_b)]
        return BatchTracer(self, out) if out_b else out


# --------------------------------------------------------------------------- rule helpers

def shift_axes(axes):
    if len(axes) == 1:  # the usual case, without a generator (batching rules call this a lot)
        return (axes[0] + 1,)
    return tuple(a + 1 for a in axes)


def not_mapped_error(name):
    return ValueError(
        f"vmap/pmap axis {name!r}: no argument is mapped (all in_axes are None), so the axis "
        "size is unknown; pass axis_size=N")


def check_batch_size(sizes, name):
    if len(set(s for _, s in sizes)) > 1:
        detail = ", ".join(f"{where} has size {s}" for where, s in sizes)
        raise ValueError(f"vmap/pmap over axis {name!r}: mapped axes have different sizes: "
                         f"{detail}. All mapped arguments must have the same size on their in_axes.")


def canonical_axis(ax, ndim, where, name):
    if not isinstance(ax, int | np.integer) or isinstance(ax, bool):
        raise TypeError(f"in_axes/out_axes entries must be int or None, got {ax!r} for {where}")
    if not -ndim <= ax < ndim:
        raise ValueError(f"axis {ax} is out of bounds for {where} of rank {ndim} "
                         f"(map over axis {name!r})")
    return ax % ndim
