"""Gather and scatter with integer index operands: the primitives behind indexing.

``gather(x, *idx, axes)`` reads ``x`` at integer index arrays: ``idx[k]`` indexes
dimension ``axes[k]`` of ``x``. The index arrays broadcast together (NumPy rules)
to a shape ``ishape``; the output has shape ``ishape + rest``, where ``rest`` lists
the dimensions of ``x`` not in ``axes``, in order. It is NumPy's
``moveaxis(x, axes, front)[idx]``.

``scatter_add``, ``scatter_set`` and ``scatter_mul`` take ``(x, updates, *idx,
axes)`` with ``updates`` of exactly the gather output shape, and return a new
``x``. Repeated targets accumulate for add and mul; for set the *last* update in
C order of ``updates`` wins, deterministically, and the derivative follows that.

Index operands are data, never differentiated. Negative indices wrap once;
indices out of ``[-n, n)`` raise :class:`IndexOutOfBoundsError`, naming the shape.
Under vmap a batched index array or operand becomes one more indexed
dimension (an iota over the batch), so a batch is never a Python loop.
"""
from __future__ import annotations

import numpy as np

from .. import ad, batching
from ..core import Primitive, SpmdgradError, abstract_rules, get_aval, impl_rules
from .elementwise import add, convert_element_type, div, eq, mul, select_n, sub
from .structural import broadcast_batch, broadcast_in_dim, reshape, transpose


class IndexOutOfBoundsError(IndexError, SpmdgradError):
    """An integer index outside ``[-n, n)`` for a dimension of size ``n``."""


# ---------------------------------------------------------------- shared helpers

def _normalize(idx, shape, axes, op):
    """Check bounds and wrap negative indices (NumPy semantics)."""
    out = []
    for i, ax in zip(idx, axes, strict=True):
        i = np.asarray(i)
        n = shape[ax]
        if i.size:
            lo, hi = i.min(), i.max()
            if lo < -n or hi >= n:
                bad = lo if lo < -n else hi
                raise IndexOutOfBoundsError(
                    f"{op}: index {int(bad)} is out of bounds for axis {ax} with size {n} "
                    f"(array shape {tuple(shape)})")
            if lo < 0:
                i = np.where(i < 0, i + n, i)
        out.append(i)
    return out


def _front(x, axes):
    """A view of ``x`` with the indexed dimensions first, in ``axes`` order."""
    return np.moveaxis(x, axes, tuple(range(len(axes))))


def _rest(shape, axes):
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def _index_shape(op, x, idx, axes):
    """Broadcast shape of the index operands, after checking them against ``x``."""
    if not axes or len(idx) != len(axes):
        raise ValueError(f"{op}: needs one index operand per axis in {axes}, got {len(idx)}")
    if len(set(axes)) != len(axes) or any(not 0 <= a < x.ndim for a in axes):
        raise ValueError(f"{op}: axes {axes} are invalid for an operand of shape {x.shape}")
    for i in idx:
        if not np.issubdtype(i.dtype, np.integer):
            raise TypeError(f"{op}: index operands must have an integer dtype, got {i.dtype}")
    try:
        return np.broadcast_shapes(*[i.shape for i in idx])
    except ValueError:
        raise ValueError(f"{op}: index shapes {[i.shape for i in idx]} do not broadcast "
                         "together") from None


def _ishape_of(vals, batched):
    """Per-example broadcast shape of index operands (batched ones lose axis 0)."""
    return np.broadcast_shapes(*[get_aval(v).shape[1:] if b else get_aval(v).shape
                                 for v, b in zip(vals, batched, strict=True)])


def _batch_indices(size, idx, batched, rank):
    """Index operands for a batched call: an iota over the batch comes first, and each
    batched index gets rank ``1 + rank`` so that broadcasting aligns the batch axis."""
    iota = np.arange(size, dtype=np.int64).reshape((size,) + (1,) * rank)
    out = [iota]
    for i, b in zip(idx, batched, strict=True):
        if b:
            s = get_aval(i).shape
            i = reshape(i, (size,) + (1,) * (rank + 1 - len(s)) + s[1:])
        out.append(i)
    return out


# ---------------------------------------------------------------- gather
gather_p = Primitive("gather")


