"""Reductions, scans and sorting over positional axes, with their rules.
(``reduce_sum``, the transpose of ``broadcast_in_dim``, lives beside it in structural.)

- ``reduce_max``/``reduce_min`` (ties share the
  derivative evenly), ``reduce_prod`` (zero-safe derivative);
- ``argmax``/``argmin``/``argsort``: integer outputs, so they carry no tangent;
- ``cumsum`` (linear), ``cumprod``, ``cummax``/``cummin``, and the linear
  recurrence ``z[k] = a[k] * z[k-1] + b[k]`` that carries cumprod's derivative
  (its derivative is again a recurrence, so every order works and zeros in the
  input never divide);
- ``sort`` (values; the tangent follows the sorting permutation, one gather).

Every primitive works along explicit, non-negative axes; the NumPy front end
normalises ``axis``/``keepdims`` and dtypes.
"""
from __future__ import annotations

import numpy as np

from .. import ad, batching
from ..core import Primitive, abstract_rules, get_aval, impl_rules
from .elementwise import add, gt, lt, mul, or_p, select_n
from .indexing import gather
from .structural import (  # noqa: F401
    broadcast_in_dim,
    broadcast_operands,
    pad,
    reduce_sum,
    reduce_sum_p,
    reshape,
    transpose,
)
from .structural import slice as slice_


def _check_axes(name, x, axes):
    if any(not 0 <= a < x.ndim for a in axes) or len(set(axes)) != len(axes):
        raise ValueError(f"{name}: axes {axes} are invalid for an operand of shape {x.shape}")


def _reduced_shape(x, axes, name="reduction"):
    _check_axes(name, x, axes)
    return tuple(d for i, d in enumerate(x.shape) if i not in axes)


def _kept(shape, axes):
    return tuple(i for i in range(len(shape)) if i not in axes)


def _batch_axes_param(prim, key):
    """Batching for a one-operand primitive whose param ``key`` holds axes (a tuple)
    or one axis (an int): the batch axis is axis 0, so every axis moves up by one."""
    def rule(bsize, vals, batched, **params):
        v = params[key]
        params[key] = v + 1 if isinstance(v, int) else batching.shift_axes(v)
        return prim.bind(vals[0], **params), True
    batching.batch_rules[prim] = rule


# ---------------------------------------------------------------- sum, max, min, prod

def _reducer(name, impl):
    prim = Primitive(name)
    impl_rules[prim] = lambda x, axes: impl(x, axis=axes)
    abstract_rules[prim] = lambda x, axes: (_reduced_shape(x, axes, name), x.dtype)
    _batch_axes_param(prim, "axes")
    return prim


def _ieee_extremum(reduce, prefer_positive):
    """``reduce`` with IEEE 754-2019 maximum/minimum zeros: -0 < +0, so the result does
    not depend on the order of the elements (and a blocked reduction, e.g. over MPI
    ranks, equals a flat one). NaN propagates, as np.max does."""
    winner, loser = (0.0, -0.0) if prefer_positive else (-0.0, 0.0)

    def impl(x, axis):
        r = reduce(x, axis=axis)
        if r.dtype.kind == "f" and np.count_nonzero(r == 0):
            x = np.asarray(x)
            present = np.any((x == 0) & (np.signbit(x) != prefer_positive), axis=axis)
            r = np.where(r == 0, np.where(present, winner, loser), r).astype(r.dtype)
            return r[()] if r.ndim == 0 else r
        return r
    return impl


# The ufuncs' own reduce: np.max/np.min/np.prod call them after ~1.5 us of dispatch.
reduce_max_p = _reducer("reduce_max", _ieee_extremum(np.maximum.reduce, True))
reduce_min_p = _reducer("reduce_min", _ieee_extremum(np.minimum.reduce, False))
reduce_prod_p = _reducer("reduce_prod", np.multiply.reduce)


def _sorted_axes(axes):
    return tuple(sorted(int(a) for a in axes))


def reduce_max(x, axes):
    return reduce_max_p.bind(x, axes=_sorted_axes(axes))


def reduce_min(x, axes):
    return reduce_min_p.bind(x, axes=_sorted_axes(axes))


def reduce_prod(x, axes):
    axes = _sorted_axes(axes)
    return x if not axes else reduce_prod_p.bind(x, axes=axes)


