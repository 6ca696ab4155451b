"""Custom derivative rules: ``custom_jvp`` and ``custom_vjp``.

Each call binds one primitive that carries the user's callables; how the
transformations treat it is in :mod:`spmdgrad.custom_rules`.

Limitations: the function and its rules must not close over traced values
(pass them as arguments); ``nondiff_argnums`` arguments must not be traced.

>>> import spmdgrad, spmdgrad.numpy as jnp
>>> @custom_jvp
... def straight_through_round(x):
...     return jnp.round(x)
>>> @straight_through_round.defjvp
... def _(primals, tangents):
...     return straight_through_round(primals[0]), tangents[0]
>>> print(spmdgrad.grad(straight_through_round)(1.3))   # autodiff of round gives 0.0
1.0
"""
from __future__ import annotations

import functools
import inspect

import numpy as np

from .core import Tracer, get_aval, zip
from .custom_rules import Call, custom_jvp_call_p, custom_vjp_call_p
from .dtypes import float0, is_complex, is_inexact
from .primitives.elementwise import convert_element_type, real
from .tree_util import tree_flatten, tree_leaves, tree_map, tree_unflatten

_SCALARS = (bool, int, float, complex)


# --------------------------------------------------------------------------- shared helpers

def _as_array(x, where):
    if isinstance(x, Tracer | np.ndarray | np.generic):
        return x
    if isinstance(x, _SCALARS):
        return np.asarray(x)
    raise TypeError(f"{where}: {x!r} of type {type(x).__name__} is not a valid array type. "
                    "Pass arrays, Python scalars or pytrees of them; list non-array arguments "
                    "in nondiff_argnums.")


def _name(fun):
    return getattr(fun, "__qualname__", None) or type(fun).__name__


def _resolve_args(fun, args, kwargs, name):
    """Keyword arguments become positional (custom rules see positional arguments)."""
    if not kwargs:
        return tuple(args)
    try:
        bound = inspect.signature(fun).bind(*args, **kwargs)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name}: cannot map the call's arguments to positions: {e}") from None
    bound.apply_defaults()
    if bound.kwargs:
        raise TypeError(f"{name}: keyword-only arguments {sorted(bound.kwargs)} are not "
                        "supported by custom derivative rules; make them positional")
    return tuple(bound.args)


def _check_nondiff(nondiff_argnums, kind):
    if isinstance(nondiff_argnums, int):
        nondiff_argnums = (nondiff_argnums,)
    nums = tuple(nondiff_argnums)
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in nums):
        raise TypeError(f"{kind}: nondiff_argnums must be a sequence of ints, got "
                        f"{nondiff_argnums!r}")
    return nums


def _split_args(args, nondiff_argnums, name):
    n = len(args)
    nums = []
    for i in nondiff_argnums:
        if not -n <= i < n:
            raise TypeError(f"{name}: nondiff_argnums entry {i} is out of range for a call "
                            f"with {n} positional argument(s)")
        nums.append(i % n)
    for i in nums:
        if any(isinstance(leaf, Tracer) for leaf in tree_leaves(args[i])):
            raise TypeError(
                f"{name}: argument {i} is listed in nondiff_argnums but holds a traced array. "
                "nondiff_argnums is for non-array values (functions, shapes, strings); pass "
                "arrays as ordinary arguments (a custom_vjp bwd may return None for them).")
    nondiff = {i: args[i] for i in sorted(nums)}
    diff = tuple(a for i, a in enumerate(args) if i not in nondiff)
    return nondiff, diff


def _merge_args(nondiff, diff):
    it = iter(diff)
    return tuple(nondiff[i] if i in nondiff else next(it)
                 for i in range(len(nondiff) + len(diff)))


def _check_closure(fn, name, what):
    """A closed-over tracer would reach a trace that does not own it: refuse early."""
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            value = cell.cell_contents
        except ValueError:  # empty cell
            continue
        if isinstance(value, Tracer | tuple | list | dict) and any(
                isinstance(v, Tracer) for v in tree_leaves(value)):
            raise TypeError(f"{name}: its {what} closes over a traced value. Functions with "
                            "custom derivative rules must take traced values as arguments; "
                            "pass it explicitly.")


class _OutTree:
    """The output tree structure of one call, shared by fun and its rules."""
    __slots__ = ("tree", "name")

    def __init__(self, name):
        self.tree, self.name = None, name

    def set(self, tree, what):
        if self.tree is not None and tree != self.tree:
            raise TypeError(f"{self.name}: {what} returned an output with tree structure {tree}, "
                            f"but the function's output has structure {self.tree}")
        self.tree = tree


def _out_leaves(out, where):
    leaves, tree = tree_flatten(out)
    return [_as_array(x, where) for x in leaves], tree