def gather(x, *idx, axes):
    """``x`` read at index arrays ``idx`` on dimensions ``axes``; shape ``ishape + rest``.

    >>> import numpy as np
    >>> gather(np.arange(12).reshape(3, 4), np.array([2, -1]), axes=(1,))
    array([[ 2,  6, 10],
           [ 3,  7, 11]])
    """
    axes = tuple(int(a) for a in axes)
    _index_shape("gather", get_aval(x), [get_aval(i) for i in idx], axes)  # clear errors, eagerly too
    return gather_p.bind(x, *idx, axes=axes)


def _gather_impl(x, *idx, axes):
    x = np.asarray(x)
    idx = _normalize(idx, x.shape, axes, "gather")
    return _front(x, axes)[tuple(idx)]


def _gather_abstract(x, *idx, axes):
    return _index_shape("gather", x, idx, axes) + _rest(x.shape, axes), x.dtype


def _gather_transpose(ct, x, *idx, axes):
    zeros = np.zeros(x.aval.shape, x.aval.dtype)
    return [scatter_add(zeros, ct, *idx, axes=axes)] + [None] * len(idx)


def _gather_batch(size, vals, batched, axes):
    x, idx = vals[0], vals[1:]
    ishape = _ishape_of(idx, batched[1:])
    if not any(batched[1:]):
        # The batch is one more non-indexed dimension: it lands after ishape.
        out = gather(x, *idx, axes=batching.shift_axes(axes))
        k = len(ishape)
        perm = (k,) + tuple(range(k)) + tuple(range(k + 1, get_aval(out).ndim))
        return transpose(out, perm), True
    idx = _batch_indices(size, idx, batched[1:], len(ishape))
    if batched[0]:
        return gather(x, *idx, axes=(0,) + batching.shift_axes(axes)), True
    return gather(x, *idx[1:], axes=axes), True


impl_rules[gather_p] = _gather_impl
abstract_rules[gather_p] = _gather_abstract
ad.deflinear1(gather_p, _gather_transpose)
batching.batch_rules[gather_p] = _gather_batch

# ---------------------------------------------------------------- scatters


def _scatter_abstract(name):
    def rule(x, u, *idx, axes):
        ishape = _index_shape(name, x, idx, axes)
        shape = ishape + _rest(x.shape, axes)
        if u.dtype != x.dtype:
            raise TypeError(f"{name}: updates have dtype {u.dtype} but the operand has "
                            f"{x.dtype}; the primitive needs one dtype")
        if u.shape != shape:
            raise ValueError(f"{name}: updates have shape {u.shape}, expected {shape} (index "
                             f"shape {ishape} on axes {axes} of an operand of shape {x.shape})")
        return x.shape, x.dtype
    return rule


def _scatter_accumulate(ufunc, name):
    def impl(x, u, *idx, axes):
        out = np.array(x, copy=True)
        idx = _normalize(idx, out.shape, axes, name)
        ufunc.at(_front(out, axes), tuple(idx), u)
        return out
    return impl


def _scatter_set_impl(x, u, *idx, axes):
    out = np.array(x, copy=True)
    idx = np.broadcast_arrays(*_normalize(idx, out.shape, axes, "scatter_set"))
    view = _front(out, axes)
    lin = np.ravel_multi_index(tuple(idx), tuple(out.shape[a] for a in axes)).ravel()
    rest = np.shape(u)[len(idx[0].shape):]
    _, first_rev = np.unique(lin[::-1], return_index=True)
    if len(first_rev) == lin.size:  # no repeated target: plain assignment
        view[tuple(idx)] = u
        return out
    keep = lin.size - 1 - first_rev  # the last occurrence of each target wins
    flat_u = np.reshape(u, (lin.size,) + rest)
    view[tuple(i.ravel()[keep] for i in idx)] = flat_u[keep]
    return out


