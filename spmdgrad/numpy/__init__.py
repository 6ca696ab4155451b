"""``spmdgrad.numpy``: a NumPy front end whose operations differentiate and batch.

Broadcasting and dtype promotion follow NumPy (default float is float64) and
happen here, once, over the strict primitive set. Port JAX code by importing
``spmdgrad.numpy as jnp``.

>>> import spmdgrad.numpy as jnp
>>> jnp.sum(jnp.sin(jnp.zeros(3)) + 1.0)
np.float64(3.0)
"""
from numpy import (bool_, complex64, complex128, dtype, e, float16, float32, float64, inf,  # noqa: F401
                   int8, int16, int32, int64, nan, ndarray, newaxis, pi, uint8)

from ._core import array, asarray, broadcast_to, ndim, result_type, shape  # noqa: F401
from ._math import *  # noqa: F401,F403
from ._math import abs, max, min, round, sum  # noqa: F401
from ._shape import *  # noqa: F401,F403
from ._contract import *  # noqa: F401,F403
from ._creation import *  # noqa: F401,F403
from ._indexing import *  # noqa: F401,F403
from ._convolve import convolve, correlate  # noqa: F401
from . import linalg  # noqa: F401
from ._methods import install as _install

_install()
del _install
from ._jax_keywords import accept_precision as _accept_precision  # noqa: E402

# jnp.dot(x, y, precision=lax.Precision.HIGH), as in JAX (einsum takes them itself)
for _name in ("dot", "matmul", "tensordot", "inner", "vdot"):
    globals()[_name] = _accept_precision(globals()[_name])
del _accept_precision, _name
