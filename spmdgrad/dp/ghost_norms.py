"""Per-example squared gradient norms of a linear program, without per-example copies.

The norm pass transposes the linearized program once, per instance (no reduce_axes),
like :func:`spmdgrad.ad.backward_pass` with ``reduced`` empty. It differs at the
equations that feed a *parameter* (an input of the program, possibly through a
``transpose``): there a rule from :data:`norm_rules` may return a factored
:class:`Term` in place of the contribution itself, e.g. ``einsum2(ct, x, spec)``
kept as its two factors. The squared norm of a parameter's cotangent,
``||D + sum_k T_k||^2`` (``D`` the dense part), is then assembled from inner
products ``<T_k, T_l>`` (the cross terms of a tied weight), each a full contraction
of four factors evaluated in the cheapest pairwise order on shapes. That order *is*
the book-keeping rule: for ``x`` of shape (T, d) and ``ct`` of shape (T, p) it
contracts the Gram matrices ``x x^T`` and ``ct ct^T`` (T^2 work) when ``2 T^2 < d p``,
and forms the per-example gradient ``x^T ct`` otherwise.

Rules exist for ``einsum2`` (dot, matmul, einsum), ``gather`` (take, embedding
lookups: pairs of positions reading the same row) and ungrouped convolutions (the
kernel's cotangent is an einsum2 of the output cotangent and the input's patches).
Primitives without a rule (elementwise uses such as a bias or a layer-norm scale,
grouped convolutions) use their transpose rule: their contribution is materialised
per example, at the cost of the parameter's size per example.
"""
from __future__ import annotations

import numpy as np

from .. import ad
from ..core import _EMPTY, get_aval
from ..primitives.contraction import einsum2, einsum2_p, parse
from ..primitives.conv import conv_p
from ..primitives.elementwise import convert_element_type, eq, mul
from ..primitives.indexing import gather, gather_p, scatter_add
from ..primitives.structural import broadcast_in_dim, reduce_sum, reshape, transpose_p
from ..primitives.windowed import patches

# prim -> fn(ct, *operands, ghost, **params) -> list of contributions (None, a dense
# cotangent, or a Term); ``ghost[i]`` says operand i feeds only parameters.
norm_rules = {}
# prim -> fn(term, **params) -> term: moves a Term of the output to the input (unary).
push_rules = {}

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


class Term:
    """A per-instance cotangent kept factored: ``einsum2(a, b, spec)``."""
    __slots__ = ("a", "b", "spec", "shape", "dtype")

    def __init__(self, a, b, spec):
        self.a, self.b, self.spec = a, b, spec
        aa, ab = get_aval(a), get_aval(b)
        _, _, out = parse(spec)
        sizes = dict(zip(parse(spec)[0], aa.shape, strict=True))
        sizes.update(zip(parse(spec)[1], ab.shape, strict=True))
        self.shape = tuple(sizes[c] for c in out)
        self.dtype = aa.dtype

    def instantiate(self):
        return einsum2(self.a, self.b, self.spec)


class GatherTerm:
    """A per-instance cotangent kept factored: ``ct`` scattered (added) into zeros of
    ``shape`` at the index arrays ``idx`` on dimensions ``axes`` (gather's transpose)."""
    __slots__ = ("ct", "idx", "axes", "shape", "dtype")

    def __init__(self, ct, idx, axes, shape):
        self.ct, self.idx, self.axes, self.shape = ct, tuple(idx), axes, tuple(shape)
        self.dtype = get_aval(ct).dtype

    def instantiate(self):
        return scatter_add(np.zeros(self.shape, self.dtype), self.ct, *self.idx, axes=self.axes)


# --------------------------------------------------------------------------- rules

def _einsum2_norm_rule(ct, x, y, ghost, spec):
    a, b, out = parse(spec)
    if ad.is_undefined(y) and ghost[1]:
        return [None, Term(ct, x, f"{out},{a}->{b}")]
    if ad.is_undefined(x) and ghost[0]:
        return [Term(ct, y, f"{out},{b}->{a}"), None]
    return ad.transpose_rules[einsum2_p](ct, x, y, spec=spec)


def _gather_norm_rule(ct, x, *idx, ghost, axes):
    if ad.is_undefined(x) and ghost[0]:
        return [GatherTerm(ct, idx, axes, x.aval.shape)] + [None] * len(idx)
    return ad.transpose_rules[gather_p](ct, x, *idx, axes=axes)


