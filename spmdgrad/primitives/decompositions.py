"""Matrix decompositions with JAX's derivative conventions: eigh, eigvalsh, svd, qr.

Like :mod:`spmdgrad.primitives.linalg`, every primitive acts on the last two axes and
maps over the leading ones, so a vmap batch is one more leading axis and one LAPACK
call. JVP rules are written with spmdgrad primitives (the decompositions themselves,
``einsum2``, elementwise ops), so second derivatives work. None of these is linear, so
none has a transpose rule.

Formulas, with ``dA`` the tangent and ``X^H`` the conjugate transpose:

- eigh ``A = V diag(w) V^H`` (Hermitian ``A``): ``P = V^H dA V``, ``dw = Re diag(P)``,
  ``dV = V (F * P)`` with ``F_ij = 1 / (w_j - w_i)`` off the diagonal and 0 on it. Equal
  eigenvalues make ``F`` infinite: ``dV`` is inf/nan there, exactly as in JAX; ``dw`` is
  finite (``eigvalsh`` has its own primitive, so its derivative never touches ``F``).
- svd ``A = U diag(s) V^H``: ``dS = U^H dA V``, ``ds = Re diag(dS)``; ``dU``/``dV`` are
  JAX's, with ``F_ij = 1 / (s_j^2 - s_i^2)``, the phase of ``dU`` chosen by
  ``(dS - dS^H) / (2 s)`` on the diagonal, and the ``(I - U U^H) dA V / s`` terms for a
  non-square ``A``. Equal or zero singular values make the vectors' derivatives inf/nan,
  as in JAX.
- qr ``A = Q R`` (``m >= n``, reduced): ``C = Q^H dA R^-1``, ``Omega = L - L^H`` with
  ``L`` the strictly lower part of ``C`` (plus ``i Im diag C`` for complex),
  ``dQ = Q (Omega - C) + dA R^-1``, ``dR = (C - Omega) R``. Wide ``A`` (``m < n``)
  differentiates the square block and ``R_2 = Q^H A_2``; mode='complete' of a tall ``A``
  adds the columns that keep ``Q`` unitary (arXiv:2409.13374, as JAX).
"""
from __future__ import annotations

import numpy as np

from .. import ad, batching
from ..core import Primitive, abstract_rules, get_aval, impl_rules
from ..dtypes import is_complex, real_dtype
from .contraction import einsum2
from .elementwise import abs_p, add, conj, convert_element_type, div, eq, imag, mul, neg, real, sub
from .elementwise import complex as make_complex
from .linalg import lead, mH, mm, mT, solve
from .reductions import argmax
from .structural import broadcast_batch, broadcast_in_dim, concatenate, pad, reduce_sum, slice


def diagonal(x):
    """The diagonal of each (n, n) matrix, shape (..., n)."""
    a = get_aval(x)
    return einsum2(x, np.eye(a.shape[-1], dtype=a.dtype), f"{lead(a.ndim)}ij,ij->{lead(a.ndim)}i")


def const(m, aval, dtype=None):
    """A constant (n, n) matrix broadcast to ``aval``'s shape."""
    dt = aval.dtype if dtype is None else dtype
    return np.ascontiguousarray(np.broadcast_to(np.asarray(m, dt), aval.shape))


def rows(w, shape):
    """``out[..., i, j] = w[..., j]`` (each row is ``w``)."""
    nd = len(shape)
    return broadcast_in_dim(w, shape, tuple(range(nd - 2)) + (nd - 1,))


def cols(w, shape):
    """``out[..., i, j] = w[..., i]`` (each column is ``w``)."""
    nd = len(shape)
    return broadcast_in_dim(w, shape, tuple(range(nd - 2)) + (nd - 2,))


def gap_reciprocal(d, aval):
    """``1 / d`` off the diagonal and 0 on it (``d`` is (..., n, n), zero diagonal)."""
    eye = const(np.eye(aval.shape[-1]), aval, get_aval(d).dtype)
    return sub(div(np.array(1, get_aval(d).dtype), add(d, eye)), eye)


def _check_matrix(op, a, square):
    if a.ndim < 2 or (square and a.shape[-1] != a.shape[-2]):
        want = "a square matrix or a stack of them, shape (..., n, n)" if square else \
            "a matrix or a stack of them, shape (..., m, n)"
        raise ValueError(f"{op}: expected {want}; got shape {a.shape}")
    if a.dtype not in (np.float32, np.float64, np.complex64, np.complex128):
        raise TypeError(f"{op}: expected a float32/64 or complex64/128 matrix, got {a.dtype.name} "
                        "(spmdgrad.numpy.linalg converts for you)")


