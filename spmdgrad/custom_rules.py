"""The primitives behind custom_jvp and custom_vjp, and their rules.

A call to a custom function binds one primitive whose params carry the user's
Python callables (a :class:`Call`), seen as flat functions of the call's array
leaves:

- ``custom_jvp_call``: evaluation runs ``fun``; a linearize trace runs the JVP
  rule instead (primal work on its parent, tangent work recorded).
- ``custom_vjp_call``: evaluation runs ``fun``; a linearize trace runs ``fwd`` on
  the primals and records one linear primitive, ``custom_lin``, whose transpose
  calls ``bwd(residuals, ct)``. ``bwd`` binds ordinary operations on whatever
  trace runs the backward pass, so an enclosing grad differentiates through it:
  second order works.
- A map frame (vmap/pmap) does not run the function; it rebinds the call one
  level down with *batched* callables, which re-create the frame around the
  user's code. The custom rule therefore survives any mix of grad and vmap.

Map frames apply ``batching.frame_rules`` to these calls, batched operands or
not, and pass the rule the frame itself. Re-creating the frame also keeps the axis
bound for collectives used inside the custom function. The backward pass treats
the calls as opaque (``ad.opaque_prims``).
"""
from __future__ import annotations

import numpy as np

from . import ad, core
from .batching import BatchTrace, BatchTracer, frame_rules
from .core import Primitive, abstract_rules, get_aval, impl_rules, vma_rules, zip
from .dtypes import float0, is_inexact
from .primitives.structural import broadcast_batch, reduce_sum


class Call:
    """One call of a custom function, as flat functions of its array leaves:
    ``fun(*xs) -> outs``; custom_jvp: ``jvp(xs, ts) -> (outs, touts)``; custom_vjp:
    ``fwd(*xs) -> (outs, res, info)`` and ``bwd(info, res, cts) -> cts per x``.
    ``out_batched`` is filled in when a batched version runs."""
    __slots__ = ("name", "fun", "jvp", "fwd", "bwd", "out_batched", "avals")

    def __init__(self, name, fun, jvp=None, fwd=None, bwd=None):
        self.name, self.fun, self.jvp, self.fwd, self.bwd = name, fun, jvp, fwd, bwd
        self.out_batched = self.avals = None

    def __repr__(self):
        return self.name



def _zero_tangent(x):
    a = get_aval(x)
    return np.zeros(a.shape, a.dtype if is_inexact(a.dtype) else float0)


custom_jvp_call_p = Primitive("custom_jvp_call", multiple_results=True)
custom_vjp_call_p = Primitive("custom_vjp_call", multiple_results=True)

# --------------------------------------------------------------------------- AD rules

impl_rules[custom_jvp_call_p] = lambda *xs, call: call.fun(*xs)
impl_rules[custom_vjp_call_p] = lambda *xs, call: call.fun(*xs)


def _custom_jvp_call_jvp(primals, tangents, call):
    tangents = [_zero_tangent(p) if t is None else t for p, t in zip(primals, tangents)]
    return call.jvp(list(primals), tangents)


ad.jvp_rules[custom_jvp_call_p] = _custom_jvp_call_jvp


class _Lin:
    """The linear map of one custom_vjp call at one primal point."""
    __slots__ = ("call", "info", "lin_idx", "out_avals")

    def __init__(self, call, info, lin_idx, out_avals):
        self.call, self.info, self.lin_idx, self.out_avals = call, info, lin_idx, out_avals

    def __repr__(self):
        return self.call.name


def _custom_vjp_call_jvp(primals, tangents, call):
    outs, res, info = call.fwd(*primals)
    lin_idx = [i for i, t in enumerate(tangents) if t is not None]
    lin = _Lin(call, info, lin_idx, [get_aval(o) for o in outs])
    t_outs = custom_lin_p.bind(*[tangents[i] for i in lin_idx], *res, lin=lin)
    return outs, [t if is_inexact(a.dtype) else None for t, a in zip(t_outs, lin.out_avals)]


ad.jvp_rules[custom_vjp_call_p] = _custom_vjp_call_jvp

# custom_lin(*tangents, *residuals): linear in the tangents; its transpose is bwd.
custom_lin_p = Primitive("custom_lin", multiple_results=True)
abstract_rules[custom_lin_p] = lambda *avals, lin: [(a.shape, a.dtype) for a in lin.out_avals]
vma_rules[custom_lin_p] = lambda vmas, lin: [a.vma for a in lin.out_avals]


