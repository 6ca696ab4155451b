"""Lower a typed program to straight-line Python over the NumPy implementations.

``optimize`` rewrites a :class:`~spmdgrad.core.Jaxpr` with transformations that are
*bit-exact* (the compiled program returns the interpreter's bits, which the test
suite checks):

- identities vanish: ``pbroadcast`` and ``mpi_pbroadcast`` (type-level broadcasts), a ``reshape`` or
  ``broadcast_in_dim`` to the operand's own shape, a ``convert_element_type`` to
  the operand's own dtype;
- a ``broadcast_in_dim`` feeding an elementwise ufunc is dropped when NumPy's own
  broadcasting does the same thing (the ufunc reads the small operand in place), or
  replaced by a keepdims view (``(B,)`` -> ``(B, 1)``) that NumPy then broadcasts;
- constant folding: a pure equation whose operands are all constants runs once, at
  compile time (small results only, so no large array is baked into the program);
- common subexpressions of pure equations are computed once;
- dead code: a pure equation whose results are never used is removed.

Equations of *effectful* primitives (``Primitive.effectful``: the MPI halves of the
collectives, anything opaque) are never removed, folded, merged or reordered, so every
rank runs the same communication schedule with its consistency checks, in order.
Sums of broadcasts are not rewritten to products: ``x + x + x`` and ``3 * x`` can
differ in the last bit.

``lower`` emits one Python function: one line per equation (calling the primitive's
specialised form where it has a ``core.lowering_rules`` entry, e.g. a contraction as
the one matmul its shapes need), each value deleted
after its last use (so peak memory follows the program, not its length), and an
elementwise ufunc writes into a dead operand's buffer (``out=``) when that buffer is
fresh (made by an earlier ufunc of the program, never a view, an input or a
constant) and has the result's shape and dtype. Structured primitives (scan,
while, cond) run through their own implementations, with their sub-programs
compiled the same way (:class:`CompiledJaxpr`).
"""
from __future__ import annotations

import numpy as np

from .core import Eqn, Jaxpr, ShapedArray, Var, impl_rules, lowering_into_rules, lowering_rules, pack_rules

FOLD_LIMIT = 1 << 12  # largest constant-folded result, in elements

_SIMPLE = (bool, int, float, complex, str, bytes, type(None), np.dtype, np.generic, type, slice)


def _is_simple(v):
    if isinstance(v, _SIMPLE):
        return True
    if isinstance(v, tuple | frozenset):
        return all(_is_simple(e) for e in v)
    return False


def sub_jaxprs(params):
    """The sub-programs carried in an equation's params (scan/while bodies, cond branches)."""
    for v in params.values():
        if isinstance(v, Jaxpr):
            yield v
        elif isinstance(v, tuple | list):
            for e in v:
                if isinstance(e, Jaxpr):
                    yield e


def is_effectful(eqn):
    """True if ``eqn`` must run exactly once, in program order: an effectful primitive,
    opaque params (a Python callable, a communicator), or a sub-program with effects."""
    if getattr(eqn.prim, "effectful", False):
        return True
    for v in eqn.params.values():
        if isinstance(v, Jaxpr):
            if any(is_effectful(e) for e in v.eqns):
                return True
        elif isinstance(v, tuple | list) and v and all(isinstance(e, Jaxpr) for e in v):
            if any(is_effectful(e) for j in v for e in j.eqns):
                return True
        elif not _is_simple(v):
            return True
    return False


def _is_ufunc_eqn(e):
    return (not e.prim.multiple_results and not e.params
            and isinstance(impl_rules.get(e.prim), np.ufunc) and impl_rules[e.prim].nout == 1)


def _numpy_broadcastable(src_shape, shape, dims):
    """Does NumPy broadcasting of ``src_shape`` against ``shape`` equal broadcast_in_dim?"""
    return dims == tuple(range(len(shape) - len(src_shape), len(shape)))


