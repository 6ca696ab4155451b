"""The branch primitive ``cond(index, *operands, branches)``: run ``branches[index]``.

Every branch is a closed program of the same operands with outputs of the same
shapes and dtypes (their vma may differ; the output varies where any branch does).
The index is clamped to ``[0, len(branches) - 1]``, as ``lax.switch`` does.

Its JVP linearizes every branch: the primal cond returns the branch's outputs and
its residuals (the slots of the other branches' residuals hold zeros), and the
linear part is a cond of the branches' linear parts; its transpose is a cond of
their transposes. Under vmap, an unbatched index keeps one cond; a batched index
runs every branch and selects each instance's result, as JAX does.
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
from .elementwise import eq, gt, select_n
from .structural import broadcast_batch, broadcast_in_dim

cond_p = Primitive("cond", multiple_results=True)


def _clamp(index, n):
    return min(max(int(index), 0), n - 1)


def _cond_impl(index, *ops, branches):
    return cf.eval_impl(branches[_clamp(index, len(branches))], list(ops))


def _cond_abstract(index, *avals, branches):
    if index.shape != () or not np.issubdtype(index.dtype, np.integer):
        raise TypeError(f"cond: the branch index must be a 0-d integer, got {index.str_short()}")
    return [(a.shape, a.dtype) for a in cf.avals_of(branches[0].outvars)]


def branch_types(index_type, op_types):
    """Each instance may take another branch where the index varies, so the cond
    broadcasts every operand over the index's axes."""
    return [t | index_type for t in op_types]


def _cond_vma(vmas, branches):
    ins = branch_types(vmas[0], vmas[1:])
    out = [frozenset(vmas[0])] * len(branches[0].outvars)
    for b in branches:
        out = [v | t for v, t in zip(out, cf.program_types(b, ins))]
    return out


impl_rules[cond_p] = _cond_impl
abstract_rules[cond_p] = _cond_abstract
vma_rules[cond_p] = _cond_vma


def cond_bind(index, ops, branches):
    return cond_p.bind(index, *ops, branches=tuple(branches))


def join_branches(branch_fns, in_avals, name, index):
    """Trace each branch (flat function) on ``in_avals``; closure-converted values of all
    branches become shared leading operands. Returns ``(programs, lifted)``.

    Where the index varies over named axes, each instance may take another branch, so
    the cond implicitly broadcasts every operand over those axes: the branches see
    their inputs as varying there. (Transposed, that broadcast is a psum outside the
    cond, after each instance's branch is selected, never one inside a branch.)"""
    vma = get_aval(index).vma
    in_avals = [cf.widen(a, vma) for a in in_avals]
    traced = [cf.trace_program(f, in_avals) for f in branch_fns]
    out0 = cf.avals_of(traced[0][0].outvars)
    for i, (prog, _) in enumerate(traced[1:], 1):
        outs = cf.avals_of(prog.outvars)
        if len(outs) != len(out0) or not all(cf.same_type(a, b) for a, b in zip(outs, out0)):
            raise TypeError(
                f"{name}: branch {i} returns {[a.str_short() for a in outs]} but branch 0 "
                f"returns {[a.str_short() for a in out0]}; every branch must return the same "
                "structure, shapes and dtypes")
    lifted = [x for _, ls in traced for x in ls]
    if not lifted:
        return [p for p, _ in traced], []
    lifted_avals = [cf.widen(get_aval(x), vma) for x in lifted]
    programs, offset, n = [], 0, len(lifted)
    for prog, ls in traced:
        lo, hi = offset, offset + len(ls)
        offset = hi
        programs.append(cf.trace_program(
            lambda *a, prog=prog, lo=lo, hi=hi: core.eval_jaxpr(prog, list(a[lo:hi]) + list(a[n:])),
            lifted_avals + list(in_avals))[0])
    return programs, lifted