def _extremum_weight(name):
    """Weights of the extremum's derivative: 1/k at each of the k locations equal to the
    extremum ``ans`` (given, so it is not computed twice), 0 elsewhere. One primitive,
    piecewise constant (zero derivative)."""
    prim = Primitive(name)

    def impl(x, ans, axes):
        x, ans = np.asarray(x), np.asarray(ans)
        # ans with size-1 dims at ``axes``: a reshape view (np.expand_dims costs ~1.5 us)
        at = x == ans.reshape([1 if i in axes else d for i, d in enumerate(x.shape)])
        dt = x.dtype
        if dt.kind == "f" and np.count_nonzero(at) == ans.size and not np.count_nonzero(np.isnan(ans)):
            return at.astype(dt)  # one location per extremum (the usual case): k = 1 everywhere
        w = at.astype(dt)
        return w / w.sum(axis=axes, keepdims=True)
    impl_rules[prim] = impl
    abstract_rules[prim] = lambda x, ans, axes: (x.shape, x.dtype)
    ad.jvp_rules[prim] = lambda primals, tangents, axes: (prim.bind(*primals, axes=axes), None)
    batching.batch_rules[prim] = lambda size, vals, batched, axes: (
        prim.bind(*broadcast_operands(size, vals, batched), axes=batching.shift_axes(axes)), True)
    return prim


max_weight_p = _extremum_weight("max_weight")
min_weight_p = _extremum_weight("min_weight")


def _extremum_jvp(prim, weight_p):
    # The derivative flows to the locations equal to the extremum; ties share it evenly.
    def primal_part(x, axes):
        ans = prim.bind(x, axes=axes)
        return ans, weight_p.bind(x, ans, axes=axes)

    def rule(primals, tangents, axes):
        t, = tangents
        ans, w = ad.on_primals(primal_part, primals[0], axes)
        return ans, reduce_sum(mul(t, w), axes)
    ad.jvp_rules[prim] = rule


_extremum_jvp(reduce_max_p, max_weight_p)
_extremum_jvp(reduce_min_p, min_weight_p)


def _prod_jvp(primals, tangents, axes):
    # d prod = sum_i t_i * (product of the other entries). The "others" product is
    # (exclusive prefix product) * (exclusive suffix product): no division, so zeros
    # in x are handled exactly, and cumprod's own rule gives every higher order.
    x, = primals
    t, = tangents
    ans = reduce_prod(x, axes)
    shape = get_aval(x).shape
    kept = _kept(shape, axes)
    n = int(np.prod([shape[a] for a in axes], dtype=np.int64))
    if n == 0:
        return ans, None
    flat = tuple(shape[k] for k in kept) + (n,)

    def flatten(v):
        return reshape(transpose(v, kept + axes), flat)
    xf, tf = flatten(x), flatten(t)
    last = len(flat) - 1
    left = shift(cumprod(xf, last), last, from_start=True, fill=1)
    right = shift(cumprod(xf, last, reverse=True), last, from_start=False, fill=1)
    return ans, reduce_sum(mul(tf, mul(left, right)), (last,))


ad.jvp_rules[reduce_prod_p] = _prod_jvp


def shift(x, axis, from_start, fill=0):
    """Shift ``x`` by one along ``axis``: ``out[k] = x[k-1]`` with ``out[0] = fill``
    (``from_start``), or ``out[k] = x[k+1]`` with ``out[-1] = fill``."""
    a = get_aval(x)
    n = a.shape[axis]
    if n == 0:
        return x
    start = [0] * a.ndim
    limit = list(a.shape)
    config = [(0, 0, 0)] * a.ndim
    if from_start:
        limit[axis] = n - 1
        config[axis] = (1, 0, 0)
    else:
        start[axis] = 1
        config[axis] = (0, 1, 0)
    out = pad(slice_(x, start, limit), config)
    if fill:
        edge = np.zeros(a.shape, a.dtype)
        idx = [slice(None)] * a.ndim
        idx[axis] = 0 if from_start else n - 1
        edge[tuple(idx)] = fill
        out = add(out, edge)
    return out


# ---------------------------------------------------------------- argmax, argmin, argsort

def _index_op(name, impl, keeps_axis=False):
    """An integer-valued op along one axis: no tangent, batched by shifting the axis."""
    prim = Primitive(name)
    impl_rules[prim] = lambda x, axis, index_dtype: np.asarray(impl(x, axis)).astype(index_dtype)

    def abstract(x, axis, index_dtype):
        _check_axes(name, x, (axis,))
        if not keeps_axis and x.shape[axis] == 0:
            raise ValueError(f"{name}: axis {axis} of the operand (shape {x.shape}) is empty")
        shape = x.shape if keeps_axis else _reduced_shape(x, (axis,), name)
        return shape, np.dtype(index_dtype)
    abstract_rules[prim] = abstract
    ad.jvp_rules[prim] = lambda primals, tangents, **params: (prim.bind(*primals, **params), None)
    _batch_axes_param(prim, "axis")
    return prim


