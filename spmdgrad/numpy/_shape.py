"""Shape manipulation and contractions of the NumPy front end.

Every function checks its arguments (shapes, axes) first and then lowers to the
strict structural primitives or to ``einsum2``, the one contraction primitive.
"""
from __future__ import annotations

import numpy as np

from ..core import Tracer, get_aval
from ..primitives import structural as st
from ..primitives.contraction import einsum2
from ._core import asarray, promote

__all__ = ["reshape", "ravel", "transpose", "moveaxis", "swapaxes", "squeeze", "expand_dims",
           "atleast_1d", "atleast_2d", "atleast_3d", "concatenate", "stack", "hstack", "vstack",
           "split", "array_split", "tile", "repeat", "flip", "fliplr", "flipud", "roll", "pad",
           "matmul", "dot", "einsum", "tensordot", "outer", "inner", "vdot"]


def _axis(axis, nd, op):
    """A non-negative axis in ``[0, nd)``; clear errors otherwise."""
    if isinstance(axis, bool) or not isinstance(axis, int | np.integer):
        raise TypeError(f"{op}: axis must be an int, got {axis!r}")
    if not -nd <= axis < nd:
        raise ValueError(f"{op}: axis {axis} is out of bounds for an array of rank {nd}")
    return int(axis) % nd


def _axes(axis, nd, op):
    axes = tuple(axis) if isinstance(axis, tuple | list) else (axis,)
    out = tuple(_axis(a, nd, op) for a in axes)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis!r}")
    return out


def _shape(x):
    return get_aval(x).shape


# ---------------------------------------------------------------- reshaping

def reshape(x, newshape, order="C"):
    """NumPy's reshape (one ``-1`` allowed, C order).

    >>> reshape(np.arange(6), (2, -1))
    array([[0, 1, 2],
           [3, 4, 5]])
    """
    if order != "C":
        raise NotImplementedError("reshape: only order='C' is supported")
    x = asarray(x)
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


def ravel(x, order="C"):
    """The flattened array (C order)."""
    return reshape(x, (-1,), order)


def transpose(x, axes=None):
    """Permute the axes (reverse them by default)."""
    x = asarray(x)
    nd = get_aval(x).ndim
    if axes is None:
        return st.transpose(x, tuple(reversed(range(nd))))
    perm = _axes(axes, nd, "transpose")
    if len(perm) != nd:
        raise ValueError(f"transpose: axes {tuple(axes)} do not match an array of rank {nd}")
    return st.transpose(x, perm)


def moveaxis(x, source, destination):
    """Move axes ``source`` to positions ``destination`` (ints or sequences)."""
    x = asarray(x)
    nd = get_aval(x).ndim
    src, dst = _axes(source, nd, "moveaxis"), _axes(destination, nd, "moveaxis")
    if len(src) != len(dst):
        raise ValueError("moveaxis: source and destination must have the same number of axes")
    perm = [i for i in range(nd) if i not in src]
    for d, s in sorted(zip(dst, src, strict=True)):
        perm.insert(d, s)
    return st.transpose(x, perm)


def swapaxes(x, axis1, axis2):
    """Interchange two axes."""
    x = asarray(x)
    nd = get_aval(x).ndim
    a, b = _axis(axis1, nd, "swapaxes"), _axis(axis2, nd, "swapaxes")
    perm = list(range(nd))
    perm[a], perm[b] = perm[b], perm[a]
    return st.transpose(x, perm)


def squeeze(x, axis=None):
    """Remove axes of length one (all of them, or the given ones)."""
    x = asarray(x)
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


def expand_dims(x, axis):
    """Insert length-one axes at positions ``axis`` of the result."""
    x = asarray(x)
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
    """Views with at least one dimension (a list for several arguments)."""
    out = [_atleast(a, 1) for a in arys]
    return out[0] if len(out) == 1 else out


def atleast_2d(*arys):
    """Views with at least two dimensions: (n,) becomes (1, n)."""
    out = [_atleast(a, 2) for a in arys]
    return out[0] if len(out) == 1 else out


def atleast_3d(*arys):
    """Views with at least three dimensions: (n,) becomes (1, n, 1), (m, n) becomes (m, n, 1)."""
    out = [_atleast(a, 3) for a in arys]
    return out[0] if len(out) == 1 else out


