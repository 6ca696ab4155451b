"""Core of spmdgrad: abstract values, primitives, tracers, traces and the typed IR.

A primitive is only a name. What it means lives in rule tables owned by the
interpreters: ``impl_rules`` and ``abstract_rules`` here, JVP and transpose rules
in :mod:`spmdgrad.ad`, batching rules in :mod:`spmdgrad.batching`.

There is one *current trace*. ``bind`` hands every primitive to it. A trace
unwraps its own tracers, applies its rule, and binds the rule's operations on
its parent trace. Values that are not its own tracers are constants to it, so a
named-axis collective on a value that does not depend on the batch still
reaches the map that owns the axis: every trace sees every primitive.

Every abstract value carries shape, dtype and ``vma``: the set of named axes
the value *varies* over (see docs/design.md and docs/semantics.md).
"""
from __future__ import annotations

import builtins
import itertools
import operator

import numpy as np

# Length-checked zip: a length mismatch is a bug, never a silent truncation.
_zip = builtins.zip


def zip(*args):  # noqa: A001 - deliberate shadowing, as in JAX
    return _zip(*args, strict=True)


# --------------------------------------------------------------------------- avals

_SHORT = {"float64": "f64", "float32": "f32", "float16": "f16", "complex128": "c128",
          "complex64": "c64", "int64": "i64", "int32": "i32", "int16": "i16", "int8": "i8",
          "uint8": "u8", "uint32": "u32", "uint64": "u64", "bool": "bool"}


_EMPTY = frozenset()


_short_names = {}


def _short_dtype(dtype):
    """``f64``-style name, cached per dtype (``np.dtype.name`` is slow)."""
    name = _short_names.get(dtype)
    if name is None:
        name = _short_names[dtype] = _SHORT.get(dtype.name, dtype.name)
    return name


class ShapedArray:
    """Abstract value: shape, dtype and the named axes the value varies over.

    ``weak_type``: the value stands for a Python scalar (a scalar argument traced by
    jit), so it promotes like one (NumPy's NEP 50, JAX's weak types). It is a hint to
    the front end's promotion and not part of equality."""
    __slots__ = ("shape", "dtype", "vma", "_hash", "weak_type")

    def __init__(self, shape, dtype, vma=_EMPTY, weak_type=False):
        self.shape = shape if type(shape) is tuple else tuple(shape)
        self.dtype = dtype if isinstance(dtype, np.dtype) else np.dtype(dtype)
        self.vma = vma if type(vma) is frozenset else frozenset(vma)
        self.weak_type = weak_type
        self._hash = None

    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: int(np.prod(self.shape, dtype=np.int64)))

    def __eq__(self, other):
        return (isinstance(other, ShapedArray) and self.shape == other.shape
                and self.dtype == other.dtype and self.vma == other.vma)

    def __hash__(self):
        h = self._hash
        if h is None:
            h = self._hash = hash((self.shape, self.dtype, self.vma))
        return h

    def str_short(self):
        name = _short_dtype(self.dtype)
        axes = "{" + ",".join(sorted(self.vma)) + "}" if self.vma else ""
        return f"{name}[{','.join(map(str, self.shape))}]{axes}"

    __repr__ = str_short


_CACHE_LIMIT = 4096
_interned = {}  # (shape, dtype) -> aval of plain arrays; avals are immutable


def get_aval(x):
    """The abstract value of a tracer or a concrete array-like."""
    if type(x) is np.ndarray:
        key = (x.shape, x.dtype)
        a = _interned.get(key)
        if a is None:
            if len(_interned) > _CACHE_LIMIT:
                _interned.clear()
            a = _interned[key] = ShapedArray(x.shape, x.dtype)
        return a
    if isinstance(x, Tracer):
        return x.aval
    if isinstance(x, np.generic):  # NumPy scalars are interned like arrays
        key = ((), x.dtype)
        a = _interned.get(key)
        if a is None:
            a = _interned[key] = ShapedArray((), x.dtype)
        return a
    if isinstance(x, np.ndarray):
        return ShapedArray(x.shape, x.dtype)
    return ShapedArray(np.shape(x), np.result_type(x))


def vma_of(x):
    return x.aval.vma if isinstance(x, Tracer) else frozenset()


# --------------------------------------------------------------------------- primitives

