"""``jit``: trace a function once per input signature and replay its program.

Transformations in spmdgrad are interpreters: every call re-runs the Python code
through every trace. ``jit`` records the whole computation, including grad, vmap
and pmap inside it, into one typed program per signature (argument structure,
shapes and dtypes), then replays that program straight on the primitives' NumPy
implementations. Python control flow is fixed at tracing time, as in JAX.

Python scalars and other non-array arguments are static: part of the signature
(so ``x * 2.0`` keeps NumPy's weak-scalar promotion) and retraced when they change.
A float is keyed by its bits, so ``-0.0`` and ``0.0`` get their own traces and a NaN
reuses its trace. Arrays closed over by ``fun`` are copied when it is traced (JAX's
snapshot semantics): mutating them afterwards does not change the compiled program.
Under an enclosing transformation a jitted function simply runs (it is traced
through), so ``grad(jit(f))`` works.

>>> import numpy as np, spmdgrad, spmdgrad.numpy as jnp
>>> f = jit(spmdgrad.grad(lambda w, x: jnp.sum(jnp.tanh(x @ w))))
>>> w, x = np.ones((3, 2)) * 0.1, np.ones(3)
>>> np.allclose(f(w, x), spmdgrad.grad(lambda w, x: jnp.sum(jnp.tanh(x @ w)))(w, x))
True
"""
from __future__ import annotations

import functools
import struct

import numpy as np

from . import ad, core
from .api_util import as_out_leaf
from .core import Tracer, impl_rules
from .tree_util import tree_flatten, tree_unflatten

_MAX_ENTRIES = 64


def jit(fun):
    """Compile ``fun`` into a cached, replayed program (see the module docstring)."""
    if not callable(fun):
        raise TypeError(f"jit expects a callable, got {fun!r}")
    cache = {}

    @functools.wraps(fun)
    def jitted(*args, **kwargs):
        if not isinstance(core.current_trace(), core.EvalTrace):
            return fun(*args, **kwargs)
        leaves, tree = tree_flatten((args, kwargs))
        dynamic = [isinstance(x, np.ndarray | np.generic) for x in leaves]
        key = (tree, tuple(core.get_aval(x) if d else _static_key(x)
                           for x, d in zip(leaves, dynamic, strict=True)))
        entry = cache.get(key)
        if entry is None:
            if len(cache) >= _MAX_ENTRIES:
                cache.clear()
            entry = cache[key] = _trace(fun, tree, leaves, dynamic)
        jaxpr, out_tree, const_outs = entry
        outs = _replay(jaxpr, [x for x, d in zip(leaves, dynamic, strict=True) if d])
        for i in const_outs:  # the caller may mutate a result; the program's copy stays intact
            outs[i] = outs[i].copy()
        return tree_unflatten(out_tree, outs)
    jitted.clear_cache = cache.clear
    return jitted


def _static_key(x):
    if isinstance(x, Tracer):
        raise TypeError("jit: a traced value reached a jitted function at the top level")
    try:
        hash(x)
    except TypeError:
        raise TypeError(f"jit: argument {x!r} of type {type(x).__name__} is neither an array "
                        "nor hashable, so it cannot be part of the cache key. Pass arrays, "
                        "Python scalars or hashable static values.") from None
    if isinstance(x, float):  # by bits: -0.0 == 0.0 and nan != nan would confuse the cache
        return (type(x), struct.pack("<d", x))
    if isinstance(x, complex):
        return (type(x), struct.pack("<dd", x.real, x.imag))
    return (type(x), x)


def _trace(fun, tree, leaves, dynamic):
    trace = ad.JaxprTrace(core.current_trace())
    tracers = [trace.new_arg(core.get_aval(x)) if d else x
               for x, d in zip(leaves, dynamic, strict=True)]
    args, kwargs = tree_unflatten(tree, tracers)
    with core.use_trace(trace):
        out = fun(*args, **kwargs)
    outs, out_tree = tree_flatten(out)
    outs = [as_out_leaf(o, "jit") for o in outs]
    invars = [t.var for t, d in zip(tracers, dynamic, strict=True) if d]
    jaxpr = trace.to_jaxpr(invars, outs)
    # Snapshot the constants (closed-over arrays, and views of them): the program is
    # what fun computed at trace time, whatever happens to those arrays later.
    jaxpr.consts = [np.array(c, copy=True) if isinstance(c, np.ndarray) else c for c in jaxpr.consts]
    array_consts = {v for v, c in zip(jaxpr.constvars, jaxpr.consts, strict=True) if isinstance(c, np.ndarray)}
    const_outs = [i for i, v in enumerate(jaxpr.outvars) if v in array_consts]
    return jaxpr, out_tree, const_outs


def _replay(jaxpr, args):
    """Evaluate ``jaxpr`` on concrete arrays: one impl call per equation."""
    return core.eval_jaxpr(jaxpr, args, _impl)


def _impl(prim, vals, params):
    return impl_rules[prim](*vals, **params)
