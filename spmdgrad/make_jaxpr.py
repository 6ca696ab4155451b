"""make_jaxpr: trace a function to its typed program, as jit does, and show it."""
from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from . import ad, core
from . import compile as _compile
from .api_util import as_leaf
from .core import ShapedArray, get_aval
from .tree_util import tree_flatten, tree_unflatten


class _AxisFrame(core.Trace):
    """Binds an axis name for abstract tracing (make_jaxpr's axis_env); forwards all."""
    __slots__ = ("axis_name", "axis_size", "backend")

    def __init__(self, parent, name, size):
        super().__init__(parent)
        self.axis_name, self.axis_size, self.backend = name, size, None

    def process_primitive(self, prim, args, params):
        return self.forward(prim, args, params)


def make_jaxpr(fun: Callable[..., Any], axis_env: Sequence[tuple[str, int]] = (),
               optimize: bool = False) -> Callable[..., Any]:
    """Trace ``fun`` to its typed program. Arguments may be arrays or
    :class:`ShapedArray` (whose ``vma`` says which named axes it varies over, for
    axes bound through ``axis_env=[(name, size), ...]``). ``optimize=True`` shows the
    program jit compiles (after :func:`spmdgrad.compile.optimize`).

    >>> import spmdgrad, spmdgrad.numpy as jnp
    >>> from spmdgrad.core import ShapedArray
    >>> x = ShapedArray((3,), 'float64', frozenset({'batch'}))
    >>> print(spmdgrad.make_jaxpr(lambda x: spmdgrad.lax.psum(jnp.sin(x), 'batch'),
    ...                           axis_env=[('batch', 4)])(x))
    { lambda ; a:f64[3]{batch}. let
        b:f64[3]{batch} = sin a
        c:f64[3] = psum[axes=('batch',)] b
      in (c) }
    """
    @functools.wraps(fun)
    def make(*args, **kwargs):
        parent = core.current_trace()
        for name, size in axis_env:
            parent = _AxisFrame(parent, name, size)
        trace = ad.JaxprTrace(parent)
        leaves, tree = tree_flatten(args, is_leaf=lambda x: isinstance(x, ShapedArray))
        tracers = [trace.new_arg(x if isinstance(x, ShapedArray) else get_aval(as_leaf(x, "make_jaxpr")))
                   for x in leaves]
        with core.use_trace(trace):
            out = fun(*tree_unflatten(tree, tracers), **kwargs)
        outs, _ = tree_flatten(out)
        jaxpr = trace.to_jaxpr([t.var for t in tracers], outs)
        if optimize:
            jaxpr = _compile.optimize(jaxpr)
        return jaxpr
    return make
