"""Shape manipulation and contractions of the NumPy front end."""
from __future__ import annotations

import numpy as np

from ..core import get_aval
from ..primitives import structural as st
from ..primitives.contraction import einsum2
from ._core import asarray, normalize_axis, promote


def reshape(x, newshape, order="C"):
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
    return st.reshape(x, newshape)


def transpose(x, axes=None):
    x = asarray(x)
    nd = get_aval(x).ndim
    perm = tuple(reversed(range(nd))) if axes is None else tuple(
        normalize_axis(a, nd, "transpose") for a in axes)
    return st.transpose(x, perm)


def moveaxis(x, source, destination):
    x = asarray(x)
    nd = get_aval(x).ndim
    src = normalize_axis(source, nd, "moveaxis")
    dst = normalize_axis(destination, nd, "moveaxis")
    perm = [i for i in range(nd) if i != src]
    perm.insert(dst, src)
    return st.transpose(x, perm)


def swapaxes(x, axis1, axis2):
    x = asarray(x)
    nd = get_aval(x).ndim
    a, b = normalize_axis(axis1, nd, "swapaxes"), normalize_axis(axis2, nd, "swapaxes")
    perm = list(range(nd))
    perm[a], perm[b] = perm[b], perm[a]
    return st.transpose(x, perm)


_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def matmul(x, y):
    """NumPy matmul semantics (1-d promotion, broadcast batch dims)."""
    x, y = promote(asarray(x), asarray(y), broadcast=False)
    xs, ys = get_aval(x).shape, get_aval(y).shape
    if not xs or not ys:
        raise ValueError("matmul: operands must be at least 1-d (use multiply for scalars)")
    if len(xs) == 1 and len(ys) == 1:
        return einsum2(x, y, "k,k->")
    if len(ys) == 1:
        return einsum2(x, y, _LETTERS[:len(xs) - 1] + "k," + "k->" + _LETTERS[:len(xs) - 1])
    if len(xs) == 1:
        b = _LETTERS[:len(ys) - 2]
        return einsum2(x, y, f"k,{b}kn->{b}n")
    bx, by = xs[:-2], ys[:-2]
    batch = np.broadcast_shapes(bx, by)
    from ._core import broadcast_to
    if bx != batch:
        x = broadcast_to(x, batch + xs[-2:])
    if by != batch:
        y = broadcast_to(y, batch + ys[-2:])
    if xs[-1] != ys[-2]:
        raise ValueError(f"matmul: contraction dimension mismatch: {xs} @ {ys}")
    b = _LETTERS[:len(batch)]
    return einsum2(x, y, f"{b}mk,{b}kn->{b}mn")


def dot(x, y):
    """NumPy dot: sum over the last axis of x and the second-to-last of y."""
    x, y = promote(asarray(x), asarray(y), broadcast=False)
    xs, ys = get_aval(x).shape, get_aval(y).shape
    if not xs or not ys:
        from ._math import multiply
        return multiply(x, y)
    if len(ys) <= 2:
        return matmul(x, y)
    a = _LETTERS[:len(xs) - 1]
    b = _LETTERS[len(xs) - 1:len(xs) - 1 + len(ys) - 2]
    return einsum2(x, y, f"{a}Z,{b}ZY->{a}{b}Y")
