"""``spmdgrad.numpy.linalg``: inv, solve, det, slogdet, cholesky, norm, and the
decompositions svd, eigh, eigvalsh, eig, eigvals, qr, pinv, lstsq, with matrix_power and
matrix_rank (conventions: ``docs/fft_and_decompositions.md``).

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

from ..core import Tracer, get_aval
from ..dtypes import is_complex
from ..primitives import decompositions as _dec
from ..primitives import linalg as la
from ..primitives.stop_gradient import stop_gradient
from ..primitives.elementwise import convert_element_type
from ..primitives.structural import reshape
from . import _math as m
from ._core import asarray, broadcast_to, ndim, normalize_axes, promote
from ._contract import matmul
from ._indexing import take_along_axis
from ._shape import expand_dims, moveaxis

__all__ = ["inv", "solve", "det", "slogdet", "cholesky", "norm", "LinAlgError", "SlogdetResult",
           "svd", "eigh", "eigvalsh", "eig", "eigvals", "qr", "pinv", "lstsq", "matrix_power",
           "matrix_rank", "SVDResult", "EighResult", "EigResult", "QRResult"]

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
    L = la.cholesky(m.multiply(m.add(a, la.mH(a)), 0.5))
    return la.mH(L) if upper else L


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
    if isinstance(ord, str) and ord == "nuc" or not isinstance(ord, str) and ord in (2, -2):
        return _spectral_norm(x, ord, axes)
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
      norm; ``ord`` None/'fro', 1, -1, inf, -inf, and from the singular values 2 (largest),
      -2 (smallest) and 'nuc' (their sum). Their derivatives come from the SVD; at equal
      largest (or smallest) singular values the derivative is split evenly among them.
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


# --------------------------------------------------------------------------- decompositions

SVDResult = namedtuple("SVDResult", ["U", "S", "Vh"])
EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])
EigResult = namedtuple("EigResult", ["eigenvalues", "eigenvectors"])
QRResult = namedtuple("QRResult", ["Q", "R"])


def _matrix(op, a, square=False):
    """``a`` as a float32/64 or complex array of shape (..., m, n), or a clear error."""
    a, = promote(asarray(a), to_float=True)
    dt = get_aval(a).dtype
    if dt == np.float16:   # LAPACK has no half precision
        a = convert_element_type(a, np.float32)
    s = get_aval(a).shape
    if len(s) < 2 or (square and s[-1] != s[-2]):
        want = "a square matrix or a stack of them, shape (..., n, n)" if square else \
            "a matrix or a stack of them, shape (..., m, n)"
        raise ValueError(f"{op}: expected {want}; got shape {s}")
    return a


def _hermitian_part(a):
    return m.multiply(m.add(a, la.mH(a)), 0.5)


def _triangle_hermitian(a, uplo):
    """The Hermitian matrix NumPy's eigh reads from one triangle of ``a``."""
    n = get_aval(a).shape[-1]
    keep = np.tril(np.ones((n, n)), -1) if uplo == "L" else np.triu(np.ones((n, n)), 1)
    half = m.multiply(a, (keep + 0.5 * np.eye(n)).astype(get_aval(a).dtype))
    return m.add(half, la.mH(half))


def _hermitian_input(op, a, UPLO, symmetrize_input):
    if UPLO not in (None, "L", "U"):
        raise ValueError(f"{op}: UPLO must be 'L' or 'U', got {UPLO!r}")
    a = _matrix(op, a, square=True)
    return _hermitian_part(a) if symmetrize_input else _triangle_hermitian(a, UPLO or "L")


def eigh(a, UPLO=None, symmetrize_input=True):
    """Eigenvalues (ascending, real) and eigenvectors of a Hermitian matrix or stack.

    As JAX: with ``symmetrize_input`` (the default) the decomposition is of
    ``(a + a^H) / 2``, so its derivative is the symmetric one; with
    ``symmetrize_input=False`` only the ``UPLO`` triangle is read (NumPy's values) and the
    derivative is that of the function of the triangle. Derivatives assume distinct
    eigenvalues: at equal eigenvalues the eigenvectors' derivative is inf/nan (as JAX's),
    the eigenvalues' is finite. Eigenvector signs are LAPACK's.

    >>> import numpy as np, spmdgrad, spmdgrad.numpy as jnp
    >>> w, v = jnp.linalg.eigh(np.array([[2.0, 1.0], [1.0, 2.0]]))
    >>> w
    array([1., 3.])
    >>> spmdgrad.grad(lambda a: jnp.linalg.eigh(a)[0][1])(np.array([[2.0, 1.0], [1.0, 2.0]]))
    array([[0.5, 0.5],
           [0.5, 0.5]])
    """
    w, v = _dec.eigh(_hermitian_input("eigh", a, UPLO, symmetrize_input))
    return EighResult(w, v)


