"""Indexing: basic, advanced and boolean-mask reads; functional ``x.at[idx]`` updates.

Basic indices (ints, slices with any step, ``None``, ``...``) lower to ``rev``,
``slice`` and ``reshape``. Advanced indices (integer arrays, possibly traced)
lower to one ``gather``: every index becomes an integer array, partial slices
become ``arange`` arrays, and a final transpose places the broadcast index
dimensions where NumPy puts them. ``x.at[idx].set/add/mul`` use the same plan
with the matching scatter primitive, so reads and writes agree by construction.

Boolean masks must be concrete (NumPy arrays): the result's shape depends on
their values. Out-of-range integers raise ``IndexError``, naming the shape.

>>> import spmdgrad, spmdgrad.numpy as jnp
>>> spmdgrad.vmap(lambda x: x.at[1].add(10.0))(np.zeros((2, 3)))
array([[ 0., 10.,  0.],
       [ 0., 10.,  0.]])
"""
from __future__ import annotations

import numpy as np

from ..core import Tracer, get_aval
from ..primitives import structural as st
from ..primitives.elementwise import convert_element_type
from ..primitives.indexing import IndexOutOfBoundsError, gather, scatter_add, scatter_mul, scatter_set
from . import _math
from ._core import asarray, broadcast_to

__all__ = ["take", "take_along_axis", "at"]

builtin_slice = slice


def _bounds_error(i, ax, n, shape):
    return IndexOutOfBoundsError(f"index {i} is out of bounds for axis {ax} with size {n} "
                                 f"(array shape {tuple(shape)})")


def _check_concrete(a, ax, shape):
    """Bounds-check a concrete index array (traced ones are checked when they run)."""
    if isinstance(a, np.ndarray) and a.size:
        n = shape[ax]
        lo, hi = a.min(), a.max()
        if lo < -n or hi >= n:
            raise _bounds_error(int(lo if lo < -n else hi), ax, n, shape)


def _index_array(k, op="index"):
    """An integer index array (NumPy or traced) from an index-like value; masks stay bool."""
    if isinstance(k, Tracer):
        dt = k.aval.dtype
        if dt == np.bool_:
            raise TypeError(
                f"{op}: a boolean mask that is a traced value cannot be used as an index: the "
                "result's shape would depend on traced values. Use a concrete NumPy mask, or "
                "spmdgrad.numpy.where(mask, x, 0) to keep the shape.")
        if not np.issubdtype(dt, np.integer):
            raise TypeError(f"{op}: arrays used as indices must be of integer (or boolean) "
                            f"type, got a traced value of dtype {dt}")
        return k
    a = asarray(k)
    if isinstance(a, Tracer):  # a list holding tracers
        return _index_array(a, op)
    if a.dtype == np.bool_:
        return a
    if a.size == 0 and not np.issubdtype(a.dtype, np.integer):
        return a.astype(np.int64)
    if not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"{op}: arrays used as indices must be of integer (or boolean) type, "
                        f"got {a.dtype}")
    return a


