"""Names NumPy has and ``spmdgrad.numpy`` does not: asking for one raises an error that
names it and says why, instead of a bare AttributeError.

>>> import spmdgrad.numpy as jnp
>>> try:
...     jnp.savetxt
... except NotImplementedError as e:
...     print(e)
spmdgrad.numpy.savetxt is not implemented: file I/O is outside spmdgrad.numpy; use numpy.savetxt
"""
from __future__ import annotations

import numpy as np

# Why each group is left out; numpy names not listed get the generic reason.
_IO = ("load", "save", "savez", "savez_compressed", "loadtxt", "savetxt", "genfromtxt",
       "fromfile", "fromregex", "frombuffer", "fromstring", "from_dlpack")
_PRINTING = ("array2string", "array_repr", "array_str", "base_repr", "binary_repr",
             "format_float_positional", "format_float_scientific", "get_printoptions",
             "set_printoptions", "printoptions")
_CONFIG = ("test", "show_config", "show_runtime", "get_include", "info", "getbufsize",
           "setbufsize", "geterr", "seterr", "geterrcall", "seterrcall")
_DATETIME = ("busday_count", "busday_offset", "is_busday", "datetime_as_string", "datetime_data",
             "isnat")
_MEMORY = ("may_share_memory", "shares_memory", "require", "isfortran", "asfortranarray",
           "ascontiguousarray")
_IN_PLACE = ("copyto", "putmask")
_DTYPES = ("can_cast", "common_type", "isdtype", "issubdtype", "min_scalar_type", "mintypecode",
           "promote_types", "result_type", "typename", "iterable")

# Not array functions (the coverage denominator leaves them out; tools/numpy_coverage.py).
EXCLUDED = {"file I/O": _IO, "printing and formatting": _PRINTING,
            "configuration, testing and build info": _CONFIG, "datetime": _DATETIME,
            "memory layout": _MEMORY, "dtype introspection and Python-object predicates": _DTYPES}
_OTHER = {"asmatrix": "the matrix class is not supported; use 2-d arrays",
          "bmat": "the matrix class is not supported; use block",
          "frompyfunc": "NumPy object ufuncs cannot be traced; write the function with "
                        "spmdgrad.numpy and use spmdgrad.vmap",
          "nested_iters": "NumPy iterators cannot be traced",
          "roots": "the roots' count and dtype depend on the values (eigenvalues of the "
                   "companion matrix)",
          "polyfit": "it needs a least-squares solver (numpy.linalg.lstsq)"}

REASONS = {}
for _names, _why in ((_IO, "file I/O is outside spmdgrad.numpy; use numpy.{}"),
                     (_PRINTING, "printing is outside spmdgrad.numpy; use numpy.{}"),
                     (_CONFIG, "NumPy configuration is outside spmdgrad.numpy; use numpy.{}"),
                     (_DATETIME, "datetime arrays are not supported"),
                     (_MEMORY, "spmdgrad arrays have no memory layout to control; use asarray"),
                     (_IN_PLACE, "it writes in place, and spmdgrad arrays are immutable; use "
                                 "where(mask, values, x) or x.at[idx].set(v)")):
    for _n in _names:
        REASONS[_n] = _why.format(_n)
REASONS.update(_OTHER)

_LINALG_REASONS = {
    n: "it needs an eigenvalue, singular-value, QR or least-squares decomposition, which "
       "spmdgrad.numpy.linalg does not provide yet"
    for n in ("eig", "eigvals", "svd", "svdvals", "qr", "lstsq", "pinv", "matrix_rank", "cond")}


class MissingFunctionError(NotImplementedError, AttributeError):
    """A NumPy function spmdgrad.numpy does not provide. It is an AttributeError too, so
    ``hasattr(jnp, name)`` is False."""


def missing_getattr(module_name, numpy_module, reasons):
    """A module ``__getattr__`` that names missing NumPy functions."""
    def __getattr__(name):
        if not name.startswith("_") and hasattr(numpy_module, name):
            why = reasons.get(name, "not implemented yet")
            raise MissingFunctionError(f"{module_name}.{name} is not implemented: {why}")
        raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
    return __getattr__


numpy_getattr = missing_getattr("spmdgrad.numpy", np, REASONS)
linalg_getattr = missing_getattr("spmdgrad.numpy.linalg", np.linalg, _LINALG_REASONS)
