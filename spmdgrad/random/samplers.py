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


def _flush(x):
    """Subnormals to (signed) zero, as XLA's CPU code does."""
    return np.where(np.abs(x) < np.finfo(x.dtype).tiny, x * 0, x)


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
            # XLA on CPU flushes subnormals to zero; tiny-a draws underflow here
            out = _flush((d * V) * np.where(boost, one, _flush(samples ** (one / a))))
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


def _uniform32(keys, shape):
    """float32 uniforms of ``shape`` per key (``(N, 2)`` keys -> ``(N,) + shape``)."""
    return special.unit_float(threefry.random_bits(keys, 32, shape), np.float32)


def poisson(keys, lam, dtype):
    """Poisson draws, one array of ``lam.shape[len(K):]`` per key (``keys`` is ``K + (2,)``).

    JAX's algorithms in float32: Knuth's product of uniforms for ``lam < 10``, the
    transformed-rejection method (Hormann) otherwise; both consume the same key, one split
    per iteration, and a key's loop runs until all of its elements are done.
    """
    kdims = keys.shape[:-1]
    n = int(np.prod(kdims, dtype=np.int64))
    lam = np.asarray(lam, np.float32)
    flat = lam.reshape(n, -1)
    shape = lam.shape[len(kdims):]
    keys = keys.reshape(n, 2)
    use_knuth = np.isnan(flat) | (flat < 10)
    knuth = _poisson_knuth(keys, np.where(use_knuth, flat, np.float32(0)), shape)
    rejection = _poisson_rejection(keys, np.where(use_knuth, np.float32(1e5), flat), shape)
    out = np.where(use_knuth, knuth, rejection)
    out = np.where(flat == 0, 0, out)
    return out.astype(dtype).reshape(lam.shape)


def _poisson_knuth(keys, lam, shape):
    k = np.zeros(lam.shape, np.int64)
    log_prod = np.zeros(lam.shape, np.float32)
    rng = keys.copy()
    todo = np.flatnonzero((log_prod > -lam).any(axis=1))
    while todo.size:
        rng[todo], sub = _split2(rng[todo], 2)
        lp, lm = log_prod[todo], lam[todo]
        k[todo] = np.where(lp > -lm, k[todo] + 1, k[todo])
        with np.errstate(divide="ignore"):
            lp = lp + np.log(_uniform32(sub, shape).reshape(todo.size, -1))
        log_prod[todo] = lp
        todo = todo[(lp > -lm).any(axis=1)]
    return k - 1


_lgamma32 = np.frompyfunc(math.lgamma, 1, 1)


def _poisson_rejection(keys, lam, shape):
    f32 = np.float32
    log_lam = np.log(lam)
    b = f32(0.931) + f32(2.53) * np.sqrt(lam)
    a = f32(-0.059) + f32(0.02483) * b
    inv_alpha = f32(1.1239) + f32(1.1328) / (b - f32(3.4))
    v_r = f32(0.9277) - f32(3.6224) / (b - f32(2))
    k_out = np.full(lam.shape, -1.0, f32)
    accepted = np.zeros(lam.shape, bool)
    rng = keys.copy()
    todo = np.flatnonzero(~accepted.all(axis=1))
    while todo.size:
        rng[todo], s0, s1 = _split2(rng[todo], 3)
        u = _uniform32(s0, shape).reshape(todo.size, -1) - f32(0.5)
        v = _uniform32(s1, shape).reshape(todo.size, -1)
        us = f32(0.5) - np.abs(u)
        at, bt, lt, llt = a[todo], b[todo], lam[todo], log_lam[todo]
        with np.errstate(divide="ignore", invalid="ignore"):
            k = np.floor((f32(2) * at / us + bt) * u + lt + f32(0.43))
            s = np.log(v * inv_alpha[todo] / (at / (us * us) + bt))
            # lgamma(k + 1); k <= -1 sits on a pole (+inf, as XLA), rejected anyway
            kp1 = k.astype(np.float64) + 1
            lg = np.asarray(_lgamma32(np.where(kp1 <= 0, 1.0, kp1)), np.float64).astype(f32)
            lg = np.where(kp1 <= 0, f32(np.inf), lg)
            t = -lt + k * llt - lg
        accept1 = (us >= f32(0.07)) & (v <= v_r[todo])
        reject = (k < 0) | ((us < f32(0.013)) & (v > us))
        accept = accept1 | (~reject & (s <= t))
        k_out[todo] = np.where(accept, k, k_out[todo])
        acc = accepted[todo] | accept
        accepted[todo] = acc
        todo = todo[~acc.all(axis=1)]
    return k_out.astype(np.int64)