def _entries(shape, key):
    """Expand ``key`` into one entry per index item, ellipsis resolved, masks turned into
    integer arrays. Entries: ('none',), ('int', dim, i), ('slice', dim, start, step, count),
    ('adv', dim, array)."""
    if not isinstance(key, tuple):
        key = (key,)
    items, used, ellipses = [], 0, 0
    for k in key:
        if k is None:
            items.append(("none",))
        elif k is Ellipsis:
            ellipses += 1
            items.append(("ellipsis",))
        elif isinstance(k, builtin_slice):
            if any(isinstance(b, Tracer) for b in (k.start, k.stop, k.step)):
                raise TypeError(
                    f"index: slice bounds must be concrete ints, got a traced value in {k!r}: "
                    "the result's shape would depend on it. For a fixed-size window at a "
                    "traced offset i, use take(x, i + arange(size), axis).")
            items.append(("slice", k))
            used += 1
        elif isinstance(k, bool | np.bool_):
            raise TypeError("index: boolean scalar indices are not supported; use None "
                            "(newaxis) or a boolean array")
        elif isinstance(k, int | np.integer):
            items.append(("int", int(k)))
            used += 1
        elif isinstance(k, Tracer | np.ndarray | list | tuple):
            a = _index_array(k)
            if a.dtype == np.bool_ and a.ndim == 0:
                raise TypeError("index: 0-d boolean indices are not supported; use None "
                                "(newaxis) or a boolean array")
            if a.dtype == np.bool_:
                items.append(("mask", a))
                used += a.ndim
            else:
                items.append(("adv", a))
                used += 1
        else:
            raise TypeError(f"index: only integers, slices (`:`), ellipsis (`...`), None "
                            f"(newaxis) and integer or boolean arrays are valid indices, got "
                            f"{k!r} of type {type(k).__name__}")
    if ellipses > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if used > len(shape):
        raise IndexError(f"too many indices for array: array is {len(shape)}-dimensional "
                         f"(shape {tuple(shape)}), but {used} were indexed")
    fill = [("slice", builtin_slice(None))] * (len(shape) - used)
    if ellipses:
        i = next(j for j, it in enumerate(items) if it[0] == "ellipsis")
        items = items[:i] + fill + items[i + 1:]
    else:
        items = items + fill
    out, dim = [], 0
    for it in items:
        kind = it[0]
        if kind == "none":
            out.append(it)
            continue
        if kind == "mask":
            m = it[1]
            if m.shape != tuple(shape[dim:dim + m.ndim]):
                raise IndexError(f"boolean index of shape {m.shape} does not match the indexed "
                                 f"array's dimensions {tuple(shape[dim:dim + m.ndim])} (array "
                                 f"shape {tuple(shape)}, from axis {dim})")
            for nz in np.nonzero(m) if m.ndim else ():
                out.append(("adv", dim, nz))
                dim += 1
            continue
        n = shape[dim]
        if kind == "int":
            if not -n <= it[1] < n:
                raise _bounds_error(it[1], dim, n, shape)
            out.append(("int", dim, it[1] % n))
        elif kind == "slice":
            start, stop, step = it[1].indices(n)
            out.append(("slice", dim, start, step, len(range(start, stop, step))))
        else:
            _check_concrete(it[1], dim, shape)
            out.append(("adv", dim, it[1]))
        dim += 1
    return out


def getitem(x, key):
    """``x[key]`` with NumPy semantics (see the module docstring)."""
    x = asarray(x)
    shape = get_aval(x).shape
    entries = _entries(shape, key)
    if not any(e[0] == "adv" for e in entries):
        return _basic(x, shape, entries)
    g = _Plan(shape, entries)
    if not g.axes:
        return st.reshape(x, g.result_shape)
    out = gather(x, *g.idx, axes=g.axes)
    return st.reshape(st.transpose(out, g.perm), g.result_shape)


def _basic(x, shape, entries):
    """Ints, slices and None: rev for negative steps, one slice, one reshape."""
    start, limit, stride, flips, out_shape = [], [], [], [], []
    for e in entries:
        if e[0] == "none":
            out_shape.append(1)
            continue
        _, dim, *rest = e
        n = shape[dim]
        if e[0] == "int":
            start.append(rest[0])
            limit.append(rest[0] + 1)
            stride.append(1)
            continue
        a, step, count = rest
        if step < 0:
            flips.append(dim)
            a, step = n - 1 - a, -step
        if count == 0:
            a = 0
        start.append(a)
        limit.append(a + (count - 1) * step + 1 if count else a)
        stride.append(step)
        out_shape.append(count)
    x = st.rev(x, flips)
    x = st.slice(x, start, limit, stride)
    return st.reshape(x, tuple(out_shape))