def impl(op, fn):
    """Run ``fn``; a LinAlgError is re-raised naming the op and the input shape."""
    def run(*args, **params):
        try:
            return fn(*args, **params)
        except np.linalg.LinAlgError as e:
            raise np.linalg.LinAlgError(f"{op}: {e} (input shape {np.shape(args[0])})") from None
    return run


def batch_leading(prim):
    """The batch axis is one more leading axis, which the primitive already maps over."""
    def rule(size, vals, batched, **params):
        out = prim.bind(vals[0], **params)
        return out, ([True] * len(out) if prim.multiple_results else True)
    batching.batch_rules[prim] = rule


# --------------------------------------------------------------------------- eigh
eigh_p = Primitive("eigh", multiple_results=True)


def eigh(a, lower=True):
    """``[w, v]`` of a Hermitian ``a`` (only the ``lower`` or upper triangle is read);
    ``w`` ascending, real."""
    return eigh_p.bind(a, lower=bool(lower))


def _eigh_impl(a, lower):
    w, v = np.linalg.eigh(a, UPLO="L" if lower else "U")
    return [w, v]


def _eigh_abstract(a, lower):
    _check_matrix("eigh", a, True)
    return [(a.shape[:-1], real_dtype(a.dtype)), (a.shape, a.dtype)]


def _eigh_jvp(primals, tangents, lower):
    a, = primals
    t, = tangents
    w, v = eigh(a, lower)
    av = get_aval(v)
    p = mm(mm(mH(v), t), v)
    wc = convert_element_type(w, av.dtype)
    f = gap_reciprocal(sub(rows(wc, av.shape), cols(wc, av.shape)), av)
    return [w, v], [real(diagonal(p)) if is_complex(av.dtype) else diagonal(p), mm(v, mul(f, p))]


impl_rules[eigh_p] = impl("eigh", _eigh_impl)
abstract_rules[eigh_p] = _eigh_abstract
ad.jvp_rules[eigh_p] = _eigh_jvp
batch_leading(eigh_p)

# --------------------------------------------------------------------------- eigvalsh
eigvalsh_p = Primitive("eigvalsh")


def eigvalsh(a, lower=True):
    """Ascending eigenvalues of a Hermitian ``a``; its derivative needs no eigenvalue gaps."""
    return eigvalsh_p.bind(a, lower=bool(lower))


def _eigvalsh_abstract(a, lower):
    _check_matrix("eigvalsh", a, True)
    return a.shape[:-1], real_dtype(a.dtype)


def _eigvalsh_jvp(primals, tangents, lower):
    a, = primals
    t, = tangents
    w, v = eigh(a, lower)
    d = diagonal(mm(mm(mH(v), t), v))
    return w, real(d) if is_complex(get_aval(d).dtype) else d


impl_rules[eigvalsh_p] = impl("eigvalsh", lambda a, lower: np.linalg.eigvalsh(a, UPLO="L" if lower else "U"))
abstract_rules[eigvalsh_p] = _eigvalsh_abstract
ad.jvp_rules[eigvalsh_p] = _eigvalsh_jvp
batch_leading(eigvalsh_p)

# --------------------------------------------------------------------------- svd
svd_p = Primitive("svd", multiple_results=True)


def svd(a, full_matrices=False, compute_uv=True):
    """``[u, s, vh]`` (or ``[s]`` without ``compute_uv``), NumPy's order; ``s`` descending."""
    return svd_p.bind(a, full_matrices=bool(full_matrices), compute_uv=bool(compute_uv))


def _svd_impl(a, full_matrices, compute_uv):
    if not compute_uv:
        return [np.linalg.svd(a, compute_uv=False)]
    u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)
    return [u, s, vh]


def _svd_abstract(a, full_matrices, compute_uv):
    _check_matrix("svd", a, False)
    m, n = a.shape[-2:]
    k = min(m, n)
    s = (a.shape[:-2] + (k,), real_dtype(a.dtype))
    if not compute_uv:
        return [s]
    ur, vc = (m, n) if full_matrices else (k, k)
    return [(a.shape[:-2] + (m, ur), a.dtype), s, (a.shape[:-2] + (vc, n), a.dtype)]


