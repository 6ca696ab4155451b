"""``jit``: trace a function once per input signature and run it as compiled Python.

Transformations in spmdgrad are interpreters: every call re-runs the Python code
through every trace. ``jit`` records the whole computation, including grad, vmap
and pmap inside it, into one typed program per signature (argument structure,
shapes and dtypes, static arguments), optimizes it bit-exactly and lowers it to
straight-line Python source over the primitives' NumPy implementations, compiled
once (see :mod:`spmdgrad.compile` and docs/jit.md). Python control flow is fixed at
tracing time, as in JAX.

Python scalars (bool, int, float, complex) are traced as *weakly typed* 0-d arrays,
as in JAX: a new learning rate reuses the compiled program, and ``x * c`` keeps
NumPy's weak-scalar promotion (a float32 ``x`` stays float32). Mark an argument
static (``static_argnums``/``static_argnames``) when Python code must see its value
(a shape, a loop count, a flag); static values are part of the signature (a float
keyed by its bits, so ``-0.0`` and ``0.0`` get their own traces). Other non-array
leaves (None, strings, hashable objects) are static too. Arrays closed over by
``fun`` are copied when it is traced (JAX's snapshot semantics). Under an enclosing
transformation a jitted function simply runs (it is traced through), so
``grad(jit(f))`` works.

``donate_argnums``/``donate_argnames`` are accepted and checked, and do nothing:
results never alias the caller's arrays, so donation could only save memory.

``SPMDGRAD_JIT=interpret`` replays the traced program with the interpreter instead,
``SPMDGRAD_JIT=check`` runs both and raises if they differ in a single bit, and
``SPMDGRAD_JIT_DEBUG=1`` prints each generated source (also ``jitted.lower(*args)``).

>>> import numpy as np, spmdgrad, spmdgrad.numpy as jnp
>>> f = jit(spmdgrad.grad(lambda w, x: jnp.sum(jnp.tanh(x @ w))))
>>> w, x = np.ones((3, 2)) * 0.1, np.ones(3)
>>> np.allclose(f(w, x), spmdgrad.grad(lambda w, x: jnp.sum(jnp.tanh(x @ w)))(w, x))
True
"""
from __future__ import annotations

import functools
import inspect
import os
import struct
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import ad, core
from .api_util import as_out_leaf
from .compile import lower, optimize
from .core import ShapedArray, Tracer, impl_rules
from .traceback_util import api_boundary
from .tree_util import tree_flatten, tree_unflatten

_MAX_ENTRIES = 64
_MODES = ("compile", "interpret", "check")
_SCALARS = (bool, int, float, complex)

# Called as hook(entry, args) before each replay at the top level (an extension point:
# the MPI layer records a pmap call's entry and end as primitives in the program instead).
replay_hooks: list = []


class _Config:
    mode: str
    debug: bool


config = _Config()
config.mode = os.environ.get("SPMDGRAD_JIT", "compile")
config.debug = os.environ.get("SPMDGRAD_JIT_DEBUG", "") not in ("", "0")
if config.mode not in _MODES:
    raise ValueError(f"SPMDGRAD_JIT={config.mode!r}: expected one of {', '.join(_MODES)}")


class jit_mode:
    """Context manager (and test helper): run jitted functions in ``mode``, one of
    ``'compile'``, ``'interpret'`` (the reference interpreter) or ``'check'`` (both,
    compared bit for bit). Programs already compiled are reused; only the replay changes.

    >>> import numpy as np
    >>> with jit_mode("check"):
    ...     float(jit(lambda x: x * 2.0 + 1.0)(np.float64(3.0)))
    7.0
    """

    def __init__(self, mode):
        if mode not in _MODES:
            raise ValueError(f"jit_mode: expected one of {', '.join(_MODES)}, got {mode!r}")
        self.mode = mode

    def __enter__(self):
        self.prev, config.mode = config.mode, self.mode
        return self

    def __exit__(self, *exc):
        config.mode = self.prev
        return False


_WEAK_AVALS = {t: ShapedArray((), np.result_type(t(0)), weak_type=True) for t in _SCALARS}
_WEAK_CAST = {bool: np.bool_, int: np.int64, float: np.float64, complex: np.complex128}
_scalar_avals: dict = {}
_INT64_MIN, _INT64_MAX = -(2 ** 63), 2 ** 63 - 1  # larger Python ints stay static


def _scalar_aval(x):
    a = _scalar_avals.get(type(x))
    if a is None:
        a = _scalar_avals[type(x)] = core.get_aval(x)
    return a


