"""Operators and NumPy-style methods on tracers, so traced code reads like NumPy."""
from __future__ import annotations

import numpy as np

from ..core import Tracer
from . import _math as m
from . import _contract as c
from . import _shape as s


def _swap(f):
    return lambda self, other: f(other, self)


def _astype(self, dtype):
    from ..primitives.elementwise import convert_element_type
    return convert_element_type(self, np.dtype(dtype))


def _reshape(self, *shape, order="C"):
    if len(shape) == 1 and isinstance(shape[0], tuple | list):
        shape = shape[0]
    return s.reshape(self, shape, order)


def _transpose(self, *axes):
    if len(axes) == 1 and isinstance(axes[0], tuple | list):
        axes = axes[0]
    return s.transpose(self, axes or None)


def _ufunc(self, ufunc, method, *inputs, **kwargs):
    """NumPy ufuncs on tracers dispatch to spmdgrad.numpy when there is an equivalent."""
    import spmdgrad.numpy as jnp
    f = getattr(jnp, ufunc.__name__, None)
    if method != "__call__" or f is None or kwargs:
        raise TypeError(f"numpy.{ufunc.__name__} ({method}) was applied to a traced value; use "
                        "spmdgrad.numpy instead of numpy inside transformed functions")
    return f(*inputs)


def _lazy(name):
    """A method that looks ``spmdgrad.numpy.<name>`` up when called, so functions added
    to the front end later (or by other modules) are picked up."""
    def method(self, *args, **kwargs):
        import spmdgrad.numpy as jnp
        f = getattr(jnp, name, None)
        if f is None:
            raise NotImplementedError(f"the array method .{name}() is not available: "
                                      f"spmdgrad.numpy has no function {name!r}")
        return f(self, *args, **kwargs)
    method.__name__ = name
    method.__doc__ = f"``spmdgrad.numpy.{name}(self, ...)``."
    return method


def _getitem(self, key):
    from ._indexing import getitem
    return getitem(self, key)


def _at(self):
    from ._indexing import _IndexUpdateHelper
    return _IndexUpdateHelper(self)


def install():
    T = Tracer
    T.__add__, T.__radd__ = m.add, _swap(m.add)
    T.__sub__, T.__rsub__ = m.subtract, _swap(m.subtract)
    T.__mul__, T.__rmul__ = m.multiply, _swap(m.multiply)
    T.__truediv__, T.__rtruediv__ = m.divide, _swap(m.divide)
    T.__floordiv__, T.__rfloordiv__ = m.floor_divide, _swap(m.floor_divide)
    T.__mod__, T.__rmod__ = m.remainder, _swap(m.remainder)
    T.__pow__, T.__rpow__ = m.power, _swap(m.power)
    T.__matmul__, T.__rmatmul__ = c.matmul, _swap(c.matmul)
    T.__neg__ = m.negative
    T.__pos__ = lambda self: self
    T.__abs__ = m.abs
    T.__eq__, T.__ne__ = m.equal, m.not_equal
    T.__lt__, T.__le__, T.__gt__, T.__ge__ = m.less, m.less_equal, m.greater, m.greater_equal
    T.__and__, T.__or__, T.__xor__, T.__invert__ = m.logical_and, m.logical_or, m.logical_xor, m.logical_not
    T.__array_ufunc__ = _ufunc
    T.astype = _astype
    T.reshape = _reshape
    T.transpose = _transpose
    T.T = property(lambda self: s.transpose(self))
    T.real = property(m.real)
    T.imag = property(m.imag)
    T.conj = T.conjugate = m.conj
    T.sum = lambda self, axis=None, keepdims=False: m.sum(self, axis, keepdims=keepdims)
    T.mean = lambda self, axis=None, keepdims=False: m.mean(self, axis, keepdims)
    T.max = lambda self, axis=None, keepdims=False: m.max(self, axis, keepdims)
    T.min = lambda self, axis=None, keepdims=False: m.min(self, axis, keepdims)
    T.dot = c.dot
    T.__getitem__ = _getitem
    T.at = property(_at)
    T.flatten = T.ravel = lambda self, order="C": s.ravel(self, order)
    for name in ("squeeze", "var", "std", "prod", "cumsum", "cumprod", "argmax", "argmin",
                 "clip", "sort", "argsort", "take", "repeat", "swapaxes", "any", "all"):
        setattr(T, name, _lazy(name))
    T.__hash__ = None