def _out_cts(cts, avals):
    return [ad.instantiate(c, a) if is_inexact(a.dtype) else np.zeros(a.shape, float0)
            for c, a in zip(cts, avals)]


def _custom_lin_transpose(cts, *operands, lin):
    n = len(lin.lin_idx)
    in_cts = lin.call.bwd(lin.info, list(operands[n:]), _out_cts(cts, lin.out_avals))
    return [in_cts[i] for i in lin.lin_idx] + [None] * (len(operands) - n)


def _lin_forward(lin, operands):
    """custom_lin evaluated forward (jvp/jacfwd of a custom_vjp function): the
    transpose of ``ct -> bwd(residuals, ct)``, which is linear in ``ct``."""
    n = len(lin.lin_idx)
    ts, res = list(operands[:n]), list(operands[n:])
    inexact = [i for i, a in enumerate(lin.out_avals) if is_inexact(a.dtype)]
    zeros = _out_cts([None] * len(lin.out_avals), lin.out_avals)

    def bwd_of_ct(*cts):
        full = list(zeros)
        for i, c in zip(inexact, cts):
            full[i] = c
        in_cts = lin.call.bwd(lin.info, res, full)
        return [in_cts[i] for i in lin.lin_idx]

    _, jaxpr = ad.linearize_flat(bwd_of_ct, [zeros[i] for i in inexact], [True] * len(inexact))
    outs = list(zeros)
    for i, ct in zip(inexact, ad.transpose_linear(jaxpr, ts)):
        outs[i] = ad.instantiate(ct, lin.out_avals[i])
    return outs



def _jvp_by_linearize(f, primals, tangents):
    """A JVP rule for any traceable ``f``: linearize it here, then push the tangents."""
    mask = [t is not None for t in tangents]
    outs, jaxpr = ad.linearize_flat(f, list(primals), mask)
    return outs, core.eval_jaxpr(jaxpr, [t for t in tangents if t is not None])


impl_rules[custom_lin_p] = lambda *xs, lin: _lin_forward(lin, xs)
ad.jvp_rules[custom_lin_p] = lambda primals, tangents, lin: _jvp_by_linearize(
    lambda *xs: _lin_forward(lin, xs), primals, tangents)
ad.transpose_rules[custom_lin_p] = _custom_lin_transpose


# --------------------------------------------------------------------------- batching

def _fresh_frame(frame):
    """A map frame like ``frame``, over the current trace (user code runs inside it)."""
    return BatchTrace(core.current_trace(), frame.axis_name, frame.axis_size, frame.backend)


def _wrap(trace, vals, flags):
    return [BatchTracer(trace, v) if b else v for v, b in zip(vals, flags)]


def _own(trace, x):
    return type(x) is BatchTracer and x._trace is trace


def _unwrap(trace, x, batched):
    """``x`` from inside ``trace`` as a value one level down, batched iff ``batched``."""
    if _own(trace, x):
        return x.val
    if batched and x is not None:
        return broadcast_batch(x, trace.local_size)
    return x


def _settle(b, flags):
    """Output batching of a batched call: the first run decides; later runs (the
    same call re-evaluated from a recorded program) must agree or be broadcast."""
    if b.out_batched is None:
        b.out_batched = list(flags)
    elif any(f and not g for f, g in zip(flags, b.out_batched)):
        raise NotImplementedError(
            f"{b.name}: under vmap/pmap its outputs vary over the mapped axis in one "
            "evaluation but not in another (the function and its rule disagree)")
    return b.out_batched


def _sum_over_frame(frame, trace, ct):
    """Cotangent of an unmapped input: summed over the frame's instances (and ranks)."""
    if frame.backend is not None and frame.axis_name is not None:
        with core.use_trace(trace):
            return core.psum_p.bind(ct, axes=(frame.axis_name,))[0]
    return reduce_sum(ct.val, (0,))


