"""Reverse- and forward-mode autodiff: linearize, then transpose.

``linearize`` runs the function once. Each primal operation runs for real on the
parent trace; each tangent operation is *recorded* into a typed linear program
(a :class:`~spmdgrad.core.Jaxpr`) by a :class:`JaxprTrace`. The JVP rule of a
primitive is therefore the whole story: its primal part is evaluated, its
tangent part becomes IR. ``backward_pass`` transposes that IR and applies the
``reduce_axes`` rule (docs/semantics.md, section 3) at every variable.

Zero tangents and zero cotangents are ``None`` throughout.
"""
from __future__ import annotations

import functools

import numpy as np

from . import core
from .core import _EMPTY, Tracer, get_aval, vma_of, zip
from .recording import JaxprTrace, JaxprTracer  # noqa: F401 - part of ad's interface

jvp_rules = {}        # prim -> fn(primals, tangents, **params) -> (primal_out, tangent_out)
transpose_rules = {}  # prim -> fn(ct, *invals, **params) -> list of cts, one per operand
# Optional, for an input sink that owns the destination of an input's final cotangent (the
# gradient buckets): prim -> fn(out, ct, *operands, **params) -> bool. All arrays are
# concrete, the undefined operand is None; the rule writes that operand's cotangent into
# ``out`` (bitwise what its transpose rule computes) and returns True, or returns False.
transpose_into_rules = {}
# How backward_pass keys a primitive's cotangent contributions (see there): collectives
# transpose their own implicit broadcasts; custom-derivative calls are opaque.
collective_prims = set()
opaque_prims = set()


# --------------------------------------------------------------------------- linearize trace

class JVPTracer(Tracer):
    __slots__ = ("primal", "tangent", "_aval")

    def __init__(self, trace, primal, tangent):
        self._trace = trace
        self.primal = primal
        self.tangent = tangent
        self._aval = None

    @property
    def aval(self):
        if self._aval is None:
            self._aval = get_aval(self.primal)
        return self._aval

    def concrete(self):
        p = self.primal
        return p.concrete() if isinstance(p, Tracer) else p


class LinearizeTrace(core.Trace):
    """Primal work on ``parent``; tangent work recorded by ``tangent_trace``."""
    __slots__ = ("tangent_trace",)

    def __init__(self, parent):
        super().__init__(parent)
        self.tangent_trace = JaxprTrace(parent)

    def process_primitive(self, prim, args, params):
        primals, tangents, nonzero = [], [], False
        for a in args:
            if type(a) is JVPTracer and a._trace is self:
                primals.append(a.primal)
                tangents.append(a.tangent)
                nonzero = nonzero or a.tangent is not None
            else:
                primals.append(a)
                tangents.append(None)
        if not nonzero:
            return self.forward(prim, primals, params)
        rule = jvp_rules.get(prim)
        if rule is None:
            raise NotImplementedError(
                f"'{prim}' has no derivative rule, so it cannot be differentiated (grad/jvp/vjp). "
                "Apply stop_gradient to its inputs if its derivative is not needed.")
        prev = core._state.trace
        core._state.trace = self.tangent_trace
        try:
            p_out, t_out = rule(primals, tangents, **params)
            if prim.multiple_results:
                return [JVPTracer(self, p, self._tangent(p, t)) for p, t in zip(p_out, t_out)]
            return JVPTracer(self, p_out, self._tangent(p_out, t_out))
        finally:
            core._state.trace = prev

    def _tangent(self, p, t):
        # Tangents are recorded tracers or None; anything else is a constant zero.
        if type(t) is not JaxprTracer or t._trace is not self.tangent_trace:
            return None
        if isinstance(p, Tracer):
            # A tangent passed through unchanged (e.g. x + c with c not differentiated)
            # may vary over fewer axes than its primal; record the implicit broadcast,
            # whose transpose is the reduce_axes psum.
            pv, tv = p.aval.vma, t.aval.vma
            if pv is not tv and not pv <= tv:  # tested without building the difference
                t = core.pbroadcast_p.bind(t, axes=tuple(sorted(pv - tv)))
        return t


