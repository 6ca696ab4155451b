"""``jax.lax``'s structural operations, reductions and contractions, with lax's strict checks.

Shapes and axes are static and non-negative where lax requires it; operands of
``concatenate``, ``pad`` and the reductions keep one dtype. ``dot`` and
``dot_general`` accept ``precision`` (:class:`Precision`) and
``preferred_element_type``: spmdgrad always contracts at the operands' full
precision (float64 by default), which is at least what any ``Precision`` asks.

>>> import numpy as np
>>> from spmdgrad import lax
>>> lax.dot_general(np.ones((2, 3)), np.ones((3, 4)), (((1,), (0,)), ((), ()))).shape
(2, 4)
>>> lax.pad(np.arange(3.0), -1.0, [(1, 0, 1)])
array([-1.,  0., -1.,  1., -1.,  2.])
"""
from __future__ import annotations

import builtins
import enum
import string

import numpy as np

from ..core import get_aval
from ..primitives import elementwise as ew
from ..primitives import reductions as red
from ..primitives import structural as st
from ..primitives.contraction import einsum2
from .ops import _NUMERIC, _array, _check_kind, _is_py_scalar, _weak

__all__ = [
    "Precision", "argmax", "argmin", "broadcast", "broadcast_in_dim", "broadcasted_iota", "collapse",
    "concatenate", "cummax", "cummin", "cumprod", "cumsum", "dot", "dot_general", "expand_dims",
    "full", "full_like", "index_in_dim", "iota", "pad", "reduce_and", "reduce_max", "reduce_min",
    "reduce_or", "reduce_prod", "reduce_sum", "reshape", "rev", "slice", "slice_in_dim", "sort",
    "squeeze", "transpose",
]


class Precision(enum.Enum):
    """Contraction precision hints (``lax.Precision``). spmdgrad computes every contraction
    at the operands' full precision, so each value is accepted and none lowers it.

    >>> Precision("highest"), Precision.HIGH
    (<Precision.HIGHEST: 2>, <Precision.HIGH: 1>)
    """
    DEFAULT = 0
    HIGH = 1
    HIGHEST = 2

    @classmethod
    def _missing_(cls, value):
        names = {"default": cls.DEFAULT, "fastest": cls.DEFAULT, "bfloat16": cls.DEFAULT,
                 "high": cls.HIGH, "bfloat16_3x": cls.HIGH, "tensorfloat32": cls.HIGH,
                 "highest": cls.HIGHEST, "float32": cls.HIGHEST}
        if isinstance(value, str) and value.lower() in names:
            return names[value.lower()]
        return None

    def __str__(self):
        return self.name


def _check_precision(name, precision):
    if precision is None or isinstance(precision, Precision):
        return
    items = precision if isinstance(precision, tuple | list) else (precision,)
    if isinstance(precision, tuple | list) and len(items) != 2:
        raise ValueError(f"lax.{name}: precision must be None, a Precision or a pair of them, "
                         f"got {precision!r}")
    for p in items:
        if p is not None:
            try:
                Precision(p)
            except ValueError:
                raise ValueError(f"lax.{name}: unknown precision {p!r}; use lax.Precision.DEFAULT, "
                                 "HIGH or HIGHEST (or 'default'/'high'/'highest')") from None


def _x(x, name):
    return _array(x, name) if not _is_py_scalar(x) else np.asarray(x)


def _nd(x):
    return len(get_aval(x).shape)


def _axes(name, x, axes, allow_dupes=False):
    nd = _nd(x)
    out = tuple(int(a) for a in axes)
    if any(not 0 <= a < nd for a in out) or (not allow_dupes and len(set(out)) != len(out)):
        raise ValueError(f"lax.{name}: axes {tuple(axes)} are invalid for an operand of shape "
                         f"{get_aval(x).shape} (lax takes distinct axes in [0, ndim))")
    return out


