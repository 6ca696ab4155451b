"""Helpers for primitives over named axes: axis-name checks, the transpose of an implicit
broadcast, and the registration of a collective's owner rule. They live with the primitives
because ``pdot`` (beside ``einsum2``) needs them as much as the collectives do."""
from __future__ import annotations

import numpy as np

from .. import ad, batching
from ..core import Tracer, find_axis, get_aval, vma_of
from .elementwise import mul

# ---------------------------------------------------------------- axis names

def axes_tuple(axis_name, op):
    """``axis_name`` (a name or a tuple/list of names) as a tuple of bound names."""
    axes = tuple(axis_name) if isinstance(axis_name, tuple | list) else (axis_name,)
    if not axes:
        raise ValueError(f"{op}: axis_name must name at least one axis, got {axis_name!r}")
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: axis_name {axis_name!r} repeats an axis")
    for a in axes:
        find_axis(a, op)
    return axes


def single_axis(axis_name, op):
    """One bound axis name; a 1-tuple is accepted. Returns ``(name, size)``."""
    axes = axes_tuple(axis_name, op)
    if len(axes) != 1:
        raise NotImplementedError(
            f"{op} over several axes at once ({axis_name!r}) is not supported; apply it "
            "once per axis")
    return axes[0], find_axis(axes[0], op).axis_size


def axis_sizes(axes):
    return int(np.prod([find_axis(a).axis_size for a in axes], dtype=np.int64))


def check_real(x, op):
    if np.issubdtype(get_aval(x).dtype, np.complexfloating):
        raise TypeError(f"{op}: complex values have no order; got {get_aval(x).str_short()}. "
                        f"Apply {op} to the real part, or to abs(x).")


def as_array(x, op):
    """A collective's operand leaf as an array; anything but arrays and numbers is refused."""
    if isinstance(x, np.ndarray | Tracer):
        return x
    if isinstance(x, np.generic | bool | int | float | complex):
        return np.asarray(x)
    raise TypeError(f"{op}: got {x!r} of type {type(x).__name__} as an operand; collectives "
                    "take arrays, Python numbers, or pytrees of them")


_sum_dtypes = {}


def sum_dtype(dtype):
    """The dtype of a sum over instances: NumPy's ``sum`` rule, as ``jnp.sum`` follows it
    (bool and narrow integers widen to 64 bits, so a psum never wraps around)."""
    out = _sum_dtypes.get(dtype)
    if out is None:
        out = _sum_dtypes[dtype] = np.sum(np.zeros(1, dtype)).dtype
    return out


def no_groups(axis_index_groups, op):
    if axis_index_groups is not None:
        raise NotImplementedError(f"{op}: axis_index_groups is not supported")


# ---------------------------------------------------------------- rules

def scale(x, n):
    """``x * n`` in ``x``'s dtype (0-d constant: no materialised broadcast)."""
    return mul(x, np.asarray(n, get_aval(x).dtype))


def unvary_transpose(ct, operand, axes):
    """The transpose of the implicit pbroadcast of ``operand`` over ``axes``.

    ``operand`` is an UndefinedPrimal. Over an axis its tangent is invariant over
    (``psum_axes``), an invariant ``ct`` stands for N identical per-instance
    cotangents whose total is ``N * ct``. A varying ``ct`` is left to the backward
    pass's reduce rule (one fused psum per variable)."""
    if ct is None:
        return None
    n = 1
    for a in axes:
        if a in operand.psum_axes and a not in vma_of(ct):
            n *= find_axis(a).axis_size
    return ct if n == 1 else scale(ct, n)


def def_owner(prim, rule):
    """Register the owner rule of a collective: run by the map frame that binds one of
    its ``axes``, as ``rule(frame, vals, batched, **params) -> (out, out_batched)``.
    The backward pass then lets the collective's transpose handle its own broadcasts."""
    batching.collective_rules[prim] = rule
    ad.collective_prims.add(prim)