class Primitive:
    """A named operation. Its meaning lives in the rule tables.

    ``effectful``: running it does more than compute its result (it communicates, and
    every rank must run it the same number of times in the same order). Program
    transformations (jit's optimizer) never remove, merge, fold or reorder it."""
    __slots__ = ("name", "multiple_results", "effectful")

    def __init__(self, name, multiple_results=False, effectful=False):
        self.name = name
        self.multiple_results = multiple_results
        self.effectful = effectful

    def bind(self, *args, **params):
        return _state.trace.process_primitive(self, args, params)

    def __repr__(self):
        return self.name


impl_rules = {}       # prim -> fn(*arrays, **params) -> array (list if multiple_results)
abstract_rules = {}   # prim -> fn(*avals, **params) -> (shape, dtype) (list of them if multiple)
vma_rules = {}        # prim -> fn(vmas, **params) -> vma (or list); default: union of operands
# prim -> fn(avals, **params) -> a function of the arrays alone, specialised to these
# shapes and params (or None): what jit's compiled program calls instead of the impl.
# It must return the impl's bits.
lowering_rules = {}
# prim -> fn(avals, **params) -> ``f(*arrays, out)`` that writes the impl's bits into
# ``out`` (C-contiguous, the result's shape and dtype) and returns it, or None. jit uses
# it (as ``out=`` for ufuncs) to produce a value straight into a reduction's pack buffer.
lowering_into_rules = {}
# prim -> fn(avals, **params) -> a packing or None: a reduction whose operands jit may
# produce straight into its buffers. ``alloc()`` takes the buffers, ``spans[i]`` is
# ``(buffer index, start, end)`` for operand i (None: it is always copied), and
# ``run(bufs, placed, *arrays)`` is the impl with those buffers, where the operands
# numbered in ``placed`` were produced in their spans (collectives/psum.py).
pack_rules = {}


# The primitives the interpreters themselves emit. They are declared here so that
# ad and batching depend on core alone; their rules are registered in the files
# named beside them, like any other primitive's.
add_any_p = Primitive("add")        # sum of two cotangents: primitives/elementwise.py
psum_p = Primitive("psum", multiple_results=True)   # the reduce_axes sum: collectives/psum.py
pbroadcast_p = Primitive("pbroadcast")  # implicit broadcast over named axes: collectives/pbroadcast.py


def bind(prim, *args, **params):
    """Apply ``prim`` through the current trace."""
    return _state.trace.process_primitive(prim, args, params)


_aval_cache = {}


def abstract_eval(prim, avals, params):
    """Output aval(s) of ``prim`` on ``avals``: shape/dtype rule plus the vma rule.
    Memoized when the params are hashable (a bounded cache)."""
    try:
        key = (prim, *avals, *params.items()) if params else (prim, *avals)
        out = _aval_cache.get(key)
    except TypeError:
        return _abstract_eval(prim, avals, params)
    if out is None:
        if len(_aval_cache) > _CACHE_LIMIT:
            _aval_cache.clear()
        out = _aval_cache[key] = _abstract_eval(prim, avals, params)
    return out


def _abstract_eval(prim, avals, params):
    rule = abstract_rules.get(prim)
    if rule is None:
        raise NotImplementedError(f"no shape rule for primitive '{prim}'")
    out = rule(*avals, **params)
    vma = vma_eval(prim, [a.vma for a in avals], params)
    if prim.multiple_results:
        if not isinstance(vma, list):
            vma = [vma] * len(out)
        return [ShapedArray(s, d, v) for (s, d), v in zip(out, vma)]
    return ShapedArray(out[0], out[1], vma)


def vma_eval(prim, vmas, params):
    """The named axes ``prim``'s output varies over, given its operands' (``vma_rules``;
    by default the union: an invariant operand is implicitly broadcast)."""
    vrule = vma_rules.get(prim)
    if vrule is not None:
        return vrule(vmas, **params)
    vma = _EMPTY
    for v in vmas:
        if v:
            vma = vma | v
    return vma


class SpmdgradError(Exception):
    """Base class of spmdgrad's own errors."""


class UnboundAxisError(NameError, SpmdgradError):
    pass


# --------------------------------------------------------------------------- tracers and traces

