"""Front-end plumbing, the bottom layer of ``spmdgrad.numpy``: conversion to arrays,
NumPy promotion and broadcasting (done once, over the strict primitives), and axis
normalisation. Every other front-end module imports this one; it imports none of them."""
from __future__ import annotations

import functools

import numpy as np

from ..core import Tracer, get_aval
from ..dtypes import check_not_float0
from ..primitives.elementwise import convert_element_type
from ..primitives.structural import broadcast_in_dim, concatenate, normalize_axis, reshape


def is_array(x):
    return isinstance(x, Tracer | np.ndarray | np.generic)


def shape(a):
    """The shape of an array or traced value.

    >>> shape(np.zeros((2, 3)))
    (2, 3)
    """
    return get_aval(a).shape


def ndim(a):
    """The number of dimensions of an array or traced value.

    >>> ndim(np.zeros((2, 3)))
    2
    """
    return len(get_aval(a).shape)


def asarray(x, dtype=None):
    """An array or tracer; Python scalars and nested lists become NumPy arrays."""
    if isinstance(x, Tracer):
        return x if dtype is None else convert_element_type(x, dtype)
    if isinstance(x, list | tuple) and any(isinstance(e, Tracer) for e in _flat(x)):
        return _stack_nested(x, dtype)
    if isinstance(x, str) or (isinstance(x, np.ndarray) and x.dtype == object):
        raise TypeError(f"{x!r} is not a valid array value")
    return np.asarray(x, dtype=dtype)


array = asarray


def _stack_nested(x, dtype):
    """A nested list holding tracers as one array: elements promoted, then stacked."""
    parts = promote(*[asarray(e, dtype) for e in x], broadcast=False)
    shapes = {get_aval(p).shape for p in parts}
    if len(shapes) != 1:
        raise ValueError(f"asarray: a nested sequence holding traced values must be rectangular; "
                         f"got elements of shapes {sorted(shapes)}")
    s = shapes.pop()
    return concatenate([reshape(p, (1,) + s) for p in parts], 0)


def _flat(x):
    for e in x:
        if isinstance(e, list | tuple):
            yield from _flat(e)
        else:
            yield e


_WEAK = {bool: False, int: 0, float: 0.0, complex: 0j}
_WEAK_KIND = {"b": bool, "i": int, "f": float, "c": complex}


@functools.lru_cache(maxsize=1024)
def _result_type(keys, to_float):
    dt = np.result_type(*[_WEAK.get(k, k) for k in keys])
    if to_float and not np.issubdtype(dt, np.inexact):
        dt = np.dtype(np.float64)
    return dt


def _key_and_shape(x):
    """Dtype key (a dtype, or a Python scalar type: weak, NEP 50) and shape of an operand."""
    t = type(x)
    if t in _WEAK:
        return t, ()
    if isinstance(x, Tracer):
        a = x.aval
        if a.weak_type:  # a traced Python scalar (jit) promotes like one
            return _WEAK_KIND.get(a.dtype.kind, a.dtype), a.shape
        return a.dtype, a.shape
    if isinstance(x, np.ndarray | np.generic):
        return x.dtype, x.shape
    x = asarray(x)
    return x.dtype, x.shape


def result_type(*args, to_float=False):
    return _result_type(tuple(_key_and_shape(a)[0] for a in args), to_float)


def same_float_tracers(x, y):
    """Whether ``x`` and ``y`` are tracers of one floating (or complex) dtype, neither
    weakly typed: :func:`promote` would return them as they are (broadcasting aside)."""
    if not (isinstance(x, Tracer) and isinstance(y, Tracer)):
        return False
    ax, ay = x.aval, y.aval
    return ax.dtype == ay.dtype and ax.dtype.kind in "fc" and not (ax.weak_type or ay.weak_type)


def promote(*args, to_float=False, broadcast=True, op="spmdgrad.numpy"):
    """Convert operands to one dtype (NumPy rules) and one broadcast shape.

    0-d operands stay 0-d: the elementwise primitives broadcast them for free.
    """
    if len(args) == 1:  # fast path: one array operand that needs no conversion
        x = args[0]
        dt = x.aval.dtype if isinstance(x, Tracer) else getattr(x, "dtype", None)
        if dt is not None and is_array(x) and (dt.kind in "fc" or (not to_float and dt.kind != "V")):
            return [x]
    keys, shapes = [], []
    for a in args:
        k, s = _key_and_shape(a)
        if type(k) is not type and k.kind == "V":
            check_not_float0(op, k)
        keys.append(k)
        shapes.append(s)
    dt = _result_type(tuple(keys), to_float)
    out = []
    for a, k in zip(args, keys, strict=True):
        if k in _WEAK or not is_array(a):
            a = asarray(a, dt)
        elif k != dt:
            a = convert_element_type(a, dt)
        out.append(a)
    if not broadcast:
        return out
    nonscalar = {s for s in shapes if s != ()}
    if len(nonscalar) <= 1:
        return out
    try:
        target = np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(f"operands could not be broadcast together with shapes "
                         f"{' '.join(map(str, shapes))}") from None
    for i, (a, s) in enumerate(zip(out, shapes, strict=True)):
        if s != target and s != ():
            out[i] = broadcast_to(a, target)
    return out


def broadcast_to(array, shape, subok=False):
    """NumPy's broadcast_to: leading dims added, size-1 dims stretched.

    >>> broadcast_to(np.array([1, 2]), (2, 2))
    array([[1, 2],
           [1, 2]])
    """
    x = asarray(array)
    s = get_aval(x).shape
    shape = tuple(shape)
    if len(shape) < len(s) or any(a not in (1, b) for a, b in zip(s[::-1], shape[::-1])):
        raise ValueError(f"broadcast_to: cannot broadcast shape {s} to {shape}")
    return broadcast_in_dim(x, shape, tuple(range(len(shape) - len(s), len(shape))))


def doc_example(doc, expr, out):
    """``doc`` with a doctest example appended (for functions made by factories)."""
    out = "\n".join("    " + line for line in out.split("\n"))
    return f"{doc}\n\n    >>> import spmdgrad.numpy as jnp\n    >>> {expr}\n{out}\n    "


def normalize_axes(axis, nd, op):
    """Tuple of non-negative axes; None means all."""
    if axis is None:
        return tuple(range(nd))
    axes = tuple(axis) if isinstance(axis, tuple | list) else (axis,)
    out = tuple(normalize_axis(a, nd, op) for a in axes)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis!r}")
    return out