# ---------------------------------------------------------------- joining and splitting

def concatenate(arrays, axis=0, dtype=None):
    """Join arrays along an existing axis (``axis=None`` flattens them first).

    >>> concatenate([np.zeros((1, 2)), np.ones((2, 2))]).shape
    (3, 2)
    """
    if isinstance(arrays, np.ndarray | Tracer) or not isinstance(arrays, tuple | list):
        raise TypeError("concatenate: expects a sequence (list or tuple) of arrays")
    if not arrays:
        raise ValueError("concatenate: need at least one array to concatenate")
    arrays = [asarray(a) for a in arrays]
    if dtype is not None:
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


def stack(arrays, axis=0):
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
    return concatenate([st.reshape(a, s[:ax] + (1,) + s[ax:]) for a in arrays], ax)


def hstack(arrays):
    """Stack along the second axis (the first for 1-d arrays)."""
    arrays = [atleast_1d(a) for a in arrays]
    return concatenate(arrays, 0 if get_aval(arrays[0]).ndim == 1 else 1)


def vstack(arrays):
    """Stack along the first axis, after making the arrays at least 2-d."""
    return concatenate([atleast_2d(a) for a in arrays], 0)


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


def split(x, indices_or_sections, axis=0):
    """A list of sub-arrays: ``k`` equal sections, or cut at the given indices.

    >>> [a.shape for a in split(np.zeros((6, 2)), [1, 4])]
    [(1, 2), (3, 2), (2, 2)]
    """
    return _split(x, indices_or_sections, axis, "split", True)


def array_split(x, indices_or_sections, axis=0):
    """Like :func:`split`, but ``k`` sections need not divide the axis evenly."""
    return _split(x, indices_or_sections, axis, "array_split", False)


# ---------------------------------------------------------------- repetition, flips, rolls

def tile(a, reps):
    """Repeat the whole array ``reps`` times along each axis (NumPy semantics)."""
    x = asarray(a)
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
    """Repeat each element ``repeats`` times (an int, or one count per element)."""
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
    from ._indexing import take
    return take(x, np.repeat(np.arange(s[ax]), reps), axis=ax)


def flip(m, axis=None):
    """Reverse the order of elements along the given axes (all by default)."""
    x = asarray(m)
    nd = get_aval(x).ndim
    axes = tuple(range(nd)) if axis is None else _axes(axis, nd, "flip")
    return st.rev(x, axes)


def fliplr(m):
    """Reverse the second axis."""
    return flip(m, 1)


def flipud(m):
    """Reverse the first axis."""
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
            from ._math import add, multiply
            if constant_values.ndim:
                raise ValueError("pad: a traced constant_values must be a scalar")
            mask = np.pad(np.zeros(s, get_aval(x).dtype), pw, constant_values=1)
            return add(out, multiply(constant_values, mask))
        fill = np.pad(np.zeros(s, get_aval(x).dtype), pw, constant_values=constant_values)
        if fill.any():
            from ._math import add
            out = add(out, fill)
        return out
    if mode not in _INDEX_MODES:
        raise NotImplementedError(f"pad: mode {mode!r} is not supported; use one of "
                                  f"'constant', {', '.join(map(repr, _INDEX_MODES))}")
    from ._indexing import take
    for ax, (lo, hi) in enumerate(pw):
        if lo or hi:
            if s[ax] == 0:
                raise ValueError(f"pad: cannot pad an empty axis {ax} with mode {mode!r}")
            x = take(x, np.pad(np.arange(s[ax]), (int(lo), int(hi)), mode=mode), axis=ax)
    return x


# ---------------------------------------------------------------- contractions

_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _letters(n, avoid=""):
    out = [c for c in _ALPHABET if c not in avoid][:n]
    if len(out) < n:
        raise ValueError(f"contraction needs {n} distinct index letters; at most "
                         f"{len(_ALPHABET) - len(set(avoid))} are available")
    return "".join(out)


def _contract_operands(x, y, op):
    x, y = promote(asarray(x), asarray(y), broadcast=False)
    return x, y, _shape(x), _shape(y)