def _scatter_batch(prim):
    def rule(size, vals, batched, axes):
        x, u, idx = vals[0], vals[1], vals[2:]
        xb, ub, ib = batched[0], batched[1], batched[2:]
        ishape = _ishape_of(idx, ib)
        k = len(ishape)
        x = x if xb else broadcast_batch(x, size)
        if not any(ib):
            # Batch is a non-indexed dimension of x: in the update layout it sits after ishape.
            if ub:
                nd = get_aval(u).ndim
                u = transpose(u, tuple(range(1, k + 1)) + (0,) + tuple(range(k + 1, nd)))
            else:
                s = get_aval(u).shape
                u = broadcast_in_dim(u, s[:k] + (size,) + s[k:],
                                     tuple(range(k)) + tuple(range(k + 1, len(s) + 1)))
            return prim.bind(x, u, *idx, axes=batching.shift_axes(axes)), True
        u = u if ub else broadcast_batch(u, size)
        # Per-example index shapes may broadcast to ishape from lower ranks; give u that
        # full layout (it already has it: updates match the per-example gather shape).
        idx = _batch_indices(size, idx, ib, k)
        return prim.bind(x, u, *idx, axes=(0,) + batching.shift_axes(axes)), True
    batching.batch_rules[prim] = rule


def _no_index_tangents(prim, tangents):
    if any(t is not None for t in tangents[2:]):
        raise NotImplementedError(f"'{prim}' is not differentiable in its index operands")


def _zeros(x):
    a = get_aval(x)
    return np.zeros(a.shape, a.dtype)


scatter_add_p = Primitive("scatter_add")
scatter_set_p = Primitive("scatter_set")
scatter_mul_p = Primitive("scatter_mul")


def scatter_add(x, u, *idx, axes):
    """``x`` with ``u`` added at the index arrays (repeated targets accumulate)."""
    return scatter_add_p.bind(x, u, *idx, axes=tuple(int(a) for a in axes))


def scatter_set(x, u, *idx, axes):
    """``x`` with ``u`` written at the index arrays (the last repeated update wins)."""
    return scatter_set_p.bind(x, u, *idx, axes=tuple(int(a) for a in axes))


def scatter_mul(x, u, *idx, axes):
    """``x`` multiplied by ``u`` at the index arrays (repeated targets accumulate)."""
    return scatter_mul_p.bind(x, u, *idx, axes=tuple(int(a) for a in axes))


for _p, _impl in ((scatter_add_p, _scatter_accumulate(np.add, "scatter_add")),
                  (scatter_set_p, _scatter_set_impl),
                  (scatter_mul_p, _scatter_accumulate(np.multiply, "scatter_mul"))):
    impl_rules[_p] = _impl
    abstract_rules[_p] = _scatter_abstract(_p.name)
    _scatter_batch(_p)


# scatter_add and scatter_set are linear in (x, updates) jointly.
def _linear_scatter_jvp(prim):
    def rule(primals, tangents, axes):
        _no_index_tangents(prim, tangents)
        x, u, *idx = primals
        tx, tu = tangents[:2]
        ans = prim.bind(x, u, *idx, axes=axes)
        # Always bind (even scatter_add with tu None, where the tangent equals tx): the
        # tangent then varies over the same named axes as the primal (batched indices).
        tx = _zeros(x) if tx is None else tx
        tu = _zeros(u) if tu is None else tu
        return ans, prim.bind(tx, tu, *idx, axes=axes)
    ad.jvp_rules[prim] = rule


def _scatter_add_transpose(ct, x, u, *idx, axes):
    return [ct if ad.is_undefined(x) else None,
            gather(ct, *idx, axes=axes) if ad.is_undefined(u) else None] + [None] * len(idx)


def _winners(idx, axes, xshape, ushape):
    """Boolean mask over the updates: True where the update is the one scatter_set keeps."""
    n = int(np.prod(ushape, dtype=np.int64))
    ids = np.arange(n, dtype=np.int64).reshape(ushape)
    if all(isinstance(i, np.ndarray | np.generic) for i in idx):
        slots = _scatter_set_impl(np.full(xshape, -1, np.int64), ids, *idx, axes=axes)
        return _gather_impl(slots, *idx, axes=axes) == ids
    slots = scatter_set(np.full(xshape, -1, np.int64), ids, *idx, axes=axes)
    return eq(gather(slots, *idx, axes=axes), ids)


