"""The symmetric (Hermitian) eigendecomposition: ``linalg.eigh`` and ``linalg.eigvalsh``.

``eigh_p`` takes a Hermitian matrix (or a stack) and returns ascending eigenvalues and
the eigenvectors, as ``numpy.linalg.eigh``. Its rules:

- JVP: with ``Omega = V^H dA V``, ``dw = Re diag(Omega)`` and ``dV = V (F * Omega)``,
  ``F[i, j] = 1 / (w[j] - w[i])`` off the diagonal and 0 on it. Repeated eigenvalues make
  the eigenvector derivative infinite (as in JAX); eigenvalue derivatives stay finite;
- batching: NumPy's eigh maps over leading axes, so a batched operand is bound as is;
- reverse mode comes from transposing the JVP's linear operations.

The front end follows JAX: by default (``symmetrize_input=True``) it decomposes
``(a + a^H) / 2``, so the derivative is Hermitian and a non-Hermitian input is
symmetrised; with ``symmetrize_input=False`` it reads one triangle (``UPLO``), as
NumPy does, and a perturbation of the other triangle has no effect.

>>> import numpy as np, spmdgrad, spmdgrad.numpy as jnp
>>> a = np.array([[2.0, 1.0], [1.0, 2.0]])
>>> jnp.linalg.eigvalsh(a)
array([1., 3.])
>>> spmdgrad.grad(lambda a: jnp.linalg.eigvalsh(a)[1])(a)  # d(largest)/dA = v v^T
array([[0.5, 0.5],
       [0.5, 0.5]])
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from .. import ad, batching
from ..core import Primitive, abstract_rules, get_aval, impl_rules
from ..dtypes import is_complex, real_dtype
from . import _math as m
from . import _shape as sh
from ._contract import matmul
from ._core import promote
from ._matrix import diagonal, matrix_transpose, tril, triu

__all__ = ["eigh", "eigvalsh"]

EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])

eigh_p = Primitive("eigh", multiple_results=True)


def _eigh_impl(a):
    w, v = np.linalg.eigh(a)
    return [w, v]


def _eigh_abstract(a):
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"eigh: expected a square matrix or a stack of them, shape (..., n, n); "
                         f"got shape {a.shape}")
    return [(a.shape[:-1], real_dtype(a.dtype)), (a.shape, a.dtype)]


impl_rules[eigh_p] = _eigh_impl
abstract_rules[eigh_p] = _eigh_abstract
batching.batch_rules[eigh_p] = lambda size, vals, batched: (eigh_p.bind(vals[0]), [True, True])


def _eigh_jvp(primals, tangents):
    a, = primals
    t, = tangents
    w, v = eigh_p.bind(a)
    if t is None:
        return [w, v], [None, None]
    n = get_aval(a).shape[-1]
    vh = m.conj(matrix_transpose(v))
    omega = matmul(matmul(vh, t), v)
    dw = diagonal(omega, 0, -2, -1)
    dw = m.real(dw) if is_complex(get_aval(a).dtype) else dw
    gap = m.subtract(sh.expand_dims(w, -2), sh.expand_dims(w, -1))  # w[j] - w[i]
    off = ~np.eye(n, dtype=bool)
    f = m.where(off, m.divide(1.0, m.where(off, gap, 1.0)), 0.0)
    dv = matmul(v, m.multiply(m.astype(f, get_aval(a).dtype), omega))
    return [w, v], [dw, dv]


ad.jvp_rules[eigh_p] = _eigh_jvp


def _hermitian(a, uplo, symmetrize, op):
    x, = promote(a, to_float=True)
    s = get_aval(x).shape
    if len(s) < 2 or s[-1] != s[-2]:
        raise ValueError(f"{op}: expected a square matrix or a stack of them, shape (..., n, n); "
                         f"got shape {s}")
    if symmetrize:
        return m.multiply(m.add(x, m.conj(matrix_transpose(x))), 0.5)
    uplo = "L" if uplo is None else uplo
    if uplo not in ("L", "U"):
        raise ValueError(f"{op}: UPLO must be 'L' or 'U', got {uplo!r}")
    if uplo == "L":
        return m.add(tril(x), m.conj(matrix_transpose(tril(x, -1))))
    return m.add(triu(x), m.conj(matrix_transpose(triu(x, 1))))


def eigh(a, UPLO=None, symmetrize_input=True):  # noqa: N803 - NumPy's name
    """Eigenvalues (ascending) and eigenvectors of a Hermitian matrix, as
    ``jax.numpy.linalg.eigh`` (``(a + a^H) / 2`` by default; the ``UPLO`` triangle, as
    NumPy, with ``symmetrize_input=False``). Differentiable; eigenvector derivatives are
    infinite at repeated eigenvalues.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.linalg.eigh(np.diag([3.0, 1.0])).eigenvalues
    array([1., 3.])
    """
    w, v = eigh_p.bind(_hermitian(a, UPLO, symmetrize_input, "eigh"))
    return EighResult(w, v)


def eigvalsh(a, UPLO="L", *, symmetrize_input=True):  # noqa: N803 - NumPy's name
    """Eigenvalues (ascending) of a Hermitian matrix (symmetrised as in :func:`eigh`).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.linalg.eigvalsh(np.array([[1.0, 2.0], [2.0, 1.0]]))
    array([-1.,  3.])
    """
    return eigh_p.bind(_hermitian(a, UPLO, symmetrize_input, "eigvalsh"))[0]
