"""NumPy samplers behind the primitives whose draws need loops or sorts:
Marsaglia-Tsang gamma (a rejection loop), shuffles (rounds of sorting by random
keys) and the QR of orthogonal draws. Each is vectorised over all elements and
keys at once and reproduces JAX's per-element sequence of key splits exactly.

>>> import numpy as np
>>> from .threefry import seed
>>> shuffle_indices(seed(np.int64(0)), (5,), 0)
array([0, 1, 4, 3, 2])
"""
from __future__ import annotations

import math

import numpy as np

from . import special, threefry


def uniform(keys, dtype, minval=0.0, maxval=1.0):
    """One uniform draw of ``dtype`` per key (``K + (2,)`` -> ``K``), as JAX computes it."""
    dtype = np.dtype(dtype)
    floats = special.unit_float(threefry.random_bits(keys, dtype.itemsize * 8, ()), dtype)
    lo, hi = dtype.type(minval), dtype.type(maxval)
    return np.maximum(lo, special.fma(floats, hi - lo, lo))


def normal(keys, dtype):
    """One standard normal draw per key: sqrt(2) * erf_inv(uniform(-1, 1))."""
    dtype = np.dtype(dtype)
    lo = np.nextafter(dtype.type(-1), dtype.type(0))
    return dtype.type(math.sqrt(2)) * special.erf_inv(uniform(keys, dtype, lo, 1.0))


def _split2(keys, n):
    out = threefry.split(keys, (n,))
    return [out[..., i, :] for i in range(n)]


def gamma(keys, alpha, log_space):
    """Gamma(alpha, 1) draws (or their logs), one per element with its own key.

    Marsaglia and Tsang's method, with the alpha < 1 boost, in JAX's order of key
    splits, accept tests and float operations; the rejection loop runs for all
    elements at once and stops updating an element once it accepts.
    """
    alpha = np.asarray(alpha)
    dt = alpha.dtype
    shape = alpha.shape
    a = alpha.reshape(-1)
    keys = keys.reshape(-1, 2)
    one, third = dt.type(1), dt.type(1 / 3)
    boost = a >= one
    alpha_b = np.where(boost, a, a + one)
    d = alpha_b - third
    with np.errstate(invalid="ignore", divide="ignore"):
        c = third / np.sqrt(d)
    key, subkey = _split2(keys, 2)
    X = np.zeros_like(a)
    V = np.ones_like(a)
    U = np.full_like(a, 2)

    def rejected(X, V, U, d):
        with np.errstate(invalid="ignore", divide="ignore"):
            return ((U >= one - dt.type(0.0331) * (X * X))
                    & (np.log(U) >= X * dt.type(0.5) + d * ((one - V) + np.log(V))))

    todo = np.flatnonzero(rejected(X, V, U, d))
    while todo.size:
        key[todo], x_key, u_key = _split2(key[todo], 3)
        # Inner loop: redraw x until v = 1 + c x is positive.
        x = np.zeros(todo.size, dt)
        v = np.full(todo.size, -one)
        inner = np.arange(todo.size)
        while inner.size:
            x_key[inner], sub = _split2(x_key[inner], 2)
            x[inner] = normal(sub, dt)
            v[inner] = one + x[inner] * c[todo[inner]]
            inner = inner[v[inner] <= 0]
        X[todo] = x * x
        V[todo] = (v * v) * v
        U[todo] = uniform(u_key, dt)
        todo = todo[rejected(X[todo], V[todo], U[todo], d[todo])]
    with np.errstate(divide="ignore", invalid="ignore"):
        if log_space:
            u = uniform(subkey, dt)
            log_samples = np.log1p(-u)  # -exponential(subkey)
            log_boost = np.where(boost | (log_samples == 0), dt.type(0), log_samples * (one / a))
            out = (np.log(d) + np.log(V)) + log_boost
        else:
            samples = one - uniform(subkey, dt)
            out = (d * V) * np.where(boost, one, samples ** (one / a))
    return out.astype(dt).reshape(shape)


def shuffle_indices(keys, shape, axis):
    """``K + shape`` indices shuffling ``arange(shape[axis])`` along ``axis`` (per key):
    ``ceil(3 log n / log(2**32 - 1))`` rounds, each a stable sort by fresh 32-bit keys."""
    kdims = keys.shape[:-1]
    n_total = int(np.prod(shape, dtype=np.int64))
    rounds = int(np.ceil(3 * np.log(max(1, n_total)) / np.log(np.iinfo(np.uint32).max)))
    ax = len(kdims) + axis
    iota = np.arange(shape[axis], dtype=np.int64).reshape(
        (shape[axis],) + (1,) * (len(shape) - axis - 1))
    idx = np.broadcast_to(iota, kdims + tuple(shape)).copy()
    for _ in range(rounds):
        keys, sub = _split2(keys, 2)
        order = np.argsort(threefry.random_bits(sub, 32, tuple(shape)), axis=ax, kind="stable")
        idx = np.take_along_axis(idx, order, axis=ax)
    return idx


def orthonormalize(z):
    """Q of ``z = QR`` (stacks of tall matrices) with the sign of diag(R) folded into Q."""
    q, r = np.linalg.qr(z)
    d = np.diagonal(r, axis1=-2, axis2=-1)
    return q * np.expand_dims(np.sign(d), -2)