argmax_p = _index_op("argmax", lambda x, axis: np.argmax(x, axis))
argmin_p = _index_op("argmin", lambda x, axis: np.argmin(x, axis))
argsort_p = _index_op("argsort", lambda x, axis: np.argsort(x, axis, kind="stable"), True)


def argmax(x, axis, index_dtype=np.int64):
    """Index of the first maximum along ``axis`` (an integer: never differentiated)."""
    return argmax_p.bind(x, axis=int(axis), index_dtype=np.dtype(index_dtype))


def argmin(x, axis, index_dtype=np.int64):
    """Index of the first minimum along ``axis`` (an integer: never differentiated)."""
    return argmin_p.bind(x, axis=int(axis), index_dtype=np.dtype(index_dtype))


def argsort(x, axis, index_dtype=np.int64):
    """Stable sorting permutation along ``axis`` (an integer: never differentiated)."""
    return argsort_p.bind(x, axis=int(axis), index_dtype=np.dtype(index_dtype))


# ---------------------------------------------------------------- sort

sort_p = Primitive("sort")


def sort(x, axis):
    """Values of ``x`` sorted along ``axis`` (stable; NaNs last)."""
    return sort_p.bind(x, axis=int(axis))


def _sort_abstract(x, axis):
    _check_axes("sort", x, (axis,))
    return x.shape, x.dtype


def _sort_jvp(primals, tangents, axis):
    # The tangent follows the (stable) sorting permutation. At ties the function is
    # not differentiable; each tied slot takes the tangent of its stable-order source.
    x, = primals
    t, = tangents
    return sort(x, axis), take_along(t, argsort(x, axis), axis)


def take_along(t, idx, axis):
    """``take_along_axis(t, idx, axis)`` as one gather: every other dimension is
    indexed by its own position."""
    shape = get_aval(idx).shape
    grids = [idx if d == axis else
             np.broadcast_to(np.arange(n).reshape((n,) + (1,) * (len(shape) - d - 1)), shape)
             for d, n in enumerate(shape)]
    return gather(t, *grids, axes=tuple(range(len(shape))))


impl_rules[sort_p] = lambda x, axis: np.sort(x, axis, kind="stable")
abstract_rules[sort_p] = _sort_abstract
ad.jvp_rules[sort_p] = _sort_jvp
_batch_axes_param(sort_p, "axis")

# ---------------------------------------------------------------- scans


def _flip_scan(fn):
    def impl(x, axis, reverse):
        x = np.asarray(x)
        if reverse:
            return np.flip(fn(np.flip(x, axis), axis), axis)
        return fn(x, axis)
    return impl


def _scan(name, fn):
    prim = Primitive(name)
    impl_rules[prim] = _flip_scan(fn)

    def abstract(x, axis, reverse):
        _check_axes(name, x, (axis,))
        return x.shape, x.dtype
    abstract_rules[prim] = abstract
    _batch_axes_param(prim, "axis")
    return prim


cumsum_p = _scan("cumsum", lambda x, axis: np.cumsum(x, axis, dtype=x.dtype))
cumprod_p = _scan("cumprod", lambda x, axis: np.cumprod(x, axis, dtype=x.dtype))
cummax_p = _scan("cummax", lambda x, axis: np.maximum.accumulate(x, axis))
cummin_p = _scan("cummin", lambda x, axis: np.minimum.accumulate(x, axis))


def cumsum(x, axis, reverse=False):
    """Inclusive running sum along ``axis`` (from the end if ``reverse``)."""
    return cumsum_p.bind(x, axis=int(axis), reverse=bool(reverse))


def cumprod(x, axis, reverse=False):
    """Inclusive running product along ``axis`` (from the end if ``reverse``)."""
    return cumprod_p.bind(x, axis=int(axis), reverse=bool(reverse))


def cummax(x, axis, reverse=False):
    """Running maximum along ``axis``; the derivative flows to the element where the
    running maximum was first reached (scan order)."""
    return cummax_p.bind(x, axis=int(axis), reverse=bool(reverse))


def cummin(x, axis, reverse=False):
    """Running minimum along ``axis``; ties as in :func:`cummax`."""
    return cummin_p.bind(x, axis=int(axis), reverse=bool(reverse))


