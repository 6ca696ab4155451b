"""``erfc`` as an elementwise primitive, for the exact (erf-based) ``nn.gelu``.

The values come from SciPy when it is installed (it is optional) and from
``math.erfc`` otherwise; the derivative is ``-2/sqrt(pi) * exp(-x**2)``.
"""
from __future__ import annotations

import math

import numpy as np

from .. import ad
from ..core import get_aval
from ..primitives import elementwise as ew

try:
    from scipy.special import erfc as _scipy_erfc
except ImportError:  # pragma: no cover - SciPy is optional
    _scipy_erfc = None

_math_erfc = np.vectorize(math.erfc, otypes=[np.float64])


def _erfc_impl(x):
    x = np.asarray(x)
    out = _scipy_erfc(x) if _scipy_erfc is not None else _math_erfc(x)
    return np.asarray(out, dtype=x.dtype) if x.ndim else x.dtype.type(out)


erfc_p = ew.elementwise("erfc", _erfc_impl)


def _erfc_jvp(t, ans, x):
    dt = get_aval(x).dtype
    scale = np.asarray(-2.0 / math.sqrt(math.pi), dt)
    return ew.mul(t, ew.mul(scale, ew.exp(ew.neg(ew.mul(x, x)))))


ad.defjvp(erfc_p, _erfc_jvp)


def erfc(x):
    """Complementary error function ``1 - erf(x)``, accurate for large ``x``; floating input.

    >>> import numpy as np
    >>> float(erfc(np.float64(0.0)))
    1.0
    """
    dt = get_aval(x).dtype
    if not np.issubdtype(dt, np.floating):
        raise TypeError(f"spmdgrad.nn erfc: needs a real floating input, got {dt}")
    return erfc_p.bind(x)
