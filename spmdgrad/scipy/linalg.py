"""``spmdgrad.scipy.linalg``: ``jax.scipy.linalg``'s dense linear algebra, differentiable
(to any order) and batched.

Matrices may be stacks (..., n, n): leading axes map, as in ``jnp.linalg``. Integers
become float64; complex matrices are supported. The ``overwrite_*``, ``check_finite``
and ``debug`` arguments are accepted for compatibility and ignored (inputs are never
modified), as in JAX.

>>> import numpy as np, spmdgrad
>>> from spmdgrad.scipy import linalg
>>> a = np.array([[4.0, 2.0], [2.0, 5.0]])
>>> linalg.cholesky(a)                     # upper by default, as SciPy
array([[2., 1.],
       [0., 2.]])
>>> c = linalg.cho_factor(a)
>>> np.allclose(a @ linalg.cho_solve(c, np.array([1.0, 2.0])), [1.0, 2.0])
True
"""
from __future__ import annotations

import numpy as np

from .. import numpy as jnp
from ..core import get_aval
from ..primitives import expm as _expm
from ..primitives import linalg as _la
from ..primitives import triangular as _tri
from ..primitives.structural import concatenate, pad, reshape
from ._util import promote_float

__all__ = ["block_diag", "cho_factor", "cho_solve", "cholesky", "det", "expm", "inv", "lu", "solve",
           "solve_triangular"]


def _matrix(op, a, square=True):
    a, = promote_float(op, a, allow_complex=True)
    s = get_aval(a).shape
    if len(s) < 2 or (square and s[-1] != s[-2]):
        want = "a square matrix or a stack of them, shape (..., n, n)" if square else \
            "a matrix or a stack of them, shape (..., m, n)"
        raise ValueError(f"{op}: expected {want}; got shape {s}")
    return a


def cholesky(a, lower=False, overwrite_a=False, check_finite=True):
    """Cholesky factor of a Hermitian positive-definite matrix: upper ``U`` with
    ``a = U^H U`` by default, lower ``L`` with ``a = L L^H`` if ``lower``.

    As in SciPy and JAX, only one triangle of ``a`` is read (the lower one if
    ``lower``, else the upper one) and ``a`` is not symmetrized, so the derivative is
    JAX's (``spmdgrad.numpy.linalg.cholesky`` symmetrizes instead). A matrix that is not
    positive definite raises LinAlgError.

    >>> import numpy as np
    >>> cholesky(np.array([[4.0, 2.0], [2.0, 5.0]]), lower=True)
    array([[2., 0.],
           [1., 2.]])
    """
    a = _matrix("cholesky", a)
    L = _la.cholesky(a if lower else _la.mH(a))
    return L if lower else _la.mH(L)


def cho_factor(a, lower=False, overwrite_a=False, check_finite=True):
    """``(c, lower)`` for :func:`cho_solve`; ``c`` is the Cholesky factor (its other
    triangle is zero, unlike SciPy's, whose other triangle is unspecified).

    >>> import numpy as np
    >>> cho_factor(np.array([[4.0]]))
    (array([[2.]]), False)
    """
    return cholesky(a, lower=lower), lower


def _rhs(op, a, b):
    """``(a, b, vector)``: ``b`` as (..., n, k) with leading axes broadcast against ``a``'s."""
    a, b = promote_float(op, a, b, allow_complex=True, broadcast=False)
    ashape, bshape = get_aval(a).shape, get_aval(b).shape
    if len(ashape) < 2 or ashape[-1] != ashape[-2]:
        raise ValueError(f"{op}: a must be a square matrix or a stack of them, shape (..., n, n); "
                         f"got shape {ashape}")
    n = ashape[-1]
    vector = len(bshape) == 1
    if not bshape or bshape[-2 + vector] != n:
        raise ValueError(f"{op}: a has shape {ashape} and b has shape {bshape}; b must be a vector "
                         f"(n,) or a stack of matrices (..., n, k) with n = {n}")
    if vector:
        b = reshape(b, (bshape[0], 1))
        bshape = get_aval(b).shape
    try:
        lead = np.broadcast_shapes(ashape[:-2], bshape[:-2])
    except ValueError:
        raise ValueError(f"{op}: the leading axes of a {ashape} and b {bshape} do not broadcast "
                         "together") from None
    return jnp.broadcast_to(a, lead + (n, n)), jnp.broadcast_to(b, lead + bshape[-2:]), vector


def _unrhs(x, vector):
    return jnp.squeeze(x, -1) if vector else x


_TRANS = {0: 0, "N": 0, 1: 1, "T": 1, 2: 2, "C": 2}


def solve_triangular(a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False,
                     debug=None, check_finite=True):
    """Solve ``op(a) x = b`` for a triangular ``a``, reading only its lower (``lower``) or
    upper triangle; ``trans`` 0/'N', 1/'T' or 2/'C' picks ``op`` = identity, transpose or
    conjugate transpose; ``unit_diagonal`` takes the diagonal as ones.

    >>> import numpy as np
    >>> solve_triangular(np.array([[2.0, 0.0], [1.0, 1.0]]), np.array([2.0, 3.0]), lower=True)
    array([1., 2.])
    """
    if isinstance(trans, bool) or trans not in _TRANS:
        raise ValueError(f"solve_triangular: invalid trans {trans!r}; use 0, 1, 2, 'N', 'T' or 'C'")
    a, b, vector = _rhs("solve_triangular", a, b)
    return _unrhs(_tri.triangular_solve(a, b, lower, _TRANS[trans], unit_diagonal), vector)


