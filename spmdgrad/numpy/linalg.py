"""``spmdgrad.numpy.linalg``: inv, solve, det, slogdet, cholesky, norm.

NumPy semantics: every function acts on the last two axes and maps over the
leading ones; integer inputs become float64. Each result can be differentiated
(to any order) and batched with vmap/pmap.

>>> import numpy as np, spmdgrad, spmdgrad.numpy as jnp
>>> a = np.array([[4.0, 1.0], [2.0, 3.0]])
>>> bool(np.isclose(jnp.linalg.det(a), 10.0))
True
>>> np.allclose(spmdgrad.grad(jnp.linalg.det)(a), np.linalg.det(a) * np.linalg.inv(a).T)
True
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
from numpy.linalg import LinAlgError  # noqa: F401  (re-exported, as numpy.linalg does)

from ..core import get_aval
from ..dtypes import is_complex
from ..primitives import linalg as la
from ..primitives.elementwise import convert_element_type
from ..primitives.structural import reshape
from . import _math as m
from ._core import asarray, broadcast_to, normalize_axes, promote
from ._shape import swapaxes

__all__ = ["inv", "solve", "det", "slogdet", "cholesky", "norm", "LinAlgError", "SlogdetResult"]

SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])


def _square(op, a):
    """``a`` as a float/complex array of shape (..., n, n), or a clear error."""
    a, = promote(asarray(a), to_float=True)
    s = get_aval(a).shape
    if len(s) < 2 or s[-1] != s[-2]:
        raise ValueError(f"{op}: expected a square matrix or a stack of them, shape (..., n, n); "
                         f"got shape {s}")
    return a


def inv(a):
    """Inverse of a square matrix, or of each matrix in a stack (..., n, n).

    >>> import numpy as np, spmdgrad.numpy as jnp
    >>> jnp.linalg.inv(np.array([[2.0, 0.0], [0.0, 4.0]]))
    array([[0.5 , 0.  ],
           [0.  , 0.25]])
    """
    return la.inv(_square("inv", a))


def solve(a, b):
    """Solve ``a @ x = b`` for ``x``.

    ``a`` is (..., n, n). ``b`` is a vector (n,), giving x of shape (..., n), or a
    stack of matrices (..., n, k) whose leading axes broadcast against ``a``'s (NumPy 2
    rules). The derivative with respect to ``b`` is again a solve (with ``a``
    transposed in reverse mode).

    >>> import numpy as np, spmdgrad.numpy as jnp
    >>> jnp.linalg.solve(np.array([[2.0, 0.0], [0.0, 4.0]]), np.array([1.0, 1.0]))
    array([0.5 , 0.25])
    """
    a = _square("solve", a)
    b = asarray(b)
    a, b = promote(a, b, to_float=True, broadcast=False)
    ashape, bshape = get_aval(a).shape, get_aval(b).shape
    n = ashape[-1]
    lead = ashape[:-2]
    if len(bshape) == 1:
        if bshape[0] != n:
            raise ValueError(f"solve: a has shape {ashape} and b has shape {bshape}; a vector b "
                             f"needs length n = {n}")
        x = la.solve(a, broadcast_to(reshape(b, (n, 1)), lead + (n, 1)))
        return reshape(x, lead + (n,))
    if len(bshape) < 1 or bshape[-2] != n:
        raise ValueError(f"solve: a has shape {ashape} and b has shape {bshape}; b must be a "
                         f"vector (n,) or a stack of matrices (..., n, k) with n = {n}")
    try:
        lead = np.broadcast_shapes(lead, bshape[:-2])
    except ValueError:
        raise ValueError(f"solve: the leading axes of a {ashape} and b {bshape} do not "
                         "broadcast together") from None
    return la.solve(broadcast_to(a, lead + (n, n)), broadcast_to(b, lead + bshape[-2:]))


def det(a):
    """Determinant of a square matrix, or of each matrix in a stack.

    Its derivative is the (transposed) adjugate, ``det(a) * inv(a).T`` for a non-singular
    ``a``, computed from an SVD so that first and second derivatives are exact at singular
    matrices too (rank n-1 and lower). Third derivatives raise NotImplementedError.

    >>> import numpy as np, spmdgrad.numpy as jnp
    >>> float(jnp.linalg.det(np.array([[1.0, 2.0], [3.0, 4.0]])))
    -2.0000000000000004
    >>> import spmdgrad
    >>> spmdgrad.grad(jnp.linalg.det)(np.array([[1.0, 2.0], [2.0, 4.0]]))  # singular
    array([[ 4., -2.],
           [-2.,  1.]])
    """
    return la.det(_square("det", a))


def slogdet(a):
    """``(sign, logabsdet)`` with ``det(a) == sign * exp(logabsdet)``, stably.

    The sign is piecewise constant for real ``a`` (zero derivative). For complex
    ``a`` the sign is a unit complex number whose phase is differentiated.

    >>> import numpy as np, spmdgrad.numpy as jnp
    >>> sign, logdet = jnp.linalg.slogdet(np.array([[0.0, 2.0], [3.0, 0.0]]))
    >>> float(sign), bool(np.isclose(logdet, np.log(6.0)))
    (-1.0, True)
    """
    sign, logabsdet = la.slogdet(_square("slogdet", a))
    return SlogdetResult(sign, logabsdet)


def cholesky(a, upper=False):
    """Cholesky factor of a Hermitian positive-definite matrix (or stack of them).

    Returns lower-triangular ``L`` with ``a = L @ L^H``, or ``L^H`` if ``upper``.
    Only the Hermitian part ``(a + a^H) / 2`` of ``a`` is used (as JAX does), so the
    value equals NumPy's for Hermitian input and the derivative is the symmetric one.
    A matrix that is not positive definite raises LinAlgError naming ``cholesky``.

    >>> import numpy as np, spmdgrad.numpy as jnp
    >>> jnp.linalg.cholesky(np.array([[4.0, 2.0], [2.0, 5.0]]))
    array([[2., 0.],
           [1., 2.]])
    """
    a = _square("cholesky", a)
    L = la.cholesky(m.multiply(m.add(a, _mH(a)), 0.5))
    return _mH(L) if upper else L


def _mH(x):
    xt = swapaxes(x, -1, -2)
    return m.conj(xt) if is_complex(get_aval(x).dtype) else xt


# --------------------------------------------------------------------------- norm

def _sq_abs(x):
    """``|x|**2`` elementwise, smooth also for complex x (no abs at 0)."""
    if is_complex(get_aval(x).dtype):
        return m.real(m.multiply(x, m.conj(x)))
    return m.multiply(x, x)


def _safe_root(s, p):
    """``s ** (1/p)`` for ``s >= 0``, with value and derivatives 0 where ``s == 0``.

    The root is not differentiable at 0; the double ``where`` keeps the NaN of
    ``0 * inf`` out of both the value and every derivative.
    """
    nz = m.greater(s, 0)
    safe = m.where(nz, s, 1.0)
    root = m.sqrt(safe) if p == 2 else m.power(safe, 1.0 / p)
    return m.where(nz, root, 0.0)


def _vector_norm(x, ord, axes):  # noqa: A002
    if ord is None or ord == 2:
        return _safe_root(m.sum(_sq_abs(x), axis=axes, keepdims=True), 2)
    if isinstance(ord, str):
        raise ValueError(f"norm: invalid order {ord!r} for a vector norm (axis has one entry); "
                         "use ord=None, 1, 2, inf, -inf, 0 or a number")
    if ord == np.inf:
        return m.max(m.abs(x), axis=axes, keepdims=True)
    if ord == -np.inf:
        return m.min(m.abs(x), axis=axes, keepdims=True)
    if ord == 0:
        nonzero = m.not_equal(x, 0)
        return convert_element_type(m.sum(nonzero, axis=axes, keepdims=True), _real_dtype(x))
    if ord == 1:
        return m.sum(m.abs(x), axis=axes, keepdims=True)
    p = float(ord)
    return _safe_root(m.sum(m.power(m.abs(x), p), axis=axes, keepdims=True), p)


def _matrix_norm(x, ord, axes):  # noqa: A002
    row, col = axes
    if ord is None or ord == "fro":
        return _safe_root(m.sum(_sq_abs(x), axis=axes, keepdims=True), 2)
    if ord in (1, -1):     # largest / smallest column sum
        pick = m.max if ord == 1 else m.min
        return pick(m.sum(m.abs(x), axis=row, keepdims=True), axis=col, keepdims=True)
    if ord in (np.inf, -np.inf):  # largest / smallest row sum
        pick = m.max if ord == np.inf else m.min
        return pick(m.sum(m.abs(x), axis=col, keepdims=True), axis=row, keepdims=True)
    if ord in ("nuc", 2, -2):
        raise NotImplementedError(f"norm: the matrix norm ord={ord!r} needs singular values, "
                                  "which spmdgrad.numpy.linalg does not provide; use ord='fro', "
                                  "1 or inf")
    raise ValueError(f"norm: invalid order {ord!r} for a matrix norm (axis has two entries); "
                     "use None, 'fro', 1, -1, inf or -inf")


def _real_dtype(x):
    dt = get_aval(x).dtype
    return np.finfo(dt).dtype if is_complex(dt) else dt


def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002
    """Vector or matrix norm, as ``numpy.linalg.norm``.

    - ``axis`` an int (or a 1-D ``x`` with ``axis=None``): vector norm; ``ord`` None/2
      (Euclidean), 1, inf, -inf, 0 (count of non-zeros) or any other number p.
    - ``axis`` a pair (or a 2-D ``x`` with ``axis=None`` and ``ord`` given): matrix
      norm; ``ord`` None/'fro', 1, -1, inf, -inf. The spectral norms (2, -2, 'nuc')
      are not provided.
    - ``axis=None, ord=None``: the 2-norm of all entries, any rank.

    Derivative at zero: the 2-norm (and 'fro', and p-norms) is not differentiable at
    the zero vector; spmdgrad defines its derivative there as 0 (every order), so
    ``grad(norm)(zeros(n))`` is zeros, never NaN. The 1-norm and max-norm use
    ``sign(0) = 0`` and split ties evenly among maximal entries.

    >>> import numpy as np, spmdgrad, spmdgrad.numpy as jnp
    >>> float(jnp.linalg.norm(np.array([3.0, 4.0])))
    5.0
    >>> spmdgrad.grad(jnp.linalg.norm)(np.zeros(2))
    array([0., 0.])
    """
    x, = promote(asarray(x), to_float=True)
    shape = get_aval(x).shape
    nd = len(shape)
    if axis is None:
        if ord is None:
            axes = tuple(range(nd))
            out = _safe_root(m.sum(_sq_abs(x), axis=axes, keepdims=True), 2)
            return out if keepdims else reshape(out, ())
        if nd not in (1, 2):
            raise ValueError(f"norm: ord={ord!r} with axis=None needs a 1-D or 2-D array, got "
                             f"shape {shape}; pass axis=k (vector) or axis=(r, c) (matrix)")
        axes = tuple(range(nd))
    else:
        axes = normalize_axes(axis, nd, "norm")
    if len(axes) == 1:
        out = _vector_norm(x, ord, axes)
    elif len(axes) == 2:
        out = _matrix_norm(x, ord, axes)
    else:
        raise ValueError(f"norm: axis must be an int or a pair of ints, got {axis!r} for an "
                         f"array of shape {shape}")
    if keepdims:
        return out
    return reshape(out, tuple(d for i, d in enumerate(shape) if i not in axes))
