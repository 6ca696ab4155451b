"""Dense linear algebra primitives: inv, solve, det, slogdet, cholesky.

Every primitive acts on the last two axes and maps over any leading axes, as
NumPy's ``linalg`` functions do. That makes batching trivial: the batch axis is
one more leading axis. Shapes are strict (``solve`` needs equal leading axes);
:mod:`spmdgrad.numpy.linalg` broadcasts and promotes first.

JVP rules are written with spmdgrad primitives (``einsum2``, ``transpose``,
elementwise ops and these primitives themselves), so derivatives of
derivatives work. Only ``solve`` is linear (in its right-hand side), so it is
the only one with a transpose rule.

Formulas (``A`` square, ``dA`` its tangent):

- ``d inv(A) = -inv(A) dA inv(A)``
- ``d solve(A, B) = solve(A, dB - dA X)`` with ``X = solve(A, B)``
- ``d det(A) = tr(adj(A) dA)``, with the adjugate ``adj(A)`` (``det(A) inv(A)`` when ``A`` is
  non-singular) taken from an SVD, so it is exact at singular matrices too (see ``adjugate``)
- ``d log|det A| = Re tr(inv(A) dA)``; for complex ``A``, ``d sign = sign * i Im tr(inv(A) dA)``
- ``d chol(A) = L Phi(inv(L) dA inv(L)^H)``, ``Phi`` = lower triangle with the diagonal
  halved; valid for Hermitian ``dA`` (the front end symmetrizes its input).
"""
from __future__ import annotations

import numpy as np

from .. import ad, batching
from ..core import Primitive, abstract_rules, get_aval, impl_rules
from ..dtypes import is_complex, real_dtype
from .contraction import einsum2
from .elementwise import complex as make_complex
from .elementwise import conj, convert_element_type, imag, mul, neg, real, sub
from .structural import broadcast_batch, reshape, transpose

# Letters for the leading (stacked) axes; the matrix axes use i, j, k.
_LEAD = "abcdefghlmnopqrstuvwxyz"


def lead(nd):
    """Letters for the ``nd - 2`` leading axes of a stack of matrices (shared by the
    linalg primitive modules)."""
    if nd - 2 > len(_LEAD):
        raise ValueError(f"linalg: at most {len(_LEAD)} leading axes are supported, got {nd - 2}")
    return _LEAD[:nd - 2]


def mm(x, y):
    """``x @ y`` over equal leading axes."""
    b = lead(get_aval(x).ndim)
    return einsum2(x, y, f"{b}ij,{b}jk->{b}ik")


def _trace_of_product(x, y):
    """``trace(x @ y)`` over equal leading axes, without forming the product."""
    b = lead(get_aval(x).ndim)
    return einsum2(x, y, f"{b}ij,{b}ji->{b}")


def mT(x):
    """Swap the last two axes."""
    nd = get_aval(x).ndim
    return transpose(x, tuple(range(nd - 2)) + (nd - 1, nd - 2))


def mH(x):
    """Conjugate transpose over the last two axes (plain transpose for real dtypes)."""
    return conj(mT(x)) if is_complex(get_aval(x).dtype) else mT(x)


# --------------------------------------------------------------------------- shape checks

def _check_square(op, a):
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{op}: expected a square matrix or a stack of them, shape (..., n, n); "
                         f"got shape {a.shape}")
    if not np.issubdtype(a.dtype, np.inexact):
        raise TypeError(f"{op}: expected a float or complex matrix, got dtype {a.dtype.name} "
                        "(spmdgrad.numpy.linalg converts integers to float64 for you)")


def _square_abstract(op):
    def rule(a):
        _check_square(op, a)
        return a.shape, a.dtype
    return rule


def _reduce_abstract(op):
    def rule(a):
        _check_square(op, a)
        return a.shape[:-2], a.dtype
    return rule


def _impl(op, fn):
    """Run ``fn``; a LinAlgError (singular, not positive definite) is re-raised naming the op."""
    def impl(*args):
        try:
            return fn(*args)
        except np.linalg.LinAlgError as e:
            shapes = ", ".join(str(np.shape(a)) for a in args)
            raise np.linalg.LinAlgError(f"{op}: {e} (input shape {shapes})") from None
    return impl


def _batch_unary(prim):
    # The batch axis is one more leading axis, which the primitive already maps over.
    def rule(size, vals, batched):
        return prim.bind(vals[0]), ([True] * 2 if prim.multiple_results else True)
    batching.batch_rules[prim] = rule


# --------------------------------------------------------------------------- inv
inv_p = Primitive("inv")


def inv(a):
    """Inverse of a square matrix (or of each matrix in a stack)."""
    return inv_p.bind(a)


impl_rules[inv_p] = _impl("inv", np.linalg.inv)
abstract_rules[inv_p] = _square_abstract("inv")
_batch_unary(inv_p)


def _inv_jvp(primals, tangents):
    a, = primals
    t, = tangents
    ans = inv(a)
    return ans, neg(mm(mm(ans, t), ans))


ad.jvp_rules[inv_p] = _inv_jvp

# --------------------------------------------------------------------------- solve
solve_p = Primitive("solve")