class _Plan:
    """One gather (or scatter) for an index with advanced parts.

    ``idx``/``axes`` are the gather operands; ``perm`` moves the gather output to NumPy's
    layout and ``result_shape`` inserts the None dimensions.
    """

    def __init__(self, shape, entries):
        adv = [(p, e) for p, e in enumerate(entries) if e[0] in ("adv", "int")]
        arrays = [np.asarray(e[2]) if e[0] == "int" else e[2] for _, e in adv]
        shapes = [get_aval(a).shape for a in arrays]
        try:
            bshape = np.broadcast_shapes(*shapes)
        except ValueError:
            raise IndexError(f"shape mismatch: indexing arrays could not be broadcast together "
                             f"with shapes {' '.join(map(str, shapes))}") from None
        positions = [p for p, _ in adv]
        adjacent = positions == list(range(positions[0], positions[-1] + 1)) if positions else True
        partial = [e for e in entries if e[0] == "slice" and (e[2], e[3], e[4]) != (0, 1, shape[e[1]])]
        nb, npart = len(bshape), len(partial)
        self.idx, self.axes = [], []
        for (_, e), a, s in zip(adv, arrays, shapes, strict=True):
            new = (1,) * (nb - len(s)) + s + (1,) * npart
            self.idx.append(a.reshape(new) if isinstance(a, np.ndarray) else st.reshape(a, new))
            self.axes.append(e[1])
        for j, (_, dim, a, step, count) in enumerate(partial):
            ar = a + step * np.arange(count, dtype=np.int64)
            self.idx.append(ar.reshape((1,) * (nb + j) + (count,) + (1,) * (npart - j - 1)))
            self.axes.append(dim)
        self.axes = tuple(self.axes)
        full = [i for i in range(len(shape)) if i not in self.axes]
        labels = ([("b", i) for i in range(nb)] + [("s", e[1]) for e in partial]
                  + [("s", d) for d in full])
        sizes = dict(zip(labels, tuple(bshape) + tuple(e[4] for e in partial)
                         + tuple(shape[d] for d in full), strict=True))
        block = [("b", i) for i in range(nb)]
        target = [] if adjacent else list(block)
        for p, e in enumerate(entries):
            if e[0] == "none":
                target.append(("n", p))
            elif e[0] == "slice":
                target.append(("s", e[1]))
            elif adjacent and p == positions[0]:
                target.extend(block)
        self.perm = tuple(labels.index(t) for t in target if t[0] != "n")
        self.result_shape = tuple(1 if t[0] == "n" else sizes[t] for t in target)
        self.kept = tuple(i for i, t in enumerate(target) if t[0] != "n")


# ---------------------------------------------------------------- .at[...] updates

class _IndexUpdateHelper:
    """``x.at``: index it to get an updater, as in JAX (``x.at[idx].set(v)``)."""
    __slots__ = ("x",)

    def __init__(self, x):
        self.x = x

    def __getitem__(self, key):
        return _IndexUpdateRef(self.x, key)

    def __repr__(self):
        return f"_IndexUpdateHelper({self.x!r})"


class _IndexUpdateRef:
    """``x.at[idx]``: functional updates that return a new array."""
    __slots__ = ("x", "key")

    def __init__(self, x, key):
        self.x, self.key = x, key

    def get(self, **options):
        """``x[idx]``."""
        _check_options("get", options)
        return getitem(self.x, self.key)

    def set(self, values, **options):
        """A copy of ``x`` with ``x[idx] = values`` (repeated indices: the last one wins)."""
        _check_options("set", options)
        return _update(self.x, self.key, values, "set")

    def add(self, values, **options):
        """A copy of ``x`` with ``x[idx] += values`` (repeated indices accumulate)."""
        _check_options("add", options)
        return _update(self.x, self.key, values, "add")

    def mul(self, values, **options):
        """A copy of ``x`` with ``x[idx] *= values`` (repeated indices accumulate)."""
        _check_options("mul", options)
        return _update(self.x, self.key, values, "mul")

    multiply = mul

    def min(self, values, **options):  # noqa: A003
        """A copy of ``x`` with ``x[idx] = minimum(x[idx], values)`` (repeated indices: the
        smallest update wins; ties share the derivative evenly)."""
        _check_options("min", options)
        return _update(self.x, self.key, values, "min")

    def max(self, values, **options):  # noqa: A003
        """A copy of ``x`` with ``x[idx] = maximum(x[idx], values)``."""
        _check_options("max", options)
        return _update(self.x, self.key, values, "max")

    def divide(self, values, **options):
        """A copy of ``x`` with ``x[idx] /= values`` (repeated indices divide in turn)."""
        _check_options("divide", options)
        x = asarray(self.x)
        a = get_aval(x)
        if a.dtype.kind not in "fc":
            raise TypeError(f"at[...].divide: the array must be inexact, got dtype {a.dtype}")
        return _math.divide(x, _update(np.ones(a.shape, a.dtype), self.key, values, "mul"))

    def power(self, values, **options):
        """A copy of ``x`` with ``x[idx] **= values`` (repeated indices: exponents multiply)."""
        _check_options("power", options)
        x = asarray(self.x)
        a = get_aval(x)
        return _math.power(x, _update(np.ones(a.shape, a.dtype), self.key, values, "mul"))

    def apply(self, func, **options):
        """A copy of ``x`` with ``x[idx] = func(x[idx])`` (``func`` elementwise)."""
        _check_options("apply", options)
        return _update(self.x, self.key, func(getitem(self.x, self.key)), "set")


_OPTIONS = {"indices_are_sorted", "unique_indices", "mode", "fill_value"}


