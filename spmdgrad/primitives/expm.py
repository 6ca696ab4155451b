"""The matrix exponential and its Fréchet derivative, with SciPy computing the values.

- ``expm(a)``: ``scipy.linalg.expm`` over the last two axes (leading axes map).
- ``expm_frechet(a, e)``: ``L(a, e) = d/ds expm(a + s e)`` at ``s = 0``, the JVP of
  ``expm``. It is linear in ``e``; its transpose is ``L(a^T, ct)``, because
  ``<G, L(A, E)> = <L(A^T, G), E>`` under the trace pairing. Its derivative in ``a``
  comes from the block identity ``expm([[A, E], [0, A]]) = [[expm A, L(A, E)], [0, expm A]]``:
  differentiating it along ``A`` gives ``L(M, blockdiag(dA, dA))``'s upper-right block
  with ``M = [[A, E], [0, A]]``. So every order of derivative is again an
  ``expm_frechet``, and the values are computed by SciPy's scaling-and-squaring
  ``expm`` of that block matrix.
"""
from __future__ import annotations

import numpy as np
import scipy.linalg as sl

from .. import ad, batching
from ..core import Primitive, abstract_rules, get_aval, impl_rules
from .linalg import mT
from .structural import broadcast_in_dim, concatenate, slice


def _check_square(op, a):
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{op}: expected a square matrix or a stack of them, shape (..., n, n); "
                         f"got shape {a.shape}")
    if not np.issubdtype(a.dtype, np.inexact):
        raise TypeError(f"{op}: expected a float or complex matrix, got dtype {a.dtype.name}")


def _add_batch(x, size):
    """An unbatched operand with a leading batch axis of ``size`` (explicit broadcast)."""
    shape = get_aval(x).shape
    return broadcast_in_dim(x, (size,) + shape, tuple(range(1, len(shape) + 1)))


def _block(a, e):
    """``[[a, e], [0, a]]`` over the last two axes."""
    zero = np.zeros(get_aval(a).shape, get_aval(a).dtype)
    nd = get_aval(a).ndim
    return concatenate([concatenate([a, e], nd - 1), concatenate([zero, a], nd - 1)], nd - 2)


def _upper_right(x, n):
    shape = get_aval(x).shape
    nd = len(shape)
    return slice(x, (0,) * (nd - 2) + (0, n), shape[:-2] + (n, 2 * n))


# --------------------------------------------------------------------------- expm
expm_p = Primitive("expm")
expm_frechet_p = Primitive("expm_frechet")


def expm(a):
    """Matrix exponential of a square matrix (or of each matrix in a stack)."""
    return expm_p.bind(a)


def expm_frechet(a, e):
    """Fréchet derivative of ``expm`` at ``a`` in direction ``e`` (equal shapes)."""
    return expm_frechet_p.bind(a, e)


def _expm_impl(a):
    return np.asarray(sl.expm(a), dtype=a.dtype)


def _square_abstract(a):
    _check_square("expm", a)
    return a.shape, a.dtype


impl_rules[expm_p] = _expm_impl
abstract_rules[expm_p] = _square_abstract
ad.defjvp(expm_p, lambda t, ans, a: expm_frechet(a, t))
batching.batch_rules[expm_p] = lambda size, vals, batched: (expm(vals[0]), True)

# --------------------------------------------------------------------------- expm_frechet


def _frechet_impl(a, e):
    n = np.shape(a)[-1]
    lead = np.shape(a)[:-2]
    m = np.zeros(lead + (2 * n, 2 * n), np.result_type(a, e))
    m[..., :n, :n] = a
    m[..., n:, n:] = a
    m[..., :n, n:] = e
    return np.asarray(sl.expm(m)[..., :n, n:], dtype=m.dtype)


def _frechet_abstract(a, e):
    _check_square("expm_frechet", a)
    if e.shape != a.shape or e.dtype != a.dtype:
        raise ValueError(f"expm_frechet: a {a.shape} {a.dtype.name} and e {e.shape} {e.dtype.name} "
                         "must have one shape and dtype")
    return a.shape, a.dtype


def _frechet_da(t, ans, a, e):
    n = get_aval(a).shape[-1]
    zero = np.zeros(get_aval(t).shape, get_aval(t).dtype)
    nd = get_aval(t).ndim
    dm = concatenate([concatenate([t, zero], nd - 1), concatenate([zero, t], nd - 1)], nd - 2)
    return _upper_right(expm_frechet(_block(a, e), dm), n)


def _frechet_transpose(ct, a, e):
    if ad.is_undefined(a):
        raise NotImplementedError("expm_frechet is linear only in its direction e; a transpose "
                                  "with respect to the matrix a was requested")
    return [None, expm_frechet(mT(a), ct)]


def _frechet_batch(size, vals, batched):
    a, e = (v if b else _add_batch(v, size) for v, b in zip(vals, batched))
    return expm_frechet(a, e), True


impl_rules[expm_frechet_p] = _frechet_impl
abstract_rules[expm_frechet_p] = _frechet_abstract
ad.defjvp(expm_frechet_p, _frechet_da, lambda t, ans, a, e: expm_frechet(a, t))
ad.transpose_rules[expm_frechet_p] = _frechet_transpose
batching.batch_rules[expm_frechet_p] = _frechet_batch
