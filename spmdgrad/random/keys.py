"""PRNG keys: raw ``uint32[2]`` keys, typed key arrays, and the key operations.

Two kinds of key, as in JAX:

- ``PRNGKey(seed)`` returns a *raw* key, a plain ``uint32`` array of shape ``(2,)``;
- ``key(seed)`` returns a *typed* key, a :class:`PRNGKeyArray` of shape ``()`` whose
  element type is ``key<fry>``. It wraps the same ``uint32`` data
  (``key_data``/``wrap_key_data`` convert) and refuses arithmetic.

Every function takes either kind and returns keys of the kind it was given. A
typed key array is a pytree whose one leaf is its data, so it passes through
``vmap`` (mapped over its leading axis), ``jit`` and ``grad`` unchanged.

>>> import spmdgrad.random as random
>>> random.PRNGKey(0)
array([0, 0], dtype=uint32)
>>> k = random.key(0)
>>> k.shape, str(k.dtype)
((), 'key<fry>')
>>> random.key_data(random.split(k)).tolist()
[[1797259609, 2579123966], [928981903, 3453687069]]
"""
from __future__ import annotations

import operator

import numpy as np

import spmdgrad.numpy as jnp

from .. import tree_util
from ..core import Tracer, get_aval
from . import primitives as P

_U32 = np.dtype(np.uint32)


class KeyDType:
    """The element type of typed key arrays, printed ``key<fry>`` (threefry2x32)."""
    name = "key<fry>"
    impl = "threefry2x32"
    itemsize = 8
    kind = "V"

    def __repr__(self):
        return f"dtype({self.name})"

    def __str__(self):
        return self.name

    def __eq__(self, other):
        return isinstance(other, KeyDType) or other == self.name

    def __hash__(self):
        return hash(self.name)


key_dtype = KeyDType()


class PRNGKeyArray:
    """An array of typed PRNG keys. Its data, ``uint32`` of shape ``self.shape + (2,)``,
    is a NumPy array or a tracer; the key array itself is never a number.

    >>> import spmdgrad.random as random
    >>> ks = random.split(random.key(1), 3)
    >>> ks.shape, ks[0].shape, len(ks)
    ((3,), (), 3)
    """
    __slots__ = ("_data",)
    __array_priority__ = 2000

    def __init__(self, data):
        self._data = data

    dtype = key_dtype
    shape = property(lambda self: tuple(get_aval(self._data).shape[:-1]))
    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: int(np.prod(self.shape, dtype=np.int64)))

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a single PRNG key (shape ())")
        return self.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __getitem__(self, idx):
        idx = idx if isinstance(idx, tuple) else (idx,)
        if any(i is Ellipsis for i in idx):
            raise IndexError("PRNGKeyArray: Ellipsis indexing is not supported; index the "
                             "leading key dimensions explicitly")
        if len(idx) > self.ndim:
            raise IndexError(f"too many indices for a key array of shape {self.shape}")
        return PRNGKeyArray(self._data[idx])

    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], tuple | list) else shape
        return PRNGKeyArray(jnp.reshape(self._data, tuple(shape) + (2,)))

    def ravel(self):
        return self.reshape(-1)

    flatten = ravel

    def __repr__(self):
        data = self._data
        body = repr(data) if isinstance(data, Tracer) else np.array2string(np.asarray(data))
        return f"PRNGKeyArray(shape={self.shape}, dtype=key<fry>) overlaying:\n{body}"

    def __array__(self, dtype=None, copy=None):
        raise TypeError(_not_a_number(f"key array of shape {self.shape}"))

    def __eq__(self, other):
        if not isinstance(other, PRNGKeyArray):
            raise TypeError("a typed PRNG key can only be compared with another typed key")
        return jnp.all(self._data == other._data, axis=-1)

    def __ne__(self, other):
        return jnp.logical_not(self == other)

    __hash__ = None


def _no_arith(self, *args):
    raise TypeError(_not_a_number(f"key array of shape {self.shape}"))


# Keys are not numbers: every arithmetic, comparison and conversion operator refuses.
for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or",
              "xor", "lshift", "rshift"):
    setattr(PRNGKeyArray, f"__{_name}__", _no_arith)
    setattr(PRNGKeyArray, f"__r{_name}__", _no_arith)
for _name in ("lt", "le", "gt", "ge", "neg", "pos", "abs", "invert", "float", "int", "index",
              "bool", "complex"):
    setattr(PRNGKeyArray, f"__{_name}__", _no_arith)
del _name


def _not_a_number(what):
    return (f"a typed PRNG key ({what}, dtype key<fry>) was used as a number. Keys are "
            "opaque: pass them to spmdgrad.random functions only. If you need the raw "
            "uint32 bits, use spmdgrad.random.key_data(key).")


tree_util.register_pytree_node(PRNGKeyArray, lambda k: ((k._data,), None),
                               lambda _, c: PRNGKeyArray(c[0]))


# --------------------------------------------------------------------------- checks

def _describe(x):
    try:
        return get_aval(x).str_short()
    except Exception:  # noqa: BLE001 - only for the error message
        return type(x).__name__


