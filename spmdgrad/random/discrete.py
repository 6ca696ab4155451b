"""Discrete draws: randint, bernoulli, rademacher, categorical, choice, permutationarray([0, 0, 4, 4])
and shuffle. ``randint``, ``bernoulli``, ``rademacher`` and ``permutation`` are
bit-identical to JAX; ``categorical`` and ``choice`` are as exact as the float
comparisons they rest on.

>>> import spmdgrad.random as random
>>> random.randint(random.PRNGKey(0), (4,), 0, 10)
array([5, 1, 5, 7])
"""
from __future__ import annotations

import numpy as np

import spmdgrad.numpy as jnp

from ..core import Tracer, get_aval
from ..primitives.stop_gradient import stop_gradient
from . import primitives as P
from .distributions import (
    as_float,
    canonical_shape,
    check_shape,
    gumbel_from,
    split2,
    uniform_from,
    unit_uniform,
)
from .keys import check_key


def bits(key, shape=(), dtype=None):
    """Raw random bits: unsigned integers of ``dtype`` (default uint64, as JAX with x64).

    >>> from spmdgrad.random import PRNGKey
    >>> bits(PRNGKey(0), (2,), np.uint32)
    array([4070199207, 4202968722], dtype=uint32)
    """
    data, _ = check_key("bits", key)
    dtype = np.dtype(np.uint64 if dtype is None else dtype)
    if dtype.kind != "u":
        raise ValueError(f"spmdgrad.random.bits: dtype must be an unsigned integer dtype, got "
                         f"{dtype}")
    return P.random_bits(data, dtype.itemsize * 8, canonical_shape("bits", shape))


def _int_dtype(name, dtype):
    dtype = np.dtype(np.int64 if dtype is None else dtype)
    if dtype.kind not in "iu":
        raise TypeError(f"spmdgrad.random.{name}: dtype must be an integer dtype, got {dtype}")
    return dtype


def _clip_to(val, dtype):
    """Integer ``val`` clipped to the range of ``dtype`` (and its own), then converted."""
    vi, di = np.iinfo(get_aval(val).dtype), np.iinfo(dtype)
    vdt = get_aval(val).dtype
    lo, hi = vdt.type(max(di.min, vi.min)), vdt.type(min(di.max, vi.max))
    return jnp.asarray(jnp.clip(val, lo, hi), dtype)


def _as_int(x):
    x = jnp.asarray(x)
    return x if get_aval(x).dtype.kind in "iu" else jnp.asarray(x, np.int64)


def randint(key, shape, minval, maxval, dtype=None):
    """Integers uniform in ``[minval, maxval)``, bit-identical to JAX.

    >>> from spmdgrad.random import PRNGKey
    >>> randint(PRNGKey(1), (3,), -5, 5)
    array([3, 0, 0])
    """
    data, _ = check_key("randint", key)
    dtype = _int_dtype("randint", dtype)
    shape = canonical_shape("randint", shape)
    info = np.iinfo(dtype)
    if info.bits < 32:  # sample in int32, as JAX does, then narrow
        minval = jnp.clip(jnp.asarray(_as_int(minval), np.int32), int(info.min), int(info.max))
        maxval = jnp.clip(jnp.asarray(_as_int(maxval), np.int32), int(info.min), int(info.max) + 1)
        return jnp.asarray(_randint(data, shape, minval, maxval, np.dtype(np.int32)), dtype)
    return _randint(data, shape, minval, maxval, dtype)