def linearize_flat(fun, primals, diff_mask):
    """Run ``fun`` (flat list -> flat list) once.

    Returns ``(out_primals, jaxpr)``: the outputs, and the linear program mapping the
    tangents of the ``diff_mask`` inputs to the outputs' tangents.
    """
    parent = core.current_trace()
    trace = LinearizeTrace(parent)
    invars, args = [], []
    for p, d in zip(primals, diff_mask):
        if d:
            t = trace.tangent_trace.new_arg(get_aval(p))
            invars.append(t.var)
            args.append(JVPTracer(trace, p, t))
        else:
            args.append(p)
    with core.use_trace(trace):
        outs = fun(*args)
    out_primals, out_tangents = [], []
    for o in outs:
        if type(o) is JVPTracer and o._trace is trace:
            out_primals.append(o.primal)
            out_tangents.append(o.tangent)
        else:
            out_primals.append(o)
            out_tangents.append(None)
    return out_primals, trace.tangent_trace.to_jaxpr(invars, out_tangents)


# --------------------------------------------------------------------------- transposition

class UndefinedPrimal:
    """Stands for a linear input in a transpose rule.

    ``psum_axes``: the axes over which this equation implicitly broadcast the
    operand, so the backward pass will psum this contribution over them. A
    transpose rule may return a :class:`Reduced` contribution that already did that
    psum, fused with its own work (e.g. a contraction over the batch). For
    collectives it is every bound axis the operand's tangent is invariant over.
    ``tangent_type``: the named-axis type of the operand's tangent (see
    :func:`tangent_types`); a rule that transposes a sub-program types the
    sub-program's inputs with it.
    """
    __slots__ = ("aval", "psum_axes", "tangent_type")

    def __init__(self, aval, psum_axes=_EMPTY, tangent_type=None):
        self.aval = aval
        self.psum_axes = psum_axes
        self.tangent_type = aval.vma if tangent_type is None else tangent_type


class Reduced:
    """A cotangent contribution already psummed over its operand's ``psum_axes``."""
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def is_undefined(x):
    return type(x) is UndefinedPrimal


def _add(x, y):
    if x is None:
        return y
    if y is None:
        return x
    return core.add_any_p.bind(x, y)


def _psum(ct, axes):
    """psum of a cotangent (or a list of them, fused) over a set of axes."""
    axes = tuple(sorted(axes))
    if isinstance(ct, list):
        return core.psum_p.bind(*ct, axes=axes)
    return core.psum_p.bind(ct, axes=axes)[0]


def tangent_types(jaxpr, varying, in_types=None):
    """The named-axis type (vma) of every variable of a linear program whose inputs'
    tangents also vary over ``varying``.

    Over a bound axis that is not reduced, each instance differentiates its own copy
    of an invariant input, so the input's tangent is typed as varying over it, and so
    is every value computed from it until a collective makes it invariant again."""
    if in_types is None and not varying:
        # The inputs' tangents have their recorded types, so every variable has the one
        # recorded with it (the same vma rules ran on the same types while recording).
        return _RECORDED
    types = {v: v.aval.vma for v in jaxpr.constvars}
    if in_types is not None:  # known to the caller (a sub-program's inputs)
        types.update(zip(jaxpr.invars, in_types))
    else:
        for v in jaxpr.invars:
            types[v] = v.aval.vma | varying
    for e in jaxpr.eqns:
        outs = core.vma_eval(e.prim, [types[v] for v in e.invars], e.params)
        if e.prim.multiple_results:
            if not isinstance(outs, list):
                outs = [outs] * len(e.outvars)
            types.update(zip(e.outvars, outs))
        else:
            types[e.outvars[0]] = outs
    return types


class _RecordedTypes:
    """``types[v]`` is ``v.aval.vma``: the tangent types when nothing is added to them."""
    __slots__ = ()

    def __getitem__(self, v):
        return v.aval.vma


_RECORDED = _RecordedTypes()


class _Cotangents:
    """The cotangents being accumulated, per variable, in groups keyed by the axes
    each group still has to be psummed over (the reduce_axes rule)."""
    __slots__ = ("groups", "defer_axes")

    def __init__(self, defer_axes):
        self.groups = {}
        self.defer_axes = defer_axes

    def add(self, v, key, c):
        g = self.groups.get(v)
        if g is None:
            self.groups[v] = {key: c}
        else:
            g[key] = _add(g.get(key), c)

    def take(self, v, defer):
        """Pop ``v``'s groups: the cotangent to transpose now (its psums done), and the
        groups whose psum is carried on (``defer_over_ranks``), as (axes, partial sum)."""
        g = self.groups.pop(v, None)
        if g is None:
            return None, ()
        if len(g) == 1 and _EMPTY in g:  # the usual case: one cotangent, nothing to psum
            return g[_EMPTY], ()
        now, later = None, []
        for key, c in g.items():
            if not key:
                now = _add(now, c)
            elif defer and key <= self.defer_axes:
                later.append((key, c))
            else:
                now = _add(now, _psum(c, key))
        return now, later


