"""Triangular solves and the LU factorisation, with SciPy's LAPACK wrappers for the values.

Both act on the last two axes and map over leading axes (a batch axis is one more
leading axis). Imported by :mod:`spmdgrad.scipy.linalg` only, so ``import spmdgrad``
does not need SciPy.

- ``triangular_solve(a, b, lower, trans, unit_diagonal)`` solves ``op(T) X = B`` where
  ``T`` is the lower or upper triangle of ``a`` (unit diagonal if asked) and ``op`` is
  the identity, the transpose (``trans=1``) or the conjugate transpose (``trans=2``).
  Only that triangle is read, so the derivative in ``a`` is masked to it:
  ``dX = solve(op(T), dB - op(dT) X)``. It is linear in ``b``; the transpose solves with
  ``op`` transposed.
- ``lu(a)`` returns ``[p, l, u]`` with ``a = p @ l @ u`` for ``a`` of shape (m, n),
  ``k = min(m, n)``: ``p`` (m, m) a permutation, ``l`` (m, k) unit lower, ``u`` (k, n)
  upper. With ``L``, ``U`` completed to square unit-triangular matrices and
  ``F = L^-1 p^T dA U^-1``: ``dl = (L tril(F, -1))[:, :k]``, ``du = (triu(F) U)[:k]``.
"""
from __future__ import annotations

import numpy as np
import scipy.linalg as sl

from .. import ad, batching
from ..core import Primitive, abstract_rules, get_aval, impl_rules
from ..dtypes import is_complex
from .elementwise import add, conj, mul, neg, sub
from .linalg import mm, mT
from .structural import broadcast_in_dim, pad, reshape, slice, transpose


def _const(mask, aval):
    """A (n, n) constant broadcast to ``aval``'s shape and dtype."""
    return np.ascontiguousarray(np.broadcast_to(mask.astype(aval.dtype), aval.shape))


def _per_matrix(fn, *arrays):
    """Apply ``fn`` to each matrix of a stack (SciPy's solvers take 2-D arrays)."""
    lead = np.shape(arrays[0])[:-2]
    flat = [np.reshape(a, (-1,) + np.shape(a)[-2:]) for a in arrays]
    outs = [fn(*mats) for mats in zip(*flat)]
    return outs, lead


def _add_batch(x, size):
    """An unbatched operand with a leading batch axis of ``size`` (explicit broadcast)."""
    shape = get_aval(x).shape
    return broadcast_in_dim(x, (size,) + shape, tuple(range(1, len(shape) + 1)))


def _check(op, cond, msg):
    if not cond:
        raise ValueError(f"{op}: {msg}")


# --------------------------------------------------------------------------- triangular_solve
triangular_solve_p = Primitive("triangular_solve")


def triangular_solve(a, b, lower, trans=0, unit_diagonal=False):
    """``X`` with ``op(tri(a)) @ X == b``: ``a`` (..., n, n), ``b`` (..., n, m), equal leading axes."""
    return triangular_solve_p.bind(a, b, lower=bool(lower), trans=int(trans),
                                   unit_diagonal=bool(unit_diagonal))


def _ts_impl(a, b, lower, trans, unit_diagonal):
    def one(ai, bi):
        try:
            return sl.solve_triangular(ai, bi, trans=trans, lower=lower,
                                       unit_diagonal=unit_diagonal, check_finite=False)
        except np.linalg.LinAlgError as e:
            raise np.linalg.LinAlgError(f"triangular_solve: {e} (a has shape {np.shape(a)})") from None
    outs, lead = _per_matrix(one, a, b)
    out = np.stack(outs) if outs else np.zeros((0,) + np.shape(b)[-2:], np.result_type(a, b))
    return out.reshape(lead + np.shape(b)[-2:]).astype(np.result_type(a, b), copy=False)


def _ts_abstract(a, b, lower, trans, unit_diagonal):
    op = "triangular_solve"
    _check(op, a.ndim >= 2 and a.shape[-1] == a.shape[-2],
           f"a must be a square matrix or a stack of them, got shape {a.shape}")
    _check(op, b.ndim == a.ndim and b.shape[:-2] == a.shape[:-2] and b.shape[-2] == a.shape[-1],
           f"a has shape {a.shape} and b has shape {b.shape}; the primitive needs a (..., n, n) "
           "and b (..., n, m) with equal leading axes (spmdgrad.scipy.linalg broadcasts for you)")
    _check(op, trans in (0, 1, 2), f"trans must be 0, 1 or 2, got {trans}")
    if a.dtype != b.dtype or not np.issubdtype(a.dtype, np.inexact):
        raise TypeError(f"{op}: operands have dtypes {a.dtype.name}, {b.dtype.name}; the primitive "
                        "needs one float or complex dtype")
    return b.shape, b.dtype


impl_rules[triangular_solve_p] = _ts_impl
abstract_rules[triangular_solve_p] = _ts_abstract


def _op(x, trans):
    if trans == 0:
        return x
    xt = mT(x)
    return conj(xt) if trans == 2 and is_complex(get_aval(x).dtype) else xt


def _tri_mask(aval, lower, unit_diagonal):
    n = aval.shape[-1]
    k = -1 if unit_diagonal else 0
    m = np.tril(np.ones((n, n)), k) if lower else np.triu(np.ones((n, n)), -k)
    return _const(m, aval)