def eigvalsh(a, UPLO="L", symmetrize_input=True):
    """Eigenvalues (ascending) of a Hermitian matrix; see :func:`eigh`. The derivative
    ``diag(V^H dA V)`` is finite at repeated eigenvalues too (their sum is smooth).

    >>> import numpy as np, spmdgrad, spmdgrad.numpy as jnp
    >>> spmdgrad.grad(lambda a: jnp.sum(jnp.linalg.eigvalsh(a)))(np.eye(2))
    array([[1., 0.],
           [0., 1.]])
    """
    return _dec.eigvalsh(_hermitian_input("eigvalsh", a, UPLO, symmetrize_input))


def _sorted_take(x, idx):
    return take_along_axis(x, idx, axis=-1)


def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    """Singular value decomposition ``a = U @ diag(S) @ Vh`` (``S`` descending), as NumPy.

    Derivatives follow JAX: exact for distinct non-zero singular values; at equal (or, for
    ``U``/``Vh``, zero) singular values the vectors' derivative is inf/nan, while ``S``'s is
    finite. ``U``/``Vh`` derivatives need ``full_matrices=False`` unless ``a`` is square
    (NotImplementedError otherwise). ``hermitian=True`` uses :func:`eigh` of
    ``(a + a^H) / 2``, as JAX.

    >>> import numpy as np, spmdgrad, spmdgrad.numpy as jnp
    >>> jnp.linalg.svd(np.array([[3.0, 0.0], [0.0, -4.0]]), compute_uv=False)
    array([4., 3.])
    >>> spmdgrad.grad(lambda a: jnp.linalg.svd(a, compute_uv=False)[0])(np.diag([3.0, -4.0]))
    array([[ 0.,  0.],
           [ 0., -1.]])
    """
    a = _matrix("svd", a)
    if hermitian:
        sq = get_aval(a).shape
        if sq[-1] != sq[-2]:
            raise ValueError(f"svd: hermitian=True needs square matrices, got shape {sq}")
        w, v = _dec.eigh(_hermitian_part(a))
        s = m.abs(w)
        order = m.argsort(m.negative(stop_gradient(s)), axis=-1)
        s = _sorted_take(s, order)
        if not compute_uv:
            return s
        u = _sorted_take(v, broadcast_to(order[..., None, :], sq))
        sign = _sorted_take(m.sign(stop_gradient(w)), order)
        vh = la.mH(m.multiply(u, convert_element_type(sign, get_aval(u).dtype)[..., None, :]))
        return SVDResult(u, s, vh)
    if not compute_uv:
        return _dec.svd(a, False, False)[0]
    u, s, vh = _dec.svd(a, full_matrices, True)
    return SVDResult(u, s, vh)


def eig(a):
    """Eigenvalues and right eigenvectors of a general square matrix, always complex (as JAX;
    NumPy returns real arrays when every eigenvalue is real). Each eigenvector has unit
    norm and its largest-magnitude component real (LAPACK's choice); the derivative keeps
    that normalisation (JAX's ``enable_eigvec_derivs`` rule) and assumes distinct
    eigenvalues (inf/nan otherwise).

    >>> import numpy as np, spmdgrad.numpy as jnp
    >>> jnp.linalg.eig(np.array([[2.0, 0.0], [0.0, 3.0]])).eigenvalues
    array([2.+0.j, 3.+0.j])
    """
    w, v = _dec.eig(_matrix("eig", a, square=True))
    return EigResult(w, v)


def eigvals(a):
    """Eigenvalues of a general square matrix (complex); derivative ``diag(V^-1 dA V)``.

    >>> import numpy as np, spmdgrad.numpy as jnp
    >>> jnp.linalg.eigvals(np.array([[0.0, -1.0], [1.0, 0.0]]))
    array([0.+1.j, 0.-1.j])
    """
    return _dec.eigvals(_matrix("eigvals", a, square=True))