def _fit_ct(ct, aval, where):
    """A user-supplied tangent or cotangent made to match ``aval`` (None: zero)."""
    if ct is None or not is_inexact(aval.dtype):
        return None
    ct = _as_array(ct, where)
    a = get_aval(ct)
    if a.dtype == float0:
        return None
    if a.shape != aval.shape:
        raise ValueError(f"{where}: got shape {a.shape}, but the corresponding primal value has "
                         f"shape {aval.shape}")
    if a.dtype != aval.dtype:
        if is_complex(a.dtype) and not is_complex(aval.dtype):
            ct = real(ct)
        ct = convert_element_type(ct, aval.dtype)
    return ct


# --------------------------------------------------------------------------- the public classes

class _CustomFunction:
    """Shared by custom_jvp and custom_vjp: argument handling and the call's ``fun``."""
    _kind = _prim = None

    def __init__(self, fun, nondiff_argnums=()):
        if not callable(fun):
            raise TypeError(f"{self._kind} expects a callable, got {fun!r}")
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = _check_nondiff(nondiff_argnums, self._kind)

    def __call__(self, *args, **kwargs):
        name = f"{self._kind} function {_name(self.fun)}"
        rules = self._rules(name)
        args = _resolve_args(self.fun, args, kwargs, name)
        nondiff, diff = _split_args(args, self.nondiff_argnums, name)
        for what, fn in (("function", self.fun),) + rules:
            _check_closure(fn, name, what)
        leaves, in_tree = tree_flatten(diff)
        leaves = [_as_array(x, f"{name}, argument leaf") for x in leaves]
        if not leaves:
            return self.fun(*args)
        out_tree, user_fun = _OutTree(name), self.fun

        def fun(*xs):
            out, tree = _out_leaves(user_fun(*_merge_args(nondiff, tree_unflatten(in_tree, xs))),
                                    f"{name}, output")
            out_tree.set(tree, "the function")
            return out

        call = Call(_name(self.fun), fun)
        self._flat_rules(call, name, nondiff, in_tree, out_tree)
        outs = self._prim.bind(*leaves, call=call)
        return tree_unflatten(out_tree.tree, outs)


def _describe(x):
    if isinstance(x, tuple | list):
        return f"a {type(x).__name__} of length {len(x)}"
    return f"a value of type {type(x).__name__}"



class custom_jvp(_CustomFunction):
    """A function with a custom JVP rule, used by every differentiation
    (grad, jvp, vjp, jacfwd, jacrev, hessian), at every order and under vmap/pmap.

    ``f.defjvp(rule)``: ``rule(primals, tangents) -> (primal_out, tangent_out)``,
    where ``primals``/``tangents`` are tuples of the differentiable arguments. With
    ``nondiff_argnums``, those arguments come first: ``rule(*nondiff, primals,
    tangents)``. Zero tangents are passed as zeros (float0 for integer inputs).

    >>> import spmdgrad, spmdgrad.numpy as jnp
    >>> @custom_jvp
    ... def f(x):
    ...     return jnp.sin(x)
    >>> f.defjvps(lambda t, ans, x: 2.0 * t)   # a deliberately different rule
    >>> print(spmdgrad.grad(f)(0.5))
    2.0
    """
    _kind, _prim = "custom_jvp", custom_jvp_call_p
    jvp = None

    def defjvp(self, jvp):
        """Set the JVP rule; returns it, so this works as a decorator."""
        if not callable(jvp):
            raise TypeError(f"{_name(self.fun)}.defjvp expects a callable, got {jvp!r}")
        self.jvp = jvp
        return jvp

    def defjvps(self, *jvps):
        """One rule per argument: ``jvps[i](t_i, primal_out, *primals)`` is that
        argument's contribution to the output tangent (None: no contribution)."""
        if self.nondiff_argnums:
            raise TypeError(f"{_name(self.fun)}.defjvps cannot be used with nondiff_argnums")

        def rule(primals, tangents):
            if len(jvps) != len(primals):
                raise TypeError(f"{_name(self.fun)}.defjvps got {len(jvps)} rules for "
                                f"{len(primals)} arguments")
            out = self(*primals)
            t_out = tree_map(lambda o: np.zeros(np.shape(o), get_aval(o).dtype), out)
            for fn, t in zip(jvps, tangents):
                if fn is not None:
                    t_out = tree_map(lambda a, b: a + b, t_out, fn(t, out, *primals))
            return out, t_out
        self.jvp = rule

    def _rules(self, name):
        if self.jvp is None:
            raise TypeError(f"{name} has no JVP rule: define one with defjvp before calling it")
        return (("JVP rule", self.jvp),)

    def _flat_rules(self, call, name, nondiff, in_tree, out_tree):
        user_jvp = self.jvp

        def jvp(xs, ts):
            res = user_jvp(*nondiff.values(), tree_unflatten(in_tree, xs),
                           tree_unflatten(in_tree, ts))
            if not (isinstance(res, tuple | list) and len(res) == 2):
                raise TypeError(f"{name}: the JVP rule must return a pair (primal_out, "
                                f"tangent_out), got {_describe(res)}")
            outs, p_tree = _out_leaves(res[0], f"{name}, JVP rule primal output")
            t_leaves, t_tree = tree_flatten(res[1])
            if t_tree != p_tree:
                raise TypeError(f"{name}: the JVP rule returned a primal output with tree "
                                f"structure {p_tree} but a tangent output with structure {t_tree}")
            out_tree.set(p_tree, "the JVP rule")
            return outs, [_fit_ct(t, get_aval(o), f"{name}, JVP rule tangent output {i}")
                          for i, (t, o) in enumerate(zip(t_leaves, outs))]
        call.jvp = jvp


