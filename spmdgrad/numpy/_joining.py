"""Joining, splitting and rearranging, beyond :mod:`._shape`: the ``*stack`` and
``*split`` families, ``append``/``insert``/``delete``, ``meshgrid``, ``r_``/``c_``,
``block``, ``resize`` and axis permutations. All lower to slices, concatenations and
gathers, so they differentiate and batch.

>>> import numpy as np
>>> column_stack([np.arange(2.0), np.ones(2)])
array([[0., 1.],
       [1., 1.]])
>>> r_[np.array([1, 2]), 0, 3:5]
array([1, 2, 0, 3, 4])
"""
from __future__ import annotations

import numpy as np

from ..core import Tracer, get_aval
from . import _shape as sh
from ._core import asarray, doc_example, normalize_axis, promote
from ._indexing import take

__all__ = ["append", "column_stack", "row_stack", "dstack", "block", "vsplit", "hsplit",
           "dsplit", "meshgrid", "r_", "c_", "broadcast_arrays", "broadcast_shapes", "unstack",
           "concat", "permute_dims", "rollaxis", "resize", "insert", "delete", "trim_zeros"]


def _shape(x):
    return get_aval(x).shape


def append(arr, values, axis=None):
    """``arr`` with ``values`` appended (flattened if ``axis`` is None).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.append(np.array([1.0]), np.array([[2.0, 3.0]]))
    array([1., 2., 3.])
    """
    if axis is None:
        return sh.concatenate([sh.ravel(arr), sh.ravel(values)], 0)
    return sh.concatenate([arr, values], axis)


def column_stack(tup):
    """Stack 1-d arrays as columns (2-d arrays are joined as they are).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.column_stack([np.zeros(2), np.ones(2)])
    array([[0., 1.],
           [0., 1.]])
    """
    cols = [asarray(a) for a in tup]
    cols = [sh.reshape(a, (-1, 1)) if len(_shape(a)) < 2 else a for a in cols]
    return sh.concatenate(cols, 1)


def row_stack(tup, *, dtype=None, casting="same_kind"):
    """Same as :func:`vstack`.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.row_stack([np.zeros(2), np.ones(2)])
    array([[0., 0.],
           [1., 1.]])
    """
    return sh.vstack(tup, dtype=dtype, casting=casting)


def dstack(tup):
    """Stack along the third axis, after making the arrays at least 3-d.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.dstack([np.zeros(2), np.ones(2)]).shape
    (1, 2, 2)
    """
    return sh.concatenate([sh.atleast_3d(a) for a in tup], 2)


def block(arrays):
    """Assemble an array from nested lists of blocks (the innermost list joins along
    the last axis).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.block([[np.eye(2), np.zeros((2, 1))]])
    array([[1., 0., 0.],
           [0., 1., 0.]])
    """
    def depth(a):
        return 1 + depth(a[0]) if isinstance(a, list) and a else (0 if not isinstance(a, list) else 1)
    d = depth(arrays)
    if isinstance(arrays, tuple):
        raise TypeError("block: arrays must be nested lists, not tuples")

    def leaves(a):
        return [x for b in a for x in leaves(b)] if isinstance(a, list) else [asarray(a)]
    nd = max([d] + [len(_shape(x)) for x in leaves(arrays)])

    def build(a, level):
        if not isinstance(a, list):
            x = asarray(a)
            return sh.reshape(x, (1,) * (nd - len(_shape(x))) + _shape(x))
        if not a:
            raise ValueError("block: lists cannot be empty")
        return sh.concatenate([build(b, level + 1) for b in a], nd - d + level)
    return build(arrays, 0)


def _split_along(name, axis, min_nd, example):
    def f(ary, indices_or_sections):
        x = asarray(ary)
        if len(_shape(x)) < min_nd:
            raise ValueError(f"{name} only works on arrays of {min_nd} or more dimensions")
        ax = 0 if (name == "hsplit" and len(_shape(x)) == 1) else axis
        return sh.split(x, indices_or_sections, ax)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = doc_example(f":func:`split` along axis {axis} (``{name}`` of NumPy).", *example)
    return f


vsplit = _split_along("vsplit", 0, 2, ("jnp.vsplit(np.arange(4.0).reshape(2, 2), 2)",
                                        "[array([[0., 1.]]), array([[2., 3.]])]"))
