"""``einsum2``: the one contraction primitive (dot, matmul, outer, tensordot, einsum).

``spec`` is a two-operand einsum string such as ``"bi,ij->bj"``. The front end
guarantees no index repeats within an operand and every operand index appears
in the other operand or the output, so both transposes are again einsum2.
The implementation lowers to one batched ``matmul`` (BLAS), with a cached plan.

``pdot`` is einsum2 fused with a psum over named axes; the transpose of einsum2
emits it, so a total gradient never materialises per-example weight copies.
"""
from __future__ import annotations

import functools

import numpy as np

from .. import ad, batching, core
from ..core import Primitive, abstract_rules, impl_rules, lowering_into_rules, lowering_rules, vma_rules
from .named_axes import axes_tuple, def_owner, scale, unvary_transpose

einsum2_p = Primitive("einsum2")


def einsum2(x, y, spec):
    return einsum2_p.bind(x, y, spec=spec)


def parse(spec):
    ins, out = spec.split("->")
    a, b = ins.split(",")
    return a, b, out


@functools.lru_cache(maxsize=4096)
def _plan(spec, xshape, yshape):
    a, b, out = parse(spec)
    size = dict(zip(a, xshape))
    size.update(zip(b, yshape))
    batch = [c for c in out if c in a and c in b]
    contract = [c for c in a if c in b and c not in out]
    xfree = [c for c in a if c in out and c not in b]
    yfree = [c for c in b if c in out and c not in a]
    xsum = tuple(i for i, c in enumerate(a) if c not in b and c not in out)
    ysum = tuple(i for i, c in enumerate(b) if c not in a and c not in out)
    a2 = "".join(c for c in a if c in b or c in out)
    b2 = "".join(c for c in b if c in a or c in out)
    xperm = tuple(a2.index(c) for c in batch + xfree + contract)
    yperm = tuple(b2.index(c) for c in batch + contract + yfree)
    n = lambda cs: int(np.prod([size[c] for c in cs], dtype=np.int64))  # noqa: E731
    B, M, K, N = n(batch), n(xfree), n(contract), n(yfree)
    mid = batch + xfree + yfree
    mid_shape = tuple(size[c] for c in mid)
    operm = tuple(mid.index(c) for c in out)
    out_shape = tuple(size[c] for c in out)
    return xsum, ysum, xperm, yperm, (B, M, K), (B, K, N), mid_shape, operm, out_shape


def _einsum2_impl(x, y, spec):
    x, y = np.asarray(x), np.asarray(y)
    return _kernel(spec, x.shape, y.shape)(x, y)


@functools.lru_cache(maxsize=4096)
def _swapped(spec):
    """Is the output ``batch + yfree + xfree``, in that order (a weight gradient)?"""
    a, b, out = parse(spec)
    batch = "".join(c for c in out if c in a and c in b)
    xfree = "".join(c for c in a if c in out and c not in b)
    yfree = "".join(c for c in b if c in out and c not in a)
    return bool(xfree and yfree) and out == batch + yfree + xfree


def _einsum2_abstract(x, y, spec):
    a, b, out = parse(spec)
    if len(a) != x.ndim or len(b) != y.ndim:
        raise ValueError(f"einsum2 '{spec}': operand ranks {x.ndim}, {y.ndim} do not match")
    size = {}
    for c, d in list(zip(a, x.shape)) + list(zip(b, y.shape)):
        if size.setdefault(c, d) != d:
            raise ValueError(f"einsum2 '{spec}': index {c!r} has sizes {size[c]} and {d} "
                             f"(shapes {x.shape}, {y.shape})")
    if x.dtype != y.dtype:
        raise TypeError(f"einsum2: operands have dtypes {x.dtype}, {y.dtype}")
    return tuple(size[c] for c in out), x.dtype


def _as_view(shape, perm, target):
    """``a.transpose(perm).reshape(target)``, with the steps that are no-ops for these
    shapes left out."""
    if perm == tuple(range(len(perm))):
        return _same if tuple(shape) == tuple(target) else (lambda a: a.reshape(target))
    return lambda a: a.transpose(perm).reshape(target)