def defer_over_ranks(bound):
    """The axes whose pending psums the backward pass carries to the inputs: MPI axes.

    A psum over an axis that a variable is invariant over commutes with the
    transpose of the equation that produced it (its operands, coefficients
    included, are then invariant too), so over MPI axes the pending sums travel to
    the inputs, where all of them leave in one fused Allreduce. Over vmap axes the
    psum is done at once, which keeps the arrays small."""
    return frozenset(a for a in bound if core.find_axis(a).backend is not None)


_running = []  # (reduced, bound) of the backward passes now running, innermost last


def current_axes():
    """``(reduced, bound)`` of the innermost running backward pass (``(None, ())``
    outside one). A transpose rule that transposes a sub-program runs its own
    backward pass with them."""
    return _running[-1] if _running else (None, _EMPTY)


def backward_pass(jaxpr, cts_out, reduced=None, bound=_EMPTY, in_types=None):
    """Transpose ``jaxpr``, applying the reduce_axes rule at every variable.

    ``reduced=None`` is plain transposition. Otherwise ``bound`` holds the named
    axes bound where the program was linearized and ``reduced`` those of them in
    ``reduce_axes``. The rule, in types (docs/per_example_and_total.md): a
    variable's cotangent has the type of its tangent (:func:`tangent_types`, with
    the inputs varying over the bound axes that are not reduced); a contribution
    that varies over more axes than that is psummed over the extra axes, once,
    when the variable's cotangent is final. That psum is the transpose of the
    implicit broadcast the equation applied to its operand, so an equation's
    contribution is keyed by the axes its output varies over and the operand does
    not. Collectives transpose their own implicit broadcasts, so their
    contributions are keyed by the axes they actually vary over; custom-derivative
    calls are opaque and may broadcast inside or at the call, so both count.

    ``in_types`` gives the invars' tangent types where the caller knows them (a
    transpose rule transposing a loop body or a branch); :func:`current_axes` tells
    such a rule the ``reduced`` and ``bound`` of the backward pass running it.

    Returns, per invar, a dict ``{axes: partial cotangent}``; ``reduce_inputs``
    fuses the inputs' psums.
    """
    _running.append((reduced, bound))
    try:
        return _backward_pass(jaxpr, cts_out, reduced, bound, in_types)
    finally:
        _running.pop()


# Input sinks: factories ``f(jaxpr, types, defer_axes) -> sink or None`` that may take
# over the top-level pass's deferred input psums (spmdgrad.collectives.buckets). A
# sink's ``final(v, groups)`` is called once per input as soon as its cotangent is
# final (``sink.final_at``: :func:`final_readers`), ``progress()`` between equations, and
# ``finish(groups_by_invar)`` at the end. Before an equation with a transpose-into rule is
# transposed, ``transpose_into(j, eqn, extra, ct, operands, groups)`` may produce an input's
# final cotangent in place: it returns ``(var, key, contribution)`` or None.
input_sinks = []


def _input_sink(jaxpr, types, defer_axes):
    if not defer_axes or len(_running) != 1:
        return None
    for make in input_sinks:
        sink = make(jaxpr, types, defer_axes)
        if sink is not None:
            return sink
    return None


def final_readers(jaxpr):
    """Per equation index, the invars it is the first reader of (in program order),
    hence the last transposed: after transposing it, their cotangents are final.
    Invars no equation reads: key -1.

    >>> import spmdgrad
    >>> lin = spmdgrad.make_jaxpr(lambda x, y: x * 2.0 + x)(1.0, 2.0)
    >>> sorted(final_readers(lin))
    [-1, 0]
    """
    first = dict.fromkeys(jaxpr.invars, -1)
    for j in range(len(jaxpr.eqns) - 1, -1, -1):
        for v in jaxpr.eqns[j].invars:
            if v in first:
                first[v] = j
    out = {}
    for v, j in first.items():
        out.setdefault(j, []).append(v)
    return out