def _check_options(how, options):
    """JAX's ``.at`` keywords: the hints are accepted; out-of-bounds modes other than
    raising are not implemented and say so."""
    unknown = set(options) - _OPTIONS
    if unknown:
        raise TypeError(f"at[...].{how}() got unexpected keyword arguments {sorted(unknown)}")
    if options.get("mode") not in (None, "promise_in_bounds") or options.get("fill_value") is not None:
        raise NotImplementedError(f"at[...].{how}: mode={options.get('mode')!r} / fill_value are not "
                                  "supported; out-of-bounds indices raise IndexError (concrete) or are "
                                  "checked when the program runs")


def at(x):
    """The ``.at`` updater of ``x``, also for plain NumPy arrays (which lack ``.at``).

    >>> at(np.zeros(4))[[0, 0, 2]].add(1.0)
    array([2., 0., 1., 0.])
    """
    return _IndexUpdateHelper(asarray(x))


_SCATTER = {"set": scatter_set, "add": scatter_add, "mul": scatter_mul}


def _update(x, key, values, how):
    x = asarray(x)
    a = get_aval(x)
    v = asarray(values)
    vdt = get_aval(v).dtype
    weak = isinstance(values, bool | int | float | complex)
    if not weak and not np.can_cast(vdt, a.dtype, "same_kind"):
        raise TypeError(f"at[...].{how}: cannot cast updates of dtype {vdt} to the array's "
                        f"dtype {a.dtype}")
    v = convert_element_type(v, a.dtype)
    entries = [("adv", e[1], np.asarray(e[2])) if e[0] == "int" else e
               for e in _entries(a.shape, key)]
    g = _Plan(a.shape, entries)
    rs, vs = g.result_shape, get_aval(v).shape
    extra = len(vs) - len(rs)
    try:
        if extra > 0 and any(d != 1 for d in vs[:extra]):
            raise ValueError
        np.broadcast_shapes(vs[max(extra, 0):], rs)
    except ValueError:
        raise ValueError(f"at[...].{how}: shape mismatch: value array of shape {vs} could not be "
                         f"broadcast to indexing result of shape {rs}") from None
    if extra > 0:
        v = st.reshape(v, vs[extra:])
    v = broadcast_to(v, rs)
    if not g.axes:  # every dimension is taken whole: an elementwise update
        v = st.reshape(v, a.shape)
        return _ELEMENTWISE[how](x, v)
    # Drop the None dimensions, then undo the transpose that getitem applies.
    v = st.reshape(v, tuple(rs[i] for i in g.kept))
    v = st.transpose(v, tuple(int(i) for i in np.argsort(g.perm)))
    if how in ("min", "max"):
        return _update_extremum(x, v, g, how)
    return _SCATTER[how](x, v, *g.idx, axes=g.axes)


_ELEMENTWISE = {"set": lambda x, v: v, "add": _math.add, "mul": _math.multiply,
                "min": _math.minimum, "max": _math.maximum}


def _point_indices(g, shape, vshape):
    """Every index array of plan ``g`` extended to all axes and flattened to 1-d: one
    entry per element of the (gather-layout) update of shape ``vshape``."""
    full = [d for d in range(len(shape)) if d not in g.axes]
    k = len(vshape) - len(full)
    idx = [i if isinstance(i, Tracer) else np.asarray(i) for i in g.idx]
    idx = [_reshape_any(i, get_aval(i).shape + (1,) * len(full)) for i in idx]
    for j, d in enumerate(full):
        idx.append(np.arange(shape[d]).reshape((1,) * (k + j) + (shape[d],) + (1,) * (len(full) - j - 1)))
    n = int(np.prod(vshape, dtype=np.int64))
    return [_reshape_any(broadcast_to(i, vshape), (n,)) for i in idx], tuple(g.axes) + tuple(full)


def _reshape_any(a, shape):
    return a.reshape(shape) if isinstance(a, np.ndarray) else st.reshape(a, shape)


def _update_extremum(x, v, g, how):
    """``x.at[idx].min/max(v)``: point updates ordered so that the winning value comes
    last (scatter_set keeps the last), combined with ``x`` by minimum/maximum."""
    vshape = get_aval(v).shape
    idx, axes = _point_indices(g, get_aval(x).shape, vshape)
    n = int(np.prod(vshape, dtype=np.int64))
    v = st.reshape(v, (n,))
    order = _math.argsort(v, descending=(how == "min"))
    v = gather(v, order, axes=(0,))
    idx = [gather(i, order, axes=(0,)) for i in idx]
    best = scatter_set(x, v, *idx, axes=axes)
    return _ELEMENTWISE[how](x, best)