def optimize(jaxpr):
    """A new, equivalent (bit for bit) program; ``jaxpr`` is left untouched.

    >>> import numpy as np, spmdgrad, spmdgrad.numpy as jnp
    >>> prog = spmdgrad.make_jaxpr(lambda x: jnp.sin(x) + jnp.sin(x))(np.ones(2))
    >>> print(optimize(prog))
    { lambda ; a:f64[2]. let
        b:f64[2] = sin a
        c:f64[2] = add b b
      in (c) }
    """
    consts = dict(zip(jaxpr.constvars, jaxpr.consts, strict=True))
    alias = {}       # Var -> Var it equals
    bcast = {}       # Var -> (source Var) of a NumPy-compatible broadcast_in_dim
    seen = {}        # CSE key -> outvars
    eqns = []

    def get(v):
        while v in alias:
            v = alias[v]
        return v

    for e in jaxpr.eqns:
        invars = [get(v) for v in e.invars]
        name, params = e.prim.name, e.params
        if name == "mpi_pbroadcast":
            # pbroadcast's MPI half: the identity when run. (Only its transpose, a psum,
            # communicates, and that was taken before jit replays the program.)
            alias[e.outvars[0]] = invars[0]
            continue
        effectful = is_effectful(e)
        if not effectful and not e.prim.multiple_results and len(invars) == 1:
            src, out = invars[0], e.outvars[0]
            same = src.aval.shape == out.aval.shape and src.aval.dtype == out.aval.dtype
            if same and name in ("pbroadcast", "reshape", "broadcast_in_dim", "convert_element_type"):
                if name != "broadcast_in_dim" or params["broadcast_dimensions"] == tuple(range(len(
                        out.aval.shape))):
                    alias[out] = src
                    continue
        if _is_ufunc_eqn(e) and len(invars) > 1:
            shape = e.outvars[0].aval.shape
            narrowed = [bcast.get(v, v) for v in invars]
            if narrowed != invars and np.broadcast_shapes(*(v.aval.shape for v in narrowed)) == shape:
                invars = narrowed
        if not effectful:
            if invars and all(v in consts for v in invars) and not any(sub_jaxprs(params)):
                folded = _fold(e, [consts[v] for v in invars])
                if folded is not None:
                    for v, x in zip(e.outvars, folded, strict=True):
                        consts[v] = x
                    continue
            try:
                key = (e.prim, tuple(invars), tuple(sorted(params.items())))
                hash(key)
            except TypeError:
                key = None
            if key is not None:
                prev = seen.get(key)
                if prev is not None:
                    for v, p in zip(e.outvars, prev, strict=True):
                        alias[v] = p
                    continue
                seen[key] = e.outvars
        if name == "broadcast_in_dim" and not effectful:
            src, dims, shape = invars[0], params["broadcast_dimensions"], params["shape"]
            if _numpy_broadcastable(src.aval.shape, shape, dims):
                # (A broadcast of a broadcast reads the first one's source: NumPy
                # broadcasting composes, e.g. a bias broadcast and then a pmap shard's.)
                bcast[e.outvars[0]] = bcast.get(src, src)
            elif list(dims) == sorted(dims):
                # Elementwise consumers read a keepdims view instead ((B,) -> (B, 1)).
                kept = [1] * len(shape)
                for i, d in enumerate(dims):
                    kept[d] = src.aval.shape[i]
                view = Var(ShapedArray(tuple(kept), src.aval.dtype, src.aval.vma))
                eqns.append(Eqn(e.prim, [src], [view], {"shape": tuple(kept), "broadcast_dimensions": dims}))
                bcast[e.outvars[0]] = view
        eqns.append(Eqn(e.prim, invars, e.outvars, params))
    outvars = [None if v is None else get(v) for v in jaxpr.outvars]
    # Dead code: walk backwards from the outputs; effectful equations always stay.
    live = {v for v in outvars if v is not None}
    kept = []
    for e in reversed(eqns):
        if is_effectful(e) or any(v in live for v in e.outvars):
            kept.append(e)
            live.update(e.invars)
    kept.reverse()
    constvars = [v for v in consts if v in live]
    return Jaxpr(list(jaxpr.invars), constvars, [consts[v] for v in constvars], kept, outvars)


def _fold(e, vals):
    try:
        out = impl_rules[e.prim](*vals, **e.params)
    except Exception:  # noqa: BLE001 - leave it to run time, where the error is reported as usual
        return None
    outs = out if e.prim.multiple_results else [out]
    if any(np.size(o) > FOLD_LIMIT for o in outs):
        return None
    return outs


class Lowered:
    """A compiled program: ``fn(*args) -> list of outputs``, with its source and program."""
    __slots__ = ("jaxpr", "source", "fn", "copy_outs")

    def __init__(self, jaxpr, source, fn, copy_outs):
        self.jaxpr, self.source, self.fn, self.copy_outs = jaxpr, source, fn, copy_outs

    def as_text(self):
        """The generated source (JAX's ``Lowered.as_text``)."""
        return self.source

    def compile(self):  # noqa: A003 - JAX's name
        """Already compiled: returns itself (JAX's ``Lowered.compile``)."""
        return self

    def __repr__(self):
        return self.source


def _may_communicate(eqn):
    """Could running ``eqn`` post a collective (and its consistency check)? An effectful
    primitive, a Python callable in its params, or a sub-program with either. (A
    communicator param alone, as on the identity halves of the collectives, does not.)"""
    if getattr(eqn.prim, "effectful", False):
        return True
    for v in eqn.params.values():
        if callable(v) and not isinstance(v, type | np.ufunc):
            return True
    return any(_may_communicate(e) for j in sub_jaxprs(eqn.params) for e in j.eqns)