class _ResInfo:
    """What bwd needs besides the residual arrays: their tree, the non-array
    residual leaves, and the avals of the primal inputs (to check cotangents)."""
    __slots__ = ("tree", "static", "in_avals")

    def __init__(self, tree, static, in_avals):
        self.tree, self.static, self.in_avals = tree, static, in_avals


class custom_vjp(_CustomFunction):
    """A function with a custom VJP rule, used by reverse-mode differentiation at
    every order and under vmap/pmap.

    ``f.defvjp(fwd, bwd)``: ``fwd`` takes ``f``'s arguments and returns
    ``(out, residuals)``; ``bwd(residuals, ct)`` returns a tuple with one cotangent
    per differentiable argument (None for a zero). With ``nondiff_argnums`` those
    arguments come first: ``bwd(*nondiff, residuals, ct)``. ``bwd`` runs as traced
    code, so grad of grad differentiates through it. Forward mode (jvp, jacfwd)
    uses the transpose of ``bwd`` (exact when ``bwd`` is linear in ``ct``, as a
    VJP is).

    >>> import spmdgrad, spmdgrad.numpy as jnp
    >>> @custom_vjp
    ... def clip_grad(x):
    ...     return x
    >>> clip_grad.defvjp(lambda x: (x, None), lambda _, g: (jnp.clip(g, -1.0, 1.0),))
    >>> print(spmdgrad.grad(lambda x: 5.0 * clip_grad(x))(2.0))
    1.0
    """
    _kind, _prim = "custom_vjp", custom_vjp_call_p
    fwd = bwd = None

    def defvjp(self, fwd, bwd):
        """Set the forward (``fwd(*args) -> (out, residuals)``) and backward
        (``bwd(residuals, ct) -> tuple of cotangents``) rules."""
        if not callable(fwd) or not callable(bwd):
            raise TypeError(f"{_name(self.fun)}.defvjp expects two callables (fwd, bwd)")
        self.fwd, self.bwd = fwd, bwd

    def _rules(self, name):
        if self.fwd is None:
            raise TypeError(f"{name} has no VJP rule: define one with defvjp before calling it")
        return (("fwd rule", self.fwd), ("bwd rule", self.bwd))

    def _flat_rules(self, call, name, nondiff, in_tree, out_tree):
        user_fwd, user_bwd, arg_trees = self.fwd, self.bwd, in_tree.children

        def fwd(*xs):
            res = user_fwd(*_merge_args(nondiff, tree_unflatten(in_tree, xs)))
            if not (isinstance(res, tuple | list) and len(res) == 2):
                raise TypeError(f"{name}: fwd must return a pair (output, residuals), got "
                                f"{_describe(res)}")
            outs, tree = _out_leaves(res[0], f"{name}, fwd output")
            out_tree.set(tree, "fwd")
            r_leaves, r_tree = tree_flatten(res[1])
            arrays, static = [], {}
            for i, r in enumerate(r_leaves):
                if isinstance(r, (Tracer, np.ndarray, np.generic) + _SCALARS):
                    arrays.append(_as_array(r, name))
                else:
                    static[i] = r
            return outs, arrays, _ResInfo(r_tree, static, [get_aval(x) for x in xs])

        def bwd(info, res, cts):
            it = iter(res)
            r_leaves = [info.static[i] if i in info.static else next(it)
                        for i in range(info.tree.num_leaves)]
            out = user_bwd(*nondiff.values(), tree_unflatten(info.tree, r_leaves),
                           tree_unflatten(out_tree.tree, cts))
            if not isinstance(out, tuple | list) or len(out) != len(arg_trees):
                raise TypeError(
                    f"{name}: bwd must return a tuple with one cotangent per differentiable "
                    f"argument ({len(arg_trees)} here), got {_describe(out)}. For one argument "
                    "write `return (g,)`.")
            flat = []
            for i, (c, tree) in enumerate(zip(out, arg_trees)):
                flat.extend(_ct_leaves(c, tree, f"{name}: bwd cotangent for argument {i}"))
            return [_fit_ct(c, a, f"{name}: bwd cotangent leaf {i}")
                    for i, (c, a) in enumerate(zip(flat, info.in_avals))]
        call.fwd, call.bwd = fwd, bwd


def _ct_leaves(ct, tree, where):
    """Leaves of a cotangent for an argument of structure ``tree``; None stands
    for a zero, for the whole argument or for single leaves."""
    if ct is None:
        return [None] * tree.num_leaves
    for is_leaf in (None, lambda x: x is None):
        leaves, t = tree_flatten(ct, is_leaf=is_leaf)
        if t == tree:
            return leaves
    raise TypeError(f"{where} has tree structure {t}, but the argument has structure {tree}")


