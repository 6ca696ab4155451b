"""The strict primitive set. Importing this package registers every rule."""
from . import contraction, elementwise, indexing, linalg, reductions, structural  # noqa: F401
from . import cond, dynamic_slice, loops  # noqa: F401