def _transpose_rule(prim):
    rule = transpose_rules.get(prim)
    if rule is None:
        raise NotImplementedError(
            f"'{prim}' has no transpose rule, so reverse mode (grad/vjp) cannot pass through it. It "
            "appeared in a linear program, which means a JVP rule applied it to a tangent; please report this.")
    return rule


def _transpose_plain(jaxpr, cts_out):
    """The backward pass without named axes (``reduced=None``): every key is empty, so
    one cotangent per variable; the same additions, in the same order."""
    env = dict(zip(jaxpr.constvars, jaxpr.consts))
    cts = {}
    for v, ct in zip(jaxpr.outvars, cts_out):
        if v is not None and ct is not None and v not in env:
            cts[v] = _add(cts.get(v), ct)
    for eqn in reversed(jaxpr.eqns):
        if eqn.prim.multiple_results:
            ct = [cts.pop(v, None) for v in eqn.outvars]
            if all(c is None for c in ct):
                continue
        else:
            ct = cts.pop(eqn.outvars[0], None)
            if ct is None:
                continue
        rule = _transpose_rule(eqn.prim)
        operands = [env[v] if v in env else UndefinedPrimal(v.aval) for v in eqn.invars]
        for v, c in zip(eqn.invars, rule(ct, *operands, **eqn.params)):
            if c is not None and v not in env:
                cts[v] = _add(cts.get(v), c.value if type(c) is Reduced else c)
    return [{_EMPTY: cts[v]} if v in cts else {} for v in jaxpr.invars]


def _backward_pass(jaxpr, cts_out, reduced, bound, in_types):
    if reduced is None or not bound:
        return _transpose_plain(jaxpr, cts_out)
    env = dict(zip(jaxpr.constvars, jaxpr.consts))
    types = tangent_types(jaxpr, bound - reduced, in_types)
    acc = _Cotangents(defer_over_ranks(bound))
    sink = _input_sink(jaxpr, types, acc.defer_axes)
    if sink is not None:
        final_at = sink.final_at

    for v, ct in zip(jaxpr.outvars, cts_out):
        if v is not None and ct is not None and v not in env:
            acc.add(v, (vma_of(ct) - types[v]) & bound, ct)
    if sink is not None:
        for v in final_at.get(-1, ()):
            sink.final(v, acc.groups.get(v))
    for j in range(len(jaxpr.eqns) - 1, -1, -1):
        if sink is not None:
            # The equation after this one (in program order) was just transposed.
            for v in final_at.get(j + 1, ()) if j + 1 < len(jaxpr.eqns) else ():
                sink.final(v, acc.groups.get(v))
            sink.progress()
        eqn = jaxpr.eqns[j]
        prim = eqn.prim
        collective = prim in collective_prims
        opaque = prim in opaque_prims
        if prim.multiple_results:
            ct = [acc.take(v, False)[0] for v in eqn.outvars]
            if all(c is None for c in ct):
                continue
            pending = [(_EMPTY, ct)]
        else:
            now, pending = acc.take(eqn.outvars[0], bool(acc.defer_axes) and not (collective or opaque))
            if now is not None:
                pending = [(_EMPTY, now), *pending]
            if not pending:
                continue
        rule = _transpose_rule(prim)
        if len(eqn.outvars) == 1:
            out_type = types[eqn.outvars[0]]
        else:
            out_type = _EMPTY
            for o in eqn.outvars:
                out_type = out_type | types[o]
        over = bound if collective else out_type & bound   # the axes the outputs vary over
        operands = []
        for v in eqn.invars:
            if v in env:
                operands.append(env[v])
            else:
                t = types[v]
                operands.append(UndefinedPrimal(v.aval, over - t if over else _EMPTY, t))
        if sink is not None and prim in transpose_into_rules and len(pending) == 1:
            placed = sink.transpose_into(j, eqn, *pending[0], operands, acc.groups)
            if placed is not None:
                acc.add(*placed)
                continue
        for extra, ct in pending:
            cts_in = rule(ct, *operands, **eqn.params)
            for v, u, c in zip(eqn.invars, operands, cts_in):
                if c is None or v in env:
                    continue
                if type(c) is Reduced:
                    key, c = _EMPTY, c.value
                elif collective:
                    key = (vma_of(c) - types[v]) & bound
                elif opaque:
                    key = ((vma_of(c) | out_type) - types[v]) & bound
                else:
                    key = u.psum_axes
                acc.add(v, key | extra if extra else key, c)
    if sink is not None:
        if jaxpr.eqns:
            for v in final_at.get(0, ()):
                sink.final(v, acc.groups.get(v))
        sink.finish(acc.groups)
    return [acc.groups.get(v, {}) for v in jaxpr.invars]