class _Entry:
    """One traced signature: the program as traced, and how to run it."""
    __slots__ = ("jaxpr", "out_tree", "_lowered", "_const_outs")

    def __init__(self, jaxpr, out_tree):
        self.jaxpr, self.out_tree, self._lowered = jaxpr, out_tree, None
        consts = set(jaxpr.constvars)
        self._const_outs = [i for i, v in enumerate(jaxpr.outvars) if v in consts]

    @property
    def lowered(self):
        if self._lowered is None:
            self._lowered = lower(optimize(self.jaxpr))
            if config.debug:
                print(f"spmdgrad.jit: generated source\n{self._lowered.source}", file=sys.stderr)
        return self._lowered

    def run(self, args):
        mode = config.mode
        # The caller may mutate a result: constants are copied out, and results never
        # alias the caller's arrays.
        if mode == "interpret":
            outs = core.eval_jaxpr(self.jaxpr, args, _impl)
            copies = self._const_outs
        else:
            lowered = self.lowered
            outs = lowered.fn(*args)
            copies = lowered.copy_outs
            if mode == "check":
                _check_bitwise(outs, core.eval_jaxpr(self.jaxpr, args, _impl), self.jaxpr)
        for i in copies:
            outs[i] = _copy(outs[i])
        return outs


def _copy(x):
    return x.copy() if isinstance(x, np.ndarray) else x


def _check_bitwise(got, want, jaxpr):
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        if g is None and w is None:
            continue
        g, w = np.asarray(g), np.asarray(w)
        if g.dtype != w.dtype or g.shape != w.shape or g.tobytes() != w.tobytes():
            raise AssertionError(f"jit: compiled output {i} differs from the interpreter's "
                                 f"({g.dtype}{list(g.shape)} vs {w.dtype}{list(w.shape)}) in\n{jaxpr}")


def jit(fun=None, *, static_argnums=None, static_argnames=None, donate_argnums=None,
        donate_argnames=None, inline=False):
    """Compile ``fun`` into a cached program (see the module docstring).

    ``static_argnums``/``static_argnames``: arguments whose Python value is part of
    the signature (hashable; a new value retraces). ``donate_argnums``/
    ``donate_argnames``: accepted, a no-op. ``inline`` is accepted for JAX
    compatibility. Also usable as ``partial(jit, static_argnums=...)`` or ``@jit``.

    >>> import numpy as np, spmdgrad.numpy as jnp
    >>> f = jit(lambda x, n: jnp.sum(x ** n), static_argnums=1)
    >>> float(f(np.arange(3.0), 2)), float(f(np.arange(3.0), 3))
    (5.0, 9.0)
    """
    if fun is None:
        return functools.partial(jit, static_argnums=static_argnums, static_argnames=static_argnames,
                                 donate_argnums=donate_argnums, donate_argnames=donate_argnames,
                                 inline=inline)
    if not callable(fun):
        raise TypeError(f"jit expects a callable, got {fun!r}")
    static_nums, static_names = _static_spec(fun, static_argnums, static_argnames, "static")
    _static_spec(fun, donate_argnums, donate_argnames, "donate")
    cache: dict = {}

    def _signature(args, kwargs):
        statics: tuple = ()
        if static_nums:
            n = len(args)  # an index past the call's arguments (passed by keyword) is ignored
            idx = sorted({i % n for i in static_nums if -n <= i < n})
            statics = tuple((i, _static_key(args[i], f"argument {i}")) for i in idx)
            args = tuple(a for i, a in enumerate(args) if i not in idx)
            static_pos: Sequence[int] = idx
        else:
            static_pos = ()
        skw: tuple = ()
        if static_names and kwargs:
            skw = tuple(sorted((k, _static_key(v, f"argument {k!r}")) for k, v in kwargs.items()
                               if k in static_names))
            kwargs = {k: v for k, v in kwargs.items() if k not in static_names}
        leaves, tree = tree_flatten((args, kwargs))
        kinds, keys = [], []
        for x in leaves:
            t = type(x)
            if t is np.ndarray:
                kinds.append(1)
                keys.append(core.get_aval(x))
            elif t in _WEAK_AVALS and (t is not int or _INT64_MIN <= x <= _INT64_MAX):
                kinds.append(2)
                keys.append(t)  # a weak scalar: its value is not part of the signature
            elif isinstance(x, np.generic):
                kinds.append(1)
                keys.append(_scalar_aval(x))
            elif isinstance(x, np.ndarray):
                kinds.append(1)
                keys.append(core.get_aval(x))
            else:
                kinds.append(0)
                keys.append(_static_key(x, "a leaf"))
        return (tree, tuple(keys), statics, skw), leaves, kinds, tree, static_pos

    def _lookup(args, kwargs):
        key, leaves, kinds, tree, static_pos = _signature(args, kwargs)
        entry = cache.get(key)
        if entry is None:
            if len(cache) >= _MAX_ENTRIES:
                cache.clear()
            entry = cache[key] = _trace(fun, args, kwargs, static_pos, static_names, tree, leaves, kinds)
        dyn = [(_WEAK_CAST[type(x)](x) if k == 2 else x) for x, k in zip(leaves, kinds, strict=True) if k]
        return entry, dyn

    @functools.wraps(fun)
    @api_boundary
    def jitted(*args, **kwargs):
        if not isinstance(core.current_trace(), core.EvalTrace):
            return fun(*args, **kwargs)
        entry, dyn = _lookup(args, kwargs)
        for hook in replay_hooks:
            hook(entry, dyn)
        return tree_unflatten(entry.out_tree, entry.run(dyn))

    def lower_(*args, **kwargs):
        """The compiled form for these arguments: ``.jaxpr`` (optimized), ``.source``."""
        return _lookup(args, kwargs)[0].lowered

    def trace_(*args, **kwargs):
        """The program as traced (before optimization) for these arguments."""
        return _lookup(args, kwargs)[0].jaxpr

    out: Any = jitted      # a function with inspection methods attached
    out.clear_cache = cache.clear
    out.lower = lower_
    out.trace = trace_
    out._cache_size = lambda: len(cache)
    return out