def _scatter_set_transpose(ct, x, u, *idx, axes):
    ct_x = ct_u = None
    if ad.is_undefined(u):
        ushape = u.aval.shape
        mask = _winners(idx, axes, get_aval(ct).shape, ushape)
        ct_u = gather(ct, *idx, axes=axes)
        if not (isinstance(mask, np.ndarray) and mask.all()):
            ct_u = mul(ct_u, convert_element_type(mask, u.aval.dtype))
    if ad.is_undefined(x):
        ushape = u.aval.shape if ad.is_undefined(u) else get_aval(u).shape
        ct_x = scatter_set(ct, np.zeros(ushape, get_aval(ct).dtype), *idx, axes=axes)
    return [ct_x, ct_u] + [None] * len(idx)


_linear_scatter_jvp(scatter_add_p)
_linear_scatter_jvp(scatter_set_p)
ad.transpose_rules[scatter_add_p] = _scatter_add_transpose
ad.transpose_rules[scatter_set_p] = _scatter_set_transpose


# scatter_mul: out[p] = x[p] * prod_{j -> p} u[j]. Linear in x; in u the derivative
# of the product over a group is x[p] times the product of the *other* group members.
# With concrete, repeat-free indices that product is 1 and is skipped.
def _others_product(u, idx, axes, xshape):
    """For each update ``u_j``, the product of the *other* updates hitting its target.

    Division by ``u_j`` is safe only where ``u_j != 0``, so zeros are handled apart:
    ``others_j = (nonzero product / u_j) * (product of the other zero updates)``, the
    latter built so that its first derivative is exact too (second order of scatter_mul
    is then exact everywhere, including at zeros)."""
    dt = get_aval(u).dtype
    zero, one, two = np.zeros((), dt), np.ones((), dt), np.asarray(2, dt)
    is_zero = eq(u, zero)
    safe = select_n(is_zero, u, one)     # u with zeros replaced by 1
    zeros_only = select_n(is_zero, one, u)   # u at zeros, 1 elsewhere

    def per_group(v, init, scatter):
        acc = scatter(np.full(xshape, init, dt), v, *idx, axes=axes)
        return gather(acc, *idx, axes=axes)

    nonzero_prod = per_group(safe, 1, scatter_mul)
    zero_prod = per_group(zeros_only, 1, scatter_mul)
    n_zeros = per_group(convert_element_type(is_zero, dt), 0, scatter_add)
    zero_sum = per_group(select_n(is_zero, zero, u), 0, scatter_add)
    # u_j == 0: the other zeros' product is 1 (no other zero), the other zero itself
    # (one other zero: zero_sum - u_j), or 0 with zero derivative (two or more).
    others_if_zero = select_n(eq(n_zeros, one), select_n(eq(n_zeros, two), zero, sub(zero_sum, u)), one)
    return mul(div(nonzero_prod, safe), select_n(is_zero, zero_prod, others_if_zero))


def _unique_targets(idx, axes, xshape):
    if not all(isinstance(i, np.ndarray | np.generic) for i in idx):
        return False
    idx = np.broadcast_arrays(*_normalize(idx, xshape, axes, "scatter_mul"))
    lin = np.ravel_multi_index(tuple(idx), tuple(xshape[a] for a in axes)).ravel()
    return np.unique(lin).size == lin.size


def _scatter_mul_jvp(primals, tangents, axes):
    _no_index_tangents(scatter_mul_p, tangents)
    x, u, *idx = primals
    tx, tu = tangents[:2]
    ans = scatter_mul(x, u, *idx, axes=axes)
    out = None if tx is None else scatter_mul(tx, u, *idx, axes=axes)
    if tu is not None:
        xshape = get_aval(x).shape
        w = gather(x, *idx, axes=axes)
        if not _unique_targets(idx, axes, xshape):
            w = mul(w, _others_product(u, idx, axes, xshape))
        t = scatter_add(_zeros(x), mul(tu, w), *idx, axes=axes)
        out = t if out is None else add(out, t)
    return ans, out


def _scatter_mul_transpose(ct, x, u, *idx, axes):
    if ad.is_undefined(u):
        raise NotImplementedError("scatter_mul is linear in its operand only, not in updates")
    return [scatter_mul(ct, u, *idx, axes=axes), None] + [None] * len(idx)


ad.jvp_rules[scatter_mul_p] = _scatter_mul_jvp
ad.transpose_rules[scatter_mul_p] = _scatter_mul_transpose