def matmul(x, y):
    """NumPy matmul: 1-d operands are promoted and their axis removed; batch dims broadcast.

    >>> matmul(np.ones((2, 1, 3, 4)), np.ones((5, 4, 2))).shape
    (2, 5, 3, 2)
    """
    x, y, xs, ys = _contract_operands(x, y, "matmul")
    if not xs or not ys:
        raise ValueError(f"matmul: operands must be at least 1-d, got shapes {xs} and {ys} "
                         "(use multiply for scalars)")
    x1, y1 = len(xs) == 1, len(ys) == 1
    kx, ky = xs[-1], ys[0] if y1 else ys[-2]
    if kx != ky:
        raise ValueError(f"matmul: contraction dimension mismatch: {xs} @ {ys} "
                         f"(size {kx} vs {ky})")
    bx, by = (() if x1 else xs[:-2]), (() if y1 else ys[:-2])
    try:
        batch = np.broadcast_shapes(bx, by)
    except ValueError:
        raise ValueError(f"matmul: batch dimensions {bx} and {by} of {xs} @ {ys} do not "
                         "broadcast") from None
    m, k, n = "mkn"
    letters = _letters(len(batch), "mkn")

    def side(v, b, tail):
        # Drop size-1 batch dims that broadcast: the letter then comes from the other side.
        off = len(batch) - len(b)
        keep = [i for i, d in enumerate(b) if d == batch[off + i]]
        v = st.reshape(v, tuple(b[i] for i in keep) + _shape(v)[len(b):])
        return v, "".join(letters[off + i] for i in keep) + tail

    x, sx = side(x, bx, k if x1 else m + k)
    y, sy = side(y, by, k if y1 else k + n)
    out = letters + ("" if x1 else m) + ("" if y1 else n)
    return einsum2(x, y, f"{sx},{sy}->{out}")


def dot(x, y):
    """NumPy dot: sum over the last axis of ``x`` and the second-to-last of ``y``
    (the only axis of a 1-d ``y``); a product for 0-d operands."""
    x, y, xs, ys = _contract_operands(x, y, "dot")
    if not xs or not ys:
        from ._math import multiply
        return multiply(x, y)
    ky = ys[0] if len(ys) == 1 else ys[-2]
    if xs[-1] != ky:
        raise ValueError(f"dot: shapes {xs} and {ys} not aligned: {xs[-1]} (dim {len(xs) - 1}) "
                         f"!= {ky} (dim {max(len(ys) - 2, 0)})")
    a = _letters(len(xs) - 1 + len(ys) - 1 + 1)
    k, a, b = a[0], a[1:len(xs)], a[len(xs):]
    sy = k + b if len(ys) == 1 else b[:-1] + k + b[-1]
    return einsum2(x, y, f"{a}{k},{sy}->{a}{b}")


def tensordot(a, b, axes=2):
    """Sum products over ``axes``: an int N (last N of ``a`` with first N of ``b``) or a
    pair of axis sequences."""
    x, y, xs, ys = _contract_operands(a, b, "tensordot")
    if isinstance(axes, int | np.integer):
        n = int(axes)
        if n < 0 or n > len(xs) or n > len(ys):
            raise ValueError(f"tensordot: axes={n} is invalid for shapes {xs} and {ys}")
        ax, ay = tuple(range(len(xs) - n, len(xs))), tuple(range(n))
    else:
        try:
            ax, ay = axes
        except (TypeError, ValueError):
            raise TypeError(f"tensordot: axes must be an int or a pair of axis sequences, got "
                            f"{axes!r}") from None
        ax = _axes(ax, len(xs), "tensordot")
        ay = _axes(ay, len(ys), "tensordot")
        if len(ax) != len(ay):
            raise ValueError(f"tensordot: axes {axes!r} pair different numbers of axes")
    for i, j in zip(ax, ay, strict=True):
        if xs[i] != ys[j]:
            raise ValueError(f"tensordot: shape mismatch for sum: axis {i} of {xs} has size "
                             f"{xs[i]} but axis {j} of {ys} has size {ys[j]}")
    letters = iter(_letters(len(xs) + len(ys) - len(ax)))
    sx = [next(letters) for _ in xs]
    sy = [None] * len(ys)
    for i, j in zip(ax, ay, strict=True):
        sy[j] = sx[i]
    sy = [c if c is not None else next(letters) for c in sy]
    out = [c for i, c in enumerate(sx) if i not in ax] + [c for j, c in enumerate(sy) if j not in ay]
    return einsum2(x, y, f"{''.join(sx)},{''.join(sy)}->{''.join(out)}")