def solve(a, b):
    """``X`` with ``a @ X == b``: ``a`` is (..., n, n), ``b`` is (..., n, m), equal leading axes."""
    return solve_p.bind(a, b)


def _solve_abstract(a, b):
    _check_square("solve", a)
    if b.ndim != a.ndim or b.shape[:-2] != a.shape[:-2] or b.shape[-2] != a.shape[-1]:
        raise ValueError(f"solve: a has shape {a.shape} and b has shape {b.shape}; the primitive "
                         "needs a (..., n, n) and b (..., n, m) with the same leading axes "
                         "(spmdgrad.numpy.linalg.solve broadcasts for you)")
    if a.dtype != b.dtype:
        raise TypeError(f"solve: operands have dtypes {a.dtype.name}, {b.dtype.name}; the "
                        "primitive needs one dtype (spmdgrad.numpy.linalg.solve promotes for you)")
    return b.shape, b.dtype


impl_rules[solve_p] = _impl("solve", np.linalg.solve)
abstract_rules[solve_p] = _solve_abstract


def _solve_jvp(primals, tangents):
    a, b = primals
    ta, tb = tangents
    x = solve(a, b)
    rhs = tb
    if ta is not None:
        da_x = mm(ta, x)
        rhs = neg(da_x) if tb is None else sub(tb, da_x)
    return x, solve(a, rhs)


def _solve_transpose(ct, a, b):
    if ad.is_undefined(a):
        raise NotImplementedError("solve is linear only in its right-hand side b; a transpose "
                                  "with respect to the matrix a was requested")
    return [None, solve(mT(a), ct)]


ad.jvp_rules[solve_p] = _solve_jvp
ad.transpose_rules[solve_p] = _solve_transpose


def _solve_batch(size, vals, batched):
    a, b = vals
    if batched[0]:
        return solve(a, b if batched[1] else broadcast_batch(b, size)), True
    # One shared matrix, many right-hand sides: fold the batch axis into b's columns so the
    # matrix is factorised once.
    bshape = get_aval(b).shape           # (B, *lead, n, m)
    nd = len(bshape)
    to_cols = tuple(range(1, nd - 1)) + (0, nd - 1)          # (*lead, n, B, m)
    folded = reshape(transpose(b, to_cols), bshape[1:-1] + (size * bshape[-1],))
    x = solve(a, folded)
    x = reshape(x, bshape[1:-1] + (size, bshape[-1]))
    return transpose(x, tuple(np.argsort(to_cols))), True


batching.batch_rules[solve_p] = _solve_batch

# --------------------------------------------------------------------------- det
det_p = Primitive("det")


def det(a):
    """Determinant of a square matrix (or of each matrix in a stack)."""
    return det_p.bind(a)


impl_rules[det_p] = _impl("det", np.linalg.det)
abstract_rules[det_p] = _reduce_abstract("det")
_batch_unary(det_p)


def _det_jvp(primals, tangents):
    a, = primals
    t, = tangents
    return det(a), _trace_of_product(adjugate(a), t)


ad.jvp_rules[det_p] = _det_jvp

# --------------------------------------------------------------------------- adjugate
# adj(A) is a polynomial in A's entries, defined and smooth at every matrix. With the SVD
# A = U diag(s) V^H it is  adj(A) = c V diag(q) U^H,  c = det(U) det(V^H) (|c| = 1) and
# q_i = prod_{l != i} s_l: products, never divisions, so rank n-1 (one s_l = 0) and lower
# ranks (adj = 0) are exact. Its JVP in the same basis, with E = U^H dA V and
# P_ij = prod_{l != i, j} s_l (P_ii = 0), is  d adj = c V (diag(P diag(E)) - P * E) U^H.
adjugate_p = Primitive("adjugate")
adjugate_parts_p = Primitive("adjugate_parts", multiple_results=True)


def adjugate(a):
    """Adjugate (transposed cofactor matrix) of a square matrix or of each in a stack:
    ``adj(a) @ a == det(a) * I``; well defined and differentiable at singular ``a``."""
    return adjugate_p.bind(a)


def _exclusive_prod(x):
    """``out[..., i] = prod_{l != i} x[..., l]`` without division (prefix times suffix)."""
    ones = np.ones(x.shape[:-1] + (1,), x.dtype)
    before = np.cumprod(np.concatenate([ones, x[..., :-1]], -1), -1)
    after = np.cumprod(np.concatenate([ones, x[..., :0:-1]], -1), -1)[..., ::-1]
    return before * after


def _adjugate_parts_impl(a):
    """``[V, U^H, c U^H, q, P]`` (see above); ``adj(a) = V diag(q) c U^H``."""
    a = np.asarray(a)
    n = a.shape[-1]
    if n == 0:
        empty = np.zeros(a.shape, a.dtype)
        return [empty, empty, empty, np.zeros(a.shape[:-1], real_dtype(a.dtype)), empty.real]
    u, s, vh = np.linalg.svd(a)
    c = np.linalg.det(u) * np.linalg.det(vh)
    uh = np.conj(np.swapaxes(u, -1, -2))
    q = _exclusive_prod(s)
    rows = np.broadcast_to(s[..., None, :], s.shape[:-1] + (n, n)).copy()
    rows[..., np.arange(n), np.arange(n)] = 1        # row i: s with s_i left out
    pairs = _exclusive_prod(rows)
    pairs[..., np.arange(n), np.arange(n)] = 0
    return [np.conj(np.swapaxes(vh, -1, -2)), uh, c[..., None, None] * uh, q, pairs]


