"""Loop primitives: ``scan`` and ``while``, whose bodies are closed sub-programs.

``scan(*consts, *init, *xs, body, num_consts, num_carry, length, reverse)``:
``body(consts, carry, x_slices) -> (carry, y_slices)`` runs ``length`` times over
the leading axis of every ``xs`` (backwards if ``reverse``); the outputs are the
final carry and the stacked ``ys``. Its JVP runs a scan of the body's primal part,
which also stacks the residuals of every step, and records a scan of the body's
linear part; the transpose of that is a scan in the other direction, whose carry
accumulates the cotangents of loop-invariant operands.

``while(*cond_consts, *body_consts, *init, cond, body, cond_nconsts, body_nconsts)``
iterates ``body`` while ``cond`` holds. Its trip count is unknown until it runs, so
it has forward-mode derivatives only (a loop over primals and tangents together)
and refuses reverse mode with an error naming scan and fori_loop. Under vmap a
batched predicate runs the loop until every instance is done, keeping finished
instances unchanged, as JAX does.

See :mod:`spmdgrad.primitives.control_flow` for the shared machinery.
"""
from __future__ import annotations

import numpy as np

from .. import ad, batching, core
from ..core import (
    Primitive,
    SpmdgradError,
    abstract_rules,
    get_aval,
    impl_rules,
    vma_rules,
    zip,
)
from . import control_flow as cf
from .elementwise import add_any, convert_element_type, gt, select_n
from .reductions import reduce_max
from .structural import broadcast_batch, broadcast_in_dim, transpose

# ---------------------------------------------------------------- scan
scan_p = Primitive("scan", multiple_results=True)


def _split(xs, *sizes):
    out, i = [], 0
    for n in sizes:
        out.append(list(xs[i:i + n]))
        i += n
    out.append(list(xs[i:]))
    return out


def _scan_impl(*args, body, num_consts, num_carry, length, reverse):
    consts, carry, xs = _split(args, num_consts, num_carry)
    steps = range(length - 1, -1, -1) if reverse else range(length)
    ys = []
    for i in steps:
        out = cf.eval_impl(body, consts + carry + [x[i] for x in xs])
        carry, y = out[:num_carry], out[num_carry:]
        ys.append(y)
    if reverse:
        ys.reverse()
    y_avals = cf.avals_of(body.outvars[num_carry:])
    stacked = [np.stack([np.asarray(y[j]) for y in ys]) if ys else np.zeros((0,) + a.shape, a.dtype)
               for j, a in enumerate(y_avals)]
    return list(carry) + stacked


def _scan_abstract(*avals, body, num_consts, num_carry, length, reverse):
    if len(avals) != len(body.invars):
        raise TypeError(f"scan: {len(avals)} operands for a body with {len(body.invars)} inputs")
    for k, (a, v) in enumerate(zip(avals, body.invars)):
        want = v.aval.shape if k < num_consts + num_carry else (length,) + v.aval.shape
        if a.shape != want or a.dtype != v.aval.dtype:
            raise TypeError(f"scan: operand {k} is {a.str_short()}, the body expects "
                            f"{v.aval.dtype}{list(want)}")
    carry = cf.avals_of(body.invars[num_consts:num_consts + num_carry])
    ys = cf.avals_of(body.outvars[num_carry:])
    return [(a.shape, a.dtype) for a in carry] + [((length,) + a.shape, a.dtype) for a in ys]


def scan_types(body, nc, nk, in_types):
    """Types of the body's inputs and outputs when the operands have ``in_types``: a
    carry varies where its initial value or any step makes it vary (a fixed point)."""
    consts, carry, xs = _split(in_types, nc, nk)
    carry = [t | v.aval.vma for t, v in zip(carry, body.invars[nc:nc + nk])]
    while True:
        outs = cf.program_types(body, consts + carry + xs)
        new = [c | o for c, o in zip(carry, outs[:nk])]
        if new == carry:
            return consts + carry + xs, outs
        carry = new


def _scan_vma(vmas, body, num_consts, num_carry, length, reverse):
    _, outs = scan_types(body, num_consts, num_carry, vmas)
    return outs


impl_rules[scan_p] = _scan_impl
abstract_rules[scan_p] = _scan_abstract
vma_rules[scan_p] = _scan_vma


