"""The strict primitive set. Importing this package registers every rule."""
from . import (  # noqa: F401
    cond,
    contraction,
    conv,
    dynamic_slice,
    elementwise,
    indexing,
    linalg,
    loops,
    reductions,
    stop_gradient,
    structural,
    windowed,
)
