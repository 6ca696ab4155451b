"""Differentiation with JAX's signatures: grad, value_and_grad, vjp, jvp, linearize,
jacfwd, jacrev and hessian, including ``reduce_axes``.

Each is linearize (:func:`spmdgrad.ad.linearize_flat`) followed by a push
forward or a transpose (:func:`spmdgrad.ad.backward_pass`). Checks of user input
live here, so every error names the transformation, the argument and the fix.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import ad, core
from . import numpy as jnp
from .api_util import as_leaf, as_out_leaf
from .core import Tracer, get_aval, zip
from .dtypes import float0, is_complex, is_inexact
from .primitives.elementwise import convert_element_type, real
from .primitives.structural import broadcast_in_dim
from .primitives.structural import slice as slice_
from .traceback_util import api_boundary
from .tree_util import tree_flatten, tree_unflatten
from .vmap import vmap

# --------------------------------------------------------------------------- argument checks


def _check_argnums(argnums, fname):
    if isinstance(argnums, int | np.integer) and not isinstance(argnums, bool):
        return int(argnums), True
    try:
        nums = tuple(argnums)
    except TypeError:
        raise TypeError(f"{fname}: argnums must be an int or a sequence of ints, "
                        f"got {argnums!r}") from None
    if not nums:
        raise ValueError(f"{fname}: argnums is an empty sequence; pass at least one "
                         "argument index to differentiate")
    if not all(isinstance(a, int | np.integer) and not isinstance(a, bool) for a in nums):
        raise TypeError(f"{fname}: argnums must contain only ints, got {argnums!r}")
    return tuple(int(a) for a in nums), False


def _resolve_argnums(argnums, nargs, fname):
    nums = (argnums,) if isinstance(argnums, int) else argnums
    out = []
    for a in nums:
        if not -nargs <= a < nargs:
            raise TypeError(f"{fname}: argnums={argnums} refers to positional argument {a}, but "
                            f"the function was called with {nargs} positional argument(s). "
                            "Keyword arguments are never differentiated; pass the value "
                            "positionally.")
        out.append(a % nargs)
    if len(set(out)) != len(out):
        raise ValueError(f"{fname}: argnums {argnums} contains duplicates (after resolving "
                         f"negative indices against {nargs} arguments: {tuple(out)})")
    return out


def _check_reduce_axes(reduce_axes, fname):
    if isinstance(reduce_axes, str) or not isinstance(reduce_axes, tuple | list):
        raise TypeError(f"{fname}: reduce_axes must be a tuple or list of axis names (str), got "
                        f"{reduce_axes!r}. Write reduce_axes=('batch',), not reduce_axes='batch'.")
    for a in reduce_axes:
        if not isinstance(a, str):
            raise TypeError(f"{fname}: reduce_axes entries must be str axis names, got {a!r}")
    return tuple(reduce_axes)


def _bound_reduce_axes(reduce_axes, fname):
    for a in reduce_axes:
        core.find_axis(a, f"{fname}(reduce_axes={reduce_axes!r})")
    return frozenset(reduce_axes)


# --------------------------------------------------------------------------- the shared VJP core

class _VJPResult:
    """What linearize hands to the pullback and push-forward of one call."""
    out_leaves: Any
    out_tree: Any
    aux: Any
    jaxpr: Any
    in_leaves: list
    in_tree: Any
    diff_mask: list
    bound: frozenset


def _linearize(fun, args, kwargs, argnums, has_aux, fname, dtype_check=None):
    """Linearize ``fun`` in the positional arguments ``argnums`` (already resolved)."""
    dyn = tuple(args[i] for i in argnums)
    leaves, in_tree = tree_flatten(dyn)
    leaves = [as_leaf(x, f"{fname}, argument {argnums[0] if len(argnums) == 1 else argnums}")
              for x in leaves]
    if dtype_check is not None:
        dtype_check(leaves, in_tree)
    diff_mask = [is_inexact(get_aval(x).dtype) for x in leaves]
    res = _VJPResult()
    res.bound = frozenset(core.bound_axis_names())  # the axes the program's types speak of

    def flat_fun(*flat):
        new_args = list(args)
        for i, a in zip(argnums, tree_unflatten(in_tree, flat)):
            new_args[i] = a
        out = fun(*new_args, **kwargs)
        aux_leaves = []
        if has_aux:
            if not (isinstance(out, tuple | list) and len(out) == 2):
                raise TypeError(f"{fname} with has_aux=True requires the function to return a "
                                f"pair (output, aux); it returned {_describe(out)}")
            out, aux = out
            aux_leaves, res.aux = tree_flatten(aux)
        out_leaves, res.out_tree = tree_flatten(out)
        res.out_leaves = len(out_leaves)
        return [as_out_leaf(o, fname) for o in out_leaves] + list(aux_leaves)

    outs, jaxpr = ad.linearize_flat(flat_fun, leaves, diff_mask)
    n = res.out_leaves
    out_primals, aux_primals = outs[:n], outs[n:]
    jaxpr.outvars = jaxpr.outvars[:n]
    res.out_leaves = out_primals
    if has_aux:
        res.aux = tree_unflatten(res.aux, aux_primals)
    res.jaxpr, res.in_leaves, res.in_tree, res.diff_mask = jaxpr, leaves, in_tree, diff_mask
    return res



def _describe(x):
    if isinstance(x, Tracer):
        return f"an array of shape {x.aval.shape} and dtype {x.aval.dtype}"
    if isinstance(x, tuple | list):
        return f"a {type(x).__name__} of length {len(x)}"
    return f"a value of type {type(x).__name__}"


def _pullback(res, cts, reduced):
    """Input cotangents (flat, instantiated, float0 for ints) for output cotangents."""
    finals = iter(ad.reduce_inputs(ad.backward_pass(res.jaxpr, cts, reduced, res.bound)))
    out = []
    for x, d in zip(res.in_leaves, res.diff_mask):
        a = get_aval(x)
        if not d:
            out.append(np.zeros(a.shape, float0))
            continue
        ct = ad.instantiate(next(finals), a)
        if get_aval(ct).dtype != a.dtype:
            if is_complex(get_aval(ct).dtype) and not is_complex(a.dtype):
                ct = real(ct)
            ct = convert_element_type(ct, a.dtype)
        if get_aval(ct).shape != a.shape:
            ct = broadcast_in_dim(ct, a.shape, ())
        out.append(ct)
    return out


# --------------------------------------------------------------------------- grad

def grad(fun: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False,
         holomorphic: bool = False, allow_int: bool = False,
         reduce_axes: Sequence[str] = ()) -> Callable[..., Any]:
    """Gradient of a scalar-output ``fun`` with respect to positional ``argnums``.

    ``reduce_axes`` names map axes over which the gradient of values that do not
    vary over the axis is summed (the total gradient); without it, such gradients
    are per-example.

    >>> import spmdgrad, spmdgrad.numpy as jnp
    >>> print(spmdgrad.grad(jnp.tanh)(0.2))
    0.9610429829661166
    """
    vg = _value_and_grad(fun, argnums, has_aux, holomorphic, allow_int, reduce_axes, "grad")

    @functools.wraps(fun)
    @api_boundary
    def grad_fun(*args, **kwargs):
        out = vg(*args, **kwargs)
        if has_aux:
            (_, aux), g = out
            return g, aux
        return out[1]
    return grad_fun


def value_and_grad(fun: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False,
                   holomorphic: bool = False, allow_int: bool = False,
                   reduce_axes: Sequence[str] = ()) -> Callable[..., Any]:
    """Like :func:`grad`, but returns ``(value, gradient)`` (``((value, aux), gradient)``
    with ``has_aux``).

    >>> import spmdgrad, spmdgrad.numpy as jnp
    >>> v, g = spmdgrad.value_and_grad(lambda x: jnp.sum(x ** 2))(jnp.array([1.0, 2.0]))
    >>> print(v, g)
    5.0 [2. 4.]
    """
    return _value_and_grad(fun, argnums, has_aux, holomorphic, allow_int, reduce_axes,
                           "value_and_grad")


def _value_and_grad(fun, argnums, has_aux, holomorphic, allow_int, reduce_axes, fname):
    argnums_c, single = _check_argnums(argnums, fname)
    reduce_axes = _check_reduce_axes(reduce_axes, fname)
    if not callable(fun):
        raise TypeError(f"{fname} expects a callable, got {fun!r}")

    def check_inputs(leaves, tree):
        for x in leaves:
            dt = get_aval(x).dtype
            if holomorphic and not is_complex(dt):
                raise TypeError(f"grad with holomorphic=True requires complex inputs, got an input "
                                f"of dtype {dt}. Convert it with .astype(complex) or drop "
                                "holomorphic=True.")
            if not is_inexact(dt) and not allow_int:
                raise TypeError(f"grad requires real- or complex-valued inputs (floating or "
                                f"complex dtype), got an input of dtype {dt}. Pass allow_int=True "
                                "to get a float0 gradient for integer inputs, or use vjp.")

    @functools.wraps(fun)
    @api_boundary
    def vg_fun(*args, **kwargs):
        nums = _resolve_argnums(argnums_c, len(args), fname)
        reduced = _bound_reduce_axes(reduce_axes, fname)
        res = _linearize(fun, args, kwargs, nums, has_aux, fname, check_inputs)
        if res.out_tree.num_leaves != 1 or res.out_tree.kind is not None:
            raise TypeError(f"{fname} requires a scalar output (an array of shape ()), but the "
                            f"function returned a pytree {res.out_tree}. Use vjp or jacrev for "
                            "non-scalar outputs.")
        out = res.out_leaves[0]
        a = get_aval(out)
        if a.shape != ():
            raise TypeError(f"{fname} requires a scalar output (shape ()), got shape {a.shape} "
                            f"({a.str_short()}). Reduce it (e.g. jnp.sum) or use vjp or jacrev "
                            "for non-scalar outputs.")
        if not is_inexact(a.dtype):
            raise TypeError(f"{fname} requires a real- or complex-valued output, got dtype "
                            f"{a.dtype}.")
        if is_complex(a.dtype) and not holomorphic:
            raise TypeError(f"{fname} requires a real-valued output, got dtype {a.dtype}. For "
                            "holomorphic functions pass holomorphic=True; otherwise use vjp, or "
                            "take the real part.")
        if holomorphic and not is_complex(a.dtype):
            raise TypeError(f"{fname} with holomorphic=True requires a complex output, got dtype "
                            f"{a.dtype}.")
        g = _pullback(res, [np.ones((), a.dtype)], reduced)
        g_tree = tree_unflatten(res.in_tree, g)
        g = g_tree[0] if single else g_tree
        value = (out, res.aux) if has_aux else out
        return value, g
    return vg_fun


# --------------------------------------------------------------------------- vjp / jvp

@api_boundary
def vjp(fun: Callable[..., Any], *primals: Any, has_aux: bool = False, reduce_axes: Sequence[str] = ()) -> tuple:
    """Return ``(fun(*primals), f_vjp)`` (plus ``aux``) where ``f_vjp(ct)`` pulls an
    output cotangent back to a tuple of input cotangents.

    >>> import spmdgrad, spmdgrad.numpy as jnp
    >>> y, f_vjp = spmdgrad.vjp(jnp.sin, 0.0)
    >>> f_vjp(1.0)
    (np.float64(1.0),)
    """
    reduce_axes = _check_reduce_axes(reduce_axes, "vjp")
    reduced = _bound_reduce_axes(reduce_axes, "vjp")
    res = _linearize(fun, primals, {}, list(range(len(primals))), has_aux, "vjp")
    out = tree_unflatten(res.out_tree, res.out_leaves)

    @api_boundary
    def f_vjp(ct):
        cts, ct_tree = tree_flatten(ct)
        if ct_tree != res.out_tree:
            raise ValueError(f"vjp: the cotangent has tree structure {ct_tree}, but the "
                             f"function's output has {res.out_tree}")
        cts = [as_leaf(c, "vjp cotangent") for c in cts]
        for c, o in zip(cts, res.out_leaves):
            if get_aval(c).shape != get_aval(o).shape:
                raise ValueError(f"vjp: cotangent shape {get_aval(c).shape} does not match the "
                                 f"output shape {get_aval(o).shape}")
        return tuple(tree_unflatten(res.in_tree, _pullback(res, cts, reduced)))
    return (out, f_vjp, res.aux) if has_aux else (out, f_vjp)


def _push_forward(res, tangents):
    """Output tangents of the linearized program, zeros instantiated."""
    outs = core.eval_jaxpr(res.jaxpr, tangents)
    return [ad.instantiate(t, get_aval(o)) for o, t in zip(res.out_leaves, outs)]


@api_boundary
def jvp(fun: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any], has_aux: bool = False) -> tuple:
    """Forward mode: ``(fun(*primals), J @ tangents)``.

    >>> import spmdgrad, spmdgrad.numpy as jnp
    >>> spmdgrad.jvp(jnp.sin, (0.0,), (2.0,))
    (np.float64(0.0), np.float64(2.0))
    """
    if not isinstance(primals, tuple | list) or not isinstance(tangents, tuple | list):
        raise TypeError("jvp: primals and tangents must be tuples (or lists) of arguments")
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: got {len(primals)} primals but {len(tangents)} tangents")
    res = _linearize(fun, tuple(primals), {}, list(range(len(primals))), has_aux, "jvp")
    t_leaves, t_tree = tree_flatten(tuple(tangents))
    if t_tree != res.in_tree:
        raise ValueError(f"jvp: primals have tree structure {res.in_tree} but tangents have "
                         f"{t_tree}")
    args = []
    for t, p, d in zip(t_leaves, res.in_leaves, res.diff_mask):
        t = as_leaf(t, "jvp tangent")
        if get_aval(t).shape != get_aval(p).shape:
            raise ValueError(f"jvp: tangent shape {get_aval(t).shape} does not match primal "
                             f"shape {get_aval(p).shape}")
        if d:
            args.append(t)
    t_out = _push_forward(res, args)
    out = (tree_unflatten(res.out_tree, res.out_leaves), tree_unflatten(res.out_tree, t_out))
    return out + (res.aux,) if has_aux else out


@api_boundary
def linearize(fun: Callable[..., Any], *primals: Any) -> tuple:
    """Return ``(fun(*primals), f_jvp)`` where ``f_jvp(*tangents)`` is the linear map."""
    res = _linearize(fun, primals, {}, list(range(len(primals))), False, "linearize")

    def f_jvp(*tangents):
        t_leaves, _ = tree_flatten(tangents)
        args = [t for t, d in zip(t_leaves, res.diff_mask) if d]
        return tree_unflatten(res.out_tree, _push_forward(res, args))
    return tree_unflatten(res.out_tree, res.out_leaves), f_jvp


# --------------------------------------------------------------------------- Jacobians

def _std_basis(leaves, dtype):
    """Rows of the identity, split per leaf and reshaped: leaf i gets (total, *shape_i)."""
    sizes = [get_aval(x).size for x in leaves]
    eye = np.eye(sum(sizes), dtype=dtype)
    out, start = [], 0
    for x, n in zip(leaves, sizes):
        out.append(eye[:, start:start + n].reshape((-1,) + get_aval(x).shape))
        start += n
    return out


def _split_rows(x, leaves, trailing_first):
    """Split axis 0 of ``x`` per leaf of ``leaves`` and reshape it to that leaf's shape,
    placed first (jacrev: out dims first) or last (jacfwd: in dims last)."""
    pieces, start = [], 0
    rest = get_aval(x).shape[1:]
    for leaf in leaves:
        shp = get_aval(leaf).shape
        n = int(np.prod(shp, dtype=np.int64))
        blk = slice_(x, (start,) + (0,) * len(rest), (start + n,) + rest)
        start += n
        if trailing_first:
            pieces.append(jnp.reshape(blk, shp + rest))
        else:
            blk = jnp.reshape(blk, shp + rest)
            nd = len(shp)
            perm = tuple(range(nd, nd + len(rest))) + tuple(range(nd))
            pieces.append(jnp.transpose(blk, perm))
    return pieces


def _result_dtype(leaves):
    dt = np.result_type(*[get_aval(x).dtype for x in leaves]) if leaves else np.float64
    return dt if is_inexact(dt) else np.dtype(np.float64)


def jacrev(fun: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False,
           holomorphic: bool = False, allow_int: bool = False) -> Callable[..., Any]:
    """Jacobian by reverse mode: one VJP per output element, vectorized with vmap."""
    def blocks(res):
        outs = res.out_leaves
        basis = _std_basis(outs, _result_dtype(outs))
        rows = vmap(lambda *cts: _pullback(res, list(cts), frozenset()))(*basis)
        per_out: list[list] = [[] for _ in outs]
        for r in rows:
            for i, piece in enumerate(_split_rows(r, outs, True)):
                per_out[i].append(piece)
        return per_out
    return _jacobian(fun, argnums, has_aux, holomorphic, allow_int, "jacrev", blocks)


def jacfwd(fun: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False,
           holomorphic: bool = False) -> Callable[..., Any]:
    """Jacobian by forward mode: one JVP per input element, vectorized with vmap."""
    def blocks(res):
        ins = res.in_leaves
        basis = _std_basis(ins, _result_dtype(ins))
        cols = vmap(lambda *ts: _push_forward(res, list(ts)))(*basis)
        return [_split_rows(c, ins, False) for c in cols]
    return _jacobian(fun, argnums, has_aux, holomorphic, False, "jacfwd", blocks)


def _jacobian(fun, argnums, has_aux, holomorphic, allow_int, fname, blocks):
    """The shared body of jacrev/jacfwd: ``blocks(res)`` gives, per output leaf, the
    Jacobian block for each input leaf."""
    argnums_c, single = _check_argnums(argnums, fname)

    @api_boundary
    def jac(*args, **kwargs):
        nums = _resolve_argnums(argnums_c, len(args), fname)
        res = _linearize(fun, args, kwargs, nums, has_aux, fname,
                         _jac_input_check(fname, holomorphic, allow_int))
        jac_tree = _assemble(res, blocks(res), single)
        return (jac_tree, res.aux) if has_aux else jac_tree
    return jac


def _jac_input_check(fname, holomorphic, allow_int):
    def check(leaves, tree):
        for x in leaves:
            dt = get_aval(x).dtype
            if holomorphic and not is_complex(dt):
                raise TypeError(f"{fname} with holomorphic=True requires complex inputs, got {dt}")
            if not is_inexact(dt) and not allow_int:
                raise TypeError(f"{fname} requires real- or complex-valued inputs, got dtype {dt}")
    return check


def _assemble(res, per_out, single):
    """Output tree of (input tree of blocks)."""
    blocks = []
    for pieces in per_out:
        in_tree = tree_unflatten(res.in_tree, pieces)
        blocks.append(in_tree[0] if single else in_tree)
    return tree_unflatten(res.out_tree, blocks)


def hessian(fun: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False,
            holomorphic: bool = False) -> Callable[..., Any]:
    """``jacfwd(jacrev(fun))``: the dense Hessian.

    >>> import spmdgrad, spmdgrad.numpy as jnp
    >>> spmdgrad.hessian(lambda x: jnp.sum(x ** 3))(jnp.array([1.0, 2.0]))
    array([[ 6.,  0.],
           [ 0., 12.]])
    """
    return jacfwd(jacrev(fun, argnums, has_aux, holomorphic), argnums, has_aux, holomorphic)