def _as_tuple(x):
    if x is None:
        return ()
    if isinstance(x, int | str):
        return (x,)
    return tuple(x)


def _static_spec(fun, nums, names, what):
    """Normalize ``{what}_argnums``/``{what}_argnames``; names of positional parameters
    also count as their positions, and the reverse, as in JAX."""
    nums, names = _as_tuple(nums), _as_tuple(names)
    for i in nums:
        if isinstance(i, bool) or not isinstance(i, int):
            raise TypeError(f"jit: {what}_argnums must be ints, got {i!r}")
    for n in names:
        if not isinstance(n, str):
            raise TypeError(f"jit: {what}_argnames must be strings, got {n!r}")
    try:
        params = list(inspect.signature(fun).parameters.values())
    except (TypeError, ValueError):
        return nums, frozenset(names)
    positional = [p.name for p in params
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    has_var = any(p.kind == p.VAR_POSITIONAL for p in params)
    has_kw = any(p.kind == p.VAR_KEYWORD for p in params)
    known = {p.name for p in params if p.kind != p.POSITIONAL_ONLY}
    for n in names:
        if n not in known and not has_kw:
            listed = ", ".join(p.name for p in params)
            raise ValueError(f"jit: {what}_argnames names {n!r}, which is not a parameter of "
                             f"{getattr(fun, '__name__', fun)} (parameters: {listed})")
    for i in nums:
        if not has_var and not -len(positional) <= i < len(positional):
            raise ValueError(f"jit: {what}_argnums contains {i}, but "
                             f"{getattr(fun, '__name__', fun)} takes {len(positional)} positional "
                             "arguments")
    nums = set(nums) | {positional.index(n) for n in names if n in positional}
    names = set(names) | {positional[i] for i in nums if -len(positional) <= i < len(positional)}
    return tuple(sorted(nums)), frozenset(names)


def _static_key(x, where):
    if isinstance(x, Tracer):
        raise TypeError("jit: a traced value reached a jitted function at the top level")
    try:
        hash(x)
    except TypeError:
        raise TypeError(f"jit: {where} {x!r} of type {type(x).__name__} is neither an array "
                        "nor hashable, so it cannot be part of the cache key. Pass arrays, "
                        "Python scalars or hashable static values.") from None
    if isinstance(x, float):  # by bits: -0.0 == 0.0 and nan != nan would confuse the cache
        return (type(x), struct.pack("<d", x))
    if isinstance(x, complex):
        return (type(x), struct.pack("<dd", x.real, x.imag))
    return (type(x), x)


def _trace(fun, args, kwargs, static_pos, static_names, tree, leaves, kinds):
    trace = ad.JaxprTrace(core.current_trace())
    tracers = []
    for x, k in zip(leaves, kinds, strict=True):
        if k == 0:
            tracers.append(x)
        elif k == 2:
            tracers.append(trace.new_arg(_WEAK_AVALS[type(x)]))
        else:
            tracers.append(trace.new_arg(core.get_aval(x)))
    dargs, dkwargs = tree_unflatten(tree, tracers)
    if static_pos:  # put the static arguments back where they were
        it = iter(dargs)
        dargs = [args[i] if i in static_pos else next(it) for i in range(len(args))]
    if static_names and kwargs:
        dkwargs = dict(dkwargs, **{k: v for k, v in kwargs.items() if k in static_names})
    with core.use_trace(trace):
        out = fun(*dargs, **dkwargs)
    outs, out_tree = tree_flatten(out)
    outs = [as_out_leaf(o, "jit") for o in outs]
    invars = [t.var for t, k in zip(tracers, kinds, strict=True) if k]
    jaxpr = trace.to_jaxpr(invars, outs)
    # Snapshot the constants (closed-over arrays, and views of them): the program is
    # what fun computed at trace time, whatever happens to those arrays later.
    jaxpr.consts = [np.array(c, copy=True) if isinstance(c, np.ndarray) else c for c in jaxpr.consts]
    return _Entry(jaxpr, out_tree)


def _impl(prim, vals, params):
    return impl_rules[prim](*vals, **params)