def _ts_jvp(primals, tangents, lower, trans, unit_diagonal):
    a, b = primals
    ta, tb = tangents
    params = {"lower": lower, "trans": trans, "unit_diagonal": unit_diagonal}
    x = triangular_solve(a, b, **params)
    rhs = tb
    if ta is not None:
        dt = mul(ta, _tri_mask(get_aval(a), lower, unit_diagonal))
        dtx = mm(_op(dt, trans), x)
        rhs = neg(dtx) if tb is None else sub(tb, dtx)
    return x, triangular_solve(a, rhs, **params)


def _ts_transpose(ct, a, b, lower, trans, unit_diagonal):
    if ad.is_undefined(a):
        raise NotImplementedError("triangular_solve is linear only in its right-hand side b; a "
                                  "transpose with respect to the matrix a was requested")
    if trans == 2 and is_complex(get_aval(a).dtype):   # (T^H)^-1 transposes to conj(T)^-1
        return [None, triangular_solve(conj(a), ct, lower, 0, unit_diagonal)]
    return [None, triangular_solve(a, ct, lower, 0 if trans else 1, unit_diagonal)]


def _ts_batch(size, vals, batched, **params):
    a, b = vals
    if batched[0]:
        return triangular_solve_p.bind(a, b if batched[1] else _add_batch(b, size),
                                       **params), True
    # One shared matrix: fold the batch axis into b's columns (one factor, many right-hand sides).
    bshape = get_aval(b).shape           # (B, *lead, n, m)
    nd = len(bshape)
    to_cols = tuple(range(1, nd - 1)) + (0, nd - 1)
    folded = reshape(transpose(b, to_cols), bshape[1:-1] + (size * bshape[-1],))
    x = reshape(triangular_solve_p.bind(a, folded, **params), bshape[1:-1] + (size, bshape[-1]))
    return transpose(x, tuple(np.argsort(to_cols))), True


ad.jvp_rules[triangular_solve_p] = _ts_jvp
ad.transpose_rules[triangular_solve_p] = _ts_transpose
batching.batch_rules[triangular_solve_p] = _ts_batch

# --------------------------------------------------------------------------- lu
lu_p = Primitive("lu", multiple_results=True)


def lu(a):
    """``[p, l, u]`` with ``a = p @ l @ u`` (partial pivoting), for each matrix of a stack."""
    return lu_p.bind(a)


def _lu_impl(a):
    outs, lead = _per_matrix(lambda m: sl.lu(m, check_finite=False), a)
    m, n = np.shape(a)[-2:]
    k = min(m, n)
    shapes = [(m, m), (m, k), (k, n)]
    return [np.stack([o[i] for o in outs]).reshape(lead + s).astype(a.dtype, copy=False)
            if outs else np.zeros(lead + s, a.dtype) for i, s in enumerate(shapes)]


def _lu_abstract(a):
    _check("lu", a.ndim >= 2, f"expected a matrix or a stack of them, got shape {a.shape}")
    if not np.issubdtype(a.dtype, np.inexact):
        raise TypeError(f"lu: expected a float or complex matrix, got dtype {a.dtype.name}")
    m, n = a.shape[-2:]
    k = min(m, n)
    lead = a.shape[:-2]
    return [(lead + (m, m), a.dtype), (lead + (m, k), a.dtype), (lead + (k, n), a.dtype)]


def _complete(x, rows, cols, aval_dtype, lead):
    """Pad ``x`` to (rows, cols) and put ones on the new part of the diagonal."""
    r, c = get_aval(x).shape[-2:]
    nd = len(lead) + 2
    config = ((0, 0, 0),) * (nd - 2) + ((0, rows - r, 0), (0, cols - c, 0))
    x = pad(x, config)
    extra = np.zeros((rows, cols))
    idx = np.arange(min(r, c), min(rows, cols))
    extra[idx, idx] = 1.0
    return add(x, np.ascontiguousarray(np.broadcast_to(extra.astype(aval_dtype), lead + (rows, cols))))


def _lu_jvp(primals, tangents):
    a, = primals
    ta, = tangents
    p, lo, up = lu(a)
    aval = get_aval(a)
    lead, (m, n) = aval.shape[:-2], aval.shape[-2:]
    k = min(m, n)
    L = _complete(lo, m, m, aval.dtype, lead)     # (m, m) unit lower
    U = _complete(up, n, n, aval.dtype, lead)     # (n, n) upper, invertible
    x = mm(mT(p), ta)                      # p^T dA (p is real: no conjugate)
    la = triangular_solve(L, x, lower=True, trans=0, unit_diagonal=True)
    F = mT(triangular_solve(U, mT(la), lower=False, trans=1))   # L^-1 p^T dA U^-1
    strict_lower = _const(np.tril(np.ones((m, n)), -1), get_aval(F))
    upper = _const(np.triu(np.ones((m, n))), get_aval(F))
    nd = aval.ndim
    dl = mm(L, mul(F, strict_lower))        # (m, n)
    du = mm(mul(F, upper), U)               # (m, n)
    dl = slice(dl, (0,) * nd, lead + (m, k))
    du = slice(du, (0,) * nd, lead + (k, n))
    return [p, lo, up], [None, dl, du]


impl_rules[lu_p] = _lu_impl
abstract_rules[lu_p] = _lu_abstract
ad.jvp_rules[lu_p] = _lu_jvp
batching.batch_rules[lu_p] = lambda size, vals, batched: (lu(vals[0]), [True] * 3)
