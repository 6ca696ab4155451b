"""JAX's extra keywords on contractions: ``precision`` and ``preferred_element_type``.

spmdgrad contracts at the operands' full precision (float64 by default), which is
at least what any precision hint asks, so ``precision`` is validated and has no
other effect; ``preferred_element_type`` casts the result, as in JAX.

>>> import numpy as np
>>> dot = accept_precision(np.dot)
>>> dot(np.ones(2), np.ones(2), precision="highest")
np.float64(2.0)
"""
from __future__ import annotations

import functools

from ._core import asarray

_NAMES = {"default", "high", "highest", "fastest", "bfloat16", "bfloat16_3x", "tensorfloat32", "float32"}


def _valid(p):
    if p is None:
        return True
    if isinstance(p, str):
        return p.lower() in _NAMES
    return type(p).__name__ == "Precision"  # lax.Precision (spmdgrad's or a look-alike enum)


def accept_precision(fn):
    """Wrap a contraction so it takes JAX's keyword-only ``precision`` and
    ``preferred_element_type``."""
    @functools.wraps(fn)
    def wrapped(*args, precision=None, preferred_element_type=None, **kwargs):
        pair = precision if isinstance(precision, tuple | list) else (precision,)
        if len(pair) not in (1, 2) or not all(_valid(p) for p in pair):
            raise ValueError(f"{fn.__name__}: unknown precision {precision!r}; use lax.Precision.DEFAULT, "
                             "HIGH or HIGHEST (or 'default'/'high'/'highest'), or a pair of them")
        out = fn(*args, **kwargs)
        return out if preferred_element_type is None else asarray(out, preferred_element_type)
    return wrapped