def _pack_destinations(jaxpr, outset):
    """Reductions with a packing rule (``core.pack_rules``: the MPI allreduce) whose
    operands can be produced straight into the pack buffer, skipping the copy.

    An operand qualifies when it comes, through single-use reshapes only, from a
    single-use ufunc or a primitive with a ``lowering_into_rules`` entry, has the
    buffer's dtype, and is not a program output: nothing else then reads the buffer's
    memory before the reduction overwrites it. No equation that may communicate
    (:func:`_may_communicate`) may run between a producer and its reduction: taking the
    buffers starts the reduction's consistency check, which must keep its place among
    the collectives. Returns ``(packs, dests)``:
    per reduction's equation index its packing, and per producer's equation index
    ``(reduction index, operand index, buffer index, start, end)``."""
    uses = {}
    for e in jaxpr.eqns:
        for v in e.invars:
            uses[v] = uses.get(v, 0) + 1
    made = {e.outvars[0]: (j, e) for j, e in enumerate(jaxpr.eqns) if len(e.outvars) == 1}
    packs, dests = {}, {}
    last_effect = -1   # the last equation before the current one that may communicate
    for i, e in enumerate(jaxpr.eqns):
        if i and _may_communicate(jaxpr.eqns[i - 1]):
            last_effect = i - 1
        rule = pack_rules.get(e.prim)
        packing = rule and rule([v.aval for v in e.invars], **e.params)
        if not packing:
            continue
        for k, v in enumerate(e.invars):
            span = packing.spans[k]
            if span is None or e.invars.count(v) != 1:
                continue
            dtype = v.aval.dtype
            while uses.get(v) == 1 and v not in outset and v in made:
                j, p = made[v]
                if p.prim.name == "reshape":
                    v = p.invars[0]
                    continue
                if (j > last_effect and v.aval.dtype == dtype and v.aval.shape
                        and (_is_ufunc_eqn(p) or p.prim in lowering_into_rules)):
                    dests[j] = (i, k, *span)
                    packs[i] = packing
                break
    return packs, dests


