"""The random primitives: NumPy impls, shape rules and vectorised batching rules.

Key-level primitives take raw key data, ``uint32`` arrays of shape ``K + (2,)``
where ``K`` is any number of leading key dimensions. A batching rule therefore
never loops: the mapped axis simply becomes one more key dimension (axis 0 of
``K``). None of them has a JVP: keys and bits are integers. The float
primitives (``unit_float``, ``erf``, ``erf_inv``) are elementwise; ``erf`` and
``erf_inv`` are differentiable, so truncated-normal bounds differentiate.

>>> import numpy as np
>>> keys = random_seed(np.arange(3))          # three keys, K = (3,)
>>> random_bits(keys, bit_width=32, shape=(2,)).shape
(3, 2)
"""
from __future__ import annotations

import math

import numpy as np

from .. import ad, batching
from ..core import Primitive, abstract_rules, get_aval, impl_rules
from ..primitives.elementwise import div, elementwise, eq, exp, mul, neg, select_n
from ..primitives.structural import broadcast_operands
from . import samplers, special, threefry

_U32 = np.dtype(np.uint32)


def _key_dims(prim, keys):
    if keys.dtype != _U32 or keys.ndim < 1 or keys.shape[-1] != 2:
        raise TypeError(f"{prim}: key data must be uint32 of shape (..., 2), got "
                        f"{keys.str_short()}")
    return keys.shape[:-1]


def _keys_front(size, vals, batched):
    """Every operand gets the batch axis in front (it becomes a leading key dimension)."""
    return broadcast_operands(size, vals, batched)


# --------------------------------------------------------------------------- seed
random_seed_p = Primitive("random_seed")
impl_rules[random_seed_p] = threefry.seed


def _seed_abstract(seeds):
    if seeds.dtype.kind not in "iu":
        raise TypeError(f"random_seed: seeds must be integers, got {seeds.str_short()}")
    return seeds.shape + (2,), _U32


abstract_rules[random_seed_p] = _seed_abstract
batching.batch_rules[random_seed_p] = lambda size, vals, batched: (random_seed(vals[0]), True)


def random_seed(seeds):
    """Raw keys ``seeds.shape + (2,)`` from integer seeds."""
    return random_seed_p.bind(seeds)


# --------------------------------------------------------------------------- split
random_split_p = Primitive("random_split")
impl_rules[random_split_p] = lambda keys, shape: threefry.split(keys, shape)
abstract_rules[random_split_p] = (
    lambda keys, shape: (_key_dims("random_split", keys) + shape + (2,), _U32))
batching.batch_rules[random_split_p] = (
    lambda size, vals, batched, shape: (random_split(vals[0], shape), True))


def random_split(keys, shape):
    """``K + (2,)`` keys -> ``K + shape + (2,)`` keys."""
    return random_split_p.bind(keys, shape=tuple(shape))


# --------------------------------------------------------------------------- fold_in
random_fold_in_p = Primitive("random_fold_in")
impl_rules[random_fold_in_p] = threefry.fold_in


def _fold_in_abstract(keys, msgs):
    kd = _key_dims("random_fold_in", keys)
    if msgs.dtype != _U32 or msgs.shape != kd:
        raise TypeError(f"random_fold_in: data must be uint32 of the key shape {kd}, got "
                        f"{msgs.str_short()}")
    return keys.shape, _U32


abstract_rules[random_fold_in_p] = _fold_in_abstract
batching.batch_rules[random_fold_in_p] = (
    lambda size, vals, batched: (random_fold_in(*_keys_front(size, vals, batched)), True))


def random_fold_in(keys, msgs):
    """``K + (2,)`` keys mixed with ``uint32`` data of shape ``K``."""
    return random_fold_in_p.bind(keys, msgs)


# --------------------------------------------------------------------------- bits
random_bits_p = Primitive("random_bits")
impl_rules[random_bits_p] = lambda keys, bit_width, shape: threefry.random_bits(keys, bit_width, shape)


def _bits_abstract(keys, bit_width, shape):
    return _key_dims("random_bits", keys) + shape, threefry.UINT_DTYPES[bit_width]


abstract_rules[random_bits_p] = _bits_abstract
batching.batch_rules[random_bits_p] = (
    lambda size, vals, batched, bit_width, shape: (random_bits(vals[0], bit_width, shape), True))


