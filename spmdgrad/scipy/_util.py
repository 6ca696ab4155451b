"""Front-end plumbing shared by spmdgrad.scipy: promotion to one float dtype and broadcasting."""
from __future__ import annotations

import numpy as np

from .. import numpy as jnp
from ..core import get_aval


def promote_float(op, *args, allow_complex=False, broadcast=True):
    """Operands as arrays of one inexact dtype (NumPy rules, integers become float64)
    and one broadcast shape; 0-d operands stay 0-d (the primitives broadcast them)."""
    for a in args:
        if isinstance(a, str) or (isinstance(a, np.ndarray) and a.dtype == object):
            raise TypeError(f"{op}: {a!r} is not a valid array value")
    dt = jnp.result_type(*args)
    if not np.issubdtype(dt, np.inexact):
        dt = np.dtype(np.float64)
    if not allow_complex and np.issubdtype(dt, np.complexfloating):
        raise TypeError(f"{op}: complex inputs are not supported (got dtype {dt.name}), as in "
                        "jax.scipy; pass real arrays")
    out = []
    for a in args:
        a = jnp.asarray(a)
        out.append(a if get_aval(a).dtype == dt else jnp.asarray(a, dt))
    shapes = [get_aval(a).shape for a in out]
    if not broadcast or len({s for s in shapes if s != ()}) <= 1:
        return out
    try:
        target = np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(f"{op}: operands with shapes {' '.join(map(str, shapes))} could not be "
                         "broadcast together") from None
    return [a if s in ((), target) else jnp.broadcast_to(a, target) for a, s in zip(out, shapes)]

