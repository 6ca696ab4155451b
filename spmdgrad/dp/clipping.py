"""DP-SGD's clipped total gradient as one transformation (docs/dp.md).

``clipped_grad(fun, C, 'batch')`` inside a map over examples returns
``sum_i min(1, C / ||g_i||) g_i``, ``g_i`` example i's own gradient (semantics.md
section 3). The function is linearized once. A first transposition of the linear
program computes only the per-example squared norms, with ghost norms where a
parameter enters through a contraction (:mod:`spmdgrad.dp.ghost_norms`). The
output cotangent is then scaled per example and the same program is transposed
again with the reduce_axes rule, so the sum over the batch is fused into the
contractions (``pdot``) and, over ranks, into one Allreduce.

Non-finite norms: an example whose gradient norm is NaN or infinite contributes
exactly zero (its output cotangent is zeroed and its per-example residuals of the
linear program are replaced by ones before the second pass); its norm is returned as computed, so
``jnp.sum(~jnp.isfinite(norms))`` counts such examples.
"""
from __future__ import annotations

import functools
import math
import numbers

import numpy as np

from .. import ad, autodiff, core
from .. import numpy as jnp
from ..core import get_aval
from ..dtypes import is_complex, is_inexact
from ..tree_util import tree_unflatten
from . import ghost_norms


def _check_max_norm(max_norm, fname):
    if isinstance(max_norm, bool) or not isinstance(max_norm, numbers.Real | np.ndarray | np.generic):
        raise TypeError(f"{fname}: max_norm must be a positive finite number, got {max_norm!r}")
    value = float(np.asarray(max_norm))
    if np.ndim(max_norm) != 0 or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{fname}: max_norm must be a positive finite number (the clipping bound "
                         f"C), got {max_norm!r}")
    return value


def _check_axis_name(axis_name, fname):
    if not isinstance(axis_name, str):
        raise TypeError(f"{fname}: axis_name must be the str name of the map over examples, got "
                        f"{axis_name!r}")


def _check_inputs(fname):
    def check(leaves, tree):
        for x in leaves:
            dt = get_aval(x).dtype
            if not is_inexact(dt) or is_complex(dt):
                raise TypeError(f"{fname} requires real floating-point inputs to differentiate, got "
                                f"dtype {dt}. Pass the integer or complex arguments outside argnums.")
    return check


def _per_example(fun, axis_name, argnums, has_aux, args, kwargs, fname):
    """Linearize once and run the norm pass: ``(res, out, sq_norms)``."""
    nums = autodiff._resolve_argnums(argnums, len(args), fname)
    core.find_axis(axis_name, f"{fname}(axis_name={axis_name!r})")
    res = autodiff._linearize(fun, args, kwargs, nums, has_aux, fname, _check_inputs(fname))
    if res.out_tree.num_leaves != 1 or res.out_tree.kind is not None:
        raise TypeError(f"{fname} requires a scalar output per example, but the function returned "
                        f"a pytree {res.out_tree}")
    out = res.out_leaves[0]
    a = get_aval(out)
    if a.shape != () or not is_inexact(a.dtype) or is_complex(a.dtype):
        raise TypeError(f"{fname} requires a real scalar output per example (the example's loss), "
                        f"got {a.str_short()}")
    if axis_name not in a.vma:
        raise ValueError(
            f"{fname}: the loss does not vary over axis {axis_name!r}, so it is not one example's "
            "loss. Return the example's own loss (no psum/pmean over the examples): per-example "
            "clipping needs examples that do not interact.")
    for e in res.jaxpr.eqns:
        if e.prim in ad.collective_prims and axis_name in _axes_of(e.params):
            raise ValueError(
                f"{fname}: the loss applies the collective '{e.prim}' over axis {axis_name!r}, so "
                "examples interact (e.g. batch statistics) and per-example gradients are not "
                "separable; per-example clipping cannot be applied. Compute such statistics "
                "outside the differentiated function.")
    parts = ghost_norms.cotangent_parts(res.jaxpr, [np.ones((), a.dtype)], res.bound)
    sq = None
    for p in parts:
        s = ghost_norms.squared_norm(p)
        if s is not None:
            sq = s if sq is None else sq + s
    if sq is None:
        sq = np.zeros((), a.dtype)
    return res, out, jnp.asarray(sq, dtype=a.dtype)


def _axes_of(params):
    for key in ("axes", "axis_name"):
        v = params.get(key)
        if v is not None:
            return v if isinstance(v, tuple | list) else (v,)
    return ()