class Tracer:
    """A value seen by a transformation. Subclasses define ``aval``.

    Operators and NumPy-style methods are installed by :mod:`spmdgrad.numpy`, so
    broadcasting and dtype promotion happen once, in the front end.
    """
    __slots__ = ("_trace",)
    __array_priority__ = 1000

    @property
    def aval(self):
        raise NotImplementedError

    shape = property(lambda self: self.aval.shape)
    dtype = property(lambda self: self.aval.dtype)
    ndim = property(lambda self: len(self.aval.shape))
    size = property(lambda self: self.aval.size)

    def __len__(self):
        if not self.aval.shape:
            raise TypeError("len() of a 0-d traced array")
        return self.aval.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def concrete(self):
        """The NumPy value under this tracer, or a TypeError if it is abstract."""
        raise ConcretizationError(self)

    # bool/int/index of a concrete (grad/jvp) value use its primal, as in JAX: they are
    # piecewise constant, so dropping the derivative is exact. float/complex/item of an
    # inexact value would silently cut the derivative, so they always raise.
    def __bool__(self):
        return bool(self.concrete())

    def __float__(self):
        raise ConcretizationError(self, "float")

    def __int__(self):
        return int(self.concrete())

    def __complex__(self):
        raise ConcretizationError(self, "complex")

    def __index__(self):
        return operator.index(self.concrete())

    def item(self, *args):
        if self.aval.dtype.kind in "fc":
            raise ConcretizationError(self, "item")
        return self.concrete().item(*args)

    def __array__(self, dtype=None, copy=None):
        raise TypeError(
            f"a traced value of type {self.aval.str_short()} was passed to a NumPy function. "
            "Inside grad/vmap/pmap use spmdgrad.numpy (import spmdgrad.numpy as jnp) instead "
            "of numpy, so the operation can be differentiated and batched.")

    def __repr__(self):
        return f"{type(self).__name__}<{self.aval.str_short()}>"

    def __hash__(self):
        raise TypeError("traced arrays are unhashable")


class ConcretizationError(TypeError, SpmdgradError):
    """A traced value was converted to a Python scalar (JAX: ConcretizationTypeError)."""

    def __init__(self, tracer, conversion=None):
        if conversion is not None:  # float(), complex(), .item() of an inexact value
            msg = (f"{conversion}() of a traced value {tracer.aval.str_short()} "
                   f"({type(tracer).__name__}): a Python scalar cannot carry a derivative or a "
                   "batch, so under grad/jvp the derivative would silently be cut, and under "
                   "vmap/pmap/jit the value is abstract. Use spmdgrad.numpy instead (jnp.exp "
                   "rather than math.exp, x.astype(float) rather than float(x)).")
        else:
            msg = (f"a concrete value is needed here, but the value {tracer.aval.str_short()} "
                   f"is abstract under a transformation ({type(tracer).__name__}). Python "
                   "control flow (if/while/bool/int) on a batched or staged value is not "
                   "supported; use spmdgrad.numpy.where, or pass the value as a "
                   "non-differentiated argument. Under jit, Python scalars are traced too: "
                   "mark such an argument static (jit(f, static_argnums=...) or "
                   "static_argnames=...).")
        super().__init__(msg)


ConcretizationTypeError = ConcretizationError  # JAX's name


class Trace:
    """A transformation's interpreter. ``parent`` is where its rules bind."""
    __slots__ = ("parent",)

    def __init__(self, parent):
        self.parent = parent

    def process_primitive(self, prim, args, params):
        raise NotImplementedError

    def forward(self, prim, args, params):
        """Bind ``prim`` on the parent trace, with the parent current."""
        parent = self.parent
        if type(parent) is EvalTrace and not params:
            # Fast path: a ufunc on concrete arrays binds nothing, so no trace switch.
            ufunc = _ufunc_impls.get(prim, False)  # ufunc_impl's cache, read inline: a hot path
            if ufunc is False:
                ufunc = ufunc_impl(prim)
            if ufunc is not None:
                for a in args:
                    if type(a) is not np.ndarray and isinstance(a, Tracer):
                        break
                else:
                    return ufunc(*args)
        prev = _state.trace
        _state.trace = self.parent
        try:
            return self.parent.process_primitive(prim, args, params)
        finally:
            _state.trace = prev


_ufunc_impls = {}  # prim -> its impl if that is a NumPy ufunc, else None


def ufunc_impl(prim):
    """``prim``'s implementation if it is a NumPy ufunc (applied as is to concrete
    arrays, broadcasting included), else None."""
    ufunc = _ufunc_impls.get(prim, False)
    if ufunc is False:
        impl = impl_rules.get(prim)
        ufunc = _ufunc_impls[prim] = impl if isinstance(impl, np.ufunc) else None
    return ufunc


class EvalTrace(Trace):
    """The bottom trace: run the primitive's NumPy implementation."""
    __slots__ = ()

    def process_primitive(self, prim, args, params):
        for a in args:
            if type(a) is not np.ndarray and isinstance(a, Tracer):
                raise SpmdgradError(
                    f"a traced value {a!r} reached '{prim}' outside the transformation that "
                    "created it (it escaped, e.g. through a global or a closure). Return it "
                    "from the transformed function instead.")
        try:
            rule = impl_rules[prim]
        except KeyError:
            raise NotImplementedError(f"primitive '{prim}' has no implementation") from None
        return rule(*args, **params)


