"""Structured control flow and dynamic slicing, with ``jax.lax``'s names and semantics.

``scan``, ``fori_loop``, ``while_loop``, ``cond``, ``switch`` and ``map`` trace their
Python functions once into sub-programs and bind one structured primitive, so a
jitted or printed program does not grow with the trip count. ``scan`` and a
``fori_loop`` with static bounds are differentiable in both modes (reverse mode
stores each step's residuals); ``while_loop`` has forward-mode derivatives only.
Under vmap, a batched predicate runs every branch (``cond``) or every iteration
until all instances are done (``while_loop``), as JAX does. Collectives work inside
bodies under vmap and pmap. See docs/control_flow.md.
"""
from __future__ import annotations

import numpy as np

from .. import numpy as jnp
from ..core import ConcretizationError, ShapedArray, Tracer, get_aval, zip
from ..primitives import control_flow as cf
from ..primitives.cond import cond_bind, join_branches
from ..primitives.dynamic_slice import (
    dynamic_index_in_dim,
    dynamic_slice,
    dynamic_slice_in_dim,
    dynamic_update_index_in_dim,
    dynamic_update_slice,
    dynamic_update_slice_in_dim,
)
from ..primitives.loops import scan_bind, while_bind
from ..tree_util import tree_flatten, tree_unflatten
from ..vmap import vmap

__all__ = [
    "cond",
    "dynamic_index_in_dim",
    "dynamic_slice",
    "dynamic_slice_in_dim",
    "dynamic_update_index_in_dim",
    "dynamic_update_slice",
    "dynamic_update_slice_in_dim",
    "fori_loop",
    "map",
    "scan",
    "switch",
    "while_loop",
]

_missing = object()


def _leaf(x, where):
    if isinstance(x, Tracer):
        return x
    a = np.asarray(x)
    if a.dtype == object:
        raise TypeError(f"{where}: {x!r} of type {type(x).__name__} is not an array; loop "
                        "carries, xs and outputs must be arrays, scalars or pytrees of them")
    return a


def _leaves(tree, where):
    leaves, treedef = tree_flatten(tree)
    return [_leaf(x, where) for x in leaves], treedef


def _describe(avals):
    return "(" + ", ".join(a.str_short() for a in avals) + ")"


def _loop_body(fun, in_avals, n_carry, carry_tree, where):
    """Trace a loop body to a fixed point of its carry types: a carry the body makes
    vary over a named axis varies on entry too. Returns (program, lifted, out_tree)."""
    carry_avals, rest = list(in_avals[:n_carry]), list(in_avals[n_carry:])
    box = {}

    def flat(*args):
        outs, box["tree"] = fun(args)
        return outs
    while True:
        prog, lifted = cf.trace_program(flat, carry_avals + rest)
        outs = cf.avals_of(prog.outvars[:n_carry])
        tree = box["tree"]
        if tree[0] != carry_tree:
            raise TypeError(f"{where}: the body must return a carry with the same structure as "
                            f"the initial value ({carry_tree}), got {tree[0]}")
        if not all(cf.same_type(a, b) for a, b in zip(outs, carry_avals)):
            raise TypeError(
                f"{where}: the body's carry output has types {_describe(outs)}, but the carry "
                f"input has types {_describe(carry_avals)}; they must match exactly (shapes and "
                "dtypes). Cast the initial value, e.g. with .astype.")
        widened = [cf.join_vma(a, o) for a, o in zip(carry_avals, outs)]
        if widened == carry_avals:
            return prog, lifted, tree
        carry_avals = widened


# ---------------------------------------------------------------- scan and map

