"""stop_gradient: identity on values, a zero derivative."""
from __future__ import annotations

import numpy as np

from .. import ad, batching
from ..core import Primitive, Tracer, abstract_rules, get_aval, impl_rules
from ..dtypes import is_inexact
from ..tree_util import tree_map

# --------------------------------------------------------------------------- stop_gradient

stop_gradient_p = Primitive("stop_gradient")
impl_rules[stop_gradient_p] = lambda x: x
abstract_rules[stop_gradient_p] = lambda a: (a.shape, a.dtype)
ad.jvp_rules[stop_gradient_p] = lambda primals, tangents: (stop_gradient_p.bind(*primals), None)
# Only reached if a JVP rule applies it to a tangent: there it is the identity map.
ad.transpose_rules[stop_gradient_p] = lambda ct, x: [ct]
batching.batch_rules[stop_gradient_p] = lambda size, vals, batched: (stop_gradient_p.bind(*vals), batched[0])


def stop_gradient(x):
    """Identity on the value, zero derivative. Works leafwise on pytrees; integer
    and boolean leaves are returned unchanged.

    >>> import spmdgrad, spmdgrad.numpy as jnp
    >>> print(spmdgrad.grad(lambda x: x * stop_gradient(x))(3.0))
    3.0
    """
    def leaf(v):
        if not isinstance(v, Tracer | np.ndarray | np.generic | bool | int | float | complex):
            raise TypeError(f"stop_gradient: {v!r} of type {type(v).__name__} is not a valid "
                            "array type. Pass arrays, Python scalars or pytrees of them.")
        v = v if isinstance(v, Tracer | np.ndarray) else np.asarray(v)
        return stop_gradient_p.bind(v) if is_inexact(get_aval(v).dtype) else v
    return tree_map(leaf, x)