def _cond_jvp(primals, tangents, branches):
    index, ops = primals[0], list(primals[1:])
    nz = [t is not None and cf.is_float(get_aval(p)) for t, p in zip(tangents[1:], ops)]
    lins = [ad.on_primals(cf.linearize_program, b, nz) for b in branches]
    n_out = len(branches[0].outvars)
    out_avals = cf.avals_of(branches[0].outvars)
    out_nz = [any(lin.out_nz[j] for lin in lins) and cf.is_float(out_avals[j]) for j in range(n_out)]
    # Residuals: operands used by any branch are shared; computed ones get per-branch slots.
    used_ops = sorted({k for lin in lins for kind, k in lin.residuals if kind == "in"})
    slots, n_slots = [], 0
    for lin in lins:
        slots.append(n_slots)
        n_slots += lin.n_computed
    slot_avals = [v.aval for lin in lins for v in lin.primal.outvars[n_out:]]

    def primal_branch(i):
        def fun(*a):
            outs = core.eval_jaxpr(lins[i].primal, list(a))
            res = [cf.zeros(s) for s in slot_avals]
            res[slots[i]:slots[i] + lins[i].n_computed] = outs[n_out:]
            return list(outs[:n_out]) + res
        return fun
    p_branches, p_lifted = join_branches([primal_branch(i) for i in range(len(lins))],
                                         [get_aval(o) for o in ops], "cond", index)
    p_outs = ad.primal(cond_p, [index] + p_lifted + ops, {"branches": tuple(p_branches)})
    outs, computed = p_outs[:n_out], p_outs[n_out:]

    t_in = [k for k in range(len(ops)) if nz[k]]
    t_out = [j for j in range(n_out) if out_nz[j]]
    nu = len(used_ops)

    def linear_branch(i):
        def fun(*a):
            used, comp, ts = a[:nu], a[nu:nu + n_slots], a[nu + n_slots:]
            res = [used[used_ops.index(k)] if kind == "in" else comp[slots[i] + k]
                   for kind, k in lins[i].residuals]
            touts = core.eval_jaxpr(lins[i].linear, list(res) + list(ts))
            return [ad.instantiate(touts[j], out_avals[j]) for j in t_out]
        return fun
    avals = ([get_aval(ops[k]) for k in used_ops] + [get_aval(c) for c in computed]
             + [get_aval(ops[k]) for k in t_in])
    t_branches, t_lifted = join_branches([linear_branch(i) for i in range(len(lins))], avals, "cond",
                                         index)
    t_outs = cond_bind(index, t_lifted + [ops[k] for k in used_ops] + computed
                       + [tangents[1 + k] for k in t_in], t_branches)
    tangents_out = [None] * n_out
    for j, t in zip(t_out, t_outs):
        tangents_out[j] = t
    return outs, tangents_out


def _cond_transpose(cts, index, *ops, branches):
    if ad.is_undefined(index):
        raise SpmdgradError("cond: the branch index cannot be a linear operand")
    linear = [ad.is_undefined(o) for o in ops]
    res = [o for o in ops if not ad.is_undefined(o)]
    lin = [k for k in range(len(ops)) if linear[k]]
    # The branches' inputs typed as if the cond were inlined: each operand's own type,
    # broadcast over the index's axes (and at least the branch's input type).
    in_types = [t | v.aval.vma for t, v in zip(
        branch_types(get_aval(index).vma, [cf.operand_type(o) for o in ops]), branches[0].invars)]
    lin_types = [in_types[k] for k in lin]
    cts_nz = [j for j, c in enumerate(cts) if c is not None]

    def transposed(b):
        def fun(*a):
            cts_out = [None] * len(cts)
            for j, c in zip(cts_nz, a[len(res):]):
                cts_out[j] = c
            cts_in = cf.transpose_program(b, linear, list(a[:len(res)]), cts_out, lin_types)
            return [ad.instantiate(c, ops[k].aval) for c, k in zip(cts_in, lin)]
        return fun
    avals = [get_aval(r) for r in res] + [get_aval(cts[j]) for j in cts_nz]
    programs, lifted = join_branches([transposed(b) for b in branches], avals, "cond", index)
    outs = cond_bind(index, lifted + res + [cts[j] for j in cts_nz], programs)
    result = [None] * (1 + len(ops))
    for k, c in zip(lin, outs):
        result[1 + k] = ad.Reduced(cf.boundary_psum(c, cf.operand_type(ops[k]), in_types[k]))
    return result


def _cond_frame(frame, vals, batched, branches):
    index, ops = vals[0], list(vals[1:])
    ob = list(batched[1:])
    n_out = len(branches[0].outvars)
    if not batched[0]:
        def step(force):
            traced = [cf.batch_program(frame, b, ob, force) for b in branches]
            out_b = [any(t[2][j] for t in traced) for j in range(n_out)]
            return traced, out_b
        traced, force = cf.fixpoint(step, [False] * n_out)
        in_avals = cf.avals_of(traced[0][0].invars[len(traced[0][1]):])
        programs, lifted = join_branches(
            [lambda *a, t=t: core.eval_jaxpr(t[0], list(t[1]) + list(a)) for t in traced],
            in_avals, "cond", index)
        return cond_bind(index, lifted + ops, programs), force
    # A batched index: every branch runs, and each instance selects its own result.
    n = len(branches)
    outs = None
    idx = index
    for i, b in enumerate(branches):
        res, flags = cf.run_in_frame(frame, lambda *a, b=b: core.eval_jaxpr(b, list(a)), ops, ob)
        res = [r if f else broadcast_batch(r, frame.local_size) for r, f in zip(res, flags)]
        if outs is None:
            outs = res
            continue
        # The last branch also takes every index past the end (the index is clamped).
        bound = np.asarray(i if i < n - 1 else i - 1, get_aval(idx).dtype)
        hit = eq(idx, bound) if i < n - 1 else gt(idx, bound)
        new = []
        for o, r in zip(outs, res):
            shape = get_aval(o).shape
            pick = broadcast_in_dim(hit, shape, (0,))
            new.append(select_n(pick, o, r))
        outs = new
    return outs, [True] * n_out


ad.jvp_rules[cond_p] = _cond_jvp
ad.transpose_rules[cond_p] = _cond_transpose
batching.frame_rules[cond_p] = _cond_frame