def scan(f, init, xs=None, length=None, reverse=False, unroll=1, _split_transpose=False):
    """Loop ``f(carry, x) -> (carry, y)`` over the leading axis of ``xs``; returns the
    final carry and the stacked ``y``s, as ``jax.lax.scan``.

    ``reverse=True`` scans from the end (``ys`` keep their positions); ``length``
    is needed when ``xs`` is None. ``unroll`` is accepted and has no effect (there is
    no compiler to unroll for).

    >>> import numpy as np, spmdgrad, spmdgrad.numpy as jnp
    >>> carry, ys = scan(lambda c, x: (c + x, c * x), 0.0, np.arange(1.0, 5.0))
    >>> print(carry, ys)
    10.0 [ 0.  2.  9. 24.]
    >>> print(spmdgrad.grad(lambda a: scan(lambda c, x: (c * a + x, None), 0.0, np.ones(3))[0])(2.0))
    5.0
    """
    if not callable(f):
        raise TypeError(f"scan: f must be callable, got {f!r}")
    init_leaves, init_tree = _leaves(init, "scan: init")
    xs_leaves, xs_tree = _leaves(xs, "scan: xs")
    lengths = set()
    for x in xs_leaves:
        a = get_aval(x)
        if a.ndim == 0:
            raise ValueError(f"scan: every xs leaf needs a leading axis to scan over, got a "
                             f"scalar {a.str_short()}")
        lengths.add(a.shape[0])
    if length is not None:
        length = int(length)
        if lengths and lengths != {length}:
            raise ValueError(f"scan: length={length} but the xs have leading axes {sorted(lengths)}")
    elif len(lengths) == 1:
        length = lengths.pop()
    elif lengths:
        raise ValueError(f"scan: the xs have different leading axis sizes {sorted(lengths)}")
    else:
        raise ValueError("scan: pass length=... when xs is None (there is nothing to scan over)")
    nk = len(init_leaves)
    x_avals = [ShapedArray(a.shape[1:], a.dtype, a.vma) for a in [get_aval(x) for x in xs_leaves]]

    def body(args):
        out = f(tree_unflatten(init_tree, list(args[:nk])), tree_unflatten(xs_tree, list(args[nk:])))
        if not (isinstance(out, tuple | list) and len(out) == 2):
            raise TypeError("scan: f must return a pair (carry, y), got "
                            f"{'a ' + type(out).__name__ if isinstance(out, tuple | list) else 'one value'}"
                            f"{' of length ' + str(len(out)) if isinstance(out, tuple | list) else ''}")
        c_leaves, c_tree = _leaves(out[0], "scan: carry output")
        y_leaves, y_tree = _leaves(out[1], "scan: y output")
        return c_leaves + y_leaves, (c_tree, y_tree)
    prog, lifted, (_, y_tree) = _loop_body(body, [get_aval(c) for c in init_leaves] + x_avals,
                                           nk, init_tree, "scan")
    outs = scan_bind(lifted, init_leaves, xs_leaves, prog, length, reverse)
    return tree_unflatten(init_tree, outs[:nk]), tree_unflatten(y_tree, outs[nk:])


def map(f, xs, *, batch_size=None):
    """``f`` applied to each slice of ``xs`` along its leading axis, results stacked
    (a scan without a carry). With ``batch_size``, slices are processed in vmapped
    groups of that size, as JAX does.

    >>> import numpy as np
    >>> map(lambda x: x ** 2, np.arange(4.0))
    array([0., 1., 4., 9.])
    """
    if batch_size is None:
        return scan(lambda _, x: ((), f(x)), (), xs)[1]
    leaves, tree = _leaves(xs, "map: xs")
    if not leaves or get_aval(leaves[0]).ndim == 0:
        raise ValueError("map: xs must hold arrays with a leading axis to map over")
    n = get_aval(leaves[0]).shape[0]
    b = int(batch_size)
    if b <= 0:
        raise ValueError(f"map: batch_size must be positive, got {batch_size}")
    full, rest = divmod(n, b)
    parts = []
    if full:
        grouped = [jnp.reshape(x[:full * b], (full, b) + get_aval(x).shape[1:]) for x in leaves]
        ys = scan(lambda _, x: ((), vmap(f)(tree_unflatten(tree, x))), (), grouped)[1]
        y_leaves, y_tree = tree_flatten(ys)
        parts.append(([jnp.reshape(y, (full * b,) + get_aval(y).shape[2:]) for y in y_leaves], y_tree))
    if rest:
        ys = vmap(f)(tree_unflatten(tree, [x[full * b:] for x in leaves]))
        parts.append(tree_flatten(ys))
    if len(parts) == 1:
        return tree_unflatten(parts[0][1], parts[0][0])
    return tree_unflatten(parts[0][1], [jnp.concatenate([a, c]) for a, c in zip(parts[0][0], parts[1][0])])