def _step_aval(x):
    """The aval of one step's slice of a stacked value."""
    a = get_aval(x)
    return core.ShapedArray(a.shape[1:], a.dtype, a.vma)


def scan_bind(consts, init, xs, body, length, reverse):
    return scan_p.bind(*consts, *init, *xs, body=body, num_consts=len(consts),
                       num_carry=len(init), length=int(length), reverse=bool(reverse))


def _scan_jvp(primals, tangents, body, num_consts, num_carry, length, reverse):
    nc, nk = num_consts, num_carry
    n_in = len(body.invars)
    is_float = [cf.is_float(v.aval) for v in body.invars]
    nz = [t is not None and f for t, f in zip(tangents, is_float)]

    reusable = set(range(nc)) | set(range(nc + nk, n_in))  # consts and xs: never restacked

    def linearize(nz_carry):
        nz_in = nz[:nc] + nz_carry + nz[nc + nk:]
        lin = ad.on_primals(cf.linearize_program, body, nz_in, reusable)
        return (lin, nz_in), [o and f for o, f in zip(lin.out_nz[:nk], is_float[nc:nc + nk])]
    (lin, nz_in), _ = cf.fixpoint(linearize, nz[nc:nc + nk])

    # The primal scan also stacks the residuals its body computes, one per step.
    p_outs = ad.primal(scan_p, primals, {"body": lin.primal, "num_consts": nc, "num_carry": nk,
                                         "length": length, "reverse": reverse})
    n_out = len(body.outvars)
    outs, stacked = p_outs[:n_out], p_outs[n_out:]

    # Residuals: loop-invariant ones are consts of the linear scan; the others are xs.
    res_c, res_c_vals, res_x, res_x_vals = [], [], [], []
    for r, (kind, k) in enumerate(lin.residuals):
        if kind == "in" and k < nc:
            res_c.append(r)
            res_c_vals.append(primals[k])
        elif kind == "in" and k >= nc + nk:
            res_x.append(r)
            res_x_vals.append(primals[k])
        else:  # computed by the body (or the carry): stacked by the primal scan
            res_x.append(r)
            res_x_vals.append(stacked[k])
    lin_in = [k for k in range(n_in) if nz_in[k]]
    t_consts = [k for k in lin_in if k < nc]
    t_carry = [k for k in range(nc, nc + nk) if nz_in[k]]
    t_xs = [k for k in lin_in if k >= nc + nk]
    out_t = [j for j in range(nk, n_out) if lin.out_nz[j]]
    n_res = len(lin.residuals)

    def linear_body(*args):
        rc, tc, tk, tx, rx = _split(args, len(res_c), len(t_consts), len(t_carry), len(t_xs))
        res = [None] * n_res
        for r, v in zip(res_c + res_x, rc + rx):
            res[r] = v
        touts = core.eval_jaxpr(lin.linear, res + tc + tk + tx)
        carry_t = [ad.instantiate(touts[k - nc], body.invars[k].aval) for k in t_carry]
        return carry_t + [touts[j] for j in out_t]

    avals = ([get_aval(v) for v in res_c_vals]
             + [body.invars[k].aval for k in t_consts + t_carry + t_xs]
             + [_step_aval(v) for v in res_x_vals])
    lin_body, lifted = cf.trace_program(linear_body, avals)
    init_t = [tangents[k] if tangents[k] is not None else cf.zeros(body.invars[k].aval)
              for k in t_carry]
    t_outs = scan_bind(lifted + res_c_vals + [tangents[k] for k in t_consts], init_t,
                       [tangents[k] for k in t_xs] + res_x_vals, lin_body, length, reverse)
    tangents_out = [None] * n_out
    for k, t in zip(t_carry, t_outs[:len(t_carry)]):
        tangents_out[k - nc] = t
    for j, t in zip(out_t, t_outs[len(t_carry):]):
        tangents_out[j] = t
    return outs, tangents_out


