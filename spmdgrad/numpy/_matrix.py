"""Matrix-shaped helpers: diagonals, triangles, traces, Kronecker and cross products,
rotations, Vandermonde matrices, and the index builders that go with them.

Diagonals are one ``gather`` with constant index arrays; triangles multiply by a
constant mask; so every function differentiates and batches through existing rules.

>>> import numpy as np
>>> diagonal(np.arange(9.0).reshape(3, 3), offset=1)
array([1., 5.])
>>> triu(np.ones((2, 3)), 1)
array([[0., 1., 1.],
       [0., 0., 1.]])
"""
from __future__ import annotations

import numpy as np

from ..core import get_aval
from ..primitives import structural as st
from ..primitives.indexing import gather
from . import _math as m
from . import _math as _m  # for functions whose NumPy parameter is named m
from . import _shape as sh
from ._contract import matmul
from ._core import asarray, doc_example, normalize_axis, promote
from ._indexing import _update_points, take

__all__ = ["diag", "diagonal", "diagflat", "triu", "tril", "tri", "trace", "kron", "rot90",
           "cross", "vander", "fill_diagonal", "diag_indices", "diag_indices_from",
           "tril_indices", "triu_indices", "tril_indices_from", "triu_indices_from",
           "mask_indices", "matrix_transpose", "matvec", "vecmat", "vecdot", "indices", "ix_"]


def _shape(x):
    return get_aval(x).shape


def diagonal(a, offset=0, axis1=0, axis2=1):
    """The ``offset`` diagonal of the 2-d slices over ``axis1``, ``axis2``; it becomes
    the last axis of the result (NumPy's layout).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.diagonal(np.arange(4.0).reshape(2, 2))
    array([0., 3.])
    """
    x = asarray(a)
    s = _shape(x)
    if len(s) < 2:
        raise ValueError(f"diagonal: the array must be at least 2-d, got shape {s}")
    a1, a2 = normalize_axis(axis1, len(s), "diagonal"), normalize_axis(axis2, len(s), "diagonal")
    if a1 == a2:
        raise ValueError("diagonal: axis1 and axis2 cannot be the same")
    offset = int(offset)
    n = max(0, min(s[a1] - max(-offset, 0), s[a2] - max(offset, 0)))
    i = np.arange(n) + max(-offset, 0)
    j = np.arange(n) + max(offset, 0)
    out = gather(x, i, j, axes=(a1, a2))  # (n,) + the other axes in order
    return sh.moveaxis(out, 0, -1)


def diag(v, k=0):
    """The ``k`` diagonal of a 2-d array, or a 2-d array with 1-d ``v`` on its ``k``
    diagonal.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.diag(np.array([1.0, 2.0]))
    array([[1., 0.],
           [0., 2.]])
    """
    x = asarray(v)
    s = _shape(x)
    if len(s) == 2:
        return diagonal(x, k)
    if len(s) != 1:
        raise ValueError(f"diag: input must be 1-d or 2-d, got shape {s}")
    n = s[0] + abs(int(k))
    out = np.zeros((n, n), get_aval(x).dtype)
    i = np.arange(s[0]) + max(-int(k), 0)
    j = np.arange(s[0]) + max(int(k), 0)
    return _update_points(out, x, (i, j), "set")


def diagflat(v, k=0):
    """A 2-d array with the flattened ``v`` on its ``k`` diagonal.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.diagflat(np.array([[1.0, 2.0]]), -1)
    array([[0., 0., 0.],
           [1., 0., 0.],
           [0., 2., 0.]])
    """
    return diag(sh.ravel(v), k)


def tri(N, M=None, k=0, dtype=None, *, like=None):  # noqa: N803
    """Ones at and below the ``k`` diagonal (a constant).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.tri(2, 3)
    array([[1., 0., 0.],
           [1., 1., 0.]])
    """
    return np.tri(N, M, k, dtype or np.float64)


def _triangle(name, lower):
    def f(m, k=0):
        x = asarray(m)
        s = _shape(x)
        if len(s) == 0:
            raise ValueError(f"{name}: input must be at least 1-d")
        rows, cols = (s[-1], s[-1]) if len(s) == 1 else s[-2:]
        mask = np.tri(rows, cols, k if lower else k - 1, dtype=bool)
        mask = mask if lower else ~mask
        zero = np.zeros((), get_aval(x).dtype)
        if len(s) == 1:
            x = sh.broadcast_to(x, (rows, cols))
        return _m.where(mask, x, zero)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = doc_example(f"{'Lower' if lower else 'Upper'} triangle of the last two axes (entries "
                            f"{'above' if lower else 'below'} the ``k`` diagonal set to zero).",
                            f"jnp.{name}(np.ones((2, 2)))",
                            "array([[1., 0.],\n       [1., 1.]])" if lower else
                            "array([[1., 1.],\n       [0., 1.]])")
    return f


tril = _triangle("tril", True)
triu = _triangle("triu", False)


def trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    """Sum of the ``offset`` diagonal.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.trace(np.arange(9.0).reshape(3, 3))
    np.float64(12.0)
    """
    m.check_out(out, "trace")
    return m.sum(diagonal(a, offset, axis1, axis2), -1, dtype)


def kron(a, b):
    """Kronecker product: blocks ``a[i, j] * b``.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.kron(np.eye(2), np.array([[1.0, 2.0]]))
    array([[1., 2., 0., 0.],
           [0., 0., 1., 2.]])
    """
    x, y = promote(asarray(a), asarray(b), broadcast=False)
    sa, sb = _shape(x), _shape(y)
    nd = max(len(sa), len(sb))
    sa, sb = (1,) * (nd - len(sa)) + sa, (1,) * (nd - len(sb)) + sb
    x = st.reshape(x, tuple(v for d in sa for v in (d, 1)))
    y = st.reshape(y, tuple(v for d in sb for v in (1, d)))
    return sh.reshape(m.multiply(x, y), tuple(p * q for p, q in zip(sa, sb, strict=True)))


def rot90(m, k=1, axes=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane of ``axes`` (first towards second).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.rot90(np.array([[1, 2], [3, 4]]))
    array([[2, 4],
           [1, 3]])
    """
    x = asarray(m)
    nd = len(_shape(x))
    if len(axes) != 2:
        raise ValueError("rot90: axes must name exactly two axes")
    a0, a1 = normalize_axis(axes[0], nd, "rot90"), normalize_axis(axes[1], nd, "rot90")
    if a0 == a1:
        raise ValueError("rot90: axes must be different")
    k = int(k) % 4
    if k == 0:
        return x
    if k == 2:
        return sh.flip(sh.flip(x, a0), a1)
    perm = list(range(nd))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    if k == 1:
        return sh.transpose(sh.flip(x, a1), perm)
    return sh.flip(sh.transpose(x, perm), a1)


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of 3-vectors (or 2-vectors, whose result is the z component).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.cross(np.array([1.0, 0, 0]), np.array([0.0, 1, 0]))
    array([0., 0., 1.])
    """
    if axis is not None:
        axisa = axisb = axisc = axis
    x, y = promote(asarray(a), asarray(b), broadcast=False)
    x = sh.moveaxis(x, axisa, -1)
    y = sh.moveaxis(y, axisb, -1)
    na, nb = _shape(x)[-1], _shape(y)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError(f"cross: incompatible dimensions for cross product (dimension must be 2 "
                         f"or 3), got {na} and {nb}")
    xs = [take(x, i, axis=-1) for i in range(na)] + ([np.zeros((), get_aval(x).dtype)] if na == 2 else [])
    ys = [take(y, i, axis=-1) for i in range(nb)] + ([np.zeros((), get_aval(y).dtype)] if nb == 2 else [])
    z = m.subtract(m.multiply(xs[0], ys[1]), m.multiply(xs[1], ys[0]))
    if na == 2 and nb == 2:
        return z
    cx = m.subtract(m.multiply(xs[1], ys[2]), m.multiply(xs[2], ys[1]))
    cy = m.subtract(m.multiply(xs[2], ys[0]), m.multiply(xs[0], ys[2]))
    parts = [asarray(p) for p in (cx, cy, z)]
    target = np.broadcast_shapes(*[_shape(p) for p in parts])
    out = sh.stack([sh.broadcast_to(p, target) for p in parts], -1)
    return sh.moveaxis(out, -1, axisc)


def vander(x, N=None, increasing=False):  # noqa: N803
    """Vandermonde matrix: columns ``x**(N-1), ..., x, 1`` (reversed if ``increasing``),
    built by repeated multiplication, so the derivative is exact at 0.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.vander(np.array([2.0, 3.0]), 3)
    array([[4., 2., 1.],
           [9., 3., 1.]])
    """
    x = asarray(x)
    if len(_shape(x)) != 1:
        raise ValueError(f"vander: x must be 1-d, got shape {_shape(x)}")
    n = _shape(x)[0] if N is None else int(N)
    cols, p = [], np.ones(_shape(x), np.result_type(get_aval(x).dtype, np.int8))
    for _ in range(n):
        cols.append(p)
        p = m.multiply(p, x)
    if not cols:
        return np.zeros(_shape(x) + (0,), get_aval(x).dtype)
    cols = [sh.broadcast_to(c, _shape(x)) for c in promote(*cols, broadcast=False)]
    out = sh.stack(cols, 1)
    return out if increasing else sh.flip(out, 1)


def fill_diagonal(a, val, wrap=False, inplace=True):
    """A copy of ``a`` with ``val`` on its main diagonal (JAX's functional form: pass
    ``inplace=False``; in-place writes are impossible on immutable arrays).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.fill_diagonal(np.zeros((2, 2)), 5.0, inplace=False)
    array([[5., 0.],
           [0., 5.]])
    """
    if inplace:
        raise NotImplementedError("fill_diagonal: spmdgrad arrays are immutable, so it cannot "
                                  "write in place; call fill_diagonal(a, val, inplace=False) "
                                  "and use the result")
    x = asarray(a)
    s = _shape(x)
    if len(s) < 2 or (len(s) > 2 and len(set(s)) != 1):
        raise ValueError(f"fill_diagonal: array must be at least 2-d with equal dimensions "
                         f"beyond 2-d, got shape {s}")
    n = min(s)
    if len(s) == 2 and wrap and s[0] > s[1] + 1:
        flat = np.arange(0, s[0] * s[1], s[1] + 1)
        idx = (flat // s[1], flat % s[1])
    else:
        idx = (np.arange(n),) * len(s)
    v = sh.ravel(asarray(val))
    k = len(idx[0])
    v = take(v, np.arange(k) % max(_shape(v)[0], 1)) if _shape(v)[0] != k else v
    return _update_points(x, v, idx, "set")


def diag_indices(n, ndim=2):
    """Index arrays of the main diagonal of an ``(n,) * ndim`` array.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.diag_indices(2)
    (array([0, 1]), array([0, 1]))
    """
    return np.diag_indices(n, ndim)


def diag_indices_from(arr):
    """``diag_indices`` for the shape of ``arr``.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.diag_indices_from(np.zeros((2, 2)))
    (array([0, 1]), array([0, 1]))
    """
    s = _shape(asarray(arr))
    if len(s) < 2 or len(set(s)) != 1:
        raise ValueError(f"diag_indices_from: all dimensions must be equal, got shape {s}")
    return np.diag_indices(s[0], len(s))


def tril_indices(n, k=0, m=None):
    """Indices of the lower triangle of an (n, m) array.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.tril_indices(2)
    (array([0, 1, 1]), array([0, 0, 1]))
    """
    return np.tril_indices(n, k, m)


def triu_indices(n, k=0, m=None):
    """Indices of the upper triangle of an (n, m) array.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.triu_indices(2)
    (array([0, 0, 1]), array([0, 1, 1]))
    """
    return np.triu_indices(n, k, m)


def tril_indices_from(arr, k=0):
    """``tril_indices`` for the last two dimensions of ``arr``.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.tril_indices_from(np.zeros((2, 2)))
    (array([0, 1, 1]), array([0, 0, 1]))
    """
    s = _shape(asarray(arr))
    return np.tril_indices(s[-2], k, s[-1])


def triu_indices_from(arr, k=0):
    """``triu_indices`` for the last two dimensions of ``arr``.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.triu_indices_from(np.zeros((2, 2)), 1)
    (array([0]), array([1]))
    """
    s = _shape(asarray(arr))
    return np.triu_indices(s[-2], k, s[-1])


def mask_indices(n, mask_func, k=0):
    """Indices where ``mask_func(ones((n, n)), k)`` is non-zero (a constant).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.mask_indices(2, np.triu)
    (array([0, 0, 1]), array([0, 1, 1]))
    """
    return np.nonzero(np.asarray(mask_func(np.ones((n, n), int), k)) != 0)


def indices(dimensions, dtype=int, sparse=False):
    """Grid index arrays (constants).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.indices((2, 2))[0]
    array([[0, 0],
           [1, 1]])
    """
    return np.indices(dimensions, dtype, sparse)


def ix_(*args):
    """Open-mesh index arrays: the ``i``-th argument reshaped to lie along axis ``i``.

    >>> import spmdgrad.numpy as jnp
    >>> [a.shape for a in jnp.ix_(np.arange(2), np.arange(3))]
    [(2, 1), (1, 3)]
    """
    out = []
    for i, a in enumerate(args):
        a = asarray(a)
        if len(_shape(a)) != 1:
            raise ValueError("ix_: cross index must be 1 dimensional")
        if get_aval(a).dtype == np.bool_:
            a = np.nonzero(np.asarray(a))[0]
        out.append(sh.reshape(a, (1,) * i + (-1,) + (1,) * (len(args) - i - 1)))
    return tuple(out)


def matrix_transpose(x):
    """Swap the last two axes.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.matrix_transpose(np.zeros((4, 2, 3))).shape
    (4, 3, 2)
    """
    x = asarray(x)
    if len(_shape(x)) < 2:
        raise ValueError(f"matrix_transpose: input must be at least 2-d, got shape {_shape(x)}")
    return sh.swapaxes(x, -1, -2)


def matvec(x1, x2):
    """Matrix-vector product over the last axes, batch axes broadcast.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.matvec(np.eye(2), np.array([1.0, 2.0]))
    array([1., 2.])
    """
    return take(matmul(x1, sh.expand_dims(x2, -1)), 0, axis=-1)


def vecmat(x1, x2):
    """Vector-matrix product (the vector conjugated), batch axes broadcast.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.vecmat(np.array([1.0, 2.0]), np.eye(2))
    array([1., 2.])
    """
    return take(matmul(sh.expand_dims(m.conj(x1), -2), x2), 0, axis=-2)


def vecdot(x1, x2, axis=-1):
    """``sum(conj(x1) * x2, axis)`` with broadcasting.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.vecdot(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    np.float64(11.0)
    """
    a, b = promote(x1, x2)
    return m.sum(m.multiply(m.conj(a), b), axis)
