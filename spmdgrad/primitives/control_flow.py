"""Sub-programs: what the structured control-flow primitives (scan, while, cond) share.

A loop body or a branch is a *closed* :class:`Program` (a :class:`~spmdgrad.core.Jaxpr`):
its constants are concrete scalars, and every traced value or array it uses is an invar. The primitives
carry such programs as params, and each interpreter handles them through its
rule tables like any other primitive:

- **tracing** (:func:`trace_program`): a Python function is traced once by a
  ``JaxprTrace`` on abstract values. Traced values of outer transformations it
  closes over become constants of that trace; closure conversion lifts them (and
  closed-over arrays) to explicit leading invars, which the caller passes as operands.
- **linearize** (:func:`linearize_program`): a program is split into its primal
  part, which also returns the *residuals* (the primal values the tangent work
  needs), and its linear part, a function of residuals and tangents. A JVP rule
  runs the primal part now and records the linear part as another instance of
  the same primitive: the shape of the program is kept, and reverse mode through
  a loop stores residuals per step. (A while loop cannot be split, since its trip
  count is unknown: its JVP records one loop over primals and tangents together.)
- **transpose** (:func:`transpose_program`): the linear part is transposed by
  :func:`spmdgrad.ad.backward_pass` with the reduced axes of the enclosing
  backward pass, so the reduce_axes rule holds inside bodies and branches.
- **batching** (:func:`batch_program`): a map frame re-traces the program one level
  down inside a fresh copy of itself, so collectives on its axis inside the body
  still find their owner (``batching.frame_rules``).
"""
from __future__ import annotations

import numpy as np

from .. import ad, batching, core
from ..core import _EMPTY, Jaxpr, ShapedArray, Tracer, impl_rules, zip
from .structural import broadcast_batch

# ---------------------------------------------------------------- small helpers


def is_float(aval):
    return np.issubdtype(aval.dtype, np.inexact)


def zeros(aval):
    return np.zeros(aval.shape, aval.dtype)


def avals_of(vs):
    return [v.aval for v in vs]


def eval_impl(jaxpr, args):
    """Evaluate a program on concrete arrays, calling the implementations directly
    (through its compiled form when jit compiled it: ``compile.CompiledJaxpr``)."""
    run = getattr(jaxpr, "run", None)
    if run is not None:
        return run(*args)
    return core.eval_jaxpr(jaxpr, args, _apply_impl)


def _apply_impl(prim, vals, params):
    return impl_rules[prim](*vals, **params)


def same_type(a, b):
    return a.shape == b.shape and a.dtype == b.dtype


def join_vma(a, b):
    return ShapedArray(a.shape, a.dtype, a.vma | b.vma)


def widen(aval, vma):
    """``aval``, varying over ``vma`` too."""
    return aval if vma <= aval.vma else ShapedArray(aval.shape, aval.dtype, aval.vma | vma)


# ---------------------------------------------------------------- tracing and closure conversion

class Program(Jaxpr):
    """A closed sub-program carried as a primitive's param (a body, a branch).

    Unhashable on purpose: its constants may be large arrays, and programs are made
    afresh at every trace, so they must not key the shared abstract-eval cache.
    Printed indented inside the enclosing program."""
    __slots__ = ()
    __hash__ = None

    def __repr__(self):
        return "\n        ".join(Jaxpr.__str__(self).splitlines())


def trace_program(fun, in_avals):
    """Trace ``fun`` (flat list of arrays -> flat list) on abstract ``in_avals``.

    Returns ``(jaxpr, lifted)``: a closed program whose leading invars stand for the
    traced values ``lifted`` that ``fun`` closed over, followed by one invar per
    aval. Call it with ``lifted + args``."""
    trace = ad.JaxprTrace(core.current_trace())
    args = [trace.new_arg(a) for a in in_avals]
    with core.use_trace(trace):
        outs = fun(*args)
    return closure_convert(trace.to_jaxpr([a.var for a in args], list(outs)))


