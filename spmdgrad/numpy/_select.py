"""Selection and functional updates: ``select``, ``choose``, ``piecewise``, the
``apply_*`` helpers, JAX's functional ``put``/``put_along_axis``/``place``
(``inplace=False``), and integer index arithmetic (``unravel_index``,
``ravel_multi_index``). All are compositions of ``where``, gathers and scatters, so
they differentiate and batch.

>>> import spmdgrad.numpy as jnp
>>> jnp.select([np.array([True, False])], [np.array([1.0, 2.0])], default=-1.0)
array([ 1., -1.])
"""
from __future__ import annotations

import numpy as np

from ..core import Tracer, get_aval
from . import _math as m
from . import _shape as sh
from ._core import asarray, normalize_axis, promote
from ._discrete import _concrete
from ._indexing import _IndexUpdateHelper, take, take_along_axis

__all__ = ["unravel_index", "ravel_multi_index", "select", "choose", "piecewise", "apply_along_axis",
           "apply_over_axes", "put", "put_along_axis", "place", "einsum_path"]


def _shape(x):
    return get_aval(x).shape


def unravel_index(indices, shape, order="C"):
    """Flat indices to a tuple of coordinate arrays (integer arithmetic on tracers).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.unravel_index(np.array([5, 1]), (2, 3))
    (array([1, 0]), array([2, 1]))
    """
    if order != "C":
        raise NotImplementedError("unravel_index: only order='C' is supported")
    i = asarray(indices)
    if get_aval(i).dtype.kind not in "iu":
        raise TypeError("unravel_index: only int indices permitted")
    shape = tuple(int(d) for d in (shape if isinstance(shape, tuple | list) else (shape,)))
    total = int(np.prod(shape, dtype=np.int64))
    if not isinstance(i, Tracer) and i.size and (i.min() < 0 or i.max() >= total):
        raise ValueError(f"unravel_index: index {int(i.max())} is out of bounds for array with "
                         f"size {total}")
    out = []
    for d in reversed(shape):
        out.append(m.remainder(i, d))
        i = m.floor_divide(i, d)
    return tuple(reversed(out))


def ravel_multi_index(multi_index, dims, mode="raise", order="C"):
    """Coordinate arrays to flat indices (``mode`` 'raise', 'wrap' or 'clip').

    >>> import spmdgrad.numpy as jnp
    >>> jnp.ravel_multi_index((np.array([1, 0]), np.array([2, 1])), (2, 3))
    array([5, 1])
    """
    if order != "C":
        raise NotImplementedError("ravel_multi_index: only order='C' is supported")
    dims = tuple(int(d) for d in dims)
    if len(multi_index) != len(dims):
        raise ValueError("ravel_multi_index: parameter multi_index must be a sequence of length "
                         f"{len(dims)}")
    out = np.zeros((), np.int64)
    for k, (i, d) in enumerate(zip(multi_index, dims, strict=True)):
        i = asarray(i)
        if mode == "wrap":
            i = m.remainder(i, d)
        elif mode == "clip":
            i = m.clip(i, 0, d - 1)
        elif not isinstance(i, Tracer) and np.size(i) and (np.min(i) < 0 or np.max(i) >= d):
            raise ValueError(f"ravel_multi_index: invalid entry in coordinates array {k}")
        out = m.add(m.multiply(out, d), m.astype(i, np.int64))
    return out



def select(condlist, choicelist, default=0):
    """The entry of the first choice whose condition holds, else ``default``.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.select([np.array([True, False]), np.array([True, True])], [1.0, 2.0])
    array([1., 2.])
    """
    if len(condlist) != len(choicelist):
        raise ValueError("select: list of cases must be same length as list of conditions")
    if not condlist:
        raise ValueError("select with an empty condition list is not possible")
    out = asarray(default)
    for c, v in reversed(list(zip(condlist, choicelist, strict=True))):
        c = asarray(c)
        if get_aval(c).dtype != np.bool_:
            raise TypeError(f"select: condlist entries must be boolean, got {get_aval(c).dtype}")
        out = m.where(c, v, out)
    return out


