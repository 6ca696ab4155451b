"""Integer-valued and data-dependent functions: searching, counting, histograms, set
operations, ``nonzero``/``unique`` and friends, bit packing.

Two mechanisms, chosen per function:

- Integer or boolean results with shapes fixed by the input shapes (searchsorted,
  digitize, isin, lexsort, packbits, ...) run through the non-differentiable primitive
  of :mod:`spmdgrad.primitives.numpy_call`: they work under grad (no tangent), vmap and jit.
- Results whose *shape* depends on the values (nonzero, unique, the set operations,
  extract, ...) need concrete values. Under ``grad`` the primal is concrete, so they
  work, and values taken from the input (``unique``'s values) are gathered from it, so
  their derivative flows. Under vmap or jit the values are abstract: ``nonzero``,
  ``argwhere``, ``flatnonzero`` and ``unique`` then need ``size=`` (JAX's convention:
  the result is cut or padded with ``fill_value``); the others raise a TypeError that
  names the function.

>>> import numpy as np, spmdgrad
>>> spmdgrad.vmap(lambda x: nonzero(x, size=2)[0])(np.array([[0., 3, 4], [5, 0, 0]]))
array([[1, 2],
       [0, 0]])
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..core import Tracer, get_aval
from . import _math as m
from . import _shape as sh
from ._core import asarray, normalize_axis, promote
from ._creation import linspace
from ._indexing import _IndexUpdateHelper, take
from ..primitives.numpy_call import NumpyFn, numpy_call

__all__ = ["searchsorted", "digitize", "bincount", "histogram", "histogram_bin_edges",
           "histogram2d", "histogramdd", "lexsort", "argpartition", "partition",
           "sort_complex", "isin", "nonzero", "argwhere", "flatnonzero", "unique", "unique_all",
           "unique_counts", "unique_inverse", "unique_values", "intersect1d", "union1d",
           "setdiff1d", "setxor1d", "extract", "compress", "packbits", "unpackbits"]


def _shape(x):
    return get_aval(x).shape


def _concrete(x, op, hint="pass size= to fix the output size, as in JAX"):
    """The NumPy value of ``x``; a clear TypeError if it is abstract (vmap/jit)."""
    if not isinstance(x, Tracer):
        return np.asarray(x)
    try:
        return np.asarray(x.concrete())
    except TypeError:
        raise TypeError(f"{op}: the output shape depends on the values of the input, which are "
                        f"abstract here (under vmap, pmap or jit); {hint}") from None


# ---------------------------------------------------------------- searching and counting

def searchsorted(a, v, side="left", sorter=None, *, method=None):
    """Insertion indices of ``v`` into the sorted 1-d ``a`` (integers, no derivative).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.searchsorted(np.array([1.0, 2.0, 3.0]), np.array([2.5, 0.0]))
    array([2, 0])
    """
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    a = asarray(a)
    if len(_shape(a)) != 1:
        raise ValueError(f"searchsorted: a must be 1-d, got shape {_shape(a)}")
    if sorter is not None:
        a = take(a, sorter)
    a, v = promote(a, v, broadcast=False)
    return numpy_call(NumpyFn(np.searchsorted, "searchsorted", {"side": side}), a, v)


def digitize(x, bins, right=False):
    """Index of the bin of each ``x`` (NumPy's convention; integers, no derivative).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.digitize(np.array([0.5, 1.5]), np.array([1.0, 2.0]))
    array([0, 1])
    """
    x, bins = promote(x, bins, broadcast=False)
    return numpy_call(NumpyFn(np.digitize, "digitize", {"right": bool(right)}), x, bins)


def bincount(x, weights=None, minlength=0, *, length=None):
    """Counts (or summed ``weights``) of each non-negative integer in ``x``. The length
    is ``max(x) + 1`` from concrete values, or ``length`` (required under vmap/jit);
    differentiable in ``weights``.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.bincount(np.array([0, 1, 1, 3]))
    array([1, 2, 0, 1])
    """
    x = asarray(x)
    if get_aval(x).dtype.kind not in "iub" or len(_shape(x)) != 1:
        raise TypeError(f"bincount: x must be a 1-d integer array, got {get_aval(x).str_short()}")
    if length is None:
        v = _concrete(x, "bincount", "pass length=")
        if v.size and v.min() < 0:
            raise ValueError("bincount: x must be non-negative")
        length = max(int(v.max()) + 1 if v.size else 0, int(minlength))
    w = np.ones(_shape(x), np.int64) if weights is None else asarray(weights)
    if weights is not None:
        w, = promote(w, to_float=True)
    n = int(length)
    out = np.zeros(n, get_aval(w).dtype)
    if n == 0:
        return out
    inside = m.logical_and(m.greater_equal(x, 0), m.less(x, n))  # others are dropped, as JAX
    return _IndexUpdateHelper(out)[m.clip(x, 0, n - 1)].add(
        m.where(inside, w, np.zeros((), get_aval(w).dtype)))


def _edges(a, bins, range_, op):
    if isinstance(bins, str):
        return np.histogram_bin_edges(_concrete(a, op, "pass integer bins"), bins, range_)
    if np.ndim(bins) == 1 or isinstance(bins, Tracer):
        return asarray(bins)
    n = int(bins)
    if range_ is None:
        lo, hi = m.min(a), m.max(a)
        if not isinstance(lo, Tracer) and lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
    else:
        lo, hi = range_
    return linspace(lo, hi, n + 1)


def histogram_bin_edges(a, bins=10, range=None, weights=None):  # noqa: A002
    """The bin edges :func:`histogram` uses.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.histogram_bin_edges(np.array([0.0, 1.0]), 2)
    array([0. , 0.5, 1. ])
    """
    a, = promote(sh.ravel(a), to_float=True)
    return _edges(a, bins, range, "histogram_bin_edges")


def histogram(a, bins=10, range=None, density=None, weights=None):  # noqa: A002
    """Counts of ``a`` in ``bins`` and the edges; differentiable in ``weights`` (and the
    edges in their end points).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.histogram(np.array([0.0, 0.5, 1.0, 1.0]), 2)
    (array([1, 3]), array([0. , 0.5, 1. ]))
    """
    a, = promote(sh.ravel(a), to_float=True)
    edges = _edges(a, bins, range, "histogram")
    counts = _bin_counts([a], [edges], weights, density)
    return counts, edges


def histogramdd(sample, bins=10, range=None, density=None, weights=None):  # noqa: A002
    """Multidimensional histogram of ``sample`` (N, D): counts and the edges per axis.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.histogramdd(np.array([[0.0, 0.0], [1.0, 0.5]]), 2)[0]
    array([[1, 0],
           [0, 1]])
    """
    s = asarray(sample)
    if len(_shape(s)) == 1:
        s = sh.reshape(s, (-1, 1))
    s, = promote(s, to_float=True)
    d = _shape(s)[1]
    cols = [take(s, i, axis=1) for i in np.arange(d)]
    bins = bins if isinstance(bins, list | tuple) else [bins] * d
    ranges = range if range is not None else [None] * d
    edges = [_edges(c, b, r, "histogramdd") for c, b, r in zip(cols, bins, ranges, strict=True)]
    return _bin_counts(cols, edges, weights, density), edges


def histogram2d(x, y, bins=10, range=None, density=None, weights=None):  # noqa: A002
    """2-d histogram: counts and the edges along ``x`` and ``y``.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.histogram2d(np.array([0.0, 1.0]), np.array([0.0, 0.5]), 2)[0]
    array([[1, 0],
           [0, 1]])
    """
    counts, edges = histogramdd(sh.stack(promote(sh.ravel(x), sh.ravel(y)), 1), bins, range,
                                density, weights)
    return counts, edges[0], edges[1]


def _bin_counts(cols, edges, weights, density):
    """Counts of the points ``cols`` (one 1-d array per axis) in the bins ``edges``."""
    n = _shape(cols[0])[0]
    flat = np.zeros((), np.int64)
    valid = np.ones((), bool)
    nbins = []
    for c, e in zip(cols, edges, strict=True):
        k = _shape(e)[0] - 1
        c, e = promote(c, e, broadcast=False)
        i = m.subtract(searchsorted(e, c, side="right"), 1)
        i = m.where(m.equal(c, take(e, k)), k - 1, i)  # the last edge is inclusive
        valid = m.logical_and(valid, m.logical_and(m.greater_equal(i, 0), m.less(i, k)))
        flat = m.add(m.multiply(flat, k), m.clip(i, 0, k - 1))
        nbins.append(k)
    w = np.ones(n) if weights is None else promote(sh.ravel(weights), to_float=True)[0]
    w = m.where(valid, w, 0.0)
    total = int(np.prod(nbins, dtype=np.int64))
    counts = _IndexUpdateHelper(np.zeros(total, get_aval(w).dtype))[flat].add(w)
    counts = sh.reshape(counts, tuple(nbins))
    if density:
        vol = np.ones((), np.float64)
        for j, e in enumerate(edges):
            de = m.subtract(take(e, np.arange(1, nbins[j] + 1)), take(e, np.arange(nbins[j])))
            vol = m.multiply(sh.expand_dims(vol, -1) if j else vol,
                             sh.reshape(de, (1,) * j + (-1,)))
        counts = m.divide(m.divide(counts, m.sum(counts)), vol)
    elif weights is None:
        counts = m.astype(counts, np.int64)
    return counts


def lexsort(keys, axis=-1):
    """Indirect stable sort on several keys (the last key is the primary one).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.lexsort([np.array([2, 1, 2]), np.array([0, 0, 1])])
    array([1, 0, 2])
    """
    k = asarray(keys) if not isinstance(keys, list | tuple) else sh.stack(promote(*keys))
    if len(_shape(k)) == 0:
        raise TypeError("lexsort: need a sequence of keys")
    return numpy_call(NumpyFn(np.lexsort, "lexsort", {"axis": axis}), k)


def argpartition(a, kth, axis=-1, kind="introselect", order=None):
    """Indices that partition ``a`` around ``kth``. spmdgrad returns the full stable
    argsort, which is a valid partition for every ``kth`` (NumPy leaves the order
    within each side unspecified).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.argpartition(np.array([3.0, 1.0, 2.0]), 1)
    array([1, 2, 0])
    """
    return m.argsort(a, axis, order=order)


def partition(a, kth, axis=-1, kind="introselect", order=None):
    """``a`` partitioned around ``kth``: spmdgrad returns it sorted, a valid partition
    for every ``kth``; the derivative follows the sort.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.partition(np.array([3.0, 1.0, 2.0]), 1)
    array([1., 2., 3.])
    """
    return m.sort(a, axis, order=order)


def sort_complex(a):
    """Sort by real part, then imaginary part; the result is complex.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.sort_complex(np.array([2.0, 1.0]))
    array([1.+0.j, 2.+0.j])
    """
    x = asarray(a)
    dt = np.result_type(get_aval(x).dtype, np.complex64)
    return m.sort(m.astype(x, dt), -1)


def isin(element, test_elements, assume_unique=False, invert=False, *, kind=None):
    """True where ``element`` is in ``test_elements`` (boolean, no derivative).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.isin(np.array([1, 2, 3]), [2, 5])
    array([False,  True, False])
    """
    e, t = promote(element, test_elements, broadcast=False)
    return numpy_call(NumpyFn(np.isin, "isin", {"invert": bool(invert)}), e, t)


# ---------------------------------------------------------------- data-dependent shapes

def _nonzero_padded(x, size, fill, dim):
    idx = np.nonzero(x)[dim][:size]
    return np.concatenate([idx, np.full(size - idx.size, fill, idx.dtype)])


def nonzero(a, *, size=None, fill_value=None):
    """Indices of the non-zero entries, one array per dimension. With ``size``, each
    is cut or padded (with ``fill_value``, default 0) to that length, which makes it
    work under vmap and jit.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.nonzero(np.array([0, 2, 3]))
    (array([1, 2]),)
    """
    return _nonzero(a, size, fill_value, "nonzero")


def _nonzero(a, size, fill_value, _op):
    x = asarray(a)
    if len(_shape(x)) == 0:
        raise ValueError(f"{_op}: nonzero of a 0-d array is not allowed; use atleast_1d")
    if size is None:
        return np.nonzero(_concrete(x, _op))
    fills = fill_value if isinstance(fill_value, tuple | list) else \
        (0 if fill_value is None else fill_value,) * len(_shape(x))
    return tuple(numpy_call(NumpyFn(_nonzero_padded, "nonzero",
                                    {"size": int(size), "fill": int(f), "dim": d}), x)
                 for d, f in enumerate(fills))


def flatnonzero(a, *, size=None, fill_value=None):
    """Indices of the non-zero entries of the flattened array (``size`` as in nonzero).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.flatnonzero(np.array([0, 3, 0, 4]))
    array([1, 3])
    """
    return _nonzero(sh.ravel(a), size, fill_value, "flatnonzero")[0]


def argwhere(a, *, size=None, fill_value=None):
    """Indices of the non-zero entries as an (N, ndim) array (``size`` as in nonzero).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.argwhere(np.array([[0, 1], [1, 0]]))
    array([[0, 1],
           [1, 0]])
    """
    x = asarray(a)
    if len(_shape(x)) == 0:
        x = sh.reshape(x, (1,))
        return sh.reshape(_nonzero(x, size, fill_value, "argwhere")[0], (-1, 0))
    idx = _nonzero(x, size, fill_value, "argwhere")
    return sh.stack(list(idx), 1) if size is not None else np.stack(idx, 1)


def _unique_padded(x, size, which):
    vals, index, inverse, counts = np.unique(x, return_index=True, return_inverse=True,
                                             return_counts=True)
    out = {"index": index, "counts": counts}[which][:size]
    return np.concatenate([out, np.zeros(size - out.size, out.dtype)])


def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None, *,
           equal_nan=True, sorted=True, size=None, fill_value=None):  # noqa: A002
    """Sorted unique values (and first indices, inverse, counts). The values are
    gathered from ``ar``, so they carry its derivative. ``size`` (axis=None only) fixes
    the length, padding values with ``fill_value`` (default: the minimum).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.unique(np.array([3, 1, 3]), return_counts=True)
    (array([1, 3]), array([1, 2]))
    """
    x = asarray(ar)
    if size is not None:
        if axis is not None or return_inverse:
            raise NotImplementedError("unique: size= is supported with axis=None and without "
                                      "return_inverse")
        flat = sh.ravel(x)
        n = _shape(flat)[0]
        idx = numpy_call(NumpyFn(_unique_padded, "unique", {"size": int(size), "which": "index"}), flat)
        cnt = numpy_call(NumpyFn(_unique_padded, "unique", {"size": int(size), "which": "counts"}), flat)
        fill = m.min(flat) if fill_value is None else fill_value
        vals = m.where(m.greater(cnt, 0), take(flat, m.clip(idx, 0, max(n - 1, 0))), fill)
        out = [vals] + ([idx] if return_index else []) + ([cnt] if return_counts else [])
        return out[0] if len(out) == 1 else tuple(out)
    v = _concrete(x, "unique")
    if axis is None:
        flat = sh.ravel(x)
        _, index, inverse, counts = np.unique(v.ravel(), return_index=True, return_inverse=True,
                                              return_counts=True, equal_nan=equal_nan)
        vals = take(flat, index)
        inverse = inverse.reshape(v.shape) if v.ndim else inverse
    else:
        ax = normalize_axis(axis, v.ndim, "unique")
        _, index, inverse, counts = np.unique(v, return_index=True, return_inverse=True,
                                              return_counts=True, axis=ax, equal_nan=equal_nan)
        vals = take(x, index, axis=ax)
    out = [vals] + ([index] if return_index else []) + ([inverse] if return_inverse else []) + \
        ([counts] if return_counts else [])
    return out[0] if len(out) == 1 else tuple(out)


def unique_values(x):
    """The array-API ``unique_values``: sorted unique values.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.unique_values(np.array([3, 1, 3]))
    array([1, 3])
    """
    return unique(x)


def unique_counts(x):
    """``(values, counts)``.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.unique_counts(np.array([3, 1, 3]))
    UniqueCountsResult(values=array([1, 3]), counts=array([1, 2]))
    """
    vals, counts = unique(x, return_counts=True)
    return _named("UniqueCountsResult", ("values", "counts"), (vals, counts))


def unique_inverse(x):
    """``(values, inverse_indices)`` (the inverse has ``x``'s shape).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.unique_inverse(np.array([3, 1, 3])).inverse_indices
    array([1, 0, 1])
    """
    vals, inv = unique(x, return_inverse=True)
    return _named("UniqueInverseResult", ("values", "inverse_indices"), (vals, inv))


def unique_all(x):
    """``(values, indices, inverse_indices, counts)``.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.unique_all(np.array([3, 1, 3])).counts
    array([1, 2])
    """
    vals, idx, inv, cnt = unique(x, return_index=True, return_inverse=True, return_counts=True)
    return _named("UniqueAllResult", ("values", "indices", "inverse_indices", "counts"),
                  (vals, idx, inv, cnt))


_NAMED = {}


def _named(name, fields, values):
    cls = _NAMED.get(name) or _NAMED.setdefault(name, namedtuple(name, fields))
    return cls(*values)


def intersect1d(ar1, ar2, assume_unique=False, return_indices=False):
    """Sorted values common to both (gathered from ``ar1``: differentiable there).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.intersect1d(np.array([1, 2, 3]), np.array([3, 1]))
    array([1, 3])
    """
    a, b = sh.ravel(ar1), sh.ravel(ar2)
    va, vb = _concrete(a, "intersect1d"), _concrete(b, "intersect1d")
    _, ia, ib = np.intersect1d(va, vb, assume_unique, return_indices=True)
    vals = take(a, ia)
    return (vals, ia, ib) if return_indices else vals


def union1d(ar1, ar2):
    """Sorted unique values of either input.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.union1d(np.array([1, 2]), np.array([3, 1]))
    array([1, 2, 3])
    """
    _concrete(ar1, "union1d")
    _concrete(ar2, "union1d")
    return unique(sh.concatenate(promote(sh.ravel(ar1), sh.ravel(ar2), broadcast=False), 0))


def setdiff1d(ar1, ar2, assume_unique=False, *, size=None, fill_value=None):
    """Sorted unique values of ``ar1`` not in ``ar2``.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.setdiff1d(np.array([1, 2, 3]), np.array([2]))
    array([1, 3])
    """
    a = sh.ravel(ar1)
    va, vb = _concrete(a, "setdiff1d"), _concrete(asarray(ar2), "setdiff1d")
    u, idx = np.unique(va, return_index=True)
    return take(a, idx[~np.isin(u, vb)])


def setxor1d(ar1, ar2, assume_unique=False):
    """Sorted unique values in exactly one of the inputs.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.setxor1d(np.array([1, 2]), np.array([2, 3]))
    array([1, 3])
    """
    a, b = promote(sh.ravel(ar1), sh.ravel(ar2), broadcast=False)
    va, vb = _concrete(a, "setxor1d"), _concrete(b, "setxor1d")
    ua, ia = np.unique(va, return_index=True)
    ub, ib = np.unique(vb, return_index=True)
    ka, kb = ~np.isin(ua, ub), ~np.isin(ub, ua)
    order = np.argsort(np.concatenate([ua[ka], ub[kb]]), kind="stable")
    both = sh.concatenate([take(a, ia[ka]), take(b, ib[kb])], 0)
    return take(both, order)


def extract(condition, arr, *, size=None, fill_value=0):
    """The entries of ``arr`` where ``condition`` is non-zero (flattened).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.extract(np.array([True, False, True]), np.array([1, 2, 3]))
    array([1, 3])
    """
    idx = flatnonzero(condition, size=size)
    vals = take(sh.ravel(arr), idx)
    if size is None:
        return vals
    n = m.sum(m.not_equal(sh.ravel(asarray(condition)), 0))
    return m.where(m.less(np.arange(size), n), vals, fill_value)


def compress(condition, a, axis=None, out=None):
    """The slices of ``a`` along ``axis`` where the 1-d ``condition`` is true.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.compress([False, True], np.array([[1, 2], [3, 4]]), axis=0)
    array([[3, 4]])
    """
    m.check_out(out, "compress")
    c = _concrete(asarray(condition), "compress", "the condition must be concrete")
    idx = np.nonzero(c)[0]
    return take(a, idx, axis=axis)


def packbits(a, axis=None, bitorder="big"):
    """Pack a boolean/integer array into uint8 bits.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.packbits(np.array([1, 0, 1], np.uint8))
    array([160], dtype=uint8)
    """
    return numpy_call(NumpyFn(np.packbits, "packbits", {"axis": axis, "bitorder": bitorder}), asarray(a))


def unpackbits(a, axis=None, count=None, bitorder="big"):
    """Unpack uint8 into bits.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.unpackbits(np.array([5], np.uint8))
    array([0, 0, 0, 0, 0, 1, 0, 1], dtype=uint8)
    """
    return numpy_call(NumpyFn(np.unpackbits, "unpackbits",
                              {"axis": axis, "count": count, "bitorder": bitorder}), asarray(a))
