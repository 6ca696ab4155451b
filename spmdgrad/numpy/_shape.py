"""Shape manipulation of the NumPy front end.

Every function checks its arguments (shapes, axes) first and then lowers to the
strict structural primitives.
"""
from __future__ import annotations

import numpy as np

from ..core import Tracer, get_aval
from ..primitives import structural as st
from ._core import asarray, broadcast_to, normalize_axes, normalize_axis, promote  # noqa: F401
from ._indexing import take
from ._math import add, check_out, multiply

__all__ = ["reshape", "ravel", "transpose", "moveaxis", "swapaxes", "squeeze", "expand_dims",
           "atleast_1d", "atleast_2d", "atleast_3d", "concatenate", "stack", "hstack", "vstack",
           "split", "array_split", "tile", "repeat", "flip", "fliplr", "flipud", "roll", "pad", "size"]


def _axis(axis, nd, op):
    return normalize_axis(axis, nd, op)


def _axes(axis, nd, op):
    return normalize_axes(axis, nd, op)


def _shape(x):
    return get_aval(x).shape


def size(a, axis=None):
    """Number of elements (along ``axis`` if given).

    >>> size(np.zeros((2, 3)), 1)
    3
    """
    s = _shape(asarray(a))
    return int(np.prod(s, dtype=np.int64)) if axis is None else s[_axis(axis, len(s), "size")]


# ---------------------------------------------------------------- reshaping