# ---------------------------------------------------------------- contractions
def dot_general(lhs, rhs, dimension_numbers, precision=None, preferred_element_type=None):
    """Contract ``lhs`` and ``rhs``: ``dimension_numbers = ((lhs_contract, rhs_contract),
    (lhs_batch, rhs_batch))``. The result's axes are batch, lhs free, rhs free.
    Operands of different dtypes are promoted (as JAX does).

    >>> import numpy as np
    >>> dot_general(np.ones((5, 2, 3)), np.ones((5, 3, 4)), (((2,), (1,)), ((0,), (0,)))).shape
    (5, 2, 4)
    """
    _check_precision("dot_general", precision)
    x, y = _x(lhs, "dot_general"), _x(rhs, "dot_general")
    try:
        (lc, rc), (lb, rb) = dimension_numbers
        lc, rc, lb, rb = (tuple(int(a) for a in d) for d in (lc, rc, lb, rb))
    except (TypeError, ValueError):
        raise TypeError(f"lax.dot_general: dimension_numbers must be ((lhs_contracting, "
                        f"rhs_contracting), (lhs_batch, rhs_batch)), got {dimension_numbers!r}") from None
    xs, ys = get_aval(x).shape, get_aval(y).shape
    _axes("dot_general", x, lc + lb)
    _axes("dot_general", y, rc + rb)
    if len(lc) != len(rc) or len(lb) != len(rb):
        raise TypeError(f"lax.dot_general: contracting {lc}/{rc} or batch {lb}/{rb} dimension lists "
                        "differ in length")
    for a, b, what in [(a, b, "contracting") for a, b in zip(lc, rc)] + \
                      [(a, b, "batch") for a, b in zip(lb, rb)]:
        if xs[a] != ys[b]:
            raise TypeError(f"lax.dot_general requires {what} dimensions to have the same shape, got "
                            f"lhs axis {a} of size {xs[a]} and rhs axis {b} of size {ys[b]} "
                            f"(shapes {xs} and {ys})")
    dt = np.result_type(get_aval(x).dtype, get_aval(y).dtype)
    x, y = ew.convert_element_type(x, dt), ew.convert_element_type(y, dt)
    letters = iter(string.ascii_letters)
    xl = [next(letters) for _ in xs]
    yl = [None] * len(ys)
    for a, b in zip(lc + lb, rc + rb):
        yl[b] = xl[a]
    yl = [c if c is not None else next(letters) for c in yl]
    out = ([xl[a] for a in lb] + [c for i, c in enumerate(xl) if i not in lc + lb]
           + [c for i, c in enumerate(yl) if i not in rc + rb])
    result = einsum2(x, y, f"{''.join(xl)},{''.join(yl)}->{''.join(out)}")
    if preferred_element_type is not None:
        result = ew.convert_element_type(result, np.dtype(preferred_element_type))
    return result


def dot(lhs, rhs, precision=None, preferred_element_type=None):
    """Vector-vector, matrix-vector or matrix-matrix product (``lax.dot``); other ranks need
    :func:`dot_general`.

    >>> import numpy as np
    >>> dot(np.ones((2, 3)), np.arange(3.0), precision=Precision.HIGHEST)
    array([3., 3.])
    """
    x, y = _x(lhs, "dot"), _x(rhs, "dot")
    xs, ys = get_aval(x).shape, get_aval(y).shape
    if len(xs) not in (1, 2) or len(ys) not in (1, 2):
        raise ValueError(f"lax.dot: dimension_numbers must be specified (use lax.dot_general) when "
                         f"not performing a matrix-matrix, matrix-vector or vector-vector product; "
                         f"got lhs shape {xs} and rhs shape {ys}")
    return dot_general(x, y, (((len(xs) - 1,), (0,)), ((), ())), precision, preferred_element_type)


# ---------------------------------------------------------------- shapes
def broadcast_in_dim(operand, shape, broadcast_dimensions):
    """Broadcast ``operand`` to ``shape``; operand axis i becomes axis
    ``broadcast_dimensions[i]`` (size equal, or 1).

    >>> import numpy as np
    >>> broadcast_in_dim(np.array([1.0, 2.0]), (3, 2), (1,)).shape
    (3, 2)
    """
    x = _x(operand, "broadcast_in_dim")
    xs, shape = get_aval(x).shape, tuple(int(d) for d in shape)
    dims = tuple(int(d) for d in broadcast_dimensions)
    if (len(dims) != len(xs) or any(not 0 <= d < len(shape) for d in dims)
            or list(dims) != sorted(set(dims))
            or any(xs[i] not in (1, shape[d]) for i, d in enumerate(dims))):
        raise TypeError(f"lax.broadcast_in_dim: operand shape {xs} cannot be broadcast to {shape} "
                        f"with broadcast_dimensions {dims} (strictly increasing, each operand axis "
                        "of the target's size or 1)")
    keep = tuple(i for i, d in enumerate(dims) if xs[i] == shape[d])
    if len(keep) != len(xs):
        x = st.reshape(x, tuple(xs[i] for i in keep))
        dims = tuple(dims[i] for i in keep)
    return st.broadcast_in_dim(x, shape, dims)