hsplit = _split_along("hsplit", 1, 1, ("jnp.hsplit(np.arange(4.0), 2)", "[array([0., 1.]), array([2., 3.])]"))
dsplit = _split_along("dsplit", 2, 3, ("jnp.dsplit(np.arange(4.0).reshape(1, 1, 4), 2)",
                                       "[array([[[0., 1.]]]), array([[[2., 3.]]])]"))


def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    """Coordinate grids from 1-d coordinate arrays (``indexing='xy'`` or ``'ij'``).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.meshgrid(np.arange(2), np.arange(3))[0]
    array([[0, 1],
           [0, 1],
           [0, 1]])
    """
    if indexing not in ("xy", "ij"):
        raise ValueError("meshgrid: indexing must be 'xy' or 'ij'")
    xs = [sh.ravel(x) for x in xi]
    n = len(xs)
    shapes = [(1,) * i + (-1,) + (1,) * (n - i - 1) for i in range(n)]
    if indexing == "xy" and n > 1:
        shapes = [s[:0] + (s[1], s[0]) + s[2:] for s in shapes]
    out = [sh.reshape(x, s) for x, s in zip(xs, shapes, strict=True)]
    if sparse:
        return tuple(out)
    target = np.broadcast_shapes(*[_shape(o) for o in out])
    return tuple(sh.broadcast_to(o, target) for o in out)


def broadcast_arrays(*args, subok=False):
    """The arguments broadcast against each other.

    >>> import spmdgrad.numpy as jnp
    >>> [a.shape for a in jnp.broadcast_arrays(np.zeros((2, 1)), np.zeros(3))]
    [(2, 3), (2, 3)]
    """
    args = [asarray(a) for a in args]
    target = np.broadcast_shapes(*[_shape(a) for a in args])
    return tuple(a if _shape(a) == target else sh.broadcast_to(a, target) for a in args)


broadcast_shapes = np.broadcast_shapes


def unstack(x, /, *, axis=0):
    """The slices of ``x`` along ``axis``, as a tuple.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.unstack(np.arange(4.0).reshape(2, 2))
    (array([0., 1.]), array([2., 3.]))
    """
    x = asarray(x)
    ax = normalize_axis(axis, len(_shape(x)), "unstack")
    return tuple(take(x, i, axis=ax) for i in range(_shape(x)[ax]))


def concat(arrays, /, axis=0, out=None, *, dtype=None, casting="same_kind"):
    """The array-API name of :func:`concatenate`.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.concat([np.zeros(1), np.ones(2)])
    array([0., 1., 1.])
    """
    return sh.concatenate(arrays, axis, out, dtype=dtype, casting=casting)


def permute_dims(a, /, axes=None):
    """The array-API name of :func:`transpose`.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.permute_dims(np.zeros((1, 2, 3)), (2, 0, 1)).shape
    (3, 1, 2)
    """
    return sh.transpose(a, axes)


def rollaxis(a, axis, start=0):
    """Move ``axis`` to sit before position ``start`` (NumPy's older moveaxis).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.rollaxis(np.zeros((1, 2, 3)), 2).shape
    (3, 1, 2)
    """
    x = asarray(a)
    nd = len(_shape(x))
    axis = normalize_axis(axis, nd, "rollaxis")
    if not -nd <= start <= nd:
        raise ValueError(f"rollaxis: start {start} is out of bounds for rank {nd}")
    start = start % (nd + 1) if start < 0 else start
    if axis < start:
        start -= 1
    return sh.moveaxis(x, axis, start)


def resize(a, new_shape):
    """An array of ``new_shape`` filled by repeating the flattened ``a``.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.resize(np.array([1, 2, 3]), (2, 2))
    array([[1, 2],
           [3, 1]])
    """
    x = sh.ravel(a)
    new_shape = (new_shape,) if isinstance(new_shape, int | np.integer) else tuple(new_shape)
    n = int(np.prod(new_shape, dtype=np.int64))
    size = _shape(x)[0]
    if n == 0 or size == 0:
        return np.zeros(new_shape, get_aval(x).dtype)
    return sh.reshape(take(x, np.arange(n) % size), new_shape)


def _concrete_index(obj, op):
    if isinstance(obj, Tracer):
        raise TypeError(f"{op}: the index must be concrete (ints, slices or NumPy arrays): the "
                        "result's shape depends on it")
    return obj