def _adjugate_impl(a):
    v, _, cuh, q, _ = _adjugate_parts_impl(a)
    return np.matmul(v * q[..., None, :].astype(v.dtype), cuh)


def _parts_abstract(a):
    _check_square("adjugate", a)
    r = real_dtype(a.dtype)
    return [(a.shape, a.dtype)] * 3 + [(a.shape[:-1], r), (a.shape, r)]


impl_rules[adjugate_p] = _impl("adjugate", _adjugate_impl)
abstract_rules[adjugate_p] = _square_abstract("adjugate")
_batch_unary(adjugate_p)
impl_rules[adjugate_parts_p] = _impl("adjugate", _adjugate_parts_impl)
abstract_rules[adjugate_parts_p] = _parts_abstract
batching.batch_rules[adjugate_parts_p] = lambda size, vals, batched: (
    adjugate_parts_p.bind(vals[0]), [True] * 5)


def _adjugate_jvp(primals, tangents):
    a, = primals
    t, = tangents
    av = get_aval(a)
    b = lead(av.ndim)
    eye = np.eye(av.shape[-1], dtype=av.dtype)
    v, uh, cuh, q, pairs = adjugate_parts_p.bind(a)
    q, pairs = convert_element_type(q, av.dtype), convert_element_type(pairs, av.dtype)
    ans = mm(v, einsum2(q, cuh, f"{b}i,{b}ij->{b}ij"))  # the same SVD gives the value
    e = mm(mm(uh, t), v)
    diag_e = einsum2(e, eye, f"{b}ij,ij->{b}i")
    on_diag = einsum2(einsum2(pairs, diag_e, f"{b}ij,{b}j->{b}i"), eye, f"{b}i,ij->{b}ij")
    return ans, mm(mm(v, sub(on_diag, mul(pairs, e))), cuh)


def _no_third_order(primals, tangents):
    raise NotImplementedError(
        "det/adjugate: derivatives of order 3 and higher are not implemented (the adjugate's "
        "derivative is built from an SVD, whose own derivative is not provided). Orders 1 and 2 "
        "work at every matrix, singular ones included.")


ad.jvp_rules[adjugate_p] = _adjugate_jvp
ad.jvp_rules[adjugate_parts_p] = _no_third_order

# --------------------------------------------------------------------------- slogdet
slogdet_p = Primitive("slogdet", multiple_results=True)


def slogdet(a):
    """``[sign, log|det a|]``; sign has a's dtype, the log its real dtype."""
    return slogdet_p.bind(a)


def _slogdet_impl(a):
    sign, logabs = np.linalg.slogdet(a)
    return [sign, logabs]


def _slogdet_abstract(a):
    _check_square("slogdet", a)
    return [(a.shape[:-2], a.dtype), (a.shape[:-2], real_dtype(a.dtype))]


impl_rules[slogdet_p] = _impl("slogdet", _slogdet_impl)
abstract_rules[slogdet_p] = _slogdet_abstract
_batch_unary(slogdet_p)


def _slogdet_jvp(primals, tangents):
    a, = primals
    t, = tangents
    sign, logabs = slogdet(a)
    tr = _trace_of_product(inv(a), t)
    if not is_complex(get_aval(a).dtype):
        return [sign, logabs], [None, tr]
    # |det| changes with the real part of tr; the phase turns with its imaginary part.
    zero = np.zeros((), real_dtype(get_aval(a).dtype))
    return [sign, logabs], [mul(sign, make_complex(zero, imag(tr))), real(tr)]


ad.jvp_rules[slogdet_p] = _slogdet_jvp

# --------------------------------------------------------------------------- cholesky
cholesky_p = Primitive("cholesky")


def cholesky(a):
    """Lower Cholesky factor ``L`` of a Hermitian positive-definite ``a = L L^H``."""
    return cholesky_p.bind(a)


impl_rules[cholesky_p] = _impl("cholesky", np.linalg.cholesky)
abstract_rules[cholesky_p] = _square_abstract("cholesky")
_batch_unary(cholesky_p)


def _phi_mask(aval):
    """Lower triangle with the diagonal halved, broadcast to ``aval``'s shape."""
    n = aval.shape[-1]
    m = np.tril(np.ones((n, n))) - 0.5 * np.eye(n)
    return np.ascontiguousarray(np.broadcast_to(m.astype(aval.dtype), aval.shape))


def _cholesky_jvp(primals, tangents):
    a, = primals
    t, = tangents
    L = cholesky(a)
    Linv = inv(L)
    inner = mm(mm(Linv, t), mH(Linv))
    return L, mm(L, mul(inner, _phi_mask(get_aval(L))))


ad.jvp_rules[cholesky_p] = _cholesky_jvp
