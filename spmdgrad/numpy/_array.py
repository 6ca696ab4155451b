"""Eager arrays with ``.at``, and dtype names that also convert traced values.

Outside transformations ``spmdgrad.numpy`` returns :class:`Array`, a NumPy ndarray
subclass whose only addition is JAX's functional ``.at[idx].set/add/...``, so
``jnp.zeros(3).at[0].set(1.0)`` runs eagerly as it does in JAX, while every result
stays ``isinstance(x, np.ndarray)``. The decision and its costs are written down in
``docs/numpy_surface.md``.

>>> import spmdgrad.numpy as jnp
>>> jnp.zeros(3).at[0].set(1.0).at[2].add(5.0)
array([1., 0., 5.])
>>> jnp.float32(jnp.arange(2))
array([0., 1.], dtype=float32)
"""
from __future__ import annotations

import functools

import numpy as np

from ..core import Tracer
from ._indexing import _IndexUpdateHelper
from ._math import astype


class Array(np.ndarray):
    """A NumPy array that also has JAX's ``.at``; it prints as a NumPy array."""

    @property
    def at(self):
        """``x.at[idx].set(v)`` and friends: functional updates returning a new array."""
        return _EagerAt(self.view(np.ndarray))

    def __repr__(self):
        return repr(self.view(np.ndarray))

    def __array_wrap__(self, obj, context=None, return_scalar=False):
        # NumPy asks for a scalar where it would return one for a plain ndarray (0-d
        # ufunc and reduction results); keep that, so the subclass changes no result type.
        if return_scalar:
            return obj[()]
        return super().__array_wrap__(obj, context, return_scalar)


class _ArrayType(type):
    def __instancecheck__(cls, x):
        return isinstance(x, np.ndarray | Tracer)

    def __subclasscheck__(cls, c):
        return issubclass(c, np.ndarray | Tracer)


class ndarray(metaclass=_ArrayType):  # noqa: N801 - NumPy's and JAX's name
    """``isinstance(x, jnp.ndarray)`` is True for NumPy arrays and traced values, as
    ``isinstance(x, jax.Array)`` is in JAX. Not instantiable: use ``jnp.asarray``.

    >>> import spmdgrad, spmdgrad.numpy as jnp
    >>> isinstance(jnp.zeros(2), jnp.ndarray), spmdgrad.grad(lambda x: isinstance(x, jnp.ndarray) * x)(1.0)
    (True, np.float64(1.0))
    """

    def __new__(cls, *args, **kwargs):
        raise TypeError("jnp.ndarray cannot be instantiated; use jnp.asarray or jnp.zeros")


class _EagerAt:
    __slots__ = ("_helper",)

    def __init__(self, x):
        self._helper = _IndexUpdateHelper(x)

    def __getitem__(self, key):
        return _EagerRef(self._helper[key])


class _EagerRef:
    __slots__ = ("_ref",)

    def __init__(self, ref):
        self._ref = ref

    def __getattr__(self, name):
        f = getattr(self._ref, name)
        return lambda *args, **kwargs: as_array(f(*args, **kwargs))


def as_array(out):
    """An eager ndarray result viewed as :class:`Array` (tuples and lists elementwise);
    tracers, scalars and everything else are returned unchanged."""
    t = type(out)
    if t is np.ndarray:
        return out.view(Array)
    if t is tuple or t is list:
        return t(as_array(o) for o in out)
    return out


def returns_arrays(f):
    """``f`` with its eager ndarray results viewed as :class:`Array`."""
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        out = f(*args, **kwargs)
        t = type(out)  # the test as_array starts with, inline: tracers pass straight through
        return as_array(out) if t is np.ndarray or t is tuple or t is list else out
    return wrapper


class ScalarType:
    """``jnp.float32`` and friends: a dtype (``np.dtype(jnp.float32)``, ``dtype=``)
    that, called on a value, converts it, traced values included."""
    __slots__ = ("dtype", "__name__")

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)
        self.__name__ = self.dtype.name

    def __call__(self, x=0):
        if isinstance(x, Tracer):
            return astype(x, self.dtype)
        out = np.asarray(x, self.dtype)
        return out[()] if out.ndim == 0 else out.view(Array)

    def __repr__(self):
        return f"spmdgrad.numpy.{self.__name__}"

    def __eq__(self, other):
        return other is self or (isinstance(other, type) and np.dtype(other) == self.dtype) \
            or other == self.dtype

    def __hash__(self):
        return hash(self.dtype)


SCALAR_TYPES = {name: ScalarType(name) for name in (
    "float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16",
    "uint32", "uint64", "complex64", "complex128")}
SCALAR_TYPES["bool_"] = ScalarType(np.bool_)