def broadcast(operand, sizes):
    """Add leading axes of ``sizes``.

    >>> import numpy as np
    >>> broadcast(np.ones(2), (3,)).shape
    (3, 2)
    """
    x = _x(operand, "broadcast")
    nd, sizes = _nd(x), tuple(int(s) for s in sizes)
    return st.broadcast_in_dim(x, sizes + get_aval(x).shape, tuple(range(len(sizes), len(sizes) + nd)))


def reshape(operand, new_sizes, dimensions=None):
    """Reshape (row-major); ``dimensions`` transposes the operand first.

    >>> import numpy as np
    >>> reshape(np.arange(6.0).reshape(2, 3), (3, 2), dimensions=(1, 0))
    array([[0., 3.],
           [1., 4.],
           [2., 5.]])
    """
    x = _x(operand, "reshape")
    new_sizes = tuple(int(s) for s in new_sizes)
    if any(s < 0 for s in new_sizes):
        raise TypeError(f"lax.reshape: new_sizes {new_sizes} must be non-negative (no -1 in lax)")
    if dimensions is not None:
        x = transpose(x, dimensions)
    size = int(np.prod(get_aval(x).shape, dtype=np.int64))
    if int(np.prod(new_sizes, dtype=np.int64)) != size:
        raise TypeError(f"lax.reshape: cannot reshape an operand of shape {get_aval(x).shape} into "
                        f"{new_sizes}")
    return st.reshape(x, new_sizes)


def transpose(operand, permutation):
    """Permute the axes.

    >>> import numpy as np
    >>> transpose(np.ones((2, 3)), (1, 0)).shape
    (3, 2)
    """
    x = _x(operand, "transpose")
    perm = tuple(int(p) for p in permutation)
    if sorted(perm) != list(range(_nd(x))):
        raise TypeError(f"lax.transpose permutation isn't a permutation of operand dimensions, got "
                        f"permutation {perm} for operand shape {get_aval(x).shape}")
    return st.transpose(x, perm)


def expand_dims(array, dimensions):
    """Insert size-1 axes at ``dimensions`` (positions in the result).

    >>> import numpy as np
    >>> expand_dims(np.ones((2, 3)), (0, 3)).shape
    (1, 2, 3, 1)
    """
    x = _x(array, "expand_dims")
    shape = list(get_aval(x).shape)
    n = len(shape) + len(dimensions)
    dims = sorted(int(d) + n if int(d) < 0 else int(d) for d in dimensions)
    if any(not 0 <= d < n for d in dims) or len(set(dims)) != len(dims):
        raise ValueError(f"lax.expand_dims: dimensions {tuple(dimensions)} are invalid for an operand "
                         f"of shape {tuple(shape)}")
    for d in dims:
        shape.insert(d, 1)
    return st.reshape(x, tuple(shape))


def squeeze(array, dimensions):
    """Remove the size-1 axes ``dimensions``.

    >>> import numpy as np
    >>> squeeze(np.ones((1, 3, 1)), (0, 2)).shape
    (3,)
    """
    x = _x(array, "squeeze")
    shape = get_aval(x).shape
    dims = {int(d) + len(shape) if int(d) < 0 else int(d) for d in dimensions}
    if any(not 0 <= d < len(shape) or shape[d] != 1 for d in dims):
        raise ValueError(f"lax.squeeze: cannot squeeze dimensions {tuple(dimensions)} of shape "
                         f"{shape}: each must exist and have size 1")
    return st.reshape(x, tuple(d for i, d in enumerate(shape) if i not in dims))


def collapse(operand, start_dimension, stop_dimension=None):
    """Merge axes ``[start, stop)`` into one.

    >>> import numpy as np
    >>> collapse(np.ones((2, 3, 4)), 1).shape
    (2, 12)
    """
    x = _x(operand, "collapse")
    shape = get_aval(x).shape
    stop = len(shape) if stop_dimension is None else int(stop_dimension)
    start = int(start_dimension)
    if not 0 <= start <= stop <= len(shape):
        raise ValueError(f"lax.collapse: bad dimensions [{start}, {stop}) for shape {shape}")
    size = int(np.prod(shape[start:stop], dtype=np.int64))
    return st.reshape(x, shape[:start] + (size,) + shape[stop:])


