"""The ``numpy.linalg`` functions that are compositions of front-end operations
(``multi_dot``, the array-API names ``vector_norm``, ``matrix_norm``,
``vecdot``, ...). :func:`extend` adds those that :mod:`spmdgrad.numpy.linalg` does
not define itself, so that module keeps its own definitions.

>>> import numpy as np
>>> multi_dot([np.eye(2), np.array([[1.0, 1.0], [0.0, 1.0]]), np.ones(2)])
array([2., 1.])
"""
from __future__ import annotations

import numpy as np

from ..core import get_aval
from . import _math as m
from . import _matrix as mx
from . import _shape as sh
from . import linalg as la
from ._contract import matmul, outer as _outer, tensordot
from ._core import asarray

__all__ = ["cross", "diagonal", "matmul", "matrix_norm", "matrix_transpose",
           "multi_dot", "outer", "tensordot", "trace", "vecdot", "vector_norm", "tensorsolve",
           "tensorinv"]

matrix_transpose = mx.matrix_transpose


def cross(x1, x2, /, *, axis=-1):
    """Cross product of 3-vectors along ``axis``.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.linalg.cross(np.array([1.0, 0, 0]), np.array([0.0, 1, 0]))
    array([0., 0., 1.])
    """
    if get_aval(asarray(x1)).shape[axis] != 3 or get_aval(asarray(x2)).shape[axis] != 3:
        raise ValueError("linalg.cross: both inputs must have 3 entries along axis")
    return mx.cross(x1, x2, axis=axis)


def diagonal(x, /, *, offset=0):
    """The ``offset`` diagonal of the last two axes.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.linalg.diagonal(np.eye(2))
    array([1., 1.])
    """
    return mx.diagonal(x, offset, -2, -1)


def trace(x, /, *, offset=0, dtype=None):
    """Sum of the ``offset`` diagonal of the last two axes.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.linalg.trace(np.eye(3))
    np.float64(3.0)
    """
    return mx.trace(x, offset, -2, -1, dtype)


def outer(x1, x2, /):
    """Outer product of two 1-d arrays.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.linalg.outer(np.array([1.0, 2.0]), np.array([3.0]))
    array([[3.],
           [6.]])
    """
    if get_aval(asarray(x1)).ndim != 1 or get_aval(asarray(x2)).ndim != 1:
        raise ValueError("linalg.outer: inputs must be 1-d")
    return _outer(x1, x2)


def vecdot(x1, x2, /, *, axis=-1):
    """``sum(conj(x1) * x2, axis)``.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.linalg.vecdot(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    np.float64(11.0)
    """
    return mx.vecdot(x1, x2, axis)


def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):  # noqa: A002
    """Vector norm over ``axis`` (all entries if None).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.linalg.vector_norm(np.array([3.0, 4.0]))
    array(5.)
    """
    x = asarray(x)
    if axis is None:
        out = la.norm(sh.ravel(x), ord)
        return sh.reshape(out, (1,) * get_aval(x).ndim) if keepdims else out
    if isinstance(axis, tuple) and len(axis) > 1:
        keep = [i for i in range(get_aval(x).ndim) if i not in [a % get_aval(x).ndim for a in axis]]
        moved = sh.transpose(x, keep + [a % get_aval(x).ndim for a in axis])
        flat = sh.reshape(moved, tuple(get_aval(moved).shape[:len(keep)]) + (-1,))
        out = la.norm(flat, ord, -1)
        if keepdims:
            out = sh.reshape(out, tuple(1 if i not in keep else d
                                        for i, d in enumerate(get_aval(x).shape)))
        return out
    return la.norm(x, ord, axis, keepdims)


def matrix_norm(x, /, *, keepdims=False, ord="fro"):  # noqa: A002
    """Matrix norm of the last two axes.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.linalg.matrix_norm(np.array([[3.0, 0.0], [0.0, 4.0]]))
    array(5.)
    """
    return la.norm(x, ord, (-2, -1), keepdims)


def multi_dot(arrays, *, out=None):
    """``arrays[0] @ arrays[1] @ ...`` in the cheapest order (1-d ends are vectors).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.linalg.multi_dot([np.ones(2), np.eye(2), np.ones(2)])
    array(2.)
    """
    m.check_out(out, "multi_dot")
    arrays = [asarray(a) for a in arrays]
    if len(arrays) < 2:
        raise ValueError("multi_dot: expecting at least two arrays")
    first, last = get_aval(arrays[0]).ndim == 1, get_aval(arrays[-1]).ndim == 1
    if first:
        arrays[0] = sh.reshape(arrays[0], (1, -1))
    if last:
        arrays[-1] = sh.reshape(arrays[-1], (-1, 1))
    dims = [get_aval(arrays[0]).shape[0]] + [get_aval(a).shape[1] for a in arrays]
    n = len(arrays)
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = None
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if cost[i][j] is None or c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k

    def chain(i, j):
        return arrays[i] if i == j else matmul(chain(i, split[i][j]), chain(split[i][j] + 1, j))
    out = chain(0, n - 1)
    if first and last:
        return sh.reshape(out, ())
    if first or last:
        return sh.reshape(out, (-1,))
    return out


def tensorsolve(a, b, axes=None):
    """Solve ``tensordot(a, x, x.ndim) = b`` for ``x``.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.linalg.tensorsolve(np.eye(2), np.array([1.0, 2.0]))
    array([1., 2.])
    """
    x = asarray(a)
    nd = get_aval(x).ndim
    if axes is not None:
        allaxes = [i for i in range(nd) if i not in [ax % nd for ax in axes]] + list(axes)
        x = sh.transpose(x, allaxes)
    bs = get_aval(asarray(b)).shape
    xs = get_aval(x).shape[get_aval(asarray(b)).ndim:]
    n = int(np.prod(bs, dtype=np.int64))
    if int(np.prod(xs, dtype=np.int64)) != n:
        raise ValueError("tensorsolve: a's shape does not match b's (the problem is not square)")
    return sh.reshape(la.solve(sh.reshape(x, (n, n)), sh.ravel(b)), xs)


def tensorinv(a, ind=2):
    """The inverse with respect to ``tensordot(., ., ind)``.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.linalg.tensorinv(2 * np.eye(2), 1)
    array([[0.5, 0. ],
           [0. , 0.5]])
    """
    x = asarray(a)
    s = get_aval(x).shape
    out_shape = s[ind:] + s[:ind]
    n = int(np.prod(s[:ind], dtype=np.int64))
    if int(np.prod(s[ind:], dtype=np.int64)) != n:
        raise ValueError("tensorinv: the product of the first ind dimensions must equal that of "
                         "the rest")
    return sh.reshape(la.inv(sh.reshape(x, (n, -1))), out_shape)





def extend(module):
    """Add the functions above that ``module`` (spmdgrad.numpy.linalg) lacks."""
    g = globals()
    for name in __all__:
        if not hasattr(module, name):
            setattr(module, name, g[name])