def transpose_linear(jaxpr, cts_out):
    """Plain transposition (no named-axis reductions): one cotangent per invar."""
    return [None if not g else functools.reduce(_add, g.values())
            for g in backward_pass(jaxpr, cts_out)]


def reduce_inputs(parts):
    """Finish the input cotangents: one fused multi-operand psum per axis set."""
    finals = [None] * len(parts)
    pending = {}
    for i, g in enumerate(parts):
        for key, c in g.items():
            if key:
                pending.setdefault(key, []).append((i, c))
            else:
                finals[i] = _add(finals[i], c)
    for key, items in pending.items():
        summed = _psum([c for _, c in items], key)
        for (i, _), s in zip(items, summed):
            finals[i] = _add(finals[i], s)
    return finals


# --------------------------------------------------------------------------- rule helpers

def primal(prim, primals, params):
    """Inside a JVP rule the current trace is the tangent recorder and primals are never
    its tracers: compute the primal output one level down directly."""
    return core._state.trace.forward(prim, primals, params)


def on_primals(fn, *args):
    """Inside a JVP rule: run ``fn(*args)`` (work on primals only, e.g. derivative
    factors) one level down, with that trace current, bypassing the tangent recorder."""
    tangent_trace = core._state.trace
    core._state.trace = tangent_trace.parent
    try:
        return fn(*args)
    finally:
        core._state.trace = tangent_trace


def defjvp(prim, *fns):
    """Per-operand JVPs: ``fns[i](t_i, ans, *primals, **params)`` (None: not differentiable)."""
    def rule(primals, tangents, **params):
        ans = primal(prim, primals, params)
        out = None
        for fn, t in zip(fns, tangents):
            if t is not None:
                if fn is None:
                    raise NotImplementedError(f"'{prim}' is not differentiable in that operand")
                out = _add(out, fn(t, ans, *primals, **params))
        return ans, out
    jvp_rules[prim] = rule


def deflinear(prim, transpose):
    """A primitive linear in all its operands (zeros are skipped by the transposer)."""
    def rule(primals, tangents, **params):
        ans = primal(prim, primals, params)
        ts = [zeros_like(p) if t is None else t for p, t in zip(primals, tangents)]
        return ans, prim.bind(*ts, **params)
    jvp_rules[prim] = rule
    transpose_rules[prim] = transpose


def deflinear1(prim, transpose):
    """A primitive linear in its first operand; the others are static data (e.g. indices)."""
    def rule(primals, tangents, **params):
        if any(t is not None for t in tangents[1:]):
            raise NotImplementedError(f"'{prim}' is not differentiable in its index operands")
        return (primal(prim, primals, params),
                prim.bind(tangents[0], *primals[1:], **params))
    jvp_rules[prim] = rule
    transpose_rules[prim] = transpose


def defbilinear(prim, lhs_transpose, rhs_transpose):
    """``prim(x, y)`` linear in each operand separately (mul, contractions)."""
    def rule(primals, tangents, **params):
        x, y = primals
        tx, ty = tangents
        ans = primal(prim, primals, params)
        out = None
        if tx is not None:
            out = prim.bind(tx, y, **params)
        if ty is not None:
            out = _add(out, prim.bind(x, ty, **params))
        return ans, out

    def transpose(ct, x, y, **params):
        if is_undefined(x) and is_undefined(y):
            raise NotImplementedError(f"'{prim}' is linear in one operand at a time")
        if is_undefined(x):
            return [lhs_transpose(ct, x, y, **params), None]
        return [None, rhs_transpose(ct, x, y, **params)]
    jvp_rules[prim] = rule
    transpose_rules[prim] = transpose


def zeros_like(x):
    a = get_aval(x)
    return np.zeros(a.shape, a.dtype)


def instantiate(ct, aval):
    return np.zeros(aval.shape, aval.dtype) if ct is None else ct
