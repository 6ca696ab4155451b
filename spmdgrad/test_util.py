"""Test utilities: finite-difference derivative checks and loop references.

>>> import numpy as np, spmdgrad.numpy as jnp
>>> check_grads(jnp.sin, (np.array([0.3, 1.2]),), order=2)
"""
from __future__ import annotations

import numpy as np

from . import autodiff
from .dtypes import is_complex
from .tree_util import tree_flatten, tree_unflatten


def _tol(dtype, atol, rtol):
    low = np.dtype(dtype) in (np.float32, np.complex64)
    return (atol if atol is not None else (1e-2 if low else 1e-5),
            rtol if rtol is not None else (1e-2 if low else 1e-5))


def _inner(x, y):
    # JAX's real inner product, sum Re(conj(x) . y): a (non-holomorphic) complex function is
    # an R-linear map, and its VJP is the transpose for this pairing, up to conjugations.
    return sum(np.real(np.vdot(np.asarray(a).ravel(), np.asarray(b).ravel()))
               for a, b in zip(x, y, strict=True))


def _rand_like(rng, x):
    x = np.asarray(x)
    v = rng.standard_normal(x.shape)
    if is_complex(x.dtype):
        v = v + 1j * rng.standard_normal(x.shape)
    return v.astype(x.dtype)


def _add_scaled(args, dirs, eps):
    return [a + eps * d for a, d in zip(args, dirs, strict=True)]


def _flat(f, args):
    """``f`` as a function of the flat leaves of ``args`` (a tuple of pytrees), and the leaves."""
    leaves, tree = tree_flatten(tuple(args))
    leaves = [np.asarray(x) for x in leaves]

    def f_flat(*xs):
        return f(*tree_unflatten(tree, list(xs)))
    return f_flat, leaves


def _eps(leaves, eps):
    dt = np.result_type(*leaves)
    return dt, eps or (1e-3 if dt in (np.float32, np.complex64) else 1e-6)


def numerical_jvp(f, args, tangents, eps):
    """Central difference of ``f`` at ``args`` along ``tangents`` (flat lists)."""
    plus = tree_flatten(f(*_add_scaled(args, tangents, eps)))[0]
    minus = tree_flatten(f(*_add_scaled(args, tangents, -eps)))[0]
    return [(np.asarray(p) - np.asarray(m)) / (2 * eps) for p, m in zip(plus, minus, strict=True)]


def check_jvp(f, args, atol=None, rtol=None, eps=None, seed=0):
    """``jvp(f)`` agrees with central differences along a random direction. ``args`` is a
    tuple of pytrees of arrays."""
    rng = np.random.default_rng(seed)
    f, args = _flat(f, args)
    dt, eps = _eps(args, eps)
    tangents = [_rand_like(rng, a) for a in args]
    _, t_out = autodiff.jvp(f, tuple(args), tuple(tangents))
    num = numerical_jvp(f, args, tangents, eps)
    atol, rtol = _tol(dt, atol, rtol)
    for a, n in zip(tree_flatten(t_out)[0], num, strict=True):
        np.testing.assert_allclose(np.asarray(a), n, atol=atol, rtol=rtol,
                                   err_msg="JVP disagrees with finite differences")


def check_vjp(f, args, atol=None, rtol=None, eps=None, seed=0):
    """``Re<J t, ct> == Re<t, conj(vjp(conj ct))>`` with ``J t`` by central differences
    (JAX's convention, valid for non-holomorphic complex functions too)."""
    rng = np.random.default_rng(seed + 1)
    f, args = _flat(f, args)
    dt, eps = _eps(args, eps)
    out, f_vjp = autodiff.vjp(f, *args)
    outs, out_tree = tree_flatten(out)
    cts = [_rand_like(rng, o) for o in outs]
    ct_in = tree_flatten(f_vjp(tree_unflatten(out_tree, [np.conj(c) for c in cts])))[0]
    tangents = [_rand_like(rng, a) for a in args]
    num = numerical_jvp(f, args, tangents, eps)
    lhs = _inner(num, cts)
    rhs = _inner(tangents, [np.conj(c) for c in ct_in])
    atol, rtol = _tol(dt, atol, rtol)
    np.testing.assert_allclose(lhs, rhs, atol=atol, rtol=rtol,
                               err_msg="VJP disagrees with finite differences")


def check_grads(f, args, order=1, modes=("fwd", "rev"), atol=None, rtol=None, eps=None):
    """Check JVPs and/or VJPs of ``f`` at ``args`` (a tuple of pytrees of arrays) against
    central finite differences, up to ``order`` (higher orders check the derivative maps).

    >>> import numpy as np, spmdgrad.numpy as jnp
    >>> check_grads(lambda p: jnp.abs(p["z"]) * p["w"][0], ({"z": np.array(1.1 + 1.2j),
    ...                                                    "w": (np.array(2.0),)},))
    """
    f, args = _flat(f, args)
    args = tuple(args)
    if "fwd" in modes:
        check_jvp(f, args, atol, rtol, eps)
    if "rev" in modes:
        check_vjp(f, args, atol, rtol, eps)
    if order > 1:
        rng = np.random.default_rng(order)
        if "fwd" in modes:
            ts = tuple(_rand_like(rng, a) for a in args)
            check_grads(lambda *xs: autodiff.jvp(f, xs, ts)[1], args, order - 1, modes, atol, rtol, eps)
        if "rev" in modes:
            out = f(*args)
            outs, tree = tree_flatten(out)
            cts = tree_unflatten(tree, [_rand_like(rng, o) for o in outs])
            check_grads(lambda *xs: autodiff.vjp(f, *xs)[1](cts), args, order - 1, modes, atol, rtol, eps)


def loop_vmap(f, in_axes, *args):
    """Reference for vmap: a Python loop over the mapped axis, results stacked on axis 0."""
    axes = in_axes if isinstance(in_axes, tuple | list) else (in_axes,) * len(args)
    n = next(np.shape(a)[ax] for a, ax in zip(args, axes, strict=True) if ax is not None)
    outs = []
    for i in range(n):
        sl = [a if ax is None else np.take(a, i, axis=ax) for a, ax in zip(args, axes, strict=True)]
        outs.append(f(*sl))
    leaves0, tree = tree_flatten(outs[0])
    per_leaf = [np.stack([np.asarray(tree_flatten(o)[0][j]) for o in outs]) for j in range(len(leaves0))]
    return tree_unflatten(tree, per_leaf)
