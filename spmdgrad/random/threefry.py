"""The threefry2x32 counter-based hash and the key operations built on it, in NumPy.

This is the arithmetic only: functions of concrete ``uint32`` arrays, vectorised
over any number of leading *key* dimensions (a key array has shape ``K + (2,)``).
The primitives in :mod:`spmdgrad.random.primitives` call these as their impls.

The layout follows JAX's default, ``jax_threefry_partitionable=True`` (the default
since JAX 0.5): element ``i`` of a draw of shape ``S`` hashes the counter pair
``(i >> 32, i & 0xFFFFFFFF)`` of its row-major index ``i``, so a draw is a pure
function of the key and the element's position and never depends on how the
rest of the array is laid out.

>>> import numpy as np
>>> seed(np.int64(0))
array([0, 0], dtype=uint32)
>>> split(seed(np.int64(0)), (2,))
array([[1797259609, 2579123966],
       [ 928981903, 3453687069]], dtype=uint32)
"""
from __future__ import annotations

import numpy as np

_U32 = np.uint32
_ROT = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = np.uint32(0x1BD11BDA)  # the Threefish key-schedule constant


def hash2x32(k1, k2, x1, x2):
    """Threefry-2x32 with 20 rounds on broadcastable ``uint32`` arrays -> ``(y1, y2)``."""
    k1, k2, x1, x2 = np.broadcast_arrays(*(np.asarray(a, _U32) for a in (k1, k2, x1, x2)))
    shape = x1.shape
    # 1-d copies: uint32 arithmetic on arrays wraps silently (0-d results would be scalars)
    k1, k2, x1, x2 = (a.reshape(-1).copy() for a in (k1, k2, x1, x2))
    ks = (k1, k2, k1 ^ k2 ^ _PARITY)
    x1 += ks[0]
    x2 += ks[1]
    tmp = np.empty_like(x2)
    for i in range(5):
        for r in _ROT[i % 2]:
            x1 += x2
            np.left_shift(x2, _U32(r), out=tmp)   # x2 = rotl(x2, r), in place
            x2 >>= _U32(32 - r)
            x2 |= tmp
            x2 ^= x1
        x1 += ks[(i + 1) % 3]
        x2 += ks[(i + 2) % 3] + _U32(i + 1)
    return x1.reshape(shape), x2.reshape(shape)


def _counters(shape):
    """High and low 32-bit halves of the row-major index of each element of ``shape``."""
    i = np.arange(int(np.prod(shape, dtype=np.int64)), dtype=np.uint64).reshape(shape)
    return (i >> np.uint64(32)).astype(_U32), (i & np.uint64(0xFFFFFFFF)).astype(_U32)


def _halves(keys, ndim):
    """``keys`` (``K + (2,)``) as two arrays ``K + (1,) * ndim``, ready to broadcast."""
    pad = (1,) * ndim
    return keys[..., 0].reshape(keys.shape[:-1] + pad), keys[..., 1].reshape(keys.shape[:-1] + pad)


def seed(seeds):
    """Keys (``shape + (2,)``) from integer seeds: the high and low 32 bits of each seed.
    Seeds of 32 bits or fewer have a zero high word, as in JAX."""
    seeds = np.asarray(seeds)
    bits = seeds.astype(np.int64).view(np.uint64) if seeds.dtype.kind == "i" else seeds.astype(np.uint64)
    hi = (bits >> np.uint64(32)).astype(_U32)
    if seeds.dtype.itemsize <= 4:
        hi = np.zeros_like(hi)
    lo = (bits & np.uint64(0xFFFFFFFF)).astype(_U32)
    return np.stack([hi, lo], axis=-1)


def split(keys, shape):
    """``keys`` (``K + (2,)``) -> ``K + shape + (2,)`` new keys."""
    k1, k2 = _halves(keys, len(shape))
    c1, c2 = _counters(shape)
    y1, y2 = hash2x32(k1, k2, c1, c2)
    return np.stack([y1, y2], axis=-1)


def fold_in(keys, msgs):
    """Keys (``K + (2,)``) mixed with ``uint32`` data (shape ``K``)."""
    y1, y2 = hash2x32(keys[..., 0], keys[..., 1], np.zeros_like(msgs, _U32), msgs)
    return np.stack([y1, y2], axis=-1)


UINT_DTYPES = {8: np.dtype(np.uint8), 16: np.dtype(np.uint16), 32: np.dtype(np.uint32),
               64: np.dtype(np.uint64)}


def random_bits(keys, bit_width, shape):
    """``K + shape`` unsigned integers of ``bit_width`` bits from ``keys`` (``K + (2,)``)."""
    k1, k2 = _halves(keys, len(shape))
    c1, c2 = _counters(shape)
    y1, y2 = hash2x32(k1, k2, c1, c2)
    if bit_width == 64:
        return (y1.astype(np.uint64) << np.uint64(32)) | y2.astype(np.uint64)
    return (y1 ^ y2).astype(UINT_DTYPES[bit_width])
