"""Checks shared by the public transformations: what counts as an array leaf.

Pytrees stop at the public API: arguments are flattened once, transformations
run on flat lists, results are unflattened. Every error names the
transformation, the argument and the fix.
"""
from __future__ import annotations

import numpy as np

from .core import Tracer

SCALARS = (bool, int, float, complex)


def as_leaf(x, where):
    """A valid array leaf (Tracer or ndarray); Python scalars become 0-d arrays."""
    if isinstance(x, Tracer | np.ndarray):
        return x
    if isinstance(x, (np.generic,) + SCALARS):
        return np.asarray(x)
    raise TypeError(f"Argument {x!r} of type {type(x)} is not a valid array type "
                    f"({where}). Pass arrays, Python scalars, or tuples/lists/dicts of them.")



def as_out_leaf(o, fname):
    if isinstance(o, (Tracer, np.ndarray, np.generic) + SCALARS):
        return o
    raise TypeError(f"{fname}: the function returned {o!r} of type {type(o)}, which is not "
                    "an array; return arrays (or pytrees of arrays)")

