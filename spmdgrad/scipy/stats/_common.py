"""Shared plumbing of the distributions: promotion, standardisation, support masks."""
from __future__ import annotations

import numpy as np

from ... import numpy as jnp
from .._util import promote_float

__all__ = ["jnp", "np", "outside", "promote", "standardize"]


def promote(op, *args):
    """Operands as one float dtype and one broadcast shape (0-d operands stay 0-d)."""
    return promote_float(op, *args)


def standardize(x, loc, scale):
    """``(x - loc) / scale``."""
    return jnp.divide(jnp.subtract(x, loc), scale)


def outside(x, lo, hi):
    """``x < lo or x > hi`` (the complement of a closed support)."""
    return jnp.logical_or(jnp.less(x, lo), jnp.greater(x, hi))