def closure_convert(jaxpr, lift_arrays=True):
    """Constants that are tracers (of enclosing transformations) become leading invars,
    and so do arrays (not scalars) unless ``lift_arrays`` is false: the program then
    holds no array the user might mutate, and a jit that stages the primitive
    snapshots those arrays with its own constants."""
    keep_v, keep_c, lift_v, lift_c = [], [], [], []
    for v, c in zip(jaxpr.constvars, jaxpr.consts):
        if isinstance(c, Tracer) or (lift_arrays and isinstance(c, np.ndarray) and c.ndim > 0):
            lift_v.append(v)
            lift_c.append(c)
        else:
            keep_v.append(v)
            keep_c.append(c)
    return Program(lift_v + list(jaxpr.invars), keep_v, keep_c, jaxpr.eqns, jaxpr.outvars), lift_c


# ---------------------------------------------------------------- linearize

class Linearized:
    """A program split by :func:`linearize_program`.

    - ``primal``: ``invars -> outs + computed residuals``;
    - ``residuals``: one entry per residual, ``("in", k)`` for the program's own
      input ``k`` (passed as is, never recomputed) or ``("out", j)`` for the
      ``j``-th computed residual;
    - ``linear``: ``(residuals..., tangents of the nz inputs...) -> tangents`` of the
      outputs, ``None`` for a zero;
    - ``out_nz``: which outputs have a nonzero tangent.
    """
    __slots__ = ("linear", "n_computed", "out_nz", "primal", "residuals")


def linearize_program(jaxpr, nz_in, reusable=None):
    """Split ``jaxpr`` (closed) at the tangents of the inputs flagged in ``nz_in``.
    An input used as a residual is passed as is if its index is in ``reusable``
    (default: every input), else the primal part returns it like a computed one."""
    ptrace = ad.JaxprTrace(core.current_trace())
    pargs = [ptrace.new_arg(v.aval) for v in jaxpr.invars]
    with core.use_trace(ptrace):
        outs, tj = ad.linearize_flat(lambda *a: core.eval_jaxpr(jaxpr, a), pargs, list(nz_in))
    position = {a.var: k for k, a in enumerate(pargs)}
    res_vars, residuals, computed = [], [], []
    keep_v, keep_c = [], []
    for v, c in zip(tj.constvars, tj.consts):
        if not isinstance(c, Tracer):
            keep_v.append(v)
            keep_c.append(c)
            continue
        res_vars.append(v)
        k = position.get(c.var) if type(c) is ad.JaxprTracer and c._trace is ptrace else None
        if k is not None and (reusable is None or k in reusable):
            residuals.append(("in", k))
        else:
            residuals.append(("out", len(computed)))
            computed.append(c)
    primal, lifted = closure_convert(ptrace.to_jaxpr([a.var for a in pargs], list(outs) + computed),
                                     lift_arrays=False)
    assert not lifted, "a residual escaped its program"
    out = Linearized()
    out.primal = primal
    out.residuals = residuals
    out.n_computed = len(computed)
    out.linear = Jaxpr(res_vars + list(tj.invars), keep_v, keep_c, tj.eqns, tj.outvars)
    out.out_nz = [v is not None for v in tj.outvars]
    return out


# ---------------------------------------------------------------- transpose

def transpose_program(jaxpr, linear, res_vals, cts_out, in_types):
    """Cotangents of the ``linear``-flagged invars of ``jaxpr``, given values for the
    other invars (``res_vals``, in order) and the outputs' cotangents (None: zero).

    Runs the backward pass on the current trace with the named axes of the one
    transposing the enclosing primitive (``ad.current_axes``), the linear invars'
    tangents typed ``in_types``: the reduce_axes rule holds inside the program as if
    it were inlined."""
    lin_vars, res_vars = [], []
    for v, lin in zip(jaxpr.invars, linear):
        (lin_vars if lin else res_vars).append(v)
    view = Jaxpr(lin_vars, list(jaxpr.constvars) + res_vars, list(jaxpr.consts) + list(res_vals),
                 jaxpr.eqns, jaxpr.outvars)
    reduced, bound = ad.current_axes()
    return ad.reduce_inputs(ad.backward_pass(view, list(cts_out), reduced, bound, list(in_types)))