def _conv_norm_rule(ct, x, w, ghost, **params):
    """The kernel's cotangent is ``ct`` contracted with the input's patches (im2col) over
    the batch and the positions: an einsum2 Term of those two factors. Grouped
    convolutions use the transpose rule (the per-example kernel gradient)."""
    if not (ad.is_undefined(w) and ghost[1]) or ad.is_undefined(x) \
            or params["feature_group_count"] != 1 or params["batch_group_count"] != 1:
        return ad.transpose_rules[conv_p](ct, x, w, **params)
    wshape = w.aval.shape
    n = len(wshape) - 2
    pat = patches(x, (1, 1) + wshape[2:], (1, 1) + params["window_strides"],
                  ((0, 0), (0, 0)) + params["padding"], (1, 1) + params["lhs_dilation"],
                  (1, 1) + params["rhs_dilation"])
    shape = get_aval(pat).shape
    pat = reshape(pat, shape[:2 + n] + shape[4 + n:])  # (N, I, positions..., window...)
    P, K = "pqrstuvw"[:n], "klmhijxy"[:n]
    return [None, Term(ct, pat, f"no{P},nc{P}{K}->oc{K}")]


def _transpose_push(term, permutation):
    if type(term) is not Term:
        return None
    a, b, out = parse(term.spec)
    inv = np.argsort(permutation)
    return Term(term.a, term.b, f"{a},{b}->{''.join(out[i] for i in inv)}")


norm_rules[einsum2_p] = _einsum2_norm_rule
norm_rules[gather_p] = _gather_norm_rule
norm_rules[conv_p] = _conv_norm_rule
push_rules[transpose_p] = _transpose_push


# --------------------------------------------------------------------------- the norm pass

class _Acc:
    __slots__ = ("dense", "terms")

    def __init__(self):
        self.dense, self.terms = None, []

    def add(self, c):
        if isinstance(c, Term | GatherTerm):
            self.terms.append(c)
        else:
            self.dense = ad._add(self.dense, c)

    def instantiate(self):
        out = self.dense
        for t in self.terms:
            out = ad._add(out, t.instantiate())
        return out


def _parameter_side(jaxpr):
    """Variables whose cotangent reaches only program inputs, through push rules."""
    side = set(jaxpr.invars)
    for e in jaxpr.eqns:
        if e.prim in push_rules and e.invars[0] in side:
            side.update(e.outvars)
    return side


def cotangent_parts(jaxpr, cts_out, bound):
    """Transpose ``jaxpr`` per instance; per invar, an ``_Acc`` (dense part and terms)."""
    env = dict(zip(jaxpr.constvars, jaxpr.consts, strict=True))
    types = ad.tangent_types(jaxpr, frozenset(bound))
    side = _parameter_side(jaxpr)
    acc = {}

    def add(v, c):
        if c is None or v in env:
            return
        if type(c) is ad.Reduced:  # psum_axes are empty here, so no rule fuses one
            c = c.value
        acc.setdefault(v, _Acc()).add(c)

    for v, ct in zip(jaxpr.outvars, cts_out, strict=True):
        if v is not None:
            add(v, ct)
    for eqn in reversed(jaxpr.eqns):
        prim = eqn.prim
        parts = [acc.pop(v, None) for v in eqn.outvars]
        if all(p is None for p in parts):
            continue
        if len(eqn.outvars) == 1 and parts[0].terms and prim in push_rules \
                and eqn.invars[0] in side and eqn.invars[0] not in env:
            part, kept = parts[0], []
            for t in part.terms:
                pushed = push_rules[prim](t, **eqn.params)
                if pushed is None:
                    kept.append(t)
                else:
                    add(eqn.invars[0], pushed)
            part.terms = kept
            if part.dense is None and not kept:
                continue
        cts = [None if p is None else p.instantiate() for p in parts]
        ct = cts if prim.multiple_results else cts[0]
        operands = [env[v] if v in env else ad.UndefinedPrimal(v.aval, _EMPTY, types[v])
                    for v in eqn.invars]
        rule = norm_rules.get(prim)
        if rule is not None and not prim.multiple_results:
            ghost = [v in side and v not in env for v in eqn.invars]
            cts_in = rule(ct, *operands, ghost=ghost, **eqn.params)
        else:
            trule = ad.transpose_rules.get(prim)
            if trule is None:
                raise NotImplementedError(
                    f"'{prim}' has no transpose rule, so per-example gradient norms cannot pass "
                    "through it")
            cts_in = trule(ct, *operands, **eqn.params)
        for v, c in zip(eqn.invars, cts_in, strict=True):
            add(v, c)
    return [acc.get(v) for v in jaxpr.invars]


# --------------------------------------------------------------------------- inner products

def _size(letters, sizes):
    return int(np.prod([sizes[c] for c in letters], dtype=np.int64))


def contract_all(operands):
    """Sum over every index of the product of ``operands``, a list of ``(array,
    letters)`` pairs (one letter per dimension, shared letters are the same index).
    Pairs are contracted greedily, smallest intermediate first."""
    sizes = {}
    for x, s in operands:
        sizes.update(zip(s, get_aval(x).shape, strict=True))
    ops = list(operands)
    while len(ops) > 1:
        best = None
        for i in range(len(ops)):
            for j in range(i + 1, len(ops)):
                others = set("".join(s for k, (_, s) in enumerate(ops) if k not in (i, j)))
                keep = "".join(c for c in dict.fromkeys(ops[i][1] + ops[j][1]) if c in others)
                cost = _size(keep, sizes)
                if best is None or cost < best[0]:
                    best = (cost, i, j, keep)
        _, i, j, keep = best
        (x, sx), (y, sy) = ops[i], ops[j]
        x, sx = _sum_unused(x, sx, sy + keep)
        y, sy = _sum_unused(y, sy, sx + keep)
        z = einsum2(x, y, f"{sx},{sy}->{keep}")
        ops = [o for k, o in enumerate(ops) if k not in (i, j)] + [(z, keep)]
    x, s = ops[0]
    return reduce_sum(x, tuple(range(len(s)))) if s else x