def check_key(name, key, allow_batched=False):
    """``(data, typed)`` for a key argument of ``spmdgrad.random.<name>``, or a clear error."""
    if isinstance(key, PRNGKeyArray):
        data, typed = key._data, True
        a = get_aval(data)
        if a.dtype != _U32 or a.ndim < 1 or a.shape[-1] != 2:
            raise TypeError(
                f"spmdgrad.random.{name}: this typed key array holds data {a.str_short()}, not "
                "uint32[..., 2]. A transformation mapped over the key's hidden data axis: map "
                "typed keys with a non-negative in_axes/out_axes (their key axes).")
    else:
        typed = False
        ok = isinstance(key, Tracer | np.ndarray)
        if ok:
            a = get_aval(key)
            ok = a.dtype == _U32 and a.ndim >= 1 and a.shape[-1] == 2
        if not ok:
            raise TypeError(
                f"spmdgrad.random.{name}: expected a PRNG key, got {_describe(key)}. A key is "
                "a typed key from random.key(seed) or a raw uint32 array of shape (2,) from "
                "random.PRNGKey(seed); derive more keys with random.split(key).")
        data = key
    if not allow_batched and get_aval(data).ndim != 1:
        shape = get_aval(data).shape[:-1]
        raise ValueError(f"spmdgrad.random.{name}: expects a single key, got a key array of "
                         f"shape {shape}. Map over the keys with spmdgrad.vmap.")
    return data, typed


def wrap(data, typed):
    return PRNGKeyArray(data) if typed else data


# --------------------------------------------------------------------------- constructors

def _seed_data(name, seed):
    if isinstance(seed, PRNGKeyArray):
        raise TypeError(f"spmdgrad.random.{name}: expects an integer seed, got a PRNG key")
    if isinstance(seed, Tracer):
        a = get_aval(seed)
        if a.dtype.kind not in "iu":
            raise TypeError(f"spmdgrad.random.{name}: the seed must be an integer, got "
                            f"{a.str_short()}")
    else:
        if isinstance(seed, bool | np.bool_) or np.asarray(seed).dtype.kind not in "iu":
            raise TypeError(f"spmdgrad.random.{name}: the seed must be an integer, got "
                            f"{seed!r}")
        seed = np.asarray(seed)
    if get_aval(seed).ndim:
        raise TypeError(f"spmdgrad.random.{name}: expects a scalar seed, got shape "
                        f"{get_aval(seed).shape}. Map over seeds with spmdgrad.vmap.")
    return P.random_seed(seed)


def PRNGKey(seed):
    """A raw key: ``uint32`` array ``[seed >> 32, seed & 0xFFFFFFFF]``.

    >>> PRNGKey(42)
    array([ 0, 42], dtype=uint32)
    """
    return _seed_data("PRNGKey", seed)


def key(seed):
    """A typed key (shape ``()``, dtype ``key<fry>``) from an integer seed.

    >>> key_data(key(42))
    array([ 0, 42], dtype=uint32)
    """
    return PRNGKeyArray(_seed_data("key", seed))


def key_data(keys):
    """The ``uint32`` data under typed keys (shape ``keys.shape + (2,)``); raw keys pass
    through.

    >>> key_data(key(7)).tolist()
    [0, 7]
    """
    data, _ = check_key("key_data", keys, allow_batched=True)
    return data


def wrap_key_data(key_bits_array):
    """Typed keys from ``uint32`` data of shape ``(..., 2)``.

    >>> import numpy as np
    >>> wrap_key_data(np.array([0, 7], np.uint32)).shape
    ()
    """
    if isinstance(key_bits_array, PRNGKeyArray):
        raise TypeError("spmdgrad.random.wrap_key_data: the argument is already a typed key")
    if not isinstance(key_bits_array, Tracer):
        key_bits_array = np.asarray(key_bits_array)
    data, _ = check_key("wrap_key_data", key_bits_array, allow_batched=True)
    return PRNGKeyArray(data)


def key_impl(keys):
    """The name of the PRNG implementation of ``keys``: always ``'threefry2x32'``."""
    check_key("key_impl", keys, allow_batched=True)
    return "threefry2x32"


# --------------------------------------------------------------------------- operations

def split(key, num=2):
    """``num`` new keys (or an array of keys of shape ``num`` if it is a tuple).

    >>> split(PRNGKey(0)).tolist()
    [[1797259609, 2579123966], [928981903, 3453687069]]
    """
    data, typed = check_key("split", key)
    shape = tuple(num) if isinstance(num, tuple | list) else (operator.index(num),)
    return wrap(P.random_split(data, shape), typed)


def fold_in(key, data):
    """A new key from ``key`` and an integer (taken modulo 2**32).

    >>> fold_in(PRNGKey(0), 3).tolist()
    [2467461003, 3840466878]
    """
    kdata, typed = check_key("fold_in", key)
    if isinstance(data, PRNGKeyArray):
        raise TypeError("spmdgrad.random.fold_in: data must be an integer, got a PRNG key")
    if not isinstance(data, Tracer):
        data = np.asarray(data)
    a = get_aval(data)
    if a.ndim:
        raise TypeError(f"spmdgrad.random.fold_in: data must be a scalar, got shape {a.shape}. "
                        "Map over it with spmdgrad.vmap.")
    if a.dtype.kind not in "iub":
        raise TypeError(f"spmdgrad.random.fold_in: data must be an integer, got {a.str_short()}")
    if not isinstance(data, Tracer):
        msg = np.asarray(np.asarray(data, np.int64) & 0xFFFFFFFF, np.uint32)
    else:
        msg = jnp.asarray(data, np.uint32)
    return wrap(P.random_fold_in(kdata, msg), typed)


def clone(key):
    """``key`` itself (keys are immutable values here; JAX's ``clone`` is a no-op too)."""
    check_key("clone", key, allow_batched=True)
    return key