def random_bits(keys, bit_width, shape):
    """``K + shape`` unsigned integers of ``bit_width`` bits."""
    if bit_width not in threefry.UINT_DTYPES:
        raise ValueError(f"random_bits: bit_width must be 8, 16, 32 or 64, got {bit_width}")
    return random_bits_p.bind(keys, bit_width=int(bit_width), shape=tuple(shape))


# --------------------------------------------------------------------------- floats
def _unit_float_impl(bits, dtype):
    """Uniform floats in [0, 1): the top mantissa bits under the exponent of 1.0, minus 1."""
    return special.unit_float(np.asarray(bits), dtype)


unit_float_p = elementwise("random_unit_float", _unit_float_impl,
                           dtype_rule=lambda dt, dtype: np.dtype(dtype))


def unit_float(bits, dtype):
    """Floats in [0, 1) of ``dtype`` from unsigned bits of the same width."""
    return unit_float_p.bind(bits, dtype=np.dtype(dtype))


erf_inv_p = elementwise("erf_inv", special.erf_inv)
erf_p = elementwise("erf", special.erf)


def _const(x, value):
    return np.asarray(value, get_aval(x).dtype)


# erf_inv'(x) = sqrt(pi)/2 * exp(erf_inv(x)^2); erf'(x) = 2/sqrt(pi) * exp(-x^2)
ad.defjvp(erf_inv_p, lambda t, ans, x: mul(t, mul(_const(x, math.sqrt(math.pi) / 2),
                                                 exp(mul(ans, ans)))))
ad.defjvp(erf_p, lambda t, ans, x: mul(t, mul(_const(x, 2 / math.sqrt(math.pi)),
                                             exp(neg(mul(x, x))))))


fma_p = elementwise("fma", special.fma)
ad.defjvp(fma_p, lambda t, ans, a, b, c: mul(t, b), lambda t, ans, a, b, c: mul(a, t),
          lambda t, ans, a, b, c: t)


def fma(a, b, c):
    """``a * b + c`` rounded once (operands of one shape and dtype)."""
    return fma_p.bind(a, b, c)


nextafter_p = elementwise("nextafter", np.nextafter)  # no JVP: used on stop_gradient values


def nextafter(x, y):
    """The next float after ``x`` towards ``y`` (same dtype and shape, or 0-d)."""
    return nextafter_p.bind(x, y)


def erf_inv(x):
    """Inverse error function (elementwise, differentiable)."""
    return erf_inv_p.bind(x)


def erf(x):
    """Error function (elementwise, differentiable)."""
    return erf_p.bind(x)


# --------------------------------------------------------------------------- gamma
random_gamma_p = Primitive("random_gamma")
impl_rules[random_gamma_p] = lambda keys, alpha, log_space: samplers.gamma(keys, alpha, log_space)


def _gamma_abstract(keys, alpha, log_space):
    if _key_dims("random_gamma", keys) != alpha.shape:
        raise ValueError(f"random_gamma: one key per element needed; keys {keys.str_short()}, "
                         f"alpha {alpha.str_short()}")
    return alpha.shape, alpha.dtype


abstract_rules[random_gamma_p] = _gamma_abstract
batching.batch_rules[random_gamma_p] = (
    lambda size, vals, batched, log_space:
    (random_gamma(*_keys_front(size, vals, batched), log_space=log_space), True))


def _gamma_grad_impl(alpha, x):
    alpha = np.asarray(alpha)
    return special.gamma_sample_grad(alpha, x).astype(alpha.dtype)


# d sample / d alpha at a fixed CDF level (implicit reparameterisation); not differentiable
random_gamma_grad_p = elementwise("random_gamma_grad", _gamma_grad_impl)


def _gamma_alpha_jvp(t, ans, keys, alpha, log_space):
    if log_space:  # d log(x) / d alpha, with x = exp(ans) kept away from 0
        x = exp(ans)
        x = select_n(eq(x, _const(x, 0)), x, _const(x, np.finfo(get_aval(x).dtype).tiny))
        return mul(t, div(random_gamma_grad_p.bind(alpha, x), x))
    return mul(t, random_gamma_grad_p.bind(alpha, ans))