def _sum_unused(x, s, needed):
    axes = tuple(i for i, c in enumerate(s) if c not in needed)
    if not axes:
        return x, s
    return reduce_sum(x, axes), "".join(c for c in s if c not in needed)


def _factors(term, out_letters, fresh):
    """``term``'s two factors with letters: its output positions named ``out_letters``,
    its other indices named from the iterator ``fresh``."""
    a, b, out = parse(term.spec)
    name = dict(zip(out, out_letters, strict=True))
    for c in a + b:
        if c not in name:
            name[c] = next(fresh)
    return [(term.a, "".join(name[c] for c in a)), (term.b, "".join(name[c] for c in b))]


def _inner(p, q):
    """``<p, q>`` per instance for dense arrays, Terms and GatherTerms."""
    if type(p) is GatherTerm or type(q) is GatherTerm:
        return _inner_gather(p, q)
    nd = len(p.shape if type(p) is Term else get_aval(p).shape)
    out = _LETTERS[:nd]
    fresh = iter(_LETTERS[nd:])
    ops = []
    for t in (p, q):
        ops += _factors(t, out, fresh) if type(t) is Term else [(t, out)]
    if p is q and type(p) is Term:
        # ||T||^2: form the per-example gradient once when that beats the Gram route.
        sizes = {}
        for x, s in ops:
            sizes.update(zip(s, get_aval(x).shape, strict=True))
        gram = min(_size("".join(c for c in dict.fromkeys(ops[i][1] + ops[i + 2][1]) if c not in out),
                         sizes) for i in (0, 1))
        if _size(out, sizes) <= gram:
            g = p.instantiate()
            return reduce_sum(mul(g, g), tuple(range(nd)))
    return contract_all(ops)


def _inner_gather(p, q):
    if type(p) is not GatherTerm:
        p, q = q, p
    if type(q) is GatherTerm:
        return _gather_gather(p, q)
    dense = q.instantiate() if type(q) is Term else q
    rows = gather(dense, *p.idx, axes=p.axes)
    return reduce_sum(mul(rows, p.ct), tuple(range(get_aval(rows).ndim)))


def _gather_gather(p, q):
    """``<scatter(p), scatter(q)>``: pairs of positions reading the same entry, by their
    rows' inner products. P*Q work instead of the table's size, when that is cheaper."""
    n_p = int(np.prod(np.broadcast_shapes(*[get_aval(i).shape for i in p.idx]), dtype=np.int64))
    n_q = int(np.prod(np.broadcast_shapes(*[get_aval(i).shape for i in q.idx]), dtype=np.int64))
    if p.axes != q.axes or n_p * n_q >= int(np.prod(p.shape, dtype=np.int64)):
        return _inner(p.instantiate(), q)
    rest = len(p.shape) - len(p.axes)
    cp, ip = _flat_positions(p, n_p, rest)
    cq, iq = _flat_positions(q, n_q, rest)
    w = None
    for a, b in zip(ip, iq, strict=True):
        a, b = convert_element_type(a, np.int64), convert_element_type(b, np.int64)
        m = convert_element_type(eq(broadcast_in_dim(a, (n_p, n_q), (0,)),
                                    broadcast_in_dim(b, (n_p, n_q), (1,))), p.dtype)
        w = m if w is None else mul(w, m)
    r = "".join(_LETTERS[2:2 + rest])
    gram = einsum2(cp, cq, f"p{r},q{r}->pq") if rest else einsum2(cp, cq, "p,q->pq")
    return reduce_sum(mul(gram, w), (0, 1))


def _flat_positions(t, n, rest):
    ishape = np.broadcast_shapes(*[get_aval(i).shape for i in t.idx])
    ct = reshape(t.ct, (n,) + tuple(get_aval(t.ct).shape[len(ishape):]))
    idx = [reshape(broadcast_in_dim(i, ishape, tuple(range(len(ishape) - get_aval(i).ndim, len(ishape))))
                   if get_aval(i).shape != ishape else i, (n,)) for i in t.idx]
    return ct, idx


def squared_norm(part):
    """``||dense + sum(terms)||^2`` per instance, cross terms included."""
    if part is None:
        return None
    items = ([part.dense] if part.dense is not None else []) + list(part.terms)
    total = None
    for k, p in enumerate(items):
        total = ad._add(total, _inner(p, p))
        for q in items[k + 1:]:
            cross = _inner(p, q)
            total = ad._add(total, ad._add(cross, cross))
    return total
