"""Dtype helpers and ``float0``, the cotangent dtype of integer inputs.

>>> import numpy as np
>>> float0.itemsize
0
>>> np.zeros((2, 3), float0).shape
(2, 3)
"""
from __future__ import annotations

import numpy as np

float0 = np.dtype([("float0", "V")])


def is_inexact(dtype):
    return np.dtype(dtype).kind in "fc"


def is_complex(dtype):
    return np.dtype(dtype).kind == "c"


def is_float0(dtype):
    return np.dtype(dtype) == float0


def real_dtype(dtype):
    """The real counterpart of a complex dtype (complex128 -> float64)."""
    return np.finfo(dtype).dtype if is_complex(dtype) else np.dtype(dtype)


def check_not_float0(op, *dtypes):
    for d in dtypes:
        if is_float0(d):
            raise TypeError(f"{op}: arithmetic on float0 values is not defined. float0 is the "
                            "trivial cotangent type of integer inputs (grad with allow_int=True); "
                            "it carries no numbers.")
