"""``spmdgrad.numpy``: a NumPy front end whose operations differentiate and batch.

Broadcasting and dtype promotion follow NumPy (default float is float64) and
happen here, once, over the strict primitive set. Port JAX code by importing
``spmdgrad.numpy as jnp``. Outside transformations results are NumPy arrays (the
:class:`~spmdgrad.numpy._array.Array` subclass, which adds JAX's ``.at``); a NumPy
function missing here raises an error that names it.

The modules form layers, each importing only those before it: ``_core`` (conversion,
promotion), ``_elementwise``, ``_math``, ``_indexing``, ``_shape``, ``_contract``, then
``_creation``, ``_ufuncs``, ``_logic``, ``_matrix``, ``_joining``, ``_stats``,
``_convolve``, ``_series``, ``_discrete``, ``_select``, ``linalg``,
``_linalg_extra``, ``_array``; ``_methods`` installs the tracer methods from this namespace.

>>> import spmdgrad.numpy as jnp
>>> jnp.sum(jnp.sin(jnp.zeros(3)) + 1.0)
np.float64(3.0)
"""
from numpy import (complexfloating, dtype, e, euler_gamma, finfo, floating, generic,  # noqa: F401
                   iinfo, inexact, inf, integer, issubdtype, nan, newaxis, number, pi,
                   promote_types, signedinteger, unsignedinteger, can_cast)

from . import _array, _contract, _convolve, _creation, _discrete, _elementwise, _indexing, _joining
from . import _logic, _math, _matrix
from . import _select, _series, _shape, _stats, _ufuncs
from ._core import asarray as _asarray
from ._core import broadcast_to, ndim, result_type, shape  # noqa: F401
from ._elementwise import *  # noqa: F401,F403
from ._elementwise import abs, pow, round  # noqa: F401
from ._math import *  # noqa: F401,F403
from ._math import max, min, sum  # noqa: F401
from ._shape import *  # noqa: F401,F403
from ._contract import *  # noqa: F401,F403
from ._creation import *  # noqa: F401,F403
from ._indexing import *  # noqa: F401,F403
from ._indexing import _IndexUpdateHelper, getitem as _getitem  # noqa: F401
from ._ufuncs import *  # noqa: F401,F403
from ._ufuncs import divmod  # noqa: F401
from ._matrix import *  # noqa: F401,F403
from ._joining import *  # noqa: F401,F403
from ._stats import *  # noqa: F401,F403
from ._series import *  # noqa: F401,F403
from ._discrete import *  # noqa: F401,F403
from ._logic import *  # noqa: F401,F403
from ._select import *  # noqa: F401,F403
from ._convolve import *  # noqa: F401,F403
from . import linalg  # noqa: F401
from . import _linalg_extra
from . import fft  # noqa: F401
from ._methods import install as _install
from ._missing import linalg_getattr as _linalg_getattr, numpy_getattr as __getattr__  # noqa: F401

# Public functions return eager results as ``_array.Array`` (``.at`` works eagerly).
_PUBLIC_MODULES = (_elementwise, _math, _shape, _contract, _creation, _indexing, _ufuncs, _logic,
                   _matrix, _joining, _stats, _series, _discrete, _select, _convolve)
for _mod in _PUBLIC_MODULES:
    for _name in _mod.__all__:
        _f = globals()[_name]
        if callable(_f) and not isinstance(_f, type) and getattr(_f, "__module__", "").startswith("spmdgrad"):
            globals()[_name] = _array.returns_arrays(_f)
globals().update(_array.SCALAR_TYPES)
ndarray = _array.ndarray
globals()["bool"] = bool_  # noqa: F405 - numpy 2 and JAX both have np.bool / jnp.bool


def _ufunc_outer(f):
    """``numpy.<ufunc>.outer`` on traced values: ``f(a[..., None, ...], b)``."""
    def outer(a, b):
        a, b = _asarray(a), _asarray(b)
        return f(reshape(a, shape(a) + (1,) * len(shape(b))), b)  # noqa: F405
    return outer


_linalg_extra.extend(linalg)
linalg.__getattr__ = _linalg_getattr
_install(globals())
del _install, _mod, _name, _f

from ._jax_keywords import accept_precision as _accept_precision  # noqa: E402

# jnp.dot(x, y, precision=lax.Precision.HIGH), as in JAX (einsum takes them itself)
for _name in ("dot", "matmul", "tensordot", "inner", "vdot"):
    globals()[_name] = _accept_precision(globals()[_name])
del _accept_precision, _name
