"""Operators, NumPy-style methods and NumPy dispatch on tracers, so traced code reads
like NumPy: ``x.mean(axis=0, keepdims=True)``, ``np.sum(x)`` and ``np.sin(x)`` all run
the ``spmdgrad.numpy`` function of the same name.

The package calls :func:`install` once with its own namespace, so this module imports
no other front-end module and methods see every function the package exports.
"""
from __future__ import annotations

from ..core import Tracer

# Methods whose signature is NumPy's function signature without the array: the method
# forwards its arguments unchanged (``x.sum(0, None, None, True)`` is ``sum(x, 0, None,
# None, True)``, as in NumPy).
_FORWARDED = ("sum", "mean", "prod", "max", "min", "var", "std", "any", "all", "ptp",
              "cumsum", "cumprod", "argmax", "argmin", "clip", "round", "take", "repeat",
              "swapaxes", "squeeze", "trace", "diagonal", "nonzero", "searchsorted",
              "argpartition", "partition", "choose", "dot", "conj", "conjugate",
              "sort", "argsort", "ravel")

# numpy.<ufunc>.<method> on a traced value, mapped to the front-end function.
_UFUNC_REDUCE = {"add": "sum", "multiply": "prod", "maximum": "max", "minimum": "min",
                 "logical_and": "all", "logical_or": "any", "fmax": "nanmax", "fmin": "nanmin"}
_UFUNC_ACCUMULATE = {"add": "cumsum", "multiply": "cumprod"}


def _swap(f):
    return lambda self, other: f(other, self)


def _method(ns, name):
    def method(self, *args, **kwargs):
        return ns[name](self, *args, **kwargs)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"``spmdgrad.numpy.{name}(self, ...)``, with NumPy's method signature."
    return method


def _no_function(op, where="spmdgrad.numpy"):
    return TypeError(f"{op} was applied to a traced value, and {where} has no equivalent, so it "
                     "cannot be differentiated or batched; rewrite it with spmdgrad.numpy "
                     "functions")