def qr(a, mode="reduced"):
    """QR decomposition, NumPy's modes 'reduced' (default), 'complete' and 'r'.

    Derivatives are JAX's, for every mode and shape. The signs are LAPACK's (the diagonal
    of R may be negative), as in NumPy and JAX.

    >>> import numpy as np, spmdgrad.numpy as jnp
    >>> q, r = jnp.linalg.qr(np.array([[3.0, 1.0], [4.0, 2.0]]))
    >>> bool(np.allclose(q @ r, [[3.0, 1.0], [4.0, 2.0]]))
    True
    """
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"qr: mode must be 'reduced', 'complete' or 'r', got {mode!r}"
                         + (" ('raw' is not supported)" if mode == "raw" else ""))
    q, r = _dec.qr(_matrix("qr", a), mode == "complete")
    return r if mode == "r" else QRResult(q, r)


def _default_rtol(a):
    sh = get_aval(a).shape
    return 10.0 * max(sh[-2:]) * float(np.finfo(get_aval(a).dtype).eps)


def _rtol_operand(op, rtol, a):
    """``rtol`` as a real array of ``a``'s leading shape (the cutoff is per matrix)."""
    av = get_aval(a)
    rdt = np.finfo(av.dtype).dtype
    r = asarray(rtol)
    if np.issubdtype(get_aval(r).dtype, np.complexfloating):
        raise TypeError(f"{op}: rtol must be real, got {get_aval(r).dtype}")
    r = convert_element_type(r, rdt) if get_aval(r).dtype != rdt else r
    try:
        return broadcast_to(r, av.shape[:-2])
    except ValueError:
        raise ValueError(f"{op}: rtol of shape {get_aval(r).shape} does not broadcast to the stack "
                         f"shape {av.shape[:-2]} of a {av.shape}") from None


def pinv(a, rtol=None, hermitian=False, *, rcond=None):
    """Moore-Penrose pseudo-inverse; singular values ``<= rtol * largest`` count as zero.

    ``rtol`` (JAX's name; ``rcond`` is NumPy's, and either may be given) defaults to JAX's
    ``10 * max(m, n) * eps``. The derivative is Golub and Pereyra's formula, as in JAX:
    exact wherever the rank is locally constant, and finite at rank-deficient matrices.

    >>> import numpy as np, spmdgrad.numpy as jnp
    >>> jnp.linalg.pinv(np.array([[1.0, 0.0], [0.0, 0.0]]))
    array([[1., 0.],
           [0., 0.]])
    """
    if rcond is not None:
        if rtol is not None:
            raise ValueError("pinv: give only one of rtol and rcond")
        rtol = rcond
    a = _matrix("pinv", a)
    if hermitian:
        sq = get_aval(a).shape
        if sq[-1] != sq[-2]:
            raise ValueError(f"pinv: hermitian=True needs square matrices, got shape {sq}")
        a = _hermitian_part(a)
    rtol = _default_rtol(a) if rtol is None else rtol
    return _dec.pinv(a, _rtol_operand("pinv", rtol, a), hermitian)