def outer(a, b):
    """Outer product of the flattened inputs (no conjugation)."""
    x, y = promote(ravel(a), ravel(b), broadcast=False)
    return einsum2(x, y, "i,j->ij")


def inner(a, b):
    """Sum over the last axes of ``a`` and ``b`` (a product for 0-d operands)."""
    x, y, xs, ys = _contract_operands(a, b, "inner")
    if not xs or not ys:
        from ._math import multiply
        return multiply(x, y)
    if xs[-1] != ys[-1]:
        raise ValueError(f"inner: last dimensions of {xs} and {ys} differ")
    letters = _letters(len(xs) + len(ys) - 1)
    k, sa, sb = letters[0], letters[1:len(xs)], letters[len(xs):]
    return einsum2(x, y, f"{sa}{k},{sb}{k}->{sa}{sb}")


def vdot(a, b):
    """Dot product of the flattened inputs, conjugating the first (as NumPy's vdot)."""
    x, y = promote(ravel(a), ravel(b), broadcast=False)
    if _shape(x) != _shape(y):
        raise ValueError(f"vdot: inputs have different sizes {_shape(x)[0]} and {_shape(y)[0]}")
    if np.issubdtype(get_aval(x).dtype, np.complexfloating):
        from ._math import conj
        x = conj(x)
    return einsum2(x, y, "i,i->")



# ---------------------------------------------------------------- einsum

def einsum(subscripts, *operands, optimize=None):
    """Einstein summation over any number of operands, reduced pairwise to ``einsum2``.

    Supports implicit and explicit output, ``...``, size-1 broadcasting, repeated
    indices within an operand (diagonals) and indices summed within one operand.

    >>> einsum("ii->i", np.arange(9.0).reshape(3, 3))
    array([0., 4., 8.])
    >>> einsum("ij,jk,k->i", np.ones((2, 3)), np.ones((3, 4)), np.arange(4.0))
    array([18., 18.])
    """
    if not isinstance(subscripts, str):
        raise TypeError("einsum: the first argument must be a subscripts string such as "
                        "'ij,jk->ik' (the interleaved operand form is not supported)")
    if not operands:
        raise ValueError("einsum: needs at least one operand")
    ops = promote(*[asarray(o) for o in operands], broadcast=False)
    terms, out = _parse_einsum(subscripts.replace(" ", ""), [_shape(o) for o in ops])
    size = {}
    for t, o in zip(terms, ops, strict=True):
        for c, d in zip(t, _shape(o), strict=True):
            if size.get(c, 1) not in (1, d) and d != 1:
                raise ValueError(f"einsum '{subscripts}': index {c!r} has sizes {size[c]} and {d} "
                                 f"(operand shapes {[_shape(o) for o in ops]})")
            size[c] = max(size.get(c, 1), d)
    ops, terms = zip(*[_diagonal(o, t, size, subscripts) for o, t in zip(ops, terms, strict=True)],
                     strict=True)
    ops, terms = list(ops), list(terms)

    def needed(i):
        # Indices operand i must keep: in the output or in some other operand.
        return set(out).union(*[terms[j] for j in range(len(terms)) if j != i])

    for i in range(len(ops)):
        ops[i], terms[i] = _sum_out(ops[i], terms[i], needed(i))
    while len(ops) > 1:
        best = None
        for i in range(len(ops)):
            for j in range(i + 1, len(ops)):
                rest = set(out).union(*[terms[k] for k in range(len(ops)) if k not in (i, j)])
                keep = "".join(c for c in terms[i] + terms[j] if c in rest)
                keep = "".join(dict.fromkeys(keep))
                cost = int(np.prod([size[c] for c in keep], dtype=np.int64))
                if best is None or cost < best[0]:
                    best = (cost, i, j, keep)
        _, i, j, keep = best
        res = einsum2(ops[i], ops[j], f"{terms[i]},{terms[j]}->{keep}")
        ops = [o for k, o in enumerate(ops) if k not in (i, j)] + [res]
        terms = [t for k, t in enumerate(terms) if k not in (i, j)] + [keep]
    x, t = ops[0], terms[0]
    missing = [c for c in out if c not in t]
    if missing:  # only size-1 broadcast indices can be absent here
        x = st.reshape(x, _shape(x) + (1,) * len(missing))
        t = t + "".join(missing)
    return st.transpose(x, tuple(t.index(c) for c in out))