def _batched_call(call, frame, in_b):
    """``call`` with its callables mapped over ``frame``; ``in_b`` says which
    arguments carry the leading batch axis."""
    b = Call(call.name, None)

    def fun(*xs):
        trace = _fresh_frame(frame)
        with core.use_trace(trace):
            outs = call.fun(*_wrap(trace, xs, in_b))
        flags = _settle(b, [_own(trace, o) for o in outs])
        return [_unwrap(trace, o, f) for o, f in zip(outs, flags)]

    def jvp(xs, ts):
        trace = _fresh_frame(frame)
        with core.use_trace(trace):
            outs, touts = call.jvp(_wrap(trace, xs, in_b), _wrap(trace, ts, in_b))
        flags = _settle(b, [_own(trace, o) or _own(trace, t) for o, t in zip(outs, touts)])
        return ([_unwrap(trace, o, f) for o, f in zip(outs, flags)],
                [_unwrap(trace, t, f) for t, f in zip(touts, flags)])

    def fwd(*xs):
        trace = _fresh_frame(frame)
        with core.use_trace(trace):
            outs, res, info = call.fwd(*_wrap(trace, xs, in_b))
        flags = _settle(b, [_own(trace, o) for o in outs])
        res_b = [_own(trace, r) for r in res]
        return ([_unwrap(trace, o, f) for o, f in zip(outs, flags)],
                [_unwrap(trace, r, f) for r, f in zip(res, res_b)], (info, res_b, flags))

    def bwd(info_b, res, cts):
        info, res_b, out_b = info_b
        trace = _fresh_frame(frame)
        with core.use_trace(trace):
            in_cts = call.bwd(info, _wrap(trace, res, res_b), _wrap(trace, cts, out_b))
        return [_sum_over_frame(frame, trace, c) if _own(trace, c) and not f
                else _unwrap(trace, c, f) for c, f in zip(in_cts, in_b)]

    b.fun = fun
    b.jvp = jvp if call.jvp is not None else None
    if call.fwd is not None:
        b.fwd, b.bwd = fwd, bwd
    return b


def _call_batch_rule(prim):
    def rule(frame, vals, batched, call):
        b = _batched_call(call, frame, batched)
        outs = prim.bind(*vals, call=b)
        return outs, b.out_batched
    return rule


def _custom_lin_batch(frame, vals, batched, lin):
    # Forward evaluation is ordinary traced code: run it inside a fresh frame.
    trace = _fresh_frame(frame)
    with core.use_trace(trace):
        outs = _lin_forward(lin, _wrap(trace, vals, batched))
    flags = [_own(trace, o) for o in outs]
    return [_unwrap(trace, o, f) for o, f in zip(outs, flags)], flags


frame_rules[custom_jvp_call_p] = _call_batch_rule(custom_jvp_call_p)
frame_rules[custom_vjp_call_p] = _call_batch_rule(custom_vjp_call_p)
frame_rules[custom_lin_p] = _custom_lin_batch
ad.opaque_prims.update((custom_jvp_call_p, custom_vjp_call_p, custom_lin_p))


# --------------------------------------------------------------------------- staging

def _abstract_call(*avals, call):
    """Shapes of a call's outputs, found by tracing ``fun`` on abstract inputs."""
    trace = ad.JaxprTrace(core.current_trace())
    args = [trace.new_arg(a) for a in avals]
    with core.use_trace(trace):
        outs = call.fun(*args)
    call.avals = [get_aval(o) for o in outs]  # read by the vma rule, called next
    return [(a.shape, a.dtype) for a in call.avals]


def _call_vma(vmas, call):
    return [a.vma for a in call.avals]


def _call_transpose(use_rule):
    """Only reached when a JVP rule applies a custom function to tangents: the call
    is then linear in them, and its transpose is its VJP. A custom_vjp call uses
    its bwd; a custom_jvp call transposes ``fun`` itself (its rule would record the
    same call again)."""
    def rule(cts, *operands, call):
        undef = [ad.is_undefined(x) for x in operands]
        primals = [np.zeros(x.aval.shape, x.aval.dtype) if u else x
                   for x, u in zip(operands, undef)]
        fun = (lambda *xs: custom_vjp_call_p.bind(*xs, call=call)) if use_rule \
            else call.fun
        _, jaxpr = ad.linearize_flat(fun, primals, undef)
        cts_in = iter(ad.transpose_linear(jaxpr, list(cts)))
        return [next(cts_in) if u else None for u in undef]
    return rule


for _p in (custom_jvp_call_p, custom_vjp_call_p):
    abstract_rules[_p] = _abstract_call
    vma_rules[_p] = _call_vma
ad.transpose_rules[custom_jvp_call_p] = _call_transpose(use_rule=False)
ad.transpose_rules[custom_vjp_call_p] = _call_transpose(use_rule=True)
