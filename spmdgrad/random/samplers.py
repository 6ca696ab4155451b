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


def binomial(keys, count, prob):
    """Binomial draws (floats of ``prob``'s dtype), one array of ``prob.shape[len(K):]`` per
    key: JAX's algorithms, inversion by geometric sums for ``count * q <= 10`` and BTRS
    (Hormann's transformed rejection with squeeze) otherwise, with ``q = min(p, 1 - p)``."""
    kdims = keys.shape[:-1]
    n = int(np.prod(kdims, dtype=np.int64))
    dt = prob.dtype
    out_shape = prob.shape
    shape = prob.shape[len(kdims):]
    count, prob = count.reshape(n, -1), prob.reshape(n, -1)
    keys = keys.reshape(n, 2)
    one = dt.type(1)
    p_lt_half = prob < dt.type(0.5)
    q = np.where(p_lt_half, prob, one - prob)
    count_bad = np.isnan(count) | (count < 0)
    count_inf = np.isinf(count)
    q_nan, q_neg = np.isnan(q), q < 0
    q = np.where(q_nan | q_neg, dt.type(0.01), q)
    use_inversion = count_bad | (count * q <= dt.type(10))
    count = np.floor(count)
    inv = _binomial_inversion(keys, np.where(use_inversion, count, dt.type(0)), q, shape)
    btrs = _btrs(keys, np.where(use_inversion, dt.type(1e4), count),
                 np.where(use_inversion, dt.type(0.5), q), shape)
    samples = np.where(use_inversion, inv, btrs)
    invalid = q_neg | q_nan | count_bad
    samples = np.where(invalid, dt.type(np.nan), samples)
    samples = np.where(count_inf & ~invalid, dt.type(np.inf), samples)
    with np.errstate(invalid="ignore"):
        samples = np.where(p_lt_half | count_bad | q_nan | count_inf, samples, count - samples)
    return samples.reshape(out_shape)


def _uniform_of(keys, shape, dt, rows):
    return special.unit_float(threefry.random_bits(keys, dt.itemsize * 8, shape), dt).reshape(rows, -1)


def _binomial_inversion(keys, count, prob, shape):
    dt = prob.dtype
    with np.errstate(divide="ignore"):
        log1mp = np.log1p(-prob)
    num_geom = np.zeros_like(prob)
    geom_sum = np.zeros_like(prob)
    rng = keys.copy()
    todo = np.flatnonzero((geom_sum <= count).any(axis=1))
    while todo.size:
        sub, rng[todo] = _split2(rng[todo], 2)   # JAX splits (subkey, key) here
        gs, c = geom_sum[todo], count[todo]
        num_geom[todo] = np.where(gs <= c, num_geom[todo] + 1, num_geom[todo])
        u = _uniform_of(sub, shape, dt, todo.size)
        with np.errstate(divide="ignore", invalid="ignore"):
            gs = gs + np.ceil(np.log(u) / log1mp[todo])
        geom_sum[todo] = gs
        todo = todo[(gs <= c).any(axis=1)]
    return num_geom - 1


_STIRLING_TAIL = (0.0810614667953272, 0.0413406959554092, 0.0276779256849983, 0.02079067210376509,
                  0.0166446911898211, 0.0138761288230707, 0.0118967099458917, 0.0104112652619720,
                  0.00925546218271273, 0.00833056343336287)


def _stirling_tail(k):
    """log(k!) minus its Stirling approximation: tabulated for k <= 9, series beyond."""
    dt = k.dtype
    table = np.asarray(_STIRLING_TAIL, dt)
    kc = np.clip(k, dt.type(0), dt.type(9))
    kp1sq = (kc + 1) * (kc + 1)
    approx = (dt.type(1.0 / 12) - (dt.type(1.0 / 360) - dt.type(1.0 / 1260) / kp1sq) / kp1sq) / (kc + 1)
    idx = np.nan_to_num(np.floor(kc)).astype(np.int32)
    return np.where(k <= 9, table[idx], approx)


def _btrs(keys, count, prob, shape):
    dt = prob.dtype
    c_ = dt.type
    with np.errstate(divide="ignore", invalid="ignore"):
        stddev = np.sqrt(count * prob * (c_(1) - prob))
        b = c_(1.15) + c_(2.53) * stddev
        a = c_(-0.0873) + c_(0.0248) * b + c_(0.01) * prob
        c = count * prob + c_(0.5)
        v_r = c_(0.92) - c_(4.2) / b
        r = prob / (c_(1) - prob)
        alpha = (c_(2.83) + c_(5.1) / b) * stddev
        m = np.floor((count + c_(1)) * prob)
    k_out = np.full(prob.shape, c_(-1))
    accepted = np.zeros(prob.shape, bool)
    rng = keys.copy()
    todo = np.flatnonzero(~accepted.all(axis=1))
    while todo.size:
        rng[todo], s0, s1 = _split2(rng[todo], 3)
        u = _uniform_of(s0, shape, dt, todo.size)
        v = _uniform_of(s1, shape, dt, todo.size)
        u = u - c_(0.5)
        us = c_(0.5) - np.abs(u)
        at, bt, nt, mt, rt = a[todo], b[todo], count[todo], m[todo], r[todo]
        accept1 = (us >= c_(0.07)) & (v <= v_r[todo])
        with np.errstate(divide="ignore", invalid="ignore"):
            k = np.floor((c_(2) * at / us + bt) * u + c[todo])
            reject = (k < 0) | (k > nt)
            v = np.log(v * alpha[todo] / (at / (us * us) + bt))
            ub = ((mt + c_(0.5)) * np.log((mt + c_(1)) / (rt * (nt - mt + c_(1))))
                  + (nt + c_(1)) * np.log((nt - mt + c_(1)) / (nt - k + c_(1)))
                  + (k + c_(0.5)) * np.log(rt * (nt - k + c_(1)) / (k + c_(1)))
                  + _stirling_tail(mt) + _stirling_tail(nt - mt)
                  - _stirling_tail(k) - _stirling_tail(nt - k))
        accept = accept1 | (~reject & (v <= ub))
        k_out[todo] = np.where(accept, k, k_out[todo])
        acc = accepted[todo] | accept
        accepted[todo] = acc
        todo = todo[~acc.all(axis=1)]
    return k_out