def choose(a, choices, out=None, mode="raise"):
    """``choices[a[i]][i]`` for every ``i`` (choices broadcast against ``a``).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.choose(np.array([0, 1]), [np.array([1, 2]), np.array([3, 4])])
    array([1, 4])
    """
    m.check_out(out, "choose")
    idx = asarray(a)
    if not isinstance(choices, list | tuple):
        choices = [take(asarray(choices), i, axis=0) for i in range(len(choices))]
    ch = promote(*choices)
    n = len(ch)
    target = np.broadcast_shapes(_shape(idx), *[_shape(c) for c in ch])
    stacked = sh.stack([sh.broadcast_to(c, target) for c in ch], 0)
    if mode == "wrap":
        idx = m.remainder(idx, n)
    elif mode == "clip":
        idx = m.clip(idx, 0, n - 1)
    elif not isinstance(idx, Tracer) and idx.size and (idx.min() < 0 or idx.max() >= n):
        raise ValueError("choose: invalid entry in choice array")
    i = sh.reshape(sh.broadcast_to(idx, target), (1,) + target)
    return sh.reshape(take_along_axis(stacked, i, 0), target)


def piecewise(x, condlist, funclist, *args, **kw):
    """``funclist[i](x)`` where ``condlist[i]`` holds (the last applies where none do, if
    there is one more function than conditions). Every function is evaluated on all of
    ``x`` and the results are selected, so each must accept the whole array.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.piecewise(np.array([-1.0, 2.0]), [np.array([True, False])], [lambda x: -x, lambda x: x * 10])
    array([ 1., 20.])
    """
    x = asarray(x)
    if isinstance(condlist, Tracer | np.ndarray) and len(_shape(condlist)) == len(_shape(x)) \
            and get_aval(condlist).dtype == np.bool_:
        condlist = [condlist]
    condlist = list(condlist)
    if len(funclist) not in (len(condlist), len(condlist) + 1):
        raise ValueError(f"piecewise: with {len(condlist)} condition(s), either {len(condlist)} "
                         f"or {len(condlist) + 1} functions are expected")
    zero = np.zeros((), get_aval(x).dtype)
    out = sh.broadcast_to(zero, _shape(x))
    if len(funclist) == len(condlist) + 1:
        none = m.logical_not(m.any(sh.stack([sh.broadcast_to(asarray(c), _shape(x)) for c in condlist]), 0)) \
            if condlist else np.ones(_shape(x), bool)
        condlist.append(none)
    for c, f in zip(condlist, funclist, strict=True):
        v = f(x, *args, **kw) if callable(f) else f
        out = m.where(c, m.astype(asarray(v), get_aval(x).dtype), out)
    return out


def apply_along_axis(func1d, axis, arr, *args, **kwargs):
    """``func1d`` applied to the 1-d slices along ``axis`` (a Python loop over the other
    indices; the results are stacked where the axis was).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.apply_along_axis(jnp.sum, 1, np.ones((2, 3)))
    array([3., 3.])
    """
    x = asarray(arr)
    nd = len(_shape(x))
    ax = normalize_axis(axis, nd, "apply_along_axis")
    xm = sh.moveaxis(x, ax, -1)
    outer = _shape(xm)[:-1]
    if not outer:
        return asarray(func1d(xm, *args, **kwargs))
    flat = sh.reshape(xm, (-1, _shape(xm)[-1]))
    res = [asarray(func1d(take(flat, i, axis=0), *args, **kwargs)) for i in range(_shape(flat)[0])]
    out = sh.stack(promote(*res, broadcast=False), 0)
    rs = _shape(out)[1:]
    out = sh.reshape(out, outer + rs)
    # NumPy puts the function's output dimensions where ``axis`` was.
    return sh.moveaxis(out, tuple(range(len(outer), len(outer) + len(rs))),
                       tuple(range(ax, ax + len(rs)))) if rs else out