def operand_type(x):
    """The named-axis type of a primitive operand seen by a transpose rule: its
    tangent's type if it is linear, its own otherwise."""
    return x.tangent_type if ad.is_undefined(x) else core.get_aval(x).vma


def boundary_psum(ct, outer_type, inner_type):
    """The transpose of the implicit broadcast of an operand of type ``outer_type`` to
    the type ``inner_type`` its program gave it: a psum over the bound axes between."""
    reduced, bound = ad.current_axes()
    axes = (inner_type - outer_type) & frozenset(bound) if reduced is not None else _EMPTY
    if ct is None or not axes:
        return ct
    return core.psum_p.bind(ct, axes=tuple(sorted(axes)))[0]


# ---------------------------------------------------------------- types

def program_types(jaxpr, in_types):
    """The named-axis types of ``jaxpr``'s outputs when its inputs have ``in_types``
    (each joined with the input's own aval): the operands' vma rules, in order."""
    types = {v: v.aval.vma for v in jaxpr.constvars}
    for v, t in zip(jaxpr.invars, in_types):
        types[v] = t | v.aval.vma
    for e in jaxpr.eqns:
        outs = core.vma_eval(e.prim, [types[v] for v in e.invars], e.params)
        if e.prim.multiple_results:
            types.update(zip(e.outvars, outs if isinstance(outs, list) else [outs] * len(e.outvars)))
        else:
            types[e.outvars[0]] = outs
    return [types[v] for v in jaxpr.outvars]


# ---------------------------------------------------------------- batching

def fresh_frame(frame):
    """A map frame like ``frame`` over the current trace (a body runs inside it)."""
    return batching.BatchTrace(core.current_trace(), frame.axis_name, frame.axis_size,
                               frame.backend)


def _own(trace, x):
    return type(x) is batching.BatchTracer and x._trace is trace


def unbatched_aval(aval, batched, frame):
    """The aval one level below ``frame`` of a value of type ``aval`` inside it."""
    shape = (frame.local_size,) + aval.shape if batched else aval.shape
    return ShapedArray(shape, aval.dtype, aval.vma - frame.axis_set)


def run_in_frame(frame, fun, args, in_batched):
    """Run ``fun`` on ``args`` (values one level below ``frame``) inside a fresh copy of
    the frame. Returns the outputs one level down and which of them are batched."""
    trace = fresh_frame(frame)
    wrapped = [batching.BatchTracer(trace, a) if b else a for a, b in zip(args, in_batched)]
    with core.use_trace(trace):
        outs = fun(*wrapped)
    flags = [_own(trace, o) for o in outs]
    return [o.val if f else o for o, f in zip(outs, flags)], flags


def batch_program(frame, jaxpr, in_batched, force_out):
    """``jaxpr`` vectorized over ``frame``, as a program one level down.

    Returns ``(program, lifted, out_batched)``; an output is batched if it varies
    over the frame or ``force_out`` asks for it (then it is broadcast)."""
    flags = []

    def fun(*args):
        outs, out_b = run_in_frame(frame, lambda *a: core.eval_jaxpr(jaxpr, a), args, in_batched)
        flags[:] = [b or f for b, f in zip(out_b, force_out)]
        return [broadcast_batch(o, frame.local_size) if f and not b else o
                for o, b, f in zip(outs, out_b, flags)]
    avals = [unbatched_aval(v.aval, b, frame) for v, b in zip(jaxpr.invars, in_batched)]
    program, lifted = trace_program(fun, avals)
    return program, lifted, flags


def fixpoint(step, flags):
    """Iterate ``flags = flags | step(flags)`` (elementwise) until it is stable; return the
    last result of ``step`` with the stable flags. Loop carries use this: a carry that
    becomes varying (batched, differentiated, ...) in the body must be so on entry."""
    while True:
        result, out_flags = step(flags)
        new = [a or b for a, b in zip(flags, out_flags)]
        if new == list(flags):
            return result, new
        flags = new
