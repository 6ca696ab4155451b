"""The recording trace: every primitive applied to its tracers becomes an equation of a
typed program (:class:`~spmdgrad.core.Jaxpr`). It records the tangent half of
``linearize`` (spmdgrad.ad), and ``make_jaxpr``, ``jit`` and the structured control-flow
primitives trace with it.
"""
from __future__ import annotations

import numpy as np

from . import core
from .core import Eqn, Jaxpr, Tracer, Var, get_aval


class JaxprTracer(Tracer):
    __slots__ = ("var",)

    def __init__(self, trace, var):
        self._trace = trace
        self.var = var

    @property
    def aval(self):
        return self.var.aval


class JaxprTrace(core.Trace):
    """Records every primitive that touches one of its tracers; forwards the rest.

    Operands that are not its tracers become constants of the program. Used for
    the tangent half of linearize and for ``make_jaxpr``.
    """
    __slots__ = ("eqns", "_consts")

    def __init__(self, parent):
        super().__init__(parent)
        self.eqns = []
        self._consts = {}  # id(value) -> (var, value); holding value keeps the id valid

    def new_arg(self, aval):
        return JaxprTracer(self, Var(aval))

    def const_var(self, x):
        entry = self._consts.get(id(x))
        if entry is None:
            entry = self._consts[id(x)] = (Var(get_aval(x)), x)
        return entry[0]

    def process_primitive(self, prim, args, params):
        for a in args:
            if type(a) is JaxprTracer and a._trace is self:
                break
        else:
            return self.forward(prim, args, params)
        invars, avals, weak = [], [], False  # one pass over the operands: a hot path
        for a in args:
            v = a.var if type(a) is JaxprTracer and a._trace is self else self.const_var(a)
            invars.append(v)
            avals.append(v.aval)
            weak = weak or v.aval.weak_type
        out = core.abstract_eval(prim, avals, params)
        if prim.multiple_results:
            outvars = [Var(a) for a in out]
            self.eqns.append(Eqn(prim, invars, outvars, params))
            return [JaxprTracer(self, v) for v in outvars]
        if weak:
            out = _weak_result(self, args, out)
        outvar = Var(out)
        self.eqns.append(Eqn(prim, invars, [outvar], params))
        return JaxprTracer(self, outvar)

    def to_jaxpr(self, invars, outs):
        outvars = []
        for o in outs:
            if o is None:
                outvars.append(None)
            elif type(o) is JaxprTracer and o._trace is self:
                outvars.append(o.var)
            else:
                outvars.append(self.const_var(o))
        constvars = [v for v, _ in self._consts.values()]
        consts = [x for _, x in self._consts.values()]
        return Jaxpr(invars, constvars, consts, self.eqns, outvars)


def _weak_result(trace, args, out):
    """A result stays weakly typed (a traced Python scalar, see jit) when its operands
    are weak tracers or 0-d constants (Python literals) of the same dtype."""
    for a in args:
        if type(a) is JaxprTracer and a._trace is trace:
            if not a.var.aval.weak_type or a.var.aval.dtype != out.dtype:
                return out
        elif isinstance(a, Tracer) or np.ndim(a) != 0:
            return out
    return core.ShapedArray(out.shape, out.dtype, out.vma, weak_type=True)