def _scan_transpose(cts, *operands, body, num_consts, num_carry, length, reverse):
    nc, nk = num_consts, num_carry
    consts, _, xs = _split(operands, nc, nk)
    # Carries of a linear scan are always linear (a concrete one is a zero tangent).
    linear = ([ad.is_undefined(c) for c in consts] + [True] * nk
              + [ad.is_undefined(x) for x in xs])
    res_c = [c for c in consts if not ad.is_undefined(c)]
    res_x = [x for x in xs if not ad.is_undefined(x)]
    lin_c = [k for k in range(nc) if linear[k]]
    lin_x = [k for k in range(nc + nk, len(operands)) if linear[k]]
    # The body's inputs typed as if it were inlined (the reduce_axes rule needs types).
    in_types, _ = scan_types(body, nc, nk, [cf.operand_type(x) for x in operands])
    lin_types = [t for t, lin in zip(in_types, linear) if lin]
    carry_avals = cf.avals_of(body.invars[nc:nc + nk])
    ct_carry = [ad.instantiate(c, a) for c, a in zip(cts[:nk], carry_avals)]
    ys_nz = [j for j, c in enumerate(cts[nk:]) if c is not None]
    ct_ys = [cts[nk + j] for j in ys_nz]
    y_avals = cf.avals_of(body.outvars[nk:])

    def step(acc_avals, ctc_avals):
        def tbody(*args):
            rc, acc, ctc, rx, cty = _split(args, len(res_c), len(lin_c), nk, len(res_x))
            cts_out = list(ctc) + [None] * len(y_avals)
            for j, c in zip(ys_nz, cty):
                cts_out[nk + j] = c
            cts_in = cf.transpose_program(body, linear, rc + rx, cts_out, lin_types)
            c_cts, k_cts, x_cts = _split(cts_in, len(lin_c), nk)
            new_acc = [a if c is None else add_any(a, c) for a, c in zip(acc, c_cts)]
            new_ctc = [ad.instantiate(c, a) for c, a in zip(k_cts, carry_avals)]
            return new_acc + new_ctc + [ad.instantiate(c, body.invars[k].aval)
                                        for c, k in zip(x_cts, lin_x)]
        avals = ([get_aval(c) for c in res_c] + acc_avals + ctc_avals
                 + [_step_aval(x) for x in res_x] + [_step_aval(c) for c in ct_ys])
        return cf.trace_program(tbody, avals)

    # Accumulators and carried cotangents start with their operands' types and widen
    # (over unreduced axes: per-example cotangents) until the body preserves them.
    acc_avals = [body.invars[k].aval for k in lin_c]
    ctc_avals = [cf.join_vma(a, get_aval(c)) for a, c in zip(carry_avals, ct_carry)]
    while True:
        tbody, lifted = step(acc_avals, ctc_avals)
        outs = cf.avals_of(tbody.outvars[:len(lin_c) + nk])
        new = [cf.join_vma(a, o) for a, o in zip(acc_avals + ctc_avals, outs)]
        if new == acc_avals + ctc_avals:
            break
        acc_avals, ctc_avals = new[:len(lin_c)], new[len(lin_c):]
    acc0 = [cf.zeros(a) for a in acc_avals]
    outs = scan_bind(lifted + res_c, acc0 + ct_carry, res_x + ct_ys, tbody, length, not reverse)
    acc, ctc, ctx = _split(outs, len(lin_c), nk)
    result = [None] * len(operands)
    for k, c in zip(lin_c + list(range(nc, nc + nk)) + lin_x, acc + ctc + ctx):
        if ad.is_undefined(operands[k]):
            c = cf.boundary_psum(c, cf.operand_type(operands[k]), in_types[k])
            result[k] = ad.Reduced(c)
    return result


def _scan_frame(frame, vals, batched, body, num_consts, num_carry, length, reverse):
    nc, nk = num_consts, num_carry
    consts, init, xs = _split(vals, nc, nk)
    cb, ib, xb = _split(batched, nc, nk)
    # Batched xs are (batch, length, ...): the scanned axis goes first.
    xs = [_swap01(x) if b else x for x, b in zip(xs, xb)]
    ny = len(body.outvars) - nk

    def step(carry_b):
        prog, lifted, flags = cf.batch_program(frame, body, cb + carry_b + xb,
                                               list(carry_b) + [False] * ny)
        return (prog, lifted, flags), flags[:nk]
    (prog, lifted, flags), carry_b = cf.fixpoint(step, list(ib))
    init = [broadcast_batch(v, frame.local_size) if b and not b0 else v
            for v, b, b0 in zip(init, carry_b, ib)]
    outs = scan_bind(lifted + consts, init, xs, prog, length, reverse)
    ys = [_swap01(y) if b else y for y, b in zip(outs[nk:], flags[nk:])]
    return outs[:nk] + ys, flags