# ---------------------------------------------------------------- loops

def _static_int(x):
    """``int(x)`` if ``x`` is concrete (a Python or NumPy integer, or a traced value with a
    concrete integer value), else None."""
    try:
        v = int(x)
    except ConcretizationError:
        return None
    if isinstance(x, float | np.floating) or (
            isinstance(x, Tracer | np.ndarray) and not np.issubdtype(x.dtype, np.integer)):
        raise TypeError(f"fori_loop: bounds must be integers, got {x!r}")
    return v


def fori_loop(lower, upper, body_fun, init_val, *, unroll=None):
    """``body_fun(i, val)`` for ``i`` in ``[lower, upper)``, as ``jax.lax.fori_loop``.

    With concrete bounds it is a ``scan`` of ``upper - lower`` steps, differentiable
    in both modes; with traced bounds it is a ``while_loop`` (forward mode only).

    >>> import spmdgrad
    >>> print(fori_loop(0, 5, lambda i, x: x + i, 0))
    10
    >>> print(spmdgrad.grad(lambda x: fori_loop(0, 3, lambda i, v: v * x, 1.0))(2.0))
    12.0
    """
    lo, hi = _static_int(lower), _static_int(upper)
    if lo is not None and hi is not None:
        i0 = np.asarray(lo, _index_dtype(lower, upper))

        def step(carry, _):
            i, val = carry
            return (i + np.asarray(1, i0.dtype), body_fun(i, val)), None
        (_, val), _ = scan(step, (i0, init_val), None, length=max(hi - lo, 0))
        return val
    dtype = _index_dtype(lower, upper)
    i0, end = jnp.asarray(lower).astype(dtype), jnp.asarray(upper).astype(dtype)
    _, val = while_loop(lambda c: c[0] < end,
                        lambda c: (c[0] + np.asarray(1, dtype), body_fun(c[0], c[1])),
                        (i0, init_val))
    return val


def _index_dtype(lower, upper):
    dts = [get_aval(x).dtype for x in (lower, upper)
           if isinstance(x, Tracer | np.ndarray | np.generic)]
    return np.result_type(*dts) if dts else np.dtype(np.int64)


def while_loop(cond_fun, body_fun, init_val):
    """Repeat ``val = body_fun(val)`` while ``cond_fun(val)``, as ``jax.lax.while_loop``.

    Differentiable in forward mode (jvp, jacfwd) only: reverse mode raises an error
    that points to ``scan`` and ``fori_loop``.

    >>> print(while_loop(lambda x: x < 100, lambda x: 2 * x, 1))
    128
    """
    init_leaves, tree = _leaves(init_val, "while_loop: init_val")
    nk = len(init_leaves)

    def body(args):
        out, out_tree = _leaves(body_fun(tree_unflatten(tree, list(args))), "while_loop: body output")
        return out, (out_tree,)

    def cond(*args):
        p = _leaf(cond_fun(tree_unflatten(tree, list(args))), "while_loop: cond_fun output")
        a = get_aval(p)
        if a.shape != () or a.dtype != np.bool_:
            raise TypeError(f"while_loop: cond_fun must return a boolean scalar, got {a.str_short()}")
        return [p]
    # Instances whose predicate differs stop at different steps: a predicate that varies
    # over a named axis makes every carry vary over it.
    carry_avals = [get_aval(c) for c in init_leaves]
    while True:
        bprog, b_lifted, _ = _loop_body(body, carry_avals, nk, tree, "while_loop")
        carry_avals = cf.avals_of(bprog.invars[len(b_lifted):])
        cprog, c_lifted = cf.trace_program(cond, carry_avals)
        pred_vma = cprog.outvars[0].aval.vma
        if all(pred_vma <= a.vma for a in carry_avals):
            break
        carry_avals = [cf.widen(a, pred_vma) for a in carry_avals]
    return tree_unflatten(tree, while_bind(c_lifted, b_lifted, init_leaves, cprog, bprog))