def lstsq(a, b, rcond=None, *, numpy_resid=False):
    """Least-squares solution of ``a @ x = b``: ``(x, residuals, rank, s)`` as JAX/NumPy.

    ``a`` is (M, N), ``b`` (M,) or (M, K). ``x = pinv(a, rcond) @ b`` (the minimum-norm
    solution; ``rcond`` defaults to ``eps * max(M, N)``, negative means ``eps``), so its
    derivative is the pseudo-inverse's. ``residuals`` are the squared 2-norms of the
    columns of ``b - a @ x`` (shape (K,), or (1,) for a vector ``b``), always, as JAX;
    with ``numpy_resid=True`` they are empty when rank < N or M <= N, as NumPy (that
    needs a concrete rank).

    >>> import numpy as np, spmdgrad.numpy as jnp
    >>> x, res, rank, s = jnp.linalg.lstsq(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]),
    ...                                    np.array([1.0, 1.0, 0.0]))
    >>> x, int(rank)
    (array([0.33333333, 0.33333333]), 2)
    """
    a, b = promote(asarray(a), asarray(b), to_float=True, broadcast=False)
    a = _matrix("lstsq", a)
    ash, bsh = get_aval(a).shape, get_aval(b).shape
    if len(ash) != 2 or len(bsh) not in (1, 2) or bsh[0] != ash[0]:
        raise ValueError(f"lstsq: needs a of shape (M, N) and b of shape (M,) or (M, K); got a {ash} "
                         f"and b {bsh}")
    mm_, nn = ash
    eps = float(np.finfo(get_aval(a).dtype).eps)
    if rcond is None:
        rcond = eps * max(mm_, nn)
    elif not isinstance(rcond, Tracer) and float(rcond) < 0:
        rcond = eps
    bm = reshape(b, (bsh[0], 1)) if len(bsh) == 1 else b
    x = matmul(pinv(a, rtol=rcond), bm)
    s = svd(a, compute_uv=False)
    rank = matrix_rank(stop_gradient(a), rtol=rcond)
    resid = m.sum(_sq_abs(m.subtract(bm, matmul(a, x))), axis=0)
    if numpy_resid:
        if isinstance(rank, Tracer):
            raise ValueError("lstsq: numpy_resid=True needs a concrete rank (not under jit/vmap); "
                             "use the default numpy_resid=False")
        if rank < nn or mm_ <= nn:
            resid = np.zeros((0,), np.finfo(get_aval(a).dtype).dtype)
    if len(bsh) == 1:
        x = reshape(x, (nn,))
    return x, resid, rank, s


def matrix_power(a, n):
    """``a`` to the integer power ``n`` by repeated squaring (``n < 0`` inverts first,
    ``n == 0`` gives the identity), as NumPy.

    >>> import numpy as np, spmdgrad.numpy as jnp
    >>> jnp.linalg.matrix_power(np.array([[1, 1], [0, 1]]), 3)
    array([[1, 3],
           [0, 1]])
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer):
        raise TypeError(f"matrix_power: exponent must be an int, got {n!r}")
    a = asarray(a)
    sh = get_aval(a).shape
    if len(sh) < 2 or sh[-1] != sh[-2]:
        raise ValueError(f"matrix_power: expected a square matrix or a stack of them, got shape {sh}")
    if n == 0:
        return broadcast_to(np.eye(sh[-1], dtype=get_aval(a).dtype), sh)
    if n < 0:
        a, n = inv(a), -n
    result = None
    while n:
        if n & 1:
            result = a if result is None else matmul(result, a)
        n >>= 1
        if n:
            a = matmul(a, a)
    return result


def matrix_rank(M, rtol=None, *, tol=None, hermitian=False):  # noqa: N803 (NumPy's name)
    """Number of singular values above ``tol`` (absolute) or ``rtol * largest`` (relative;
    default ``max(m, n) * eps``), as JAX's signature; an int64 array, never differentiated.

    >>> import numpy as np, spmdgrad.numpy as jnp
    >>> int(jnp.linalg.matrix_rank(np.array([[1.0, 2.0], [2.0, 4.0]])))
    1
    """
    x, = promote(asarray(M), to_float=True)
    x = stop_gradient(x)
    sh = get_aval(x).shape
    if len(sh) < 2:
        return convert_element_type(m.any(m.not_equal(x, 0)), np.int64)
    s = svd(x, compute_uv=False, hermitian=hermitian)
    if tol is None:
        r = float(max(sh[-2:]) * np.finfo(get_aval(x).dtype).eps) if rtol is None else rtol
        tol = m.multiply(m.max(s, axis=-1, keepdims=True), r)
    elif rtol is not None:
        raise ValueError("matrix_rank: give only one of tol and rtol")
    else:
        tol = asarray(tol)
        tol = expand_dims(tol, -1) if ndim(tol) else tol
    return convert_element_type(m.sum(m.greater(s, tol), axis=-1), np.int64)


def _spectral_norm(x, ord, axes):  # noqa: A002
    nd = get_aval(x).ndim
    row, col = axes
    moved = moveaxis(x, (row, col), (nd - 2, nd - 1))
    s = svd(moved, compute_uv=False)
    out = m.sum(s, axis=-1) if ord == "nuc" else (m.max if ord == 2 else m.min)(s, axis=-1)
    keep = tuple(1 if i in axes else d for i, d in enumerate(get_aval(x).shape))
    return reshape(out, keep)