def rev(operand, dimensions):
    """Reverse the order of elements along ``dimensions``.

    >>> import numpy as np
    >>> rev(np.arange(3.0), (0,))
    array([2., 1., 0.])
    """
    x = _x(operand, "rev")
    return st.rev(x, _axes("rev", x, dimensions))


def slice(operand, start_indices, limit_indices, strides=None):  # noqa: A001
    """``operand[start:limit:stride]`` on every axis (static bounds within the shape).

    >>> import numpy as np
    >>> slice(np.arange(10.0), (1,), (8,), (3,))
    array([1., 4., 7.])
    """
    x = _x(operand, "slice")
    shape = get_aval(x).shape
    start, limit = tuple(int(i) for i in start_indices), tuple(int(i) for i in limit_indices)
    strides = (1,) * len(shape) if strides is None else tuple(int(s) for s in strides)
    if (not len(start) == len(limit) == len(strides) == len(shape)
            or any(not 0 <= s <= e <= d for s, e, d in zip(start, limit, shape))
            or any(s < 1 for s in strides)):
        raise TypeError(f"lax.slice: start {start}, limit {limit}, strides {strides} are invalid for "
                        f"shape {shape} (need 0 <= start <= limit <= size, strides >= 1)")
    return st.slice(x, start, limit, strides)


def slice_in_dim(operand, start_index, limit_index, stride=1, axis=0):
    """:func:`slice` along one axis (negative or None indices count as in Python).

    >>> import numpy as np
    >>> slice_in_dim(np.arange(6.0).reshape(2, 3), 1, None, axis=1)
    array([[1., 2.],
           [4., 5.]])
    """
    x = _x(operand, "slice_in_dim")
    shape = get_aval(x).shape
    axis = int(axis) + len(shape) if int(axis) < 0 else int(axis)
    _axes("slice_in_dim", x, (axis,))
    n = shape[axis]
    s, e, _ = builtins.slice(start_index, limit_index).indices(n)
    start, limit, strides = [0] * len(shape), list(shape), [1] * len(shape)
    start[axis], limit[axis], strides[axis] = s, builtins.max(e, s), int(stride)
    return slice(x, start, limit, strides)


def index_in_dim(operand, index, axis=0, keepdims=True):
    """The element ``index`` of ``axis`` (a static Python int; negative counts from the end).

    >>> import numpy as np
    >>> index_in_dim(np.arange(6.0).reshape(2, 3), -1, axis=1, keepdims=False)
    array([2., 5.])
    """
    x = _x(operand, "index_in_dim")
    shape = get_aval(x).shape
    axis = int(axis) + len(shape) if int(axis) < 0 else int(axis)
    _axes("index_in_dim", x, (axis,))
    i = int(index) + shape[axis] if int(index) < 0 else int(index)
    if not 0 <= i < shape[axis]:
        raise IndexError(f"lax.index_in_dim: index {index} is out of bounds for axis {axis} of size "
                         f"{shape[axis]}")
    out = slice_in_dim(x, i, i + 1, axis=axis)
    return out if keepdims else squeeze(out, (axis,))


def concatenate(operands, dimension):
    """Join arrays of one dtype and equal shapes except along ``dimension``.

    >>> import numpy as np
    >>> concatenate([np.zeros(2), np.ones(1)], 0)
    array([0., 0., 1.])
    """
    xs = [_x(o, "concatenate") for o in operands]
    if not xs:
        raise ValueError("lax.concatenate needs at least one operand")
    avals = [get_aval(x) for x in xs]
    if len({a.dtype for a in avals}) > 1:
        raise TypeError(f"lax.concatenate requires arguments to have the same dtypes, got "
                        f"{', '.join(a.dtype.name for a in avals)} (spmdgrad.numpy.concatenate promotes)")
    d = int(dimension)
    nd = len(avals[0].shape)
    if not 0 <= d < nd or any(len(a.shape) != nd or any(s != t for i, (s, t) in
                                                         enumerate(zip(a.shape, avals[0].shape)) if i != d)
                              for a in avals):
        raise TypeError(f"lax.concatenate: shapes {[a.shape for a in avals]} cannot be joined along "
                        f"dimension {dimension}")
    return st.concatenate(xs, d)