class _State:
    __slots__ = ("trace",)


_state = _State()
_state.trace = EvalTrace(None)


def current_trace():
    return _state.trace


class use_trace:
    """Context manager that makes ``trace`` current."""
    __slots__ = ("trace", "prev")

    def __init__(self, trace):
        self.trace = trace

    def __enter__(self):
        self.prev = _state.trace
        _state.trace = self.trace
        return self.trace

    def __exit__(self, *exc):
        _state.trace = self.prev
        return False


def find_axis(name, op="a collective"):
    """The map frame (a BatchTrace) binding axis ``name``, searched from the current trace."""
    t = _state.trace
    while t is not None and name is not None:  # None names no axis, not an unnamed map
        if getattr(t, "axis_name", None) == name:
            return t
        t = t.parent
    if name is None:
        raise UnboundAxisError(
            f"unbound axis name: None (used by {op}). None names no axis, not even an unnamed "
            "map: pass the name given to vmap(..., axis_name=...) or pmap(..., axis_name=...) "
            f"around this call; bound here: {bound_axis_names() or 'none'}.")
    raise UnboundAxisError(
        f"unbound axis name: {name!r} (used by {op}). Axis names are bound by "
        f"vmap(..., axis_name={name!r}) or pmap(..., axis_name={name!r}) around this call; "
        f"bound here: {bound_axis_names() or 'none'}.")


def bound_axis_names():
    names = []
    t = _state.trace
    while t is not None:
        n = getattr(t, "axis_name", None)
        if n is not None:
            names.append(n)
        t = t.parent
    return tuple(names)


# --------------------------------------------------------------------------- the typed IR

class Var:
    __slots__ = ("aval",)

    def __init__(self, aval):
        self.aval = aval


class Eqn:
    __slots__ = ("prim", "invars", "outvars", "params")

    def __init__(self, prim, invars, outvars, params):
        self.prim, self.invars, self.outvars, self.params = prim, invars, outvars, params


class Jaxpr:
    """A typed program: ``invars`` -> ``eqns`` -> ``outvars``; ``consts`` bind constvars."""
    __slots__ = ("invars", "constvars", "consts", "eqns", "outvars")

    def __init__(self, invars, constvars, consts, eqns, outvars):
        self.invars, self.constvars, self.consts = invars, constvars, consts
        self.eqns, self.outvars = eqns, outvars

    def __str__(self):
        names = {}
        gen = (("".join(p) for n in itertools.count(1)
                for p in itertools.product("abcdefghijklmnopqrstuvwxyz", repeat=n)))

        def nm(v):
            if v is None:
                return "0"
            if v not in names:
                names[v] = next(gen)
            return names[v]

        def decl(v):
            return f"{nm(v)}:{v.aval.str_short()}"

        lines = []
        consts = " ".join(decl(v) for v in self.constvars)
        ins = " ".join(decl(v) for v in self.invars)
        lines.append("{ lambda " + (consts + " ; " if consts else "; ") + ins + ". let")
        for e in self.eqns:
            params = ", ".join(f"{k}={_fmt_param(v)}" for k, v in e.params.items())
            args = " ".join(nm(v) for v in e.invars)
            outs = " ".join(decl(v) for v in e.outvars)
            lines.append(f"    {outs} = {e.prim.name}" + (f"[{params}]" if params else "") + f" {args}")
        lines.append("  in (" + ", ".join(nm(v) for v in self.outvars) + ") }")
        return "\n".join(lines)

    __repr__ = __str__


def _fmt_param(v):
    if isinstance(v, np.dtype):
        return v.name
    return repr(v)


def _bind_eqn(prim, vals, params):
    return _state.trace.process_primitive(prim, vals, params)


def eval_jaxpr(jaxpr, args, apply=_bind_eqn):
    """Evaluate ``jaxpr`` on ``args``: each equation through ``apply(prim, vals, params)``,
    by default bound on the current trace. A None outvar is a zero."""
    env = dict(zip(jaxpr.constvars, jaxpr.consts))
    env.update(zip(jaxpr.invars, args))
    for e in jaxpr.eqns:
        out = apply(e.prim, [env[v] for v in e.invars], e.params)
        if e.prim.multiple_results:
            env.update(zip(e.outvars, out))
        else:
            env[e.outvars[0]] = out
    return [None if v is None else env[v] for v in jaxpr.outvars]
