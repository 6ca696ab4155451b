"""The strict primitive set. Importing this package registers every rule."""
from . import (  # noqa: F401
    cond,
    contraction,
    conv,
    decompositions,
    dynamic_slice,
    elementwise,
    fft,
    indexing,
    lax_arith,
    linalg,
    loops,
    numpy_call,
    reductions,
    stop_gradient,
    structural,
    windowed,
)