def pad(operand, padding_value, padding_config):
    """Pad with ``padding_value`` (0-d, operand's dtype): ``padding_config[i] = (low, high,
    interior)``; negative ``low``/``high`` crop. Differentiable in both operands.

    >>> import numpy as np
    >>> pad(np.arange(5.0), 0.0, [(-1, 2, 1)])
    array([0., 1., 0., 2., 0., 3., 0., 4., 0., 0.])
    """
    x = _x(operand, "pad")
    xa = get_aval(x)
    v = _weak(padding_value, xa.dtype) if _is_py_scalar(padding_value) else _x(padding_value, "pad")
    va = get_aval(v)
    if va.dtype != xa.dtype:
        raise TypeError(f"lax.pad operand and padding_value must be same dtype: got {xa.dtype.name} "
                        f"and {va.dtype.name}")
    if va.shape != ():
        raise TypeError(f"lax.pad: padding_value must be 0-d, got shape {va.shape}")
    config = [tuple(int(c) for c in cfg) for cfg in padding_config]
    if len(config) != len(xa.shape) or any(len(c) != 3 or c[2] < 0 for c in config):
        raise ValueError(f"lax.pad: padding_config {padding_config} must hold one (low, high, interior) "
                         f"per axis of shape {xa.shape}, interior >= 0")
    grow = [(builtins.max(lo, 0), builtins.max(hi, 0), it) for lo, hi, it in config]
    padded = st.pad(x, grow)
    mask = st.pad(np.ones(xa.shape, bool), grow) if any(c != (0, 0, 0) for c in grow) else None
    if mask is not None:
        padded = ew.select_n(np.asarray(mask), v, padded)
    shape = get_aval(padded).shape
    start = [-lo if lo < 0 else 0 for lo, _, _ in config]
    limit = [d + hi if hi < 0 else d for d, (_, hi, _) in zip(shape, config)]
    if any(s > e for s, e in zip(start, limit)):
        raise ValueError(f"lax.pad: padding_config {padding_config} crops more than shape {xa.shape} has")
    if start != [0] * len(shape) or limit != list(shape):
        padded = st.slice(padded, tuple(start), tuple(limit), (1,) * len(shape))
    return padded


# ---------------------------------------------------------------- creation
def iota(dtype, size):
    """``[0, 1, ..., size - 1]`` of ``dtype``.

    >>> iota(np.int32, 3)
    array([0, 1, 2], dtype=int32)
    """
    return np.arange(int(size), dtype=np.dtype(dtype))


def broadcasted_iota(dtype, shape, dimension):
    """An array of ``shape`` whose entries are their index along ``dimension``.

    >>> broadcasted_iota(np.int64, (2, 3), 1)
    array([[0, 1, 2],
           [0, 1, 2]])
    """
    shape = tuple(int(s) for s in shape)
    d = int(dimension)
    if not 0 <= d < len(shape):
        raise ValueError(f"lax.broadcasted_iota: dimension {dimension} is out of range for shape {shape}")
    idx = np.arange(shape[d], dtype=np.dtype(dtype))
    return np.broadcast_to(idx.reshape((-1,) + (1,) * (len(shape) - d - 1)), shape).copy()


def full(shape, fill_value, dtype=None):
    """An array of ``shape`` filled with ``fill_value`` (traced values broadcast).

    >>> full((2,), 3.0)
    array([3., 3.])
    """
    shape = tuple(int(s) for s in shape)
    if _is_py_scalar(fill_value) or isinstance(fill_value, np.ndarray | np.generic):
        return np.full(shape, fill_value, dtype)
    v = fill_value if dtype is None else ew.convert_element_type(fill_value, dtype)
    if get_aval(v).shape != ():
        raise TypeError(f"lax.full: fill_value must be 0-d, got shape {get_aval(v).shape}")
    return st.broadcast_in_dim(v, shape, ())


def full_like(x, fill_value, dtype=None, shape=None):
    """:func:`full` with ``x``'s shape and dtype unless given.

    >>> full_like(np.zeros((2, 1), np.float32), 1)
    array([[1.],
           [1.]], dtype=float32)
    """
    a = get_aval(_x(x, "full_like"))
    return full(a.shape if shape is None else shape, fill_value, a.dtype if dtype is None else dtype)


# ---------------------------------------------------------------- reductions and scans
def _reducer(name, fn, kinds, example="np.array([[1, 2], [3, 4]])"):
    def op(operand, axes):
        x = _x(operand, name)
        _check_kind(name, x, kinds)
        return fn(x, _axes(name, x, axes))
    op.__name__ = op.__qualname__ = name
    op.__doc__ = (f"``{name}`` over the distinct non-negative ``axes``.\n\n    >>> import numpy as np\n"
                  f"    >>> {name}({example}, (0,))\n"
                  f"    {repr(_NP_REDUCE[name](eval(example), axis=0))}\n    ")
    return op