def _randint(data, shape, minval, maxval, dtype):
    minval, maxval = _as_int(minval), _as_int(maxval)
    check_shape("randint", shape, get_aval(minval).shape, get_aval(maxval).shape)
    maxdt = get_aval(maxval).dtype
    top = np.asarray(min(np.iinfo(dtype).max, np.iinfo(maxdt).max), maxdt)
    maxval_out_of_range = maxval > top
    minval, maxval = _clip_to(minval, dtype), _clip_to(maxval, dtype)
    nbits = np.iinfo(dtype).bits
    udt = np.dtype(f"uint{nbits}")
    k1, k2 = split2(data)
    higher, lower = P.random_bits(k1, nbits, shape), P.random_bits(k2, nbits, shape)
    one = udt.type(1)
    span = jnp.asarray(jnp.subtract(maxval, minval), udt)
    span = jnp.where(maxval <= minval, one, span)
    # maxval above the dtype's range: the span reaches the dtype's max inclusive (and wraps
    # to 0 for the full range, where _urem's x % 0 == x makes every value reachable)
    span = jnp.where(maxval_out_of_range & (maxval > minval), jnp.add(span, one), span)
    # offset = (hi * 2**nbits + lo) mod span, without overflowing
    multiplier = _urem(jnp.asarray(udt.type(2 ** (nbits // 2))), span)
    multiplier = _urem(jnp.multiply(multiplier, multiplier), span)
    offset = _urem(jnp.add(jnp.multiply(_urem(higher, span), multiplier), _urem(lower, span)),
                   span)
    return minval + jnp.asarray(offset, dtype)


def _urem(x, y):
    """Unsigned remainder with XLA's convention ``x % 0 == x`` (NumPy gives 0)."""
    zero = y == 0
    return jnp.where(zero, x, jnp.remainder(x, jnp.where(zero, y.dtype.type(1), y)))


def bernoulli(key, p=0.5, shape=None, mode="low"):
    """Booleans that are True with probability ``p`` (``uniform < p``), bit-identical to JAX.

    >>> from spmdgrad.random import PRNGKey
    >>> bernoulli(PRNGKey(0), 0.5, (4,))
    array([ True,  True, False, False])
    """
    data, _ = check_key("bernoulli", key)
    if mode not in ("low", "high"):
        raise ValueError(f"spmdgrad.random.bernoulli: mode must be 'low' or 'high', got {mode!r}")
    p = jnp.asarray(p)
    dtype = get_aval(p).dtype
    if dtype.kind != "f":
        raise TypeError(f"spmdgrad.random.bernoulli: p must have a float dtype, got {dtype}")
    shape = canonical_shape("bernoulli", shape)
    if shape is None:
        shape = get_aval(p).shape
    else:
        check_shape("bernoulli", shape, get_aval(p).shape)
    return bernoulli_from(data, p, shape, mode)


def bernoulli_from(data, p, shape, mode="low"):
    dtype = get_aval(p).dtype
    if mode == "high":
        u = unit_uniform(data, (2,) + tuple(shape), dtype)
        return u[1] * dtype.type(2.0 ** -np.finfo(dtype).nmant) < p - u[0]
    return unit_uniform(data, shape, dtype) < p


def rademacher(key, shape=(), dtype=None):
    """Uniform draws from {-1, +1}.

    >>> from spmdgrad.random import PRNGKey
    >>> rademacher(PRNGKey(0), (4,))
    array([ 1,  1, -1, -1])
    """
    data, _ = check_key("rademacher", key)
    dtype = np.dtype(np.int64 if dtype is None else dtype)
    return rademacher_from(data, canonical_shape("rademacher", shape), dtype)


def rademacher_from(data, shape, dtype):
    b = jnp.asarray(bernoulli_from(data, np.float64(0.5), shape), dtype)
    return jnp.asarray(2 * b - 1, dtype)


def categorical(key, logits, axis=-1, shape=None, replace=True, mode=None):
    """Category indices drawn with log-probabilities ``logits`` along ``axis``
    (Gumbel-max trick; without replacement by Gumbel top-k).

    >>> import numpy as np
    >>> from spmdgrad.random import PRNGKey
    >>> categorical(PRNGKey(0), np.log(np.array([0.1, 0.2, 0.7])), shape=(5,))
    array([2, 2, 2, 1, 1])
    """
    data, _ = check_key("categorical", key)
    logits = jnp.asarray(logits)
    la = get_aval(logits)
    if la.dtype.kind != "f":
        logits = jnp.asarray(logits, np.float64)
        la = get_aval(logits)
    nd = la.ndim
    if not -nd <= axis < nd:
        raise ValueError(f"spmdgrad.random.categorical: axis {axis} out of range for logits "
                         f"of shape {la.shape}")
    axis %= nd
    batch_shape = la.shape[:axis] + la.shape[axis + 1:]
    shape = canonical_shape("categorical", shape)
    if shape is None:
        shape = batch_shape
    else:
        check_shape("categorical", shape, batch_shape)
    prefix = tuple(shape[:len(shape) - len(batch_shape)])
    if replace:
        g_shape = prefix + la.shape
        g = gumbel_from(data, g_shape, la.dtype, mode)
        return jnp.argmax(g + jnp.reshape(logits, (1,) * len(prefix) + la.shape),
                          axis=len(prefix) + axis)
    k = int(np.prod(prefix, dtype=np.int64))
    if k > la.shape[axis]:
        raise ValueError(f"spmdgrad.random.categorical: cannot draw {k} samples without "
                         f"replacement from {la.shape[axis]} categories")
    g = logits + gumbel_from(data, la.shape, la.dtype, mode)
    top = _top_k_indices(jnp.moveaxis(g, axis, -1), k)      # batch_shape + (k,), int32 as JAX
    return jnp.reshape(jnp.moveaxis(top, -1, 0), tuple(shape))


def _top_k_indices(x, k):
    """Indices of the ``k`` largest entries along the last axis, ties to the lower index."""
    return jnp.asarray(jnp.argsort(-x, axis=-1)[..., :k], np.int32)


def choice(key, a, shape=(), replace=True, p=None, axis=0, mode=None):
    """Samples from ``a`` (or ``arange(a)`` for an int), with or without replacement,
    uniformly or with probabilities ``p``.

    >>> from spmdgrad.random import PRNGKey
    >>> choice(PRNGKey(0), 10, (3,), replace=False)
    array([0, 1, 8])
    """
    data, _ = check_key("choice", key)
    if not isinstance(shape, tuple | list):
        raise TypeError(f"spmdgrad.random.choice: shape must be a sequence, got {shape!r}")
    shape = canonical_shape("choice", shape)
    arr = jnp.asarray(a)
    aa = get_aval(arr)
    if aa.ndim == 0:
        n_inputs = _concrete_int(a, "choice", "a")
    else:
        if not -aa.ndim <= axis < aa.ndim:
            raise ValueError(f"spmdgrad.random.choice: axis {axis} out of range for a of shape "
                             f"{aa.shape}")
        axis %= aa.ndim
        n_inputs = aa.shape[axis]
    n_draws = int(np.prod(shape, dtype=np.int64))
    if n_draws == 0:
        return jnp.zeros(shape, aa.dtype)
    if n_inputs <= 0:
        raise ValueError("spmdgrad.random.choice: a must be greater than 0 unless no samples "
                         "are taken")
    if not replace and n_draws > n_inputs:
        raise ValueError(f"spmdgrad.random.choice: cannot take a larger sample (size {n_draws}) "
                         f"than the population (size {n_inputs}) when replace=False")
    if p is None:
        if replace:
            ind = _randint(data, shape, 0, n_inputs, np.dtype(np.int64))
            result = ind if aa.ndim == 0 else jnp.take(arr, ind, axis)
        else:
            perm = permutation_from(data, n_inputs if aa.ndim == 0 else arr, axis, False)
            result = jnp.take(perm, jnp.arange(n_draws), axis=0 if aa.ndim == 0 else axis)
    else:
        p = jnp.asarray(p)
        pdt = get_aval(p).dtype
        p = as_float(p, pdt if pdt.kind == "f" else np.dtype(np.float64))
        if get_aval(p).shape != (n_inputs,):
            raise ValueError(f"spmdgrad.random.choice: p must be None or a 1-d vector of the "
                             f"size of a.shape[axis] ({n_inputs}); got shape {get_aval(p).shape}")
        pdt = get_aval(p).dtype
        if replace:
            cum = jnp.cumsum(p)
            r = cum[-1] * (pdt.type(1) - uniform_from(data, shape, pdt, 0.0, 1.0))
            # searchsorted(cum, r, side='left'): the number of entries below r
            ind = jnp.sum(cum < r[..., None], axis=-1)
        else:
            g = gumbel_from(data, (n_inputs,), pdt, mode) + jnp.log(p)
            ind = jnp.asarray(_top_k_indices(g, n_draws), np.int64)
        result = ind if aa.ndim == 0 else jnp.take(arr, ind, axis)
    out_shape = shape if aa.ndim == 0 else aa.shape[:axis] + tuple(shape) + aa.shape[axis + 1:]
    return jnp.reshape(result, out_shape)


def permutation(key, x, axis=0, independent=False):
    """A random permutation of ``arange(x)`` (int ``x``) or of ``x`` along ``axis``;
    with ``independent=True`` every slice along ``axis`` is shuffled on its own.
    Bit-identical to JAX.

    >>> from spmdgrad.random import PRNGKey
    >>> permutation(PRNGKey(0), 5)
    array([0, 1, 4, 3, 2])
    """
    data, _ = check_key("permutation", key)
    if not isinstance(x, Tracer) and np.ndim(x) == 0:
        if np.asarray(x).dtype.kind not in "iu":
            raise TypeError("spmdgrad.random.permutation: x must be an integer or an array of "
                            "at least 1 dimension")
        return permutation_from(data, int(x), 0, False)
    x = jnp.asarray(x)
    nd = get_aval(x).ndim
    if nd == 0:
        raise TypeError("spmdgrad.random.permutation: x must be a concrete integer or an array "
                        "of at least 1 dimension")
    if not -nd <= axis < nd:
        raise ValueError(f"spmdgrad.random.permutation: axis {axis} out of range for shape "
                         f"{get_aval(x).shape}")
    return permutation_from(data, x, axis % nd, independent)


def permutation_from(data, x, axis, independent):
    if isinstance(x, int):
        return P.shuffle_indices(data, (x,), 0)
    shape = get_aval(x).shape
    if independent or len(shape) == 1:
        return jnp.take_along_axis(x, P.shuffle_indices(data, shape, axis), axis)
    return jnp.take(x, P.shuffle_indices(data, (shape[axis],), 0), axis)


def shuffle(key, x, axis=0):
    """``x`` with every slice along ``axis`` shuffled independently (JAX's deprecated
    ``shuffle``; prefer ``permutation(key, x, axis, independent=True)``).

    >>> from spmdgrad.random import PRNGKey
    >>> shuffle(PRNGKey(0), np.arange(5))
    array([0, 1, 4, 3, 2])
    """
    return permutation(key, x, axis, independent=True)


def poisson(key, lam, shape=None, dtype=None):
    """Poisson draws with rates ``lam`` (computed in float32, as JAX does).

    >>> from spmdgrad.random import PRNGKey
    >>> poisson(PRNGKey(0), 3.0, (4,))
    array([0, 0, 4, 4])
    """
    data, _ = check_key("poisson", key)
    dtype = _int_dtype("poisson", dtype)
    lam = jnp.asarray(lam)
    shape = canonical_shape("poisson", shape)
    if shape is None:
        shape = get_aval(lam).shape
    else:
        check_shape("poisson", shape, get_aval(lam).shape)
    lam = jnp.asarray(jnp.broadcast_to(lam, shape), np.float32)
    return P.random_poisson(data, stop_gradient(lam), dtype)


def binomial(key, n, p, shape=None, dtype=None):
    """Binomial(n, p) draws, returned as floats of ``dtype`` (default float64), as JAX does.

    >>> from spmdgrad.random import PRNGKey
    >>> binomial(PRNGKey(0), 10.0, 0.3, (4,))
    array([4., 1., 3., 4.])
    """
    data, _ = check_key("binomial", key)
    dtype = np.dtype(np.float64 if dtype is None else dtype)
    if dtype.kind != "f":
        raise ValueError(f"spmdgrad.random.binomial: dtype must be a float dtype, got {dtype}")
    return binomial_from(data, n, p, canonical_shape("binomial", shape), dtype)


def binomial_from(data, n, p, shape, dtype):
    n, p = jnp.asarray(n), jnp.asarray(p)
    pdt = get_aval(p).dtype if get_aval(p).dtype.kind == "f" else np.dtype(np.float64)
    if shape is None:
        shape = np.broadcast_shapes(get_aval(n).shape, get_aval(p).shape)
    else:
        check_shape("binomial", shape, get_aval(n).shape, get_aval(p).shape)
    n = jnp.broadcast_to(jnp.asarray(n, pdt), shape)
    p = jnp.broadcast_to(jnp.asarray(p, pdt), shape)
    return jnp.asarray(P.random_binomial(data, stop_gradient(n), stop_gradient(p)), dtype)


def multinomial(key, n, p, *, shape=None, dtype=None, unroll=1):
    """Counts of ``n`` draws over the categories of ``p`` (last axis): a binomial draw per
    category on what remains, as JAX does (``unroll`` is accepted and ignored).

    >>> from spmdgrad.random import PRNGKey
    >>> multinomial(PRNGKey(0), 10.0, np.array([0.2, 0.3, 0.5]))
    array([1., 4., 5.])
    """
    data, _ = check_key("multinomial", key)
    n, p = jnp.asarray(n), jnp.asarray(p)
    dt = np.result_type(get_aval(n).dtype, get_aval(p).dtype)
    dt = dt if dt.kind == "f" else np.dtype(np.float64)
    n, p = jnp.asarray(n, dt), jnp.asarray(p, dt)
    shape = get_aval(p).shape if shape is None else canonical_shape("multinomial", shape)
    if len(shape) < 1:
        raise ValueError("spmdgrad.random.multinomial: p needs a category axis (ndim >= 1)")
    remainder = jnp.broadcast_to(n, shape[:-1])
    p = jnp.moveaxis(jnp.broadcast_to(p, shape), -1, 0)
    remaining = _suffix_sums(p)
    ratios = p / jnp.where(remaining == 0, dt.type(1), remaining)
    keys = P.random_split(data, (shape[-1],))
    counts = []
    for i in range(shape[-1]):
        c = binomial_from(keys[i], remainder, jnp.clip(ratios[i], dt.type(0), dt.type(1)),
                          tuple(shape[:-1]), dt)
        remainder = remainder - c
        counts.append(c)
    out = jnp.stack(counts, axis=-1)
    return out if dtype is None else jnp.asarray(out, dtype)


def _suffix_sums(p):
    """``p[i:].sum(0)`` for every ``i``, each summed left to right as XLA's reverse cumsum
    does (so multinomial's ratios match JAX's bit for bit): one pass over the categories."""
    n = get_aval(p).shape[0]
    idx = np.arange(n).reshape((n,) + (1,) * (get_aval(p).ndim - 1))
    acc = jnp.zeros_like(p)
    zero = get_aval(p).dtype.type(0)
    for j in range(n):
        acc = acc + jnp.where(idx <= j, p[j], zero)
    return acc


def _concrete_int(v, name, arg):
    if isinstance(v, Tracer):
        raise TypeError(f"spmdgrad.random.{name}: {arg} must be a concrete integer, not a traced "
                        "value")
    return int(v)