def _svd_jvp(primals, tangents, full_matrices, compute_uv):
    a, = primals
    t, = tangents
    aval = get_aval(a)
    m, n = aval.shape[-2:]
    if compute_uv and full_matrices and m != n:
        raise NotImplementedError(
            f"svd: the derivative of U and Vh with full_matrices=True is not defined for a "
            f"non-square matrix (shape {aval.shape}): the extra singular vectors are not unique. "
            "Pass full_matrices=False (jvp/grad/vjp of svd).")
    u, s, vh = svd(a, False, True)
    v = mH(vh)
    ds_mat = mm(mm(mH(u), t), v)
    dg = diagonal(ds_mat)
    ds = real(dg) if is_complex(aval.dtype) else dg
    if not compute_uv:
        return [s], [ds]
    kk = get_aval(s).shape[-1]
    sq = get_aval(ds_mat)
    rdt = get_aval(s).dtype
    shape_r = sq.shape[:-2] + (kk, kk)
    s_row, s_col = rows(s, shape_r), cols(s, shape_r)
    f = gap_reciprocal(mul(add(s_row, s_col), sub(s_row, s_col)), get_aval(s_row))
    fc = convert_element_type(f, aval.dtype)
    s_rowc, s_colc = convert_element_type(s_row, aval.dtype), convert_element_type(s_col, aval.dtype)
    dss, sds = mul(s_rowc, ds_mat), mul(s_colc, ds_mat)       # dS diag(s), diag(s) dS
    # 1/s on the diagonal, 0 off it and where s == 0 (the phase of a zero singular value's vectors)
    zero = convert_element_type(_eq0(s), rdt)
    s_inv = sub(div(np.array(1, rdt), add(s, zero)), zero)
    eye = const(np.eye(kk), get_aval(s_row), rdt)
    s_inv_mat = convert_element_type(mul(rows(s_inv, shape_r), eye), aval.dtype)
    half = np.array(0.5, aval.dtype)
    du = mm(u, add(mul(fc, add(dss, mH(dss))), mul(mul(half, sub(ds_mat, mH(ds_mat))), s_inv_mat)))
    dv = mm(v, mul(fc, add(sds, mH(sds))))
    if m > n:
        dav = mm(t, v)
        du = add(du, div(sub(dav, mm(u, mm(mH(u), dav))), rows(convert_element_type(s, aval.dtype),
                                                                  aval.shape[:-2] + (m, kk))))
    if n > m:
        dahu = mm(mH(t), u)
        dv = add(dv, div(sub(dahu, mm(v, mm(vh, dahu))), rows(convert_element_type(s, aval.dtype),
                                                               aval.shape[:-2] + (n, kk))))
    return [u, s, vh], [du, ds, mH(dv)]


def _eq0(s):
    return eq(s, np.array(0, get_aval(s).dtype))


impl_rules[svd_p] = impl("svd", _svd_impl)
abstract_rules[svd_p] = _svd_abstract
ad.jvp_rules[svd_p] = _svd_jvp
batch_leading(svd_p)

# --------------------------------------------------------------------------- qr
qr_p = Primitive("qr", multiple_results=True)


def qr(a, full_matrices=False):
    """``[q, r]``: ``q`` (..., m, k) with orthonormal columns, ``r`` (..., k, n) upper
    triangular, ``k = min(m, n)`` (``k = m`` for ``q`` with ``full_matrices``)."""
    return qr_p.bind(a, full_matrices=bool(full_matrices))


def _qr_impl(a, full_matrices):
    q, r = np.linalg.qr(a, mode="complete" if full_matrices else "reduced")
    return [q, r]


def _qr_abstract(a, full_matrices):
    _check_matrix("qr", a, False)
    m, n = a.shape[-2:]
    k = m if full_matrices else min(m, n)
    return [(a.shape[:-2] + (m, k), a.dtype), (a.shape[:-2] + (k, n), a.dtype)]


def _thin_qr_jvp(q, r, t):
    av = get_aval(t)
    n = av.shape[-1]
    t_rinv = mT(solve(mT(r), mT(t)))                  # dA R^-1
    c = mm(mH(q), t_rinv)
    cav = get_aval(c)
    low = mul(c, const(np.tril(np.ones((n, n)), -1), cav))
    omega = sub(low, mH(low))
    if is_complex(cav.dtype):   # the diagonal of R stays real: keep i Im diag(C) in Omega
        zero = np.zeros((), real_dtype(cav.dtype))
        omega = add(omega, mul(make_complex(zero, imag(c)), const(np.eye(n), cav)))
    return add(mm(q, sub(omega, c)), t_rinv), mm(sub(c, omega), r)