def _same(a):
    return a


@functools.lru_cache(maxsize=4096)
def _kernel(spec, xshape, yshape, into=False):
    """einsum2 for these shapes: the sums, views and one matmul (or broadcast product)
    its plan needs, and no no-op step. Built once per spec and shapes; the impl calls
    it, and jit's compiled code calls it directly (``lowering_rules``).

    ``into=True``: the same product written into a C-contiguous ``out`` (``f(x, y, out)``,
    returning ``out``), or None where the result would need a transpose to land there."""
    xsum, ysum, xperm, yperm, xs, ys, mid_shape, operm, _ = _plan(spec, xshape, yshape)
    fx = _as_view(tuple(d for i, d in enumerate(xshape) if i not in xsum), xperm,
                  xs[1:] if xs[0] == 1 else xs)
    fy = _as_view(tuple(d for i, d in enumerate(yshape) if i not in ysum), yperm,
                  ys[1:] if xs[0] == 1 else ys)
    if xs[0] == 1:  # no batch dims: 2-D matmul, which skips the stacked loop (~4% at these sizes)
        xs, ys = xs[1:], ys[1:]
    if xsum:
        fx = (lambda f: lambda a: f(a.sum(axis=xsum)))(fx)
    if ysum:
        fy = (lambda f: lambda a: f(a.sum(axis=ysum)))(fy)
    if _swapped(spec) and xs[-1] != 1:
        # The output wants y's free dims first (x.T @ d): multiply in that order, no transposed result.
        final = tuple(mid_shape[i] for i in operm)
        reshape = tuple(ys[:-2]) + (ys[-1], xs[-2]) != final
        if into:
            natural = tuple(ys[:-2]) + (ys[-1], xs[-2])

            def swapped_into(x, y, out):
                np.matmul(fy(y).swapaxes(-1, -2), fx(x).swapaxes(-1, -2), out=out.reshape(natural))
                return out
            return swapped_into

        def swapped(x, y):
            res = np.matmul(fy(y).swapaxes(-1, -2), fx(x).swapaxes(-1, -2))
            return res.reshape(final) if reshape else res
        return swapped
    reshape = tuple(xs[:-1]) + (ys[-1],) != tuple(mid_shape)
    transpose = operm != tuple(range(len(operm)))
    # No contraction (size 1): an outer product, cheaper as a broadcast multiply.
    product = np.multiply if xs[-1] == 1 else np.matmul
    if into:
        if transpose:
            return None
        natural = tuple(xs[:-1]) + (ys[-1],)

        def contract_into(x, y, out):
            product(fx(x), fy(y), out=out.reshape(natural))
            return out
        return contract_into

    def contract(x, y):
        res = product(fx(x), fy(y))
        if reshape:
            res = res.reshape(mid_shape)
        return res.transpose(operm) if transpose else res
    return contract


impl_rules[einsum2_p] = _einsum2_impl
abstract_rules[einsum2_p] = _einsum2_abstract
lowering_rules[einsum2_p] = lambda avals, spec: _kernel(spec, avals[0].shape, avals[1].shape)
lowering_into_rules[einsum2_p] = lambda avals, spec: _kernel(spec, avals[0].shape, avals[1].shape, True)


def _fresh(spec):
    used = set(spec)
    return next(c for c in "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkjihgfedcba" if c not in used)


@functools.lru_cache(maxsize=4096)
def _batched_spec(spec, bx, by, fresh=None, keep=True):
    """``spec`` with a new leading batch index on the batched operands and (``keep``) the
    output. Specs are few and calls many, so the strings are built once."""
    a, b, out = parse(spec)
    z = (fresh or _fresh)(spec)
    return f"{z + a if bx else a},{z + b if by else b}->{z + out if keep else out}"


def _einsum2_batch(size, vals, batched, spec):
    # With y unbatched the batch folds into x's free dims: one big matmul, not a batched one.
    x, y = vals
    return einsum2(x, y, _batched_spec(spec, batched[0], batched[1])), True


batching.batch_rules[einsum2_p] = _einsum2_batch


