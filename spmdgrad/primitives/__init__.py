"""The strict primitive set. Importing this package registers every rule."""
from . import (  # noqa: F401
    contraction,
    elementwise,
    indexing,
    linalg,
    reductions,
    stop_gradient,
    structural,
)