def lower(jaxpr, name="_compiled"):
    """Emit and ``compile`` straight-line source for an (optimized) ``jaxpr``.

    >>> import numpy as np, spmdgrad, spmdgrad.numpy as jnp
    >>> low = lower(optimize(spmdgrad.make_jaxpr(lambda x: jnp.cos(x) * 2.0)(np.ones(3))))
    >>> print(low.source.splitlines()[0])
    def _compiled(a0):
    >>> low.fn(np.zeros(3))
    [array([2., 2., 2.])]
    """
    glob = {}
    names = {}
    counter = [0]

    def bind_global(prefix, value):
        k = f"{prefix}{counter[0]}"
        counter[0] += 1
        glob[k] = value
        return k

    for i, v in enumerate(jaxpr.invars):
        names[v] = f"a{i}"
    for v, c in zip(jaxpr.constvars, jaxpr.consts, strict=True):
        names[v] = bind_global("c", c)
    outset = {v for v in jaxpr.outvars if v is not None}
    constset = set(jaxpr.constvars)
    last = {}
    for i, e in enumerate(jaxpr.eqns):
        for v in e.invars:
            last[v] = i
    fresh = set()
    impls = {}
    lines = [f"def {name}({', '.join(names[v] for v in jaxpr.invars)}):"]
    packs, dests = _pack_destinations(jaxpr, outset)
    pack_bufs = {}   # reduction index -> the name of its buffers, once taken
    placed = {}      # reduction index -> its operands produced in their spans
    nv = 0
    for i, e in enumerate(jaxpr.eqns):
        dest = dests.get(i)
        into = None
        if dest is not None:
            r, k, g, a, b = dest
            if r not in pack_bufs:   # take the buffers just before their first producer
                pack_bufs[r] = f"P{len(pack_bufs)}"
                lines.append(f"    {pack_bufs[r]} = {bind_global('alloc_', packs[r].alloc)}()")
            into = f"{pack_bufs[r]}[{g}][{a}:{b}].reshape({e.outvars[0].aval.shape!r})"
            if not _is_ufunc_eqn(e):
                special = lowering_into_rules[e.prim]([v.aval for v in e.invars], **e.params)
                if special is None:
                    into = None
                else:
                    placed.setdefault(r, []).append(k)
                    fn = bind_global(f"{_ident(e.prim.name)}_into_", special)
                    args = [names[v] for v in e.invars] + [into]
                    names[e.outvars[0]] = f"v{nv}"
                    nv += 1
                    lines.append(f"    {names[e.outvars[0]]} = {fn}({', '.join(args)})")
                    fresh.difference_update(e.invars)
                    _free(lines, e, i, names, last, outset, constset)
                    continue
        special = lowering_rules.get(e.prim)
        special = special and special([v.aval for v in e.invars], **e.params)
        fn = impls.get(e.prim)
        if special is not None:
            fn = bind_global(f"{_ident(e.prim.name)}_", special)
        elif fn is None:
            try:
                impl = impl_rules[e.prim]
            except KeyError:
                raise NotImplementedError(f"primitive '{e.prim}' has no implementation") from None
            fn = impls[e.prim] = bind_global(f"{_ident(e.prim.name)}_", impl)
        args = [names[v] for v in e.invars]
        params = {} if special is not None else _compile_bodies(e.params)
        if all(k.isidentifier() for k in params):
            args += [f"{k}={bind_global('p', p)}" for k, p in params.items()]
        elif params:
            args.append(f"**{bind_global('p', params)}")
        outs = []
        for v in e.outvars:
            names[v] = f"v{nv}"
            nv += 1
            outs.append(names[v])
        ufunc = _is_ufunc_eqn(e)
        if into is not None:   # produced straight into a reduction's pack buffer
            args.append(f"out={into}")
            placed.setdefault(dest[0], []).append(dest[1])
        elif ufunc and e.outvars[0].aval.shape:
            out = e.outvars[0].aval
            for v in e.invars:
                if (v in fresh and last[v] == i and v not in outset and v.aval.shape == out.shape
                        and v.aval.dtype == out.dtype):
                    # Only where NumPy itself would allocate a C-ordered result: the
                    # layout of a result can change the bits of a later matmul.
                    others = {names[u] for u in e.invars if u.aval.shape and u is not v}
                    cond = " and ".join(f"{n}.flags.c_contiguous" for n in [names[v], *sorted(others)])
                    args.append(f"out=({names[v]} if {cond} else None)")
                    fresh.discard(v)
                    break
            fresh.add(e.outvars[0])
        elif not ufunc:
            fresh.difference_update(e.invars)  # it may now be aliased by a view
        target = ", ".join(outs) + ("," if e.prim.multiple_results and len(outs) == 1 else "")
        if e.prim.multiple_results and not outs:
            target = "_"
        if i in pack_bufs:   # the reduction whose operands were produced in its buffers
            fn = bind_global("packed_", packs[i].run)
            args = [pack_bufs[i], bind_global("p", tuple(sorted(placed.get(i, ())))),
                    *(names[v] for v in e.invars)]
        lines.append(f"    {target} = {fn}({', '.join(args)})")
        _free(lines, e, i, names, last, outset, constset)
    rets = ["None" if v is None else names[v] for v in jaxpr.outvars]
    lines.append(f"    return [{', '.join(rets)}]")
    source = "\n".join(lines) + "\n"
    code = compile(source, f"<spmdgrad.jit {name}>", "exec")
    exec(code, glob)  # noqa: S102 - our own generated source
    # Outputs that are inputs or constants are copied by the caller (jit), never aliased.
    shared = set(jaxpr.invars) | constset
    copy_outs = [i for i, v in enumerate(jaxpr.outvars) if v in shared]
    return Lowered(jaxpr, source, glob[name], copy_outs)


def _free(lines, e, i, names, last, outset, constset):
    """Delete the values equation ``i`` read for the last time (and unused results)."""
    dead = sorted({names[v] for v in e.invars if last[v] == i and v not in outset
                   and v not in constset}
                  | {names[v] for v in e.outvars if v not in last and v not in outset})
    if dead:
        lines.append(f"    del {', '.join(dead)}")


class CompiledJaxpr(Jaxpr):
    """A sub-program (loop body, branch) with its compiled form: ``run(*args)``. The
    structured primitives' implementations call ``run`` when it is there
    (``primitives.control_flow.eval_impl``); every other rule sees a plain Jaxpr."""
    __slots__ = ("run",)

    def __init__(self, jaxpr):
        super().__init__(jaxpr.invars, jaxpr.constvars, jaxpr.consts, jaxpr.eqns, jaxpr.outvars)
        self.run = lower(optimize(jaxpr), "_body").fn


def _compile_bodies(params):
    """``params`` with each sub-program replaced by its compiled form."""
    if not any(sub_jaxprs(params)):
        return params
    out = {}
    for k, v in params.items():
        if isinstance(v, Jaxpr) and not isinstance(v, CompiledJaxpr):
            v = CompiledJaxpr(v)
        elif isinstance(v, tuple | list) and any(isinstance(e, Jaxpr) for e in v):
            v = type(v)(CompiledJaxpr(e) if isinstance(e, Jaxpr) and not isinstance(e, CompiledJaxpr)
                        else e for e in v)
        out[k] = v
    return out


def _ident(name):
    s = "".join(c if c.isalnum() else "_" for c in name)
    return s if s[:1].isalpha() else "p_" + s


__all__ = ["optimize", "lower", "is_effectful", "Lowered", "Var"]