def _qr_jvp(primals, tangents, full_matrices):
    a, = primals
    t, = tangents
    q, r = qr(a, full_matrices)
    aval = get_aval(a)
    m, n = aval.shape[-2:]
    nd = aval.ndim
    if m >= n:
        if not full_matrices or m == n:
            dq, dr = _thin_qr_jvp(q, r, t)
            return [q, r], [dq, dr]
        return [q, r], _complete_tall_qr_jvp(q, r, t, m, n)
    # Wide: A = [A1 | A2] with A1 square; A1 = Q R1 and R2 = Q^H A2.
    zeros = (0,) * nd
    first = aval.shape[:-1] + (m,)
    r1 = slice(r, zeros, get_aval(r).shape[:-1] + (m,))
    t1 = slice(t, zeros, first)
    t2 = slice(t, zeros[:-1] + (m,), aval.shape)
    a2 = slice(a, zeros[:-1] + (m,), aval.shape)
    dq, dr1 = _thin_qr_jvp(q, r1, t1)
    dr2 = add(mm(mH(dq), a2), mm(mH(q), t2))
    return [q, r], [dq, concatenate([dr1, dr2], nd - 1)]


def _cut(x, axis, lo, hi):
    """``x[..., lo:hi]`` along ``axis`` (-1 or -2)."""
    shape = get_aval(x).shape
    nd = len(shape)
    start = [0] * nd
    limit = list(shape)
    start[nd + axis], limit[nd + axis] = lo, hi
    return slice(x, tuple(start), tuple(limit))


def _complete_tall_qr_jvp(q, r, t, m, n):
    """mode='complete', m > n (Roberts and Roberts, arXiv:2409.13374, eqs. 32-33): the first n
    columns of Q move as in the reduced case; the other m - n follow from Q staying unitary,
    with Z = Q_pn (Q_nn - I)^-1 (a solve; Q_nn - I singular gives inf/nan or LinAlgError)."""
    q_mn, q_mp = _cut(q, -1, 0, n), _cut(q, -1, n, m)
    dq_mn, dr_nn = _thin_qr_jvp(q_mn, _cut(r, -2, 0, n), t)
    q_nn, q_pn = _cut(q_mn, -2, 0, n), _cut(q_mn, -2, n, m)
    dq_nn, dq_pn = _cut(dq_mn, -2, 0, n), _cut(dq_mn, -2, n, m)
    eye = const(np.eye(n), get_aval(q_nn))
    z_h = solve(mH(sub(q_nn, eye)), mH(q_pn))
    z = mH(z_h)
    dq_mp = sub(mm(dq_mn, z_h), mm(add(q_mn, mm(q_mp, z)), mH(sub(dq_pn, mm(z, dq_nn)))))
    nd = get_aval(q).ndim
    dr = pad(dr_nn, [(0, 0, 0)] * (nd - 2) + [(0, m - n, 0), (0, 0, 0)])
    return [concatenate([dq_mn, dq_mp], nd - 1), dr]


impl_rules[qr_p] = impl("qr", _qr_impl)
abstract_rules[qr_p] = _qr_abstract
ad.jvp_rules[qr_p] = _qr_jvp
batch_leading(qr_p)


# --------------------------------------------------------------------------- eig, eigvals
# General (non-Hermitian) eigendecomposition A V = V diag(w); always complex, as in JAX.
# LAPACK's geev (NumPy's and JAX's) normalises each eigenvector to unit 2-norm with its
# largest-magnitude component real; the derivative of V follows that choice (JAX's, with
# enable_eigvec_derivs): dV = U + V diag(c), U = V (F * P), P = V^-1 dA V, where c_j keeps
# ||v_j|| = 1 and the k_j-th component (k_j = argmax_i |v_ij|) real.
eig_p = Primitive("eig", multiple_results=True)
eigvals_p = Primitive("eigvals")


def eig(a):
    """``[w, v]`` of a square ``a``, complex."""
    return eig_p.bind(a)


def eigvals(a):
    """Eigenvalues of a square ``a``, complex (in the order ``eig`` gives)."""
    return eigvals_p.bind(a)


def _complex_dtype(dt):
    return np.dtype(np.complex64) if dt in (np.float32, np.complex64) else np.dtype(np.complex128)


def _eig_impl(a):
    w, v = np.linalg.eig(a)
    c = _complex_dtype(a.dtype)
    return [w.astype(c), v.astype(c)]


def _eig_abstract(a):
    _check_matrix("eig", a, True)
    c = _complex_dtype(a.dtype)
    return [(a.shape[:-1], c), (a.shape, c)]


def _eigvals_abstract(a):
    _check_matrix("eigvals", a, True)
    return a.shape[:-1], _complex_dtype(a.dtype)


def _eig_p_matrix(a, t):
    """``w, v, P = V^-1 dA V`` (``dA`` as complex)."""
    w, v = eig(a)
    dt = get_aval(v).dtype
    tc = t if get_aval(t).dtype == dt else convert_element_type(t, dt)
    return w, v, mm(solve(v, tc), v)