ad.deflinear(cumsum_p, lambda ct, x, axis, reverse: [cumsum(ct, axis, not reverse)])


def _cumprod_jvp(primals, tangents, axis, reverse):
    # dy[k] = x[k] * dy[k-1] + y[k-1] * t[k]: a linear recurrence in the tangent.
    x, = primals
    t, = tangents
    y = cumprod(x, axis, reverse)
    before = shift(y, axis, from_start=not reverse, fill=1)
    return y, linear_recurrence(x, mul(before, t), axis, reverse)


ad.jvp_rules[cumprod_p] = _cumprod_jvp


def _cumext_jvp(prim, better):
    # Each position takes the tangent of the element that set its running extremum:
    # the latest "record" in scan order, a record being the first element or one
    # strictly better than the running extremum before it (so ties go to the first).
    def rule(primals, tangents, axis, reverse):
        x, = primals
        t, = tangents
        y = prim.bind(x, axis=axis, reverse=reverse)
        a = get_aval(x)
        n = a.shape[axis]
        if n == 0:
            return y, None
        first = np.zeros(a.shape, bool)
        edge = [slice(None)] * a.ndim
        edge[axis] = n - 1 if reverse else 0
        first[tuple(edge)] = True
        record = or_p.bind(better(x, shift(y, axis, from_start=not reverse)), first)
        iota = np.arange(n).reshape([n if d == axis else 1 for d in range(a.ndim)])
        iota = np.broadcast_to(iota, a.shape)
        none = np.full(a.shape, n if reverse else -1)
        pos = select_n(record, none, iota)
        src = cummin(pos, axis, True) if reverse else cummax(pos, axis)
        return y, take_along(t, src, axis)
    ad.jvp_rules[prim] = rule


_cumext_jvp(cummax_p, gt)
_cumext_jvp(cummin_p, lt)

# ---------------------------------------------------------------- linear recurrence

linear_recurrence_p = Primitive("linear_recurrence")


def linear_recurrence(a, b, axis, reverse=False):
    """``z[k] = a[k] * z[k-1] + b[k]`` along ``axis`` with ``z[-1] = 0``
    (``reverse``: ``z[k] = a[k] * z[k+1] + b[k]`` from the end). Linear in ``b``."""
    return linear_recurrence_p.bind(a, b, axis=int(axis), reverse=bool(reverse))


def _linrec_impl(a, b, axis, reverse):
    a = np.moveaxis(np.asarray(a), axis, 0)
    b = np.moveaxis(np.asarray(b), axis, 0)
    z = np.empty_like(b)
    order = range(len(b) - 1, -1, -1) if reverse else range(len(b))
    prev = None
    for k in order:
        prev = b[k] if prev is None else a[k] * prev + b[k]
        z[k] = prev
    return np.moveaxis(z, 0, axis)


def _linrec_abstract(a, b, axis, reverse):
    _check_axes("linear_recurrence", b, (axis,))
    if a.shape != b.shape or a.dtype != b.dtype:
        raise ValueError(f"linear_recurrence: operands must have one shape and dtype, got "
                         f"{a.str_short()} and {b.str_short()}")
    return b.shape, b.dtype


def _linrec_jvp(primals, tangents, axis, reverse):
    # dz[k] = a[k] dz[k-1] + (da[k] z[k-1] + db[k]): the same recurrence again.
    a, b = primals
    ta, tb = tangents
    z = linear_recurrence(a, b, axis, reverse)
    drive = tb
    if ta is not None:
        da = mul(ta, shift(z, axis, from_start=not reverse))
        drive = da if drive is None else add(drive, da)
    return z, linear_recurrence(a, drive, axis, reverse)


def _linrec_transpose(ct, a, b, axis, reverse):
    # z = L b with L triangular; L^T runs the recurrence the other way with a shifted.
    if ad.is_undefined(a):
        raise NotImplementedError("linear_recurrence is linear in b only; its coefficients "
                                  "a cannot be transposed (reverse mode)")
    a_t = shift(a, axis, from_start=reverse)
    return [None, linear_recurrence(a_t, ct, axis, not reverse)]


impl_rules[linear_recurrence_p] = _linrec_impl
abstract_rules[linear_recurrence_p] = _linrec_abstract
ad.jvp_rules[linear_recurrence_p] = _linrec_jvp
ad.transpose_rules[linear_recurrence_p] = _linrec_transpose
batching.batch_rules[linear_recurrence_p] = lambda size, vals, batched, axis, reverse: (
    linear_recurrence(*broadcast_operands(size, vals, batched), axis + 1, reverse), True)