def _rearranged(fun, arrays, *args, **kwargs):
    """Run a NumPy function that only moves elements on arrays of element ids, then
    gather the elements of ``arrays`` (flattened and joined) at the ids it returns:
    NumPy's exact semantics, with a derivative and batching from ``take``."""
    arrays = promote(*[asarray(a) for a in arrays], broadcast=False)
    ids, start = [], 0
    for a in arrays:
        s = _shape(a)
        ids.append(np.arange(start, start + int(np.prod(s, dtype=np.int64))).reshape(s))
        start += ids[-1].size
    where_ = fun(*ids, *args, **kwargs)
    flat = sh.concatenate([sh.ravel(a) for a in arrays], 0) if len(arrays) > 1 else sh.ravel(arrays[0])
    return take(flat, where_)


def delete(arr, obj, axis=None):
    """``arr`` without the entries at ``obj`` (ints, a slice or a boolean mask) along
    ``axis`` (the flattened array if None).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.delete(np.array([1, 2, 3]), [0, 2])
    array([2])
    """
    return _rearranged(np.delete, [arr], _concrete_index(obj, "delete"), axis)


def insert(arr, obj, values, axis=None):
    """``arr`` with ``values`` inserted before the indices ``obj`` along ``axis``, with
    NumPy's broadcasting of ``values``.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.insert(np.array([1, 2, 3]), 1, 9)
    array([1, 9, 2, 3])
    """
    obj = _concrete_index(obj, "insert")
    return _rearranged(lambda a, v: np.insert(a, obj, v, axis), [arr, values])


def trim_zeros(filt, trim="fb", axis=None):
    """``filt`` without leading ('f') and trailing ('b') zeros. The length depends on the
    values, so they must be concrete (a traced value under vmap/jit is an error).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.trim_zeros(np.array([0, 1, 2, 0]))
    array([1, 2])
    """
    x = asarray(filt)
    if axis is not None and get_aval(x).ndim != 1:
        raise NotImplementedError("trim_zeros: axis= is supported for 1-d input only")
    v = x
    if isinstance(x, Tracer):
        try:
            v = x.concrete()
        except TypeError:
            raise TypeError("trim_zeros: the result's length depends on the values, which are "
                            "abstract here (vmap/jit)") from None
    nz = np.flatnonzero(v)
    lo = nz[0] if nz.size and "f" in trim.lower() else (len(v) if not nz.size else 0)
    hi = nz[-1] + 1 if nz.size and "b" in trim.lower() else len(v)
    return x[lo:hi]


class _IndexBuilder:
    """``r_[...]`` and ``c_[...]``: concatenate slices (as aranges), scalars and arrays."""

    def __init__(self, axis, ndmin, name):
        self.axis, self.ndmin, self.name = axis, ndmin, name

    def __getitem__(self, key):
        key = key if isinstance(key, tuple) else (key,)
        axis, ndmin = self.axis, self.ndmin
        parts = []
        for k in key:
            if isinstance(k, str):
                spec = [int(p) for p in k.split(",")] if k not in ("r", "c") else None
                if spec is None:
                    raise NotImplementedError(f"{self.name}: matrix directives 'r'/'c' are not "
                                              "supported")
                axis, ndmin = spec[0], (spec[1] if len(spec) > 1 else ndmin)
                continue
            if isinstance(k, slice):
                step = k.step if k.step is not None else 1
                if isinstance(step, complex):
                    a = np.linspace(k.start or 0, k.stop, int(abs(step)))
                else:
                    a = np.arange(k.start or 0, k.stop, step)
            else:
                a = asarray(k)
            nd = len(_shape(a))
            if nd < ndmin:
                a = sh.reshape(a, _shape(a) + (1,) * (ndmin - nd)) if self.name == "c_" else \
                    sh.reshape(a, (1,) * (ndmin - nd) + _shape(a))
            parts.append(a)
        if not parts:
            return np.zeros(0)
        parts = [sh.atleast_1d(p) for p in parts]
        return sh.concatenate(promote(*parts, broadcast=False), axis)

    def __len__(self):
        return 0


r_ = _IndexBuilder(0, 1, "r_")
c_ = _IndexBuilder(-1, 2, "c_")