def _swap01(x):
    nd = get_aval(x).ndim
    return transpose(x, (1, 0) + tuple(range(2, nd)))


ad.jvp_rules[scan_p] = _scan_jvp
ad.transpose_rules[scan_p] = _scan_transpose
batching.frame_rules[scan_p] = _scan_frame

# ---------------------------------------------------------------- while
while_p = Primitive("while", multiple_results=True)


class ReverseModeWhileError(NotImplementedError, SpmdgradError):
    pass


def _while_impl(*args, cond, body, cond_nconsts, body_nconsts):
    cc, bc, carry = _split(args, cond_nconsts, body_nconsts)
    while bool(cf.eval_impl(cond, cc + carry)[0]):
        carry = cf.eval_impl(body, bc + carry)
    return list(carry)


def _while_abstract(*avals, cond, body, cond_nconsts, body_nconsts):
    carry = cf.avals_of(body.invars[body_nconsts:])
    return [(a.shape, a.dtype) for a in carry]


impl_rules[while_p] = _while_impl
abstract_rules[while_p] = _while_abstract
def _while_vma(vmas, cond, body, cond_nconsts, body_nconsts):
    """Carries vary where their initial value or any step makes them vary, and over
    the axes the predicate varies over (instances stop at different steps)."""
    cc, bc, carry = _split(vmas, cond_nconsts, body_nconsts)
    carry = [t | v.aval.vma for t, v in zip(carry, body.invars[body_nconsts:])]
    while True:
        pred = cf.program_types(cond, cc + carry)[0]
        new = [c | o | pred for c, o in zip(carry, cf.program_types(body, bc + carry))]
        if new == carry:
            return carry
        carry = new


vma_rules[while_p] = _while_vma


def while_bind(cond_consts, body_consts, init, cond, body):
    return while_p.bind(*cond_consts, *body_consts, *init, cond=cond, body=body,
                        cond_nconsts=len(cond_consts), body_nconsts=len(body_consts))


def _while_jvp(primals, tangents, cond, body, cond_nconsts, body_nconsts):
    ncc, nbc = cond_nconsts, body_nconsts
    cc, bc, init = _split(primals, ncc, nbc)
    _, tbc, tinit = _split(tangents, ncc, nbc)
    is_float = [cf.is_float(v.aval) for v in body.invars]
    nz_bc = [t is not None and f for t, f in zip(tbc, is_float[:nbc])]

    def step(nz_carry):
        nz_in = nz_bc + list(nz_carry)
        prog = ad.on_primals(cf.linearize_program, body, nz_in)
        return nz_in, [o and f for o, f in zip(prog.out_nz, is_float[nbc:])]
    nz_in, nz_carry = cf.fixpoint(step, [t is not None and f for t, f in zip(tinit, is_float[nbc:])])
    outs = ad.primal(while_p, primals, {"cond": cond, "body": body, "cond_nconsts": ncc,
                                        "body_nconsts": nbc})
    # Forward mode: one loop over primals and tangents together, recorded as is.
    nk = len(init)
    t_bc = [k for k in range(nbc) if nz_bc[k]]
    t_carry = [k for k in range(nk) if nz_carry[k]]

    def joint_body(*args):
        bcs, bcts, carry, carry_t = _split(args, nbc, len(t_bc), nk)
        outs, tj = ad.linearize_flat(lambda *a: core.eval_jaxpr(body, a), bcs + carry, nz_in)
        touts = core.eval_jaxpr(tj, bcts + carry_t)
        return list(outs) + [ad.instantiate(touts[k], body.invars[nbc + k].aval) for k in t_carry]
    avals = (cf.avals_of(body.invars[:nbc]) + [body.invars[k].aval for k in t_bc]
             + cf.avals_of(body.invars[nbc:]) + [body.invars[nbc + k].aval for k in t_carry])
    joint_body, lifted = cf.trace_program(joint_body, avals)
    ncarry = nk + len(t_carry)
    joint_cond, c_lifted = cf.trace_program(
        lambda *a: core.eval_jaxpr(cond, list(a[:ncc + nk])),
        [get_aval(x) for x in cc] + cf.avals_of(body.invars[nbc:])
        + [body.invars[nbc + k].aval for k in t_carry])
    init_t = [tinit[k] if tinit[k] is not None else cf.zeros(body.invars[nbc + k].aval)
              for k in t_carry]
    res = while_bind(c_lifted + cc, lifted + bc + [tbc[k] for k in t_bc], init + init_t,
                     joint_cond, joint_body)
    t_out = [None] * nk
    for k, t in zip(t_carry, res[nk:ncarry]):
        t_out[k] = t
    return outs, t_out