ad.defjvp(random_gamma_p, None, _gamma_alpha_jvp)


def random_gamma(keys, alpha, log_space=False):
    """Marsaglia-Tsang gamma draws, one per element of ``alpha`` with its own key
    (``keys`` is ``alpha.shape + (2,)``); log-space draws if ``log_space``."""
    return random_gamma_p.bind(keys, alpha, log_space=bool(log_space))


# --------------------------------------------------------------------------- poisson
random_poisson_p = Primitive("random_poisson")
impl_rules[random_poisson_p] = lambda keys, lam, dtype: samplers.poisson(keys, lam, dtype)


def _poisson_abstract(keys, lam, dtype):
    kd = _key_dims("random_poisson", keys)
    if lam.shape[:len(kd)] != kd or lam.dtype != np.float32:
        raise ValueError(f"random_poisson: rates must be float32 with leading key dimensions "
                         f"{kd}; keys {keys.str_short()}, rates {lam.str_short()}")
    return lam.shape, dtype


abstract_rules[random_poisson_p] = _poisson_abstract
batching.batch_rules[random_poisson_p] = (
    lambda size, vals, batched, dtype:
    (random_poisson(*_keys_front(size, vals, batched), dtype=dtype), True))


def random_poisson(keys, lam, dtype):
    """Poisson draws of integer ``dtype`` with float32 rates ``lam`` (shape ``K + S``)
    from ``K + (2,)`` keys. No JVP: the draws are integers."""
    return random_poisson_p.bind(keys, lam, dtype=np.dtype(dtype))


# --------------------------------------------------------------------------- binomial
random_binomial_p = Primitive("random_binomial")
impl_rules[random_binomial_p] = lambda keys, count, prob: samplers.binomial(keys, count, prob)


def _binomial_abstract(keys, count, prob):
    kd = _key_dims("random_binomial", keys)
    if (count.shape != prob.shape or count.dtype != prob.dtype or prob.dtype.kind != "f"
            or prob.shape[:len(kd)] != kd):
        raise ValueError(f"random_binomial: counts and probabilities must be floats of one shape "
                         f"with leading key dimensions {kd}; got {count.str_short()}, "
                         f"{prob.str_short()}")
    return prob.shape, prob.dtype


abstract_rules[random_binomial_p] = _binomial_abstract
batching.batch_rules[random_binomial_p] = (
    lambda size, vals, batched: (random_binomial(*_keys_front(size, vals, batched)), True))


def random_binomial(keys, count, prob):
    """Binomial draws (as floats) with ``count`` trials of probability ``prob`` (shape
    ``K + S``) from ``K + (2,)`` keys. No JVP: the draws are integer-valued."""
    return random_binomial_p.bind(keys, count, prob)


# --------------------------------------------------------------------------- shuffle
random_shuffle_p = Primitive("random_shuffle_indices")
impl_rules[random_shuffle_p] = lambda keys, shape, axis: samplers.shuffle_indices(keys, shape, axis)
abstract_rules[random_shuffle_p] = (
    lambda keys, shape, axis: (_key_dims("random_shuffle_indices", keys) + shape, np.dtype(np.int64)))
batching.batch_rules[random_shuffle_p] = (
    lambda size, vals, batched, shape, axis: (shuffle_indices(vals[0], shape, axis), True))


def shuffle_indices(keys, shape, axis):
    """``K + shape`` int64 indices: ``arange(shape[axis])`` along ``axis``, shuffled
    independently for every other position, by sort rounds on random keys."""
    return random_shuffle_p.bind(keys, shape=tuple(shape), axis=int(axis))


# --------------------------------------------------------------------------- orthogonal
orthonormalize_p = Primitive("random_orthonormalize")
impl_rules[orthonormalize_p] = samplers.orthonormalize
abstract_rules[orthonormalize_p] = lambda z: (z.shape, z.dtype)
batching.batch_rules[orthonormalize_p] = lambda size, vals, batched: (orthonormalize(vals[0]), True)


def orthonormalize(z):
    """Q of the QR factorisation of a stack of tall matrices, columns signed so that
    R has a positive diagonal. Not differentiable (its input is a random draw)."""
    return orthonormalize_p.bind(z)
