"""Reductions over positional axes: sum, max, min, and their rules."""
from __future__ import annotations

import numpy as np

from .. import ad, batching
from ..core import Primitive, abstract_rules, get_aval, impl_rules
from .elementwise import convert_element_type, div, eq, mul
from .structural import broadcast_in_dim


def _reduced_shape(x, axes):
    if any(not 0 <= a < x.ndim for a in axes) or len(set(axes)) != len(axes):
        raise ValueError(f"reduction axes {axes} are invalid for shape {x.shape}")
    return tuple(d for i, d in enumerate(x.shape) if i not in axes)


def _reducer(name, impl):
    prim = Primitive(name)
    impl_rules[prim] = lambda x, axes: impl(x, axis=axes)
    abstract_rules[prim] = lambda x, axes: (_reduced_shape(x, axes), x.dtype)
    batching.batch_rules[prim] = lambda size, vals, batched, axes: (
        prim.bind(vals[0], axes=batching.shift_axes(axes)), True)
    return prim


reduce_sum_p = _reducer("reduce_sum", np.sum)
reduce_max_p = _reducer("reduce_max", np.max)
reduce_min_p = _reducer("reduce_min", np.min)


def reduce_sum(x, axes):
    axes = tuple(sorted(int(a) for a in axes))
    return x if not axes else reduce_sum_p.bind(x, axes=axes)


def reduce_max(x, axes):
    return reduce_max_p.bind(x, axes=tuple(sorted(int(a) for a in axes)))


def reduce_min(x, axes):
    return reduce_min_p.bind(x, axes=tuple(sorted(int(a) for a in axes)))


def _kept(shape, axes):
    return tuple(i for i in range(len(shape)) if i not in axes)


def _sum_transpose(ct, x, axes):
    shape = x.aval.shape
    return [broadcast_in_dim(ct, shape, _kept(shape, axes))]


ad.deflinear(reduce_sum_p, _sum_transpose)


def _extremum_jvp(prim):
    # The derivative flows to the locations equal to the extremum; ties share it evenly.
    def rule(primals, tangents, axes):
        x, = primals
        t, = tangents
        ans = prim.bind(x, axes=axes)
        shape = get_aval(x).shape
        kept = _kept(shape, axes)
        mask = convert_element_type(eq(x, broadcast_in_dim(ans, shape, kept)), get_aval(x).dtype)
        count = reduce_sum(mask, axes)
        return ans, div(reduce_sum(mul(t, mask), axes), count)
    ad.jvp_rules[prim] = rule


_extremum_jvp(reduce_max_p)
_extremum_jvp(reduce_min_p)