def _update_points(x, v, idx, how):
    """Point updates: ``x[idx[0][n], idx[1][n], ...] (how)= v[n]`` over every axis."""
    x, v = asarray(x), asarray(v)
    dt = get_aval(x).dtype
    v = convert_element_type(v, dt) if get_aval(v).dtype != dt else v
    return _SCATTER[how](x, v, *idx, axes=tuple(range(len(idx))))


# ---------------------------------------------------------------- take, take_along_axis

def _axis(axis, nd, op):
    if isinstance(axis, bool) or not isinstance(axis, int | np.integer):
        raise TypeError(f"{op}: axis must be an int or None, got {axis!r}")
    if not -nd <= axis < nd:
        raise ValueError(f"{op}: axis {axis} is out of bounds for an array of rank {nd}")
    return int(axis) % nd


def _mode(idx, n, mode, op):
    if mode in (None, "raise"):
        return idx
    if mode not in ("wrap", "clip"):
        raise ValueError(f"{op}: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")
    if isinstance(idx, np.ndarray):
        return np.mod(idx, n) if mode == "wrap" else np.clip(idx, 0, n - 1)
    return _math.remainder(idx, n) if mode == "wrap" else _math.clip(idx, 0, n - 1)


def take(a, indices, axis=None, out=None, mode=None):
    """Elements of ``a`` at integer ``indices`` along ``axis`` (the flattened array if None).

    >>> take(np.arange(6).reshape(2, 3), [[2, 0]], axis=1)
    array([[[2, 0]],
    <BLANKLINE>
           [[5, 3]]])
    """
    _math.check_out(out, "take")
    x = asarray(a)
    if axis is None:
        x, axis = st.reshape(x, (get_aval(x).size,)), 0
    shape = get_aval(x).shape
    ax = _axis(axis, len(shape), "take")
    idx = _index_array(indices, "take")
    if idx.dtype == np.bool_:
        raise TypeError("take: indices must be integers, got a boolean array")
    n = shape[ax]
    if n == 0 and get_aval(idx).size:
        raise IndexError(f"take: cannot do a non-empty take from an empty axis {ax} "
                         f"(array shape {shape})")
    idx = _mode(idx, n, mode, "take")
    _check_concrete(idx, ax, shape)
    out = gather(x, idx, axes=(ax,))
    k = get_aval(idx).ndim
    perm = tuple(range(k, k + ax)) + tuple(range(k)) + tuple(range(k + ax, k + len(shape) - 1))
    return st.transpose(out, perm)


def take_along_axis(arr, indices, axis):
    """``arr`` indexed along ``axis`` by ``indices`` of the same rank (other axes broadcast),
    e.g. with the output of ``argsort``.

    >>> take_along_axis(np.array([[10, 30, 20]]), np.array([[0, 2, 1]]), axis=1)
    array([[10, 20, 30]])
    """
    x = asarray(arr)
    idx = _index_array(indices, "take_along_axis")
    if idx.dtype == np.bool_:
        raise TypeError("take_along_axis: indices must be integers, got a boolean array")
    if axis is None:
        if get_aval(idx).ndim != 1:
            raise ValueError("take_along_axis: with axis=None, indices must be 1-d")
        x, axis = st.reshape(x, (get_aval(x).size,)), 0
    shape, ishape = get_aval(x).shape, get_aval(idx).shape
    if len(shape) != len(ishape):
        raise ValueError(f"take_along_axis: indices (shape {ishape}) and arr (shape {shape}) "
                         "must have the same number of dimensions")
    ax = _axis(axis, len(shape), "take_along_axis")
    _check_concrete(idx, ax, shape)
    ops = []
    for d, n in enumerate(shape):
        if d == ax:
            ops.append(idx)
        else:
            ops.append(np.arange(n, dtype=np.int64).reshape((1,) * d + (n,) + (1,) * (len(shape) - d - 1)))
    try:
        np.broadcast_shapes(*[get_aval(o).shape for o in ops])
    except ValueError:
        raise ValueError(f"take_along_axis: indices of shape {ishape} do not broadcast against "
                         f"arr of shape {shape} outside axis {ax}") from None
    return gather(x, *ops, axes=tuple(range(len(shape))))