def apply_over_axes(func, a, axes):
    """``func(a, axis)`` repeatedly over ``axes``, keeping the rank (as NumPy).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.apply_over_axes(jnp.sum, np.ones((2, 3)), [0, 1])
    array([[6.]])
    """
    x = asarray(a)
    for ax in (axes if isinstance(axes, tuple | list) else (axes,)):
        nd = len(_shape(x))
        ax = normalize_axis(ax, nd, "apply_over_axes")
        r = asarray(func(x, ax))
        if len(_shape(r)) == nd - 1:
            r = sh.expand_dims(r, ax)
        elif len(_shape(r)) != nd:
            raise ValueError("apply_over_axes: function is not returning an array of the "
                             "correct shape")
        x = r
    return x


def _inplace_error(op):
    return NotImplementedError(f"{op}: spmdgrad arrays are immutable, so it cannot write in "
                               f"place; call {op}(..., inplace=False) and use the returned array")


def put(a, ind, v, mode=None, *, inplace=True):
    """A copy of ``a`` with the flat entries ``ind`` set to ``v`` (cycled); JAX's
    functional form (``inplace=False``).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.put(np.zeros(3), [0, 2], 5.0, inplace=False)
    array([5., 0., 5.])
    """
    if inplace:
        raise _inplace_error("put")
    x = asarray(a)
    flat = sh.ravel(x)
    n = _shape(flat)[0]
    i = sh.ravel(asarray(ind))
    k = _shape(i)[0]
    vv = sh.ravel(asarray(v))
    if _shape(vv)[0] != k:
        vv = take(vv, np.arange(k) % max(_shape(vv)[0], 1))
    if mode == "wrap":
        i = m.remainder(i, n)
    elif mode == "clip":
        i = m.clip(i, 0, n - 1)
    return sh.reshape(_IndexUpdateHelper(flat)[i].set(vv), _shape(x))


def put_along_axis(arr, indices, values, axis, inplace=True, *, mode=None):
    """A copy of ``arr`` with ``values`` written at ``indices`` along ``axis`` (the
    inverse of take_along_axis); JAX's functional form (``inplace=False``).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.put_along_axis(np.zeros((2, 2)), np.array([[1], [0]]), 7.0, 1, inplace=False)
    array([[0., 7.],
           [7., 0.]])
    """
    if inplace:
        raise _inplace_error("put_along_axis")
    x = asarray(arr)
    idx = asarray(indices)
    nd = len(_shape(x))
    ax = normalize_axis(axis, nd, "put_along_axis")
    key = tuple(idx if d == ax else np.arange(n).reshape((1,) * d + (n,) + (1,) * (nd - d - 1))
                for d, n in enumerate(_shape(x)))
    return _IndexUpdateHelper(x)[key].set(values)


def place(arr, mask, vals, *, inplace=True):
    """A copy of ``arr`` with the entries where the (concrete) ``mask`` holds set to
    ``vals``, cycled; JAX's functional form (``inplace=False``).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.place(np.zeros(3), np.array([True, False, True]), [1.0, 2.0], inplace=False)
    array([1., 0., 2.])
    """
    if inplace:
        raise _inplace_error("place")
    x = asarray(arr)
    pos = np.flatnonzero(_concrete(asarray(mask), "place", "the mask must be concrete"))
    vv = sh.ravel(asarray(vals))
    vv = take(vv, np.arange(pos.size) % max(_shape(vv)[0], 1))
    return sh.reshape(_IndexUpdateHelper(sh.ravel(x))[pos].set(vv), _shape(x))


def einsum_path(subscripts, *operands, optimize="greedy", einsum_call=False):
    """NumPy's contraction path for these operand shapes (a plan, not a computation).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.einsum_path('ij,jk->ik', np.ones((2, 3)), np.ones((3, 2)))[0]
    ['einsum_path', (0, 1)]
    """
    return np.einsum_path(subscripts, *[np.zeros(_shape(asarray(o))) for o in operands],
                          optimize=optimize)
