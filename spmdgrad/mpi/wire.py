"""How arrays travel over MPI: buffers MPI understands for every NumPy dtype.

- Data movement (Allgather, Alltoall, point-to-point) is bit-exact, so any dtype
  travels as raw bytes, including ml_dtypes' bfloat16 and float16, which have no
  MPI datatype.
- Reductions need arithmetic: float16 and bfloat16 (and other 1- and 2-byte
  floats) travel as float32, which holds them exactly; bool travels as uint8 with a
  logical operation (sum and max are "or", min is "and"), the NumPy meaning of a
  bool sum, which never wraps.

>>> reduce_wire(np.dtype(bool), "sum")
(dtype('uint8'), 'lor')
>>> reduce_wire(np.dtype(np.float16), "max")
(dtype('float32'), 'max')
"""
from __future__ import annotations

import numpy as np

_NATIVE = set("fdFDbBhHiIlLqQ")   # float32/64, complex64/128, integers: MPI has them


def reduce_wire(dtype, op):
    """``(wire dtype, op)`` for an elementwise reduction ``op`` of ``dtype`` values."""
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return np.dtype(np.uint8), ("land" if op == "min" else "lor")
    if dtype.char in _NATIVE:
        return dtype, op
    if _is_small_float(dtype):
        return np.dtype(np.float32), op
    raise TypeError(f"{op} over MPI: no reduction for dtype {dtype}; convert the operand to a "
                    "standard NumPy numeric dtype first")


def _is_small_float(dtype):
    if dtype == np.float16:
        return True
    if dtype.itemsize > 2 or dtype.kind not in "fV":
        return False
    try:   # ml_dtypes' floats (bfloat16, float8_*): every value is exact in float32
        return float(np.array(1.5, np.float32).astype(dtype).astype(np.float32)) == 1.5
    except (TypeError, ValueError):
        return False


def mpi_op(MPI, op):
    return {"sum": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN, "lor": MPI.LOR, "land": MPI.LAND}[op]


def as_bytes(a):
    """A C-contiguous ``a`` (leading dimension kept) as a uint8 buffer, for bit-exact moves."""
    a = np.ascontiguousarray(a)
    n = a.shape[0] if a.ndim else 1
    m = a.size // n if n else 0
    return a.reshape(n, m).view(np.uint8)


def from_bytes(b, dtype, shape):
    """The inverse of :func:`as_bytes`."""
    return b.view(dtype).reshape(shape)