def _parse_einsum(spec, shapes):
    """Per-operand index strings (ellipses expanded) and the output string."""
    if spec.count("->") > 1:
        raise ValueError(f"einsum: subscripts {spec!r} contain more than one '->'")
    lhs, arrow, rhs = spec.partition("->")
    ins = lhs.split(",")
    if len(ins) != len(shapes):
        raise ValueError(f"einsum: subscripts {spec!r} name {len(ins)} operands but "
                         f"{len(shapes)} were given")
    used = set(c for c in spec if c.isalpha())
    for c in spec:
        if not (c.isalpha() and c.isascii()) and c not in ",->.":
            raise ValueError(f"einsum: invalid character {c!r} in subscripts {spec!r}")
    n_ell = []
    for t, s in zip(ins, shapes, strict=True):
        if t.count("...") > 1 or t.replace("...", "").count("."):
            raise ValueError(f"einsum: invalid ellipsis in {t!r}")
        n = len(s) - len(t.replace("...", ""))
        if n < 0 or (n > 0 and "..." not in t):
            raise ValueError(f"einsum: subscripts {t!r} do not match an operand of rank {len(s)}")
        n_ell.append(n)
    ell = _letters(max(n_ell, default=0), "".join(used))
    terms = [t.replace("...", ell[len(ell) - n:] if n else "") for t, n in zip(ins, n_ell, strict=True)]
    if arrow:
        if rhs.count("...") > 1 or rhs.replace("...", "").count("."):
            raise ValueError(f"einsum: invalid ellipsis in output {rhs!r}")
        if ell and "..." not in rhs:
            raise ValueError(f"einsum '{spec}': operands have broadcast ('...') dimensions, so "
                             "the output must contain '...'")
        out = rhs.replace("...", ell)
        for c in out:
            if out.count(c) > 1:
                raise ValueError(f"einsum: output index {c!r} appears more than once in {rhs!r}")
            if not any(c in t for t in terms):
                raise ValueError(f"einsum: output index {c!r} does not appear in any operand")
    else:
        counts = {}
        for t in terms:
            for c in t:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in ell))
    return terms, out


def _diagonal(x, t, size, spec):
    """Take diagonals for indices repeated within one operand, and drop size-1 dims whose
    index is broadcast against a larger size elsewhere."""
    from ..primitives.indexing import gather
    for c in dict.fromkeys(t):
        pos = tuple(i for i, e in enumerate(t) if e == c)
        if len(pos) > 1:
            dims = {_shape(x)[p] for p in pos}
            if len(dims) > 1:
                raise ValueError(f"einsum '{spec}': repeated index {c!r} has sizes "
                                 f"{sorted(dims)} within one operand")
            ar = np.arange(dims.pop())
            x = gather(x, *([ar] * len(pos)), axes=pos)
            t = c + "".join(e for i, e in enumerate(t) if i not in pos)
    s = _shape(x)
    drop = [i for i, (c, d) in enumerate(zip(t, s, strict=True)) if d == 1 and size[c] > 1]
    if drop:
        x = st.reshape(x, tuple(d for i, d in enumerate(s) if i not in drop))
        t = "".join(c for i, c in enumerate(t) if i not in drop)
    return x, t


def _sum_out(x, t, needed):
    """Sum away indices no other operand or the output uses."""
    from ..primitives.reductions import reduce_sum
    axes = tuple(i for i, c in enumerate(t) if c not in needed)
    if not axes:
        return x, t
    return reduce_sum(x, axes), "".join(c for c in t if c in needed)
