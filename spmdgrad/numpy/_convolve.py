"""``convolve`` and ``correlate`` of 1-D arrays (NumPy's modes), as one convolution.

Each is a single ``conv_general_dilated`` whose padding selects the mode's slice
of the full result, so both differentiate and batch through the convolution's
rules. Results match NumPy's, including its conventions for ``'same'`` when the
second array is the longer one; ``correlate`` conjugates its second argument.
"""
from __future__ import annotations

import numpy as np

from ..core import get_aval
from ..primitives.conv import conv
from ..primitives.elementwise import conj, convert_element_type
from ..primitives.structural import reshape, rev
from ._core import asarray, result_type

__all__ = ["convolve", "correlate"]


def _window(na, nv, mode, start_same, op):
    """(start, length) of the mode's slice of the full length ``na + nv - 1`` result."""
    if mode == "full":
        return 0, na + nv - 1
    if mode == "same":
        return start_same, max(na, nv)
    if mode == "valid":
        return min(na, nv) - 1, max(na, nv) - min(na, nv) + 1
    raise ValueError(f"{op}: mode must be 'full', 'same' or 'valid', got {mode!r}")


def _correlate_full_slice(a, v, start, n, preferred_element_type):
    """``out[j] = sum_m a[start + j + m - (len(v) - 1)] * v[m]`` (zero outside ``a``)."""
    na, nv = get_aval(a).shape[0], get_aval(v).shape[0]
    lo = nv - 1 - start
    hi = n + nv - 1 - na - lo
    if preferred_element_type is not None:  # as lax.conv_general_dilated: compute in that dtype
        dt = np.dtype(preferred_element_type)
        a, v = convert_element_type(a, dt), convert_element_type(v, dt)
    # The canonical-layout convolution primitive (lax.conv_general_dilated's NCH/OIH
    # default), called directly: spmdgrad.lax imports this package, not the reverse.
    out = conv(reshape(a, (1, 1, na)), reshape(v, (1, 1, nv)), (1,), [(lo, hi)], None, None)
    return reshape(out, (n,))


def _operands(a, v, op):
    a, v = asarray(a), asarray(v)
    for name, x in (("a", a), ("v", v)):
        s = get_aval(x).shape
        if len(s) != 1:
            raise ValueError(f"{op}: {name} must be 1-D, got shape {s}")
        if s[0] == 0:
            raise ValueError(f"{op}: {name} cannot be empty")
    dt = result_type(a, v)
    return convert_element_type(a, dt), convert_element_type(v, dt)


def convolve(a, v, mode="full", *, precision=None, preferred_element_type=None):
    """Discrete linear convolution of two 1-D arrays, as ``numpy.convolve``.

    >>> import numpy as np
    >>> convolve(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.5]))
    array([0. , 1. , 2.5, 4. , 1.5])
    """
    a, v = _operands(a, v, "convolve")
    na, nv = get_aval(a).shape[0], get_aval(v).shape[0]
    start, n = _window(na, nv, mode, (min(na, nv) - 1) // 2, "convolve")
    return _correlate_full_slice(a, rev(v, (0,)), start, n, preferred_element_type)


def correlate(a, v, mode="valid", *, precision=None, preferred_element_type=None):
    """Cross-correlation of two 1-D arrays, ``c[k] = sum_n a[n + k] * conj(v[n])``, as
    ``numpy.correlate``.

    >>> import numpy as np
    >>> correlate(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.5]), 'full')
    array([0.5, 2. , 3.5, 3. , 0. ])
    """
    a, v = _operands(a, v, "correlate")
    na, nv = get_aval(a).shape[0], get_aval(v).shape[0]
    same = (nv - 1) // 2 if na >= nv else (na - 1) - (na - 1) // 2
    start, n = _window(na, nv, mode, same, "correlate")
    if get_aval(v).dtype.kind == "c":
        v = conj(v)
    return _correlate_full_slice(a, v, start, n, preferred_element_type)