_NP_REDUCE = {"reduce_sum": np.sum, "reduce_max": np.max, "reduce_min": np.min,
              "reduce_prod": np.prod, "reduce_and": np.all, "reduce_or": np.any}
reduce_sum = _reducer("reduce_sum", st.reduce_sum, _NUMERIC)
reduce_max = _reducer("reduce_max", red.reduce_max, _NUMERIC + "b")
reduce_min = _reducer("reduce_min", red.reduce_min, _NUMERIC + "b")
reduce_prod = _reducer("reduce_prod", red.reduce_prod, _NUMERIC)


def _logical_reduce(which):
    def fn(x, axes):
        if get_aval(x).dtype.kind != "b":
            raise TypeError(f"lax.{which} takes a boolean operand, got {get_aval(x).dtype.name}")
        as_int = ew.convert_element_type(x, np.int8)
        r = (red.reduce_min if which == "reduce_and" else red.reduce_max)(as_int, axes)
        return ew.convert_element_type(r, bool)
    return fn


_BOOLS = "np.array([[True, True], [False, True]])"
reduce_and = _reducer("reduce_and", _logical_reduce("reduce_and"), "b", _BOOLS)
reduce_or = _reducer("reduce_or", _logical_reduce("reduce_or"), "b", _BOOLS)


def _arg(name, fn):
    def op(operand, axis, index_dtype):
        x = _x(operand, name)
        _check_kind(name, x, _NUMERIC + "b")
        axis, = _axes(name, x, (axis,))
        dt = np.dtype(index_dtype)
        if dt.kind not in "iu":
            raise TypeError(f"lax.{name}: index_dtype must be an integer dtype, got {dt.name}")
        return fn(x, axis, dt)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = (f"Index of the first {'max' if name == 'argmax' else 'min'}imum along ``axis`` "
                  f"(NaN counts as extreme), of ``index_dtype``.\n\n    >>> import numpy as np\n"
                  f"    >>> {name}(np.array([[1.0, 3.0], [4.0, 2.0]]), 1, np.int32)\n"
                  f"    {repr(getattr(np, name)(np.array([[1.0, 3.0], [4.0, 2.0]]), 1).astype(np.int32))}"
                  "\n    ")
    return op


argmax = _arg("argmax", red.argmax)
argmin = _arg("argmin", red.argmin)


def _scan(name, fn):
    def op(operand, axis=0, reverse=False):
        x = _x(operand, name)
        _check_kind(name, x, _NUMERIC)
        axis = int(axis) + _nd(x) if int(axis) < 0 else int(axis)
        _axes(name, x, (axis,))
        return fn(x, axis, reverse)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = (f"Inclusive running ``{name[3:]}`` along ``axis`` (from the end if ``reverse``)."
                  f"\n\n    >>> import numpy as np\n    >>> {name}(np.array([1.0, 2.0, 3.0]))\n"
                  f"    {repr(_NP_SCAN[name](np.array([1.0, 2.0, 3.0])))}\n    ")
    return op


_NP_SCAN = {"cumsum": np.cumsum, "cumprod": np.cumprod, "cummax": np.maximum.accumulate,
            "cummin": np.minimum.accumulate}
cumsum = _scan("cumsum", red.cumsum)
cumprod = _scan("cumprod", red.cumprod)
cummax = _scan("cummax", red.cummax)
cummin = _scan("cummin", red.cummin)


def sort(operand, dimension=-1, is_stable=True, num_keys=1):
    """Sort one array along ``dimension`` (NaNs last). Several operands (sorting by keys)
    are not supported.

    >>> import numpy as np
    >>> sort(np.array([3.0, 1.0, 2.0]))
    array([1., 2., 3.])
    """
    if isinstance(operand, tuple | list):
        raise NotImplementedError("lax.sort of several operands (sort by keys) is not supported; "
                                  "sort one array, or use spmdgrad.numpy.argsort and take")
    if num_keys != 1:
        raise NotImplementedError("lax.sort: num_keys other than 1 is not supported")
    x = _x(operand, "sort")
    d = int(dimension) + _nd(x) if int(dimension) < 0 else int(dimension)
    _axes("sort", x, (d,))
    return red.sort(x, d)