def _install_dispatch(T, ns):
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """NumPy ufuncs on tracers run the spmdgrad.numpy function of the same name."""
        name = ufunc.__name__
        if method == "__call__":
            f = ns.get(name)
        elif method == "reduce":
            f = ns.get(_UFUNC_REDUCE.get(name, ""))
        elif method == "accumulate":
            f = ns.get(_UFUNC_ACCUMULATE.get(name, ""))
        elif method == "outer" and ufunc.nin == 2 and name in ns:
            f = ns["_ufunc_outer"](ns[name])
        else:
            f = None
        if f is None:
            raise _no_function(f"numpy.{name}.{method}" if method != "__call__" else f"numpy.{name}")
        if kwargs.get("out") is not None:
            raise TypeError(f"numpy.{name}: out= is not supported on traced values (arrays are "
                            "immutable under transformations); use the returned value")
        kwargs.pop("out", None)
        return _call(f, f"numpy.{name}", inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        """NumPy functions (``np.sum(x)``, ``np.linalg.det(x)``) on tracers run the
        spmdgrad.numpy function of the same name, with the same arguments."""
        mod = getattr(func, "__module__", "") or ""
        name = func.__name__
        if mod.startswith("numpy.linalg"):
            f, where = getattr(ns["linalg"], name, None), "spmdgrad.numpy.linalg"
        elif mod == "numpy" or (mod.startswith("numpy.") and mod.split(".")[1].startswith("_")):
            f, where = ns.get(name), "spmdgrad.numpy"
        else:
            f, where = None, "spmdgrad.numpy"
        if f is None or name.startswith("_"):
            raise _no_function(f"{mod or 'numpy'}.{name}", where)
        return _call(f, f"numpy.{name}", args, kwargs)

    T.__array_ufunc__ = __array_ufunc__
    T.__array_function__ = __array_function__


def _call(f, label, args, kwargs):
    """Call ``f``; an unsupported keyword becomes a TypeError that names the NumPy function."""
    try:
        return f(*args, **kwargs)
    except TypeError as e:
        if "unexpected keyword argument" in str(e) or "positional argument" in str(e):
            raise TypeError(f"{label} on a traced value dispatches to spmdgrad.numpy."
                            f"{getattr(f, '__name__', label)}, which does not accept these "
                            f"arguments: {e}") from None
        raise


def install(ns):
    """Install operators, methods and NumPy dispatch on :class:`Tracer`; ``ns`` is the
    ``spmdgrad.numpy`` namespace."""
    T = Tracer
    # Operators and methods act on tracers, whose results are tracers: skip the eager
    # result wrapper (``_array.returns_arrays``) and call the functions directly.
    m = {k: getattr(v, "__wrapped__", v) for k, v in ns.items()}
    ns = m
    T.__add__, T.__radd__ = m["add"], _swap(m["add"])
    T.__sub__, T.__rsub__ = m["subtract"], _swap(m["subtract"])
    T.__mul__, T.__rmul__ = m["multiply"], _swap(m["multiply"])
    T.__truediv__, T.__rtruediv__ = m["divide"], _swap(m["divide"])
    T.__floordiv__, T.__rfloordiv__ = m["floor_divide"], _swap(m["floor_divide"])
    T.__mod__, T.__rmod__ = m["remainder"], _swap(m["remainder"])
    T.__divmod__, T.__rdivmod__ = m["divmod"], _swap(m["divmod"])
    T.__pow__, T.__rpow__ = m["power"], _swap(m["power"])
    T.__matmul__, T.__rmatmul__ = m["matmul"], _swap(m["matmul"])
    T.__neg__ = m["negative"]
    T.__pos__ = lambda self: self
    T.__abs__ = m["abs"]
    T.__eq__, T.__ne__ = m["equal"], m["not_equal"]
    T.__lt__, T.__le__, T.__gt__, T.__ge__ = m["less"], m["less_equal"], m["greater"], m["greater_equal"]
    T.__and__, T.__rand__ = m["bitwise_and"], _swap(m["bitwise_and"])
    T.__or__, T.__ror__ = m["bitwise_or"], _swap(m["bitwise_or"])
    T.__xor__, T.__rxor__ = m["bitwise_xor"], _swap(m["bitwise_xor"])
    T.__invert__ = m["invert"]
    T.__lshift__, T.__rlshift__ = m["left_shift"], _swap(m["left_shift"])
    T.__rshift__, T.__rrshift__ = m["right_shift"], _swap(m["right_shift"])
    _install_dispatch(T, ns)
    T.astype = lambda self, dtype, order="K", casting="unsafe", subok=True, copy=True: \
        m["astype"](self, dtype)
    T.reshape = _reshape(ns)
    T.transpose = _transpose(ns)
    T.T = property(lambda self: m["transpose"](self))
    T.mT = property(lambda self: m["matrix_transpose"](self))
    T.real = property(m["real"])
    T.imag = property(m["imag"])
    T.copy = lambda self, order="C": self
    T.tolist = lambda self: self.concrete().tolist()
    T.__getitem__ = lambda self, key: m["_getitem"](self, key)
    T.__setitem__ = _setitem
    T.at = property(lambda self: m["_IndexUpdateHelper"](self))
    for name in _FORWARDED:
        setattr(T, name, _method(ns, name))
    T.flatten = _method(ns, "ravel")
    T.compress = lambda self, condition, axis=None, out=None: m["compress"](condition, self, axis, out)
    T.__hash__ = None


def _reshape(ns):
    def reshape(self, *shape, order="C", copy=None):
        """``x.reshape(2, 3)`` or ``x.reshape((2, 3))``, as NumPy's method."""
        if len(shape) == 1 and isinstance(shape[0], tuple | list):
            shape = shape[0]
        return ns["reshape"](self, shape, order=order)
    return reshape


def _transpose(ns):
    def transpose(self, *axes):
        """``x.transpose(1, 0)`` or ``x.transpose((1, 0))``, as NumPy's method."""
        if len(axes) == 1 and isinstance(axes[0], tuple | list | type(None)):
            axes = axes[0]
        return ns["transpose"](self, axes or None)
    return transpose


def _setitem(self, key, value):
    raise TypeError(f"traced arrays are immutable: {type(self).__name__} does not support item "
                    "assignment (x[idx] = v). Use the functional form x = x.at[idx].set(v), "
                    "or .add/.multiply/.min/.max/.divide/.power.")