def reshape(a, shape=None, order="C", *, newshape=None, copy=None):
    """NumPy's reshape (one ``-1`` allowed, C order).

    >>> reshape(np.arange(6), (2, -1))
    array([[0, 1, 2],
           [3, 4, 5]])
    """
    if order != "C":
        raise NotImplementedError("reshape: only order='C' is supported")
    if (shape is None) == (newshape is None):
        raise TypeError("reshape: give the new shape once (shape=, or the older newshape=)")
    newshape = shape if newshape is None else newshape
    x = asarray(a)
    size = get_aval(x).size
    newshape = (newshape,) if isinstance(newshape, int | np.integer) else tuple(newshape)
    if newshape.count(-1) > 1:
        raise ValueError("reshape: can only specify one unknown dimension (-1)")
    if -1 in newshape:
        known = int(np.prod([d for d in newshape if d != -1], dtype=np.int64))
        if known == 0 or size % known:
            raise ValueError(f"reshape: cannot reshape array of size {size} into shape {newshape}")
        newshape = tuple(size // known if d == -1 else d for d in newshape)
    if any(d < 0 for d in newshape) or int(np.prod(newshape, dtype=np.int64)) != size:
        raise ValueError(f"reshape: cannot reshape array of shape {_shape(x)} (size {size}) into "
                         f"shape {newshape}")
    return st.reshape(x, newshape)


def ravel(a, order="C"):
    """The flattened array (C order).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.ravel(np.array([[1, 2], [3, 4]]))
    array([1, 2, 3, 4])
    """
    return reshape(a, (-1,), order)


def transpose(a, axes=None):
    """Permute the axes (reverse them by default).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.transpose(np.zeros((1, 2, 3))).shape
    (3, 2, 1)
    """
    x = asarray(a)
    nd = get_aval(x).ndim
    if axes is None:
        return st.transpose(x, tuple(reversed(range(nd))))
    perm = _axes(axes, nd, "transpose")
    if len(perm) != nd:
        raise ValueError(f"transpose: axes {tuple(axes)} do not match an array of rank {nd}")
    return st.transpose(x, perm)


def moveaxis(a, source, destination):
    """Move axes ``source`` to positions ``destination`` (ints or sequences).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.moveaxis(np.zeros((1, 2, 3)), 0, -1).shape
    (2, 3, 1)
    """
    x = asarray(a)
    nd = get_aval(x).ndim
    src, dst = _axes(source, nd, "moveaxis"), _axes(destination, nd, "moveaxis")
    if len(src) != len(dst):
        raise ValueError("moveaxis: source and destination must have the same number of axes")
    perm = [i for i in range(nd) if i not in src]
    for d, s in sorted(zip(dst, src, strict=True)):
        perm.insert(d, s)
    return st.transpose(x, perm)


def swapaxes(a, axis1, axis2):
    """Interchange two axes.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.swapaxes(np.zeros((1, 2, 3)), 0, 2).shape
    (3, 2, 1)
    """
    x = asarray(a)
    nd = get_aval(x).ndim
    a, b = _axis(axis1, nd, "swapaxes"), _axis(axis2, nd, "swapaxes")
    perm = list(range(nd))
    perm[a], perm[b] = perm[b], perm[a]
    return st.transpose(x, perm)


def squeeze(a, axis=None):
    """Remove axes of length one (all of them, or the given ones).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.squeeze(np.zeros((1, 2, 1))).shape
    (2,)
    """
    x = asarray(a)
    s = _shape(x)
    if axis is None:
        axes = tuple(i for i, d in enumerate(s) if d == 1)
    else:
        axes = _axes(axis, len(s), "squeeze")
        for a in axes:
            if s[a] != 1:
                raise ValueError(f"squeeze: cannot select an axis to squeeze out which has size "
                                 f"not equal to one (axis {a} has size {s[a]} in shape {s})")
    return st.reshape(x, tuple(d for i, d in enumerate(s) if i not in axes))


def expand_dims(a, axis):
    """Insert length-one axes at positions ``axis`` of the result.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.expand_dims(np.zeros(2), (0, 2)).shape
    (1, 2, 1)
    """
    x = asarray(a)
    s = _shape(x)
    n = 1 if not isinstance(axis, tuple | list) else len(axis)
    axes = _axes(axis, len(s) + n, "expand_dims")
    rest = iter(s)
    return st.reshape(x, tuple(1 if i in axes else next(rest) for i in range(len(s) + n)))


def _atleast(x, nd):
    x = asarray(x)
    s = _shape(x)
    if len(s) >= nd:
        return x
    if nd == 3 and len(s) == 2:
        return st.reshape(x, s + (1,))
    if nd == 3 and len(s) == 1:
        return st.reshape(x, (1,) + s + (1,))
    return st.reshape(x, (1,) * (nd - len(s)) + s)


def atleast_1d(*arys):
    """Views with at least one dimension (a list for several arguments).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.atleast_1d(1.0)
    array([1.])
    """
    out = [_atleast(a, 1) for a in arys]
    return out[0] if len(out) == 1 else out


def atleast_2d(*arys):
    """Views with at least two dimensions: (n,) becomes (1, n).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.atleast_2d(np.zeros(3)).shape
    (1, 3)
    """
    out = [_atleast(a, 2) for a in arys]
    return out[0] if len(out) == 1 else out


def atleast_3d(*arys):
    """Views with at least three dimensions: (n,) becomes (1, n, 1), (m, n) becomes (m, n, 1).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.atleast_3d(np.zeros(3)).shape
    (1, 3, 1)
    """
    out = [_atleast(a, 3) for a in arys]
    return out[0] if len(out) == 1 else out


# ---------------------------------------------------------------- joining and splitting

def concatenate(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    """Join arrays along an existing axis (``axis=None`` flattens them first).

    >>> concatenate([np.zeros((1, 2)), np.ones((2, 2))]).shape
    (3, 2)
    """
    if isinstance(arrays, np.ndarray | Tracer) or not isinstance(arrays, tuple | list):
        raise TypeError("concatenate: expects a sequence (list or tuple) of arrays")
    if not arrays:
        raise ValueError("concatenate: need at least one array to concatenate")
    check_out(out, "concatenate")
    arrays = [asarray(a) for a in arrays]
    if dtype is not None:
        for a in arrays:
            if not np.can_cast(get_aval(a).dtype, dtype, casting):
                raise TypeError(f"concatenate: cannot cast {get_aval(a).dtype} to {np.dtype(dtype)} "
                                f"with casting={casting!r}")
        arrays = [asarray(a, dtype) for a in arrays]
    arrays = promote(*arrays, broadcast=False)
    if axis is None:
        arrays, axis = [st.reshape(a, (get_aval(a).size,)) for a in arrays], 0
    shapes = [_shape(a) for a in arrays]
    nd = len(shapes[0])
    if nd == 0:
        raise ValueError("concatenate: zero-dimensional arrays cannot be concatenated")
    ax = _axis(axis, nd, "concatenate")
    for s in shapes:
        if len(s) != nd or any(d != e for i, (d, e) in enumerate(zip(s, shapes[0])) if i != ax):
            raise ValueError(f"concatenate: all input array dimensions except for the "
                             f"concatenation axis {ax} must match exactly, got shapes "
                             f"{', '.join(map(str, shapes))}")
    return st.concatenate(arrays, ax)


def stack(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    """Join arrays of one shape along a new axis.

    >>> stack([np.zeros(3), np.ones(3)], axis=1).shape
    (3, 2)
    """
    if isinstance(arrays, np.ndarray | Tracer) or not isinstance(arrays, tuple | list):
        raise TypeError("stack: expects a sequence (list or tuple) of arrays")
    if not arrays:
        raise ValueError("stack: need at least one array to stack")
    arrays = [asarray(a) for a in arrays]
    shapes = {_shape(a) for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"stack: all input arrays must have the same shape, got "
                         f"{', '.join(str(_shape(a)) for a in arrays)}")
    s = shapes.pop()
    ax = _axis(axis, len(s) + 1, "stack")
    check_out(out, "stack")
    return concatenate([st.reshape(a, s[:ax] + (1,) + s[ax:]) for a in arrays], ax, dtype=dtype,
                       casting=casting)


def hstack(tup, *, dtype=None, casting="same_kind"):
    """Stack along the second axis (the first for 1-d arrays).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.hstack([np.zeros(1), np.ones(2)])
    array([0., 1., 1.])
    """
    arrays = [atleast_1d(a) for a in tup]
    return concatenate(arrays, 0 if get_aval(arrays[0]).ndim == 1 else 1, dtype=dtype, casting=casting)


def vstack(tup, *, dtype=None, casting="same_kind"):
    """Stack along the first axis, after making the arrays at least 2-d.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.vstack([np.zeros(2), np.ones(2)]).shape
    (2, 2)
    """
    return concatenate([atleast_2d(a) for a in tup], 0, dtype=dtype, casting=casting)


def _pieces(x, bounds, ax):
    s = _shape(x)
    out = []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        hi = max(lo, hi)
        out.append(st.slice(x, tuple(lo if i == ax else 0 for i in range(len(s))),
                            tuple(hi if i == ax else d for i, d in enumerate(s))))
    return out


def _split(x, indices_or_sections, axis, op, equal):
    x = asarray(x)
    s = _shape(x)
    ax = _axis(axis, len(s), op)
    n = s[ax]
    if isinstance(indices_or_sections, int | np.integer) and not isinstance(indices_or_sections, bool):
        k = int(indices_or_sections)
        if k <= 0:
            raise ValueError(f"{op}: number of sections must be larger than 0, got {k}")
        if equal and n % k:
            raise ValueError(f"{op}: array split does not result in an equal division "
                             f"({n} along axis {ax} into {k} sections); use array_split")
        q, r = divmod(n, k)
        bounds = [0]
        for i in range(k):
            bounds.append(bounds[-1] + q + (1 if i < r else 0))
    else:
        pts = [int(i) for i in indices_or_sections]
        bounds = [0] + [builtin_slice(p, None).indices(n)[0] for p in pts] + [n]
    return _pieces(x, bounds, ax)


builtin_slice = slice


def split(ary, indices_or_sections, axis=0):
    """A list of sub-arrays: ``k`` equal sections, or cut at the given indices.

    >>> [a.shape for a in split(np.zeros((6, 2)), [1, 4])]
    [(1, 2), (3, 2), (2, 2)]
    """
    return _split(ary, indices_or_sections, axis, "split", True)


def array_split(ary, indices_or_sections, axis=0):
    """Like :func:`split`, but ``k`` sections need not divide the axis evenly.

    >>> import spmdgrad.numpy as jnp
    >>> [a.shape for a in jnp.array_split(np.arange(5), 2)]
    [(3,), (2,)]
    """
    return _split(ary, indices_or_sections, axis, "array_split", False)


# ---------------------------------------------------------------- repetition, flips, rolls

def tile(A, reps):  # noqa: N803 - NumPy's name
    """Repeat the whole array ``reps`` times along each axis (NumPy semantics).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.tile(np.array([1, 2]), 2)
    array([1, 2, 1, 2])
    """
    x = asarray(A)
    reps = (reps,) if isinstance(reps, int | np.integer) else tuple(int(r) for r in reps)
    if any(r < 0 for r in reps):
        raise ValueError(f"tile: negative repetitions {reps}")
    s = _shape(x)
    d = max(len(reps), len(s))
    reps = (1,) * (d - len(reps)) + reps
    s = (1,) * (d - len(s)) + s
    x = st.reshape(x, s)
    target = tuple(v for pair in zip(reps, s) for v in pair)
    x = st.broadcast_in_dim(x, target, tuple(range(1, 2 * d, 2)))
    return st.reshape(x, tuple(r * n for r, n in zip(reps, s)))


def repeat(a, repeats, axis=None):
    """Repeat each element ``repeats`` times (an int, or one count per element).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.repeat(np.array([1, 2]), [2, 1])
    array([1, 1, 2])
    """
    x = asarray(a)
    if axis is None:
        x, axis = ravel(x), 0
    s = _shape(x)
    ax = _axis(axis, len(s), "repeat")
    if isinstance(repeats, Tracer):
        raise TypeError("repeat: repeats must be concrete (an int or a NumPy array), not a "
                        "traced value: the output shape depends on it")
    reps = np.asarray(repeats)
    if not np.issubdtype(reps.dtype, np.integer) or (reps < 0).any():
        raise ValueError(f"repeat: repeats must be non-negative integers, got {repeats!r}")
    if reps.size == 1:
        r = int(reps.reshape(()))
        big = s[:ax + 1] + (r,) + s[ax + 1:]
        dims = tuple(range(ax + 1)) + tuple(range(ax + 2, len(s) + 1))
        x = st.broadcast_in_dim(x, big, dims)
        return st.reshape(x, s[:ax] + (s[ax] * r,) + s[ax + 1:])
    if reps.shape != (s[ax],):
        raise ValueError(f"repeat: repeats has shape {reps.shape} but axis {ax} has length "
                         f"{s[ax]}")
    return take(x, np.repeat(np.arange(s[ax]), reps), axis=ax)


def flip(m, axis=None):
    """Reverse the order of elements along the given axes (all by default).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.flip(np.array([1, 2, 3]))
    array([3, 2, 1])
    """
    x = asarray(m)
    nd = get_aval(x).ndim
    axes = tuple(range(nd)) if axis is None else _axes(axis, nd, "flip")
    return st.rev(x, axes)


def fliplr(m):
    """Reverse the second axis.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.fliplr(np.array([[1, 2]]))
    array([[2, 1]])
    """
    return flip(m, 1)


def flipud(m):
    """Reverse the first axis.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.flipud(np.array([[1], [2]]))
    array([[2],
           [1]])
    """
    return flip(m, 0)


def roll(a, shift, axis=None):
    """Roll elements along axes; those shifted past the end come back at the start.

    >>> roll(np.arange(5), 2)
    array([3, 4, 0, 1, 2])
    """
    x = asarray(a)
    if axis is None:
        return reshape(roll(ravel(x), shift, 0), _shape(x))
    s = _shape(x)
    if any(isinstance(v, Tracer) for v in (shift if isinstance(shift, tuple | list) else (shift,))):
        raise TypeError("roll: shift must be concrete (ints), not a traced value; a traced "
                        "shift would need a data-dependent gather (use take with "
                        "(arange(n) - shift) % n instead)")
    shifts, axes = np.broadcast_arrays(np.asarray(shift), np.asarray(axis))
    if not np.issubdtype(shifts.dtype, np.integer):
        raise TypeError(f"roll: shift must be an int or a sequence of ints, got {shift!r}")
    total = {}
    for sh, ax in zip(shifts.ravel(), axes.ravel(), strict=True):
        ax = _axis(int(ax), len(s), "roll")
        total[ax] = total.get(ax, 0) + int(sh)
    for ax, sh in sorted(total.items()):
        n = s[ax]
        if n == 0 or sh % n == 0:
            continue
        cut = n - sh % n
        head, tail = _pieces(x, [0, cut, n], ax)
        x = st.concatenate([tail, head], ax)
    return x


# ---------------------------------------------------------------- padding

_INDEX_MODES = ("edge", "wrap", "reflect", "symmetric")


def pad(array, pad_width, mode="constant", constant_values=0):
    """Pad an array: mode ``'constant'`` (any concrete ``constant_values``, or a traced
    scalar), or one of ``'edge'``, ``'wrap'``, ``'reflect'``, ``'symmetric'``.

    >>> pad(np.array([1.0, 2.0]), (1, 2), constant_values=9.0)
    array([9., 1., 2., 9., 9.])
    """
    x = asarray(array)
    s = _shape(x)
    if isinstance(pad_width, Tracer):
        raise TypeError("pad: pad_width must be concrete, not a traced value")
    pw = np.asarray(pad_width)
    if not np.issubdtype(pw.dtype, np.integer):
        raise TypeError(f"pad: pad_width must be integers, got {pad_width!r}")
    try:
        pw = np.broadcast_to(pw, (len(s), 2))
    except ValueError:
        raise ValueError(f"pad: pad_width {pad_width!r} does not fit an array of rank "
                         f"{len(s)}; use an int, (before, after) or one pair per axis") from None
    if (pw < 0).any():
        raise ValueError(f"pad: pad widths must be non-negative, got {pad_width!r}")
    if mode == "constant":
        out = st.pad(x, tuple((int(lo), int(hi), 0) for lo, hi in pw))
        if isinstance(constant_values, Tracer):
            if constant_values.ndim:
                raise ValueError("pad: a traced constant_values must be a scalar")
            mask = np.pad(np.zeros(s, get_aval(x).dtype), pw, constant_values=1)
            return add(out, multiply(constant_values, mask))
        fill = np.pad(np.zeros(s, get_aval(x).dtype), pw, constant_values=constant_values)
        if fill.any():
            out = add(out, fill)
        return out
    if mode not in _INDEX_MODES:
        raise NotImplementedError(f"pad: mode {mode!r} is not supported; use one of "
                                  f"'constant', {', '.join(map(repr, _INDEX_MODES))}")
    for ax, (lo, hi) in enumerate(pw):
        if lo or hi:
            if s[ax] == 0:
                raise ValueError(f"pad: cannot pad an empty axis {ax} with mode {mode!r}")
            x = take(x, np.pad(np.arange(s[ax]), (int(lo), int(hi)), mode=mode), axis=ax)
    return x