def _eig_jvp(primals, tangents):
    (a,), (t,) = primals, tangents
    w, v, p = _eig_p_matrix(a, t)
    vav = get_aval(v)
    nd, n = vav.ndim, vav.shape[-1]
    f = gap_reciprocal(sub(rows(w, vav.shape), cols(w, vav.shape)), vav)
    u = mm(v, mul(f, p))
    k = argmax(abs_p.bind(v), nd - 2)
    iota = const(np.arange(n)[:, None], vav, get_aval(k).dtype)     # row index i
    mask = convert_element_type(eq(rows(k, vav.shape), iota), vav.dtype)
    re_part = neg(real(reduce_sum(mul(conj(v), u), (nd - 2,))))
    im_part = div(neg(imag(reduce_sum(mul(mask, u), (nd - 2,)))), real(reduce_sum(mul(mask, v), (nd - 2,))))
    c = make_complex(re_part, im_part)
    return [w, v], [diagonal(p), add(u, mul(v, rows(c, vav.shape)))]


def _eigvals_jvp(primals, tangents):
    (a,), (t,) = primals, tangents
    w, _, p = _eig_p_matrix(a, t)
    return w, diagonal(p)


impl_rules[eig_p] = impl("eig", _eig_impl)
abstract_rules[eig_p] = _eig_abstract
ad.jvp_rules[eig_p] = _eig_jvp
batch_leading(eig_p)
impl_rules[eigvals_p] = impl("eigvals", lambda a: np.linalg.eigvals(a).astype(_complex_dtype(a.dtype)))
abstract_rules[eigvals_p] = _eigvals_abstract
ad.jvp_rules[eigvals_p] = _eigvals_jvp
batch_leading(eigvals_p)

# --------------------------------------------------------------------------- pinv
# P = pinv(A), singular values <= rtol * s_max dropped (rtol per matrix, an operand).
# JVP (Golub and Pereyra 1973), exact while the rank is locally constant, which the
# cutoff makes true at rank-deficient A too (no 1/s blows up, unlike going through svd):
#   dP = -P dA P + P P^H dA^H (I - A P) + (I - P A) dA^H P^H P
pinv_p = Primitive("pinv")


def pinv(a, rtol, hermitian=False):
    """Moore-Penrose pseudo-inverse of each (m, n) matrix; ``rtol`` has ``a``'s leading shape."""
    return pinv_p.bind(a, rtol, hermitian=bool(hermitian))


def _pinv_impl(a, rtol, hermitian):
    m, n = a.shape[-2:]
    if m == 0 or n == 0:
        return np.zeros(a.shape[:-2] + (n, m), a.dtype)
    return np.linalg.pinv(a, rcond=rtol, hermitian=hermitian).astype(a.dtype, copy=False)


def _pinv_abstract(a, rtol, hermitian):
    _check_matrix("pinv", a, False)
    if rtol.shape != a.shape[:-2] or rtol.dtype != real_dtype(a.dtype):
        raise ValueError(f"pinv: rtol must have shape {a.shape[:-2]} and dtype {real_dtype(a.dtype)}, "
                         f"got {rtol.shape} {rtol.dtype} (spmdgrad.numpy.linalg.pinv broadcasts)")
    return a.shape[:-2] + (a.shape[-1], a.shape[-2]), a.dtype


def _pinv_jvp(primals, tangents, hermitian):
    a, rtol = primals
    t = tangents[0]                      # rtol: piecewise constant, derivative 0
    p = pinv(a, rtol, hermitian)
    if t is None:
        return p, None
    m, n = get_aval(a).shape[-2:]
    th = mH(t)
    if m >= n:
        s = mm(mm(p, mH(p)), th)
        q = mm(mm(th, mH(p)), p)
        dp = add(sub(add(neg(mm(mm(p, t), p)), s), mm(mm(s, a), p)), sub(q, mm(mm(p, a), q)))
    else:
        s = mm(p, mm(mH(p), th))
        q = mm(th, mm(mH(p), p))
        dp = add(sub(add(neg(mm(p, mm(t, p))), s), mm(s, mm(a, p))), sub(q, mm(p, mm(a, q))))
    return p, dp


def _pinv_batch(size, vals, batched, hermitian):
    a, rtol = [v if b else broadcast_batch(v, size) for v, b in zip(vals, batched)]
    return pinv(a, rtol, hermitian), True


impl_rules[pinv_p] = impl("pinv", _pinv_impl)
abstract_rules[pinv_p] = _pinv_abstract
ad.jvp_rules[pinv_p] = _pinv_jvp
batching.batch_rules[pinv_p] = _pinv_batch