def _while_transpose(cts, *operands, **params):
    raise ReverseModeWhileError(
        "Reverse-mode differentiation does not work for lax.while_loop: its trip count is "
        "unknown until it runs, so the residuals of its steps cannot be stored. Use lax.scan, "
        "or lax.fori_loop with static (Python int) bounds, which is a scan; forward mode "
        "(jvp, jacfwd) works with while_loop.")


def _any_over_frame(frame, pred):
    """One level below ``frame``: whether any instance's ``pred`` holds (all ranks)."""
    x = reduce_max(convert_element_type(pred, np.dtype(np.int64)), (0,))
    if frame.backend is not None:
        x = frame.backend.allreduce([x], "max")[0]
    return gt(x, np.asarray(0, np.int64))


def _while_frame(frame, vals, batched, cond, body, cond_nconsts, body_nconsts):
    ncc, nbc = cond_nconsts, body_nconsts
    cc, bc, init = _split(vals, ncc, nbc)
    ccb, bcb, ib = _split(batched, ncc, nbc)
    nk = len(init)

    def step(carry_b):
        prog, lifted, flags = cf.batch_program(frame, body, bcb + carry_b, list(carry_b))
        return (prog, lifted), flags
    (bprog, b_lifted), carry_b = cf.fixpoint(step, list(ib))
    cprog, c_lifted, pred_b = cf.batch_program(frame, cond, ccb + carry_b, [False])
    if pred_b[0]:
        # Instances finish at different steps: loop while any runs, and freeze the
        # finished ones (every carry is then batched, to hold per-instance states).
        carry_b = [True] * nk

        def masked_body(*args):
            carry = args[ncc + nbc:]

            def inner(*a):
                pred = core.eval_jaxpr(cond, list(a[:ncc]) + list(a[ncc + nbc:]))[0]
                new = core.eval_jaxpr(body, list(a[ncc:]))
                return [pred] + list(new)
            outs, flags = cf.run_in_frame(frame, inner, list(args), ccb + bcb + carry_b)
            pred = outs[0] if flags[0] else broadcast_batch(outs[0], frame.local_size)
            res = []
            for c, n, f in zip(carry, outs[1:], flags[1:]):
                n = n if f else broadcast_batch(n, frame.local_size)
                shape = get_aval(c).shape
                res.append(select_n(broadcast_in_dim(pred, shape, (0,)), c, n))
            return res

        def any_cond(*args):
            outs, flags = cf.run_in_frame(
                frame, lambda *a: core.eval_jaxpr(cond, list(a)), list(args), ccb + carry_b)
            return [_any_over_frame(frame, outs[0]) if flags[0] else outs[0]]
        avals = lambda vs, bs: [cf.unbatched_aval(v.aval, b, frame)
                                for v, b in zip(vs, bs)]
        carry_avals = avals(body.invars[nbc:], carry_b)
        bprog, b_lifted = cf.trace_program(
            masked_body, avals(cond.invars[:ncc], ccb) + avals(body.invars[:nbc], bcb) + carry_avals)
        cprog, c_lifted = cf.trace_program(any_cond, avals(cond.invars[:ncc], ccb) + carry_avals)
        bc = cc + bc
    init = [broadcast_batch(v, frame.local_size) if b and not b0 else v
            for v, b, b0 in zip(init, carry_b, ib)]
    return while_bind(c_lifted + cc, b_lifted + bc, init, cprog, bprog), carry_b


ad.jvp_rules[while_p] = _while_jvp
ad.transpose_rules[while_p] = _while_transpose
batching.frame_rules[while_p] = _while_frame