# ---------------------------------------------------------------- branches

def _branch_index(index, n, where):
    """``index`` clamped to ``[0, n - 1]`` as a 0-d int64 operand."""
    if not isinstance(index, Tracer):
        a = np.asarray(index)
        if a.shape != () or not (np.issubdtype(a.dtype, np.integer) or a.dtype == np.bool_):
            raise TypeError(f"{where}: the index must be an integer scalar, got {index!r}")
        return np.asarray(min(max(int(a), 0), n - 1), np.int64)
    a = get_aval(index)
    if a.shape != () or not (np.issubdtype(a.dtype, np.integer) or a.dtype == np.bool_):
        raise TypeError(f"{where}: the index must be an integer scalar, got {a.str_short()}")
    return jnp.clip(index.astype(np.int64), 0, n - 1)


def switch(index, branches, *operands, operand=_missing):
    """``branches[index](*operands)``, the index clamped into range, as ``jax.lax.switch``.
    Every branch must return the same structure, shapes and dtypes.

    >>> import numpy as np
    >>> print(switch(5, [lambda x: x + 1, lambda x: x * 10], 2.0))   # index clamped to 1
    20.0
    """
    if operand is not _missing:
        if operands:
            raise TypeError("switch: pass operands positionally or as operand=, not both")
        operands = (operand,)
    branches = list(branches)
    if not branches or not all(callable(b) for b in branches):
        raise TypeError("switch: branches must be a non-empty sequence of callables")
    idx = _branch_index(index, len(branches), "switch")
    return _branch_call(idx, branches, operands, "switch")


def _branch_call(idx, branches, operands, where):
    leaves, tree = _leaves(operands, f"{where}: operands")
    trees = []

    def flat(b):
        def fun(*args):
            out, out_tree = _leaves(b(*tree_unflatten(tree, list(args))), f"{where}: branch output")
            trees.append(out_tree)
            return out
        return fun
    programs, lifted = join_branches([flat(b) for b in branches], [get_aval(x) for x in leaves], where,
                                     idx)
    if any(t != trees[0] for t in trees):
        raise TypeError(f"{where}: the branches return different structures: {trees}")
    return tree_unflatten(trees[0], cond_bind(idx, lifted + leaves, programs))


def cond(pred, true_fun, false_fun, *operands, operand=_missing):
    """``true_fun(*operands)`` if ``pred`` else ``false_fun(*operands)``, as ``jax.lax.cond``.

    ``pred`` is a boolean or numeric scalar (nonzero is true). Under vmap with a
    batched ``pred`` both branches run and each instance selects its result.

    >>> import numpy as np
    >>> print(cond(np.float64(-2.0) > 0, lambda x: x, lambda x: -x, -2.0))
    2.0
    """
    if operand is not _missing:
        if operands:
            raise TypeError("cond: pass operands positionally or as operand=, not both")
        operands = (operand,)
    if not (callable(true_fun) and callable(false_fun)):
        raise TypeError("cond: true_fun and false_fun must be callables (the signature is "
                        "cond(pred, true_fun, false_fun, *operands))")
    if isinstance(pred, Tracer):
        a = get_aval(pred)
        if a.shape != ():
            raise TypeError(f"cond: pred must be a scalar (a boolean or a number), got "
                            f"{a.str_short()}; for an elementwise choice use jnp.where")
        idx = (pred != 0).astype(np.int64) if a.dtype != np.bool_ else pred.astype(np.int64)
    else:
        p = np.asarray(pred)
        if p.shape != ():
            raise TypeError(f"cond: pred must be a scalar, got shape {p.shape}")
        idx = np.asarray(int(bool(p)), np.int64)
    return _branch_call(idx, [false_fun, true_fun], operands, "cond")