def _transpose_operand(ct, other, target, spec_t):
    """Cotangent for ``target`` = einsum2(ct, other, spec_t), fused with the backward
    pass's psum when the contribution varies over axes the target will be reduced on."""
    axes = target.psum_axes
    if axes and all(core.find_axis(n).backend is None for n in axes):
        return ad.Reduced(pdot(ct, other, spec_t, tuple(sorted(axes))))
    return einsum2(ct, other, spec_t)


@functools.lru_cache(maxsize=4096)
def _transposed_spec(spec, lhs):
    """The spec giving the cotangent of the left (``lhs``) or right operand."""
    a, b, out = parse(spec)
    return f"{out},{b}->{a}" if lhs else f"{out},{a}->{b}"


def _lhs_t(ct, x, y, spec):
    return _transpose_operand(ct, y, x, _transposed_spec(spec, True))


def _rhs_t(ct, x, y, spec):
    return _transpose_operand(ct, x, y, _transposed_spec(spec, False))


ad.defbilinear(einsum2_p, _lhs_t, _rhs_t)


def _einsum2_into(out, ct, x, y, spec):
    # The gradient buckets' destination: the same kernel as the transpose, its matmul
    # writing straight into the bucket (no copy afterwards).
    other, spec_t = (y, _transposed_spec(spec, True)) if x is None else (x, _transposed_spec(spec, False))
    if ct.dtype != out.dtype or other.dtype != out.dtype:
        return False
    kernel = _kernel(spec_t, ct.shape, other.shape, True)
    if kernel is None:
        return False
    kernel(ct, other, out)
    return True


ad.transpose_into_rules[einsum2_p] = _einsum2_into


# ---------------------------------------------------------------- pdot = psum(einsum2)
pdot_p = Primitive("pdot")


def pdot(x, y, spec, axis_name):
    """``psum(einsum2(x, y, spec), axis_name)`` without materialising the per-instance
    products: under a map the mapped axis is contracted directly. It lives here
    because einsum2's transpose emits it to fuse the reduce_axes psum.

    >>> import spmdgrad, spmdgrad.numpy as jnp
    >>> xs = jnp.arange(6.0).reshape(3, 2)
    >>> spmdgrad.vmap(lambda x: pdot(x, x, 'a,a->', 'i'), axis_name='i')(xs)
    array([55., 55., 55.])
    """
    return pdot_p.bind(x, y, spec=spec, axes=axes_tuple(axis_name, "pdot"))


abstract_rules[pdot_p] = lambda x, y, spec, axes: abstract_rules[einsum2_p](x, y, spec=spec)
vma_rules[pdot_p] = lambda vmas, spec, axes: frozenset().union(*vmas) - frozenset(axes)


def _pdot_lhs_t(ct, x, y, spec, axes):
    return unvary_transpose(einsum2(ct, y, _transposed_spec(spec, True)), x, axes)


def _pdot_rhs_t(ct, x, y, spec, axes):
    return unvary_transpose(einsum2(ct, x, _transposed_spec(spec, False)), y, axes)


ad.defbilinear(pdot_p, _pdot_lhs_t, _pdot_rhs_t)


def _fresh_letter(spec):
    return next(c for c in "ZYXWVUTSRQPONMLKJIHGFEDCBA" if c not in spec)


def _pdot_batch_rule(size, vals, batched, spec, axes):
    return pdot_p.bind(*vals, spec=_batched_spec(spec, batched[0], batched[1], _fresh_letter), axes=axes), True


batching.batch_rules[pdot_p] = _pdot_batch_rule


def _pdot_owner(frame, vals, batched, spec, axes):
    x, y = vals
    rest = tuple(n for n in axes if n != frame.axis_name)
    if not any(batched):
        res = scale(einsum2(x, y, spec), frame.axis_size)
    else:  # the mapped axis is contracted
        res = einsum2(x, y, _batched_spec(spec, batched[0], batched[1], _fresh_letter, False))
        if frame.backend is not None:
            res, = frame.backend.allreduce([res], "sum")
    if rest:
        res, = core.psum_p.bind(res, axes=rest)
    return res, False


def_owner(pdot_p, _pdot_owner)