def _sanitize(jaxpr, ok, axis_name):
    """The program with every floating residual that varies over ``axis_name`` set to one
    where the example's norm is not finite: with a zero cotangent and finite
    coefficients (one, not zero, which may divide), the example's contribution is zero."""
    consts = []
    for v, c in zip(jaxpr.constvars, jaxpr.consts, strict=True):
        if axis_name in v.aval.vma and is_inexact(v.aval.dtype):
            z = jnp.where(ok, c, jnp.ones((), v.aval.dtype))
            if get_aval(z).vma == get_aval(c).vma:
                c = z
        consts.append(c)
    return core.Jaxpr(jaxpr.invars, jaxpr.constvars, consts, jaxpr.eqns, jaxpr.outvars)


def clipped_grad(fun, max_norm, axis_name, *, argnums=0, has_aux=False, reduce_axes=(),
                 return_norms=False):
    """The DP-SGD total: ``sum_i min(1, max_norm / ||g_i||) g_i`` over the examples of the map
    that binds ``axis_name`` (and over every axis in ``reduce_axes``), without forming the
    per-example gradients of parameters that enter through a contraction.

    ``fun`` is one example's loss; ``g_i`` its gradient with respect to ``argnums`` and
    ``||.||`` the L2 norm over all of them. The result is invariant over the reduced axes
    (``out_axes=None``). ``return_norms=True`` returns ``(total, norms)``, the norms before
    clipping, varying per example; ``has_aux`` appends the aux value as :func:`spmdgrad.grad`
    does: ``(total, aux)`` or ``((total, norms), aux)``. An example with a non-finite norm
    contributes zero (docs/dp.md).

    >>> import numpy as np, spmdgrad as sg, spmdgrad.numpy as jnp
    >>> loss = lambda w, x: jnp.sum(x * w)        # per-example gradient: x
    >>> xs = np.array([[3.0, 4.0], [0.3, 0.4]])   # norms 5 and 0.5
    >>> sg.vmap(sg.clipped_grad(loss, 1.0, "b"), in_axes=(None, 0), axis_name="b",
    ...         out_axes=None)(np.zeros(2), xs)
    array([0.9, 1.2])
    """
    fname = "clipped_grad"
    C = _check_max_norm(max_norm, fname)
    _check_axis_name(axis_name, fname)
    argnums_c, single = autodiff._check_argnums(argnums, fname)
    reduce_axes = autodiff._check_reduce_axes(reduce_axes, fname)
    if not callable(fun):
        raise TypeError(f"{fname} expects a callable, got {fun!r}")

    @functools.wraps(fun)
    def clipped(*args, **kwargs):
        reduced = autodiff._bound_reduce_axes(reduce_axes, fname)
        res, out, sq = _per_example(fun, axis_name, argnums_c, has_aux, args, kwargs, fname)
        reduced = reduced | {axis_name}
        dt = get_aval(out).dtype
        norms = jnp.sqrt(sq)
        ok = jnp.isfinite(norms)
        tiny = np.finfo(dt).tiny
        scale = jnp.where(ok, jnp.minimum(1.0, C / jnp.maximum(jnp.where(ok, norms, 1.0), tiny)), 0.0)
        res.jaxpr = _sanitize(res.jaxpr, ok, axis_name)
        g = autodiff._pullback(res, [jnp.asarray(scale, dtype=dt)], reduced)
        g_tree = tree_unflatten(res.in_tree, g)
        total = g_tree[0] if single else g_tree
        value = (total, norms) if return_norms else total
        return (value, res.aux) if has_aux else value
    return clipped


def per_example_norms(fun, axis_name, *, argnums=0, has_aux=False):
    """Each example's gradient norm ``||g_i||`` (L2 over all ``argnums`` inputs), varying
    over ``axis_name``, computed without per-example copies of contracted parameters.
    With ``has_aux`` returns ``(norms, aux)``.

    >>> import numpy as np, spmdgrad as sg, spmdgrad.numpy as jnp
    >>> loss = lambda w, x: jnp.sum(x * w)
    >>> sg.vmap(sg.per_example_norms(loss, "b"), in_axes=(None, 0), axis_name="b")(
    ...     np.zeros(2), np.array([[3.0, 4.0], [0.3, 0.4]]))
    array([5. , 0.5])
    """
    fname = "per_example_norms"
    _check_axis_name(axis_name, fname)
    argnums_c, _ = autodiff._check_argnums(argnums, fname)
    if not callable(fun):
        raise TypeError(f"{fname} expects a callable, got {fun!r}")

    @functools.wraps(fun)
    def norms_fun(*args, **kwargs):
        res, _, sq = _per_example(fun, axis_name, argnums_c, has_aux, args, kwargs, fname)
        norms = jnp.sqrt(sq)
        return (norms, res.aux) if has_aux else norms
    return norms_fun
