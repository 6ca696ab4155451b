"""Helpers shared by the collectives' MPI lowerings."""
from __future__ import annotations

import numpy as np

from .. import batching


def front(x, dim):
    """``x`` with ``dim`` moved to the front, as a C-contiguous array."""
    return np.ascontiguousarray(np.moveaxis(np.asarray(x), dim, 0))


def def_shifted_batching(prim):
    """Batching rule of an MPI primitive acting along ``dim``: an outer vmap adds a
    leading dimension, so ``dim`` shifts by one."""
    def rule(size, vals, batched, dim, **params):
        return prim.bind(vals[0], dim=dim + 1, **params), True
    batching.batch_rules[prim] = rule
