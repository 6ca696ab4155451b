"""``ravel_pytree``: a pytree of arrays as one flat vector, and back (``jax.flatten_util``).

>>> import numpy as np
>>> flat, unravel = ravel_pytree([np.ones(2), np.float64(3.0)])
>>> flat
array([1., 1., 3.])
>>> unravel(flat * 2)
[array([2., 2.]), array(6.)]
"""
from __future__ import annotations

import numpy as np

from . import numpy as jnp
from .core import get_aval
from .primitives.elementwise import convert_element_type
from .tree_util import tree_flatten, tree_unflatten

__all__ = ["ravel_pytree"]


def ravel_pytree(pytree):
    """Ravel every leaf of ``pytree`` and concatenate them in flattening order.

    Returns ``(flat, unravel)``. ``flat`` has the promoted dtype of the leaves
    (float64 for an empty tree); ``unravel(v)`` splits a vector of ``flat``'s shape
    and dtype back into the tree, each leaf cast back to its own dtype.
    Both directions differentiate, batch and trace.

    >>> import numpy as np
    >>> flat, unravel = ravel_pytree({"b": np.zeros(1), "w": np.ones((2, 2))})
    >>> flat.shape, unravel(flat)["w"].shape
    ((5,), (2, 2))
    """
    leaves, treedef = tree_flatten(pytree)
    leaves = [jnp.asarray(x) for x in leaves]
    avals = [get_aval(x) for x in leaves]
    dtype = np.result_type(*[a.dtype for a in avals]) if avals else np.dtype(np.float64)
    sizes = [int(np.prod(a.shape, dtype=np.int64)) for a in avals]
    if leaves:
        flat = jnp.concatenate([jnp.ravel(convert_element_type(x, dtype)) for x in leaves])
    else:
        flat = np.zeros(0, dtype)
    total = sum(sizes)

    def unravel(vector):
        aval = get_aval(vector)
        if aval.shape != (total,):
            raise ValueError(f"ravel_pytree's unravel: expected a vector of shape ({total},), got "
                             f"shape {aval.shape}")
        if aval.dtype != dtype:
            raise TypeError(f"ravel_pytree's unravel: expected a vector of dtype {dtype.name}, got "
                            f"{aval.dtype.name}; cast it first (flat.astype(...))")
        out, start = [], 0
        for a, size in zip(avals, sizes, strict=True):
            piece = jnp.reshape(vector[start:start + size], a.shape)
            out.append(convert_element_type(piece, a.dtype))
            start += size
        return tree_unflatten(treedef, out)

    return flat, unravel