def cho_solve(c_and_lower, b, overwrite_b=False, check_finite=True):
    """Solve ``a x = b`` given ``(c, lower) = cho_factor(a)``.

    >>> import numpy as np
    >>> a = np.array([[4.0, 2.0], [2.0, 5.0]])
    >>> np.allclose(cho_solve(cho_factor(a, lower=True), np.eye(2)), np.linalg.inv(a))
    True
    """
    if not (isinstance(c_and_lower, tuple | list) and len(c_and_lower) == 2):
        raise TypeError("cho_solve: the first argument must be the pair (c, lower) returned by "
                        "cho_factor")
    c, lower = c_and_lower
    c, b, vector = _rhs("cho_solve", c, b)
    if lower:   # a = L L^H
        y = _tri.triangular_solve(c, b, True, 0)
        x = _tri.triangular_solve(c, y, True, 2)
    else:       # a = U^H U
        y = _tri.triangular_solve(c, b, False, 2)
        x = _tri.triangular_solve(c, y, False, 0)
    return _unrhs(x, vector)


_ASSUME_A = ("gen", "general", "sym", "symmetric", "her", "hermitian", "pos", "positive definite")


def solve(a, b, lower=False, overwrite_a=False, overwrite_b=False, debug=False, check_finite=True,
          assume_a="gen"):
    """Solve ``a x = b``; ``b`` is (n,) or (..., n, k).

    ``assume_a`` ('gen', 'sym', 'her' or 'pos') is validated but every case uses an LU
    solve of the full matrix, so values and derivatives equal JAX's (whose 'pos'
    derivative also uses the full matrix) for matrices that satisfy the assumption.

    >>> import numpy as np
    >>> solve(np.array([[2.0, 0.0], [0.0, 4.0]]), np.array([1.0, 1.0]), assume_a="pos")
    array([0.5 , 0.25])
    """
    if assume_a not in _ASSUME_A:
        raise ValueError(f"solve: assume_a must be one of 'gen', 'sym', 'her', 'pos', got {assume_a!r}")
    return jnp.linalg.solve(a, b)


def inv(a, overwrite_a=False, check_finite=True):
    """Inverse of a square matrix (or of each matrix in a stack).

    >>> import numpy as np
    >>> inv(np.array([[2.0, 0.0], [0.0, 4.0]]))
    array([[0.5 , 0.  ],
           [0.  , 0.25]])
    """
    return jnp.linalg.inv(_matrix("inv", a))


def det(a, overwrite_a=False, check_finite=True):
    """Determinant of a square matrix (or of each matrix in a stack).

    >>> import numpy as np
    >>> round(float(det(np.array([[1.0, 2.0], [3.0, 4.0]]))), 12)
    -2.0
    """
    return jnp.linalg.det(_matrix("det", a))


def lu(a, permute_l=False, overwrite_a=False, check_finite=True):
    """LU factorisation with partial pivoting: ``(p, l, u)`` with ``a = p @ l @ u``, or
    ``(p @ l, u)`` if ``permute_l``. ``a`` is (..., m, n); ``l`` is (m, k) unit lower and
    ``u`` (k, n) upper with ``k = min(m, n)``; ``p`` is a permutation matrix of ``a``'s
    dtype (its derivative is zero). ``u`` must be non-singular for the derivative.

    >>> import numpy as np
    >>> p, l, u = lu(np.array([[1.0, 2.0], [3.0, 4.0]]))
    >>> p
    array([[0., 1.],
           [1., 0.]])
    >>> bool(np.allclose(p @ l @ u, [[1.0, 2.0], [3.0, 4.0]]))
    True
    """
    p, lower, upper = _tri.lu(_matrix("lu", a, square=False))
    return (jnp.matmul(p, lower), upper) if permute_l else (p, lower, upper)


def expm(A, *, upper_triangular=False, max_squarings=16):
    """Matrix exponential (SciPy's scaling and squaring). Its derivative is the Fréchet
    derivative, computed with the same algorithm; every order is available.
    ``upper_triangular`` and ``max_squarings`` are accepted for JAX compatibility.

    >>> import numpy as np
    >>> expm(np.array([[0.0, 1.0], [0.0, 0.0]]))
    array([[1., 1.],
           [0., 1.]])
    """
    return _expm.expm(_matrix("expm", A))


def block_diag(*arrs):
    """Block-diagonal matrix of the inputs (0-d as 1x1, 1-D as a row), as SciPy.

    >>> import numpy as np
    >>> block_diag(np.array([[1.0, 2.0]]), 3.0)
    array([[1., 2., 0.],
           [0., 0., 3.]])
    """
    if not arrs:
        return np.zeros((1, 0))
    arrs = [jnp.asarray(a) for a in arrs]
    dt = jnp.result_type(*arrs)
    mats = []
    for i, a in enumerate(arrs):
        s = get_aval(a).shape
        if len(s) > 2:
            raise ValueError(f"block_diag: argument {i} has shape {s}; arguments must have at most "
                             "two dimensions")
        a = jnp.asarray(a, dt) if get_aval(a).dtype != dt else a
        mats.append(reshape(a, (1,) * (2 - len(s)) + s))
    widths = [get_aval(m).shape[1] for m in mats]
    total = sum(widths)
    rows, left = [], 0
    for m, w in zip(mats, widths):
        rows.append(pad(m, ((0, 0, 0), (left, total - left - w, 0))))
        left += w
    return concatenate(rows, 0)
