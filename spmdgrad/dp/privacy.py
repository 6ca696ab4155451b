"""Privacy accounting for DP-SGD, and the noisy step (exported as ``spmdgrad.privacy``).

The accounting wraps the ``dp-accounting`` package (Google's accountant; install the
optional extra: ``pip install spmdgrad[dp]``). A DP-SGD run of ``steps`` steps, each
a Poisson sample of the data with probability ``sample_rate`` and Gaussian noise of
standard deviation ``noise_multiplier * C`` on the sum of per-example gradients
clipped to norm ``C``, is the self-composition of a Poisson-subsampled Gaussian
mechanism. ``accountant="rdp"`` (the default, Rényi DP as in Opacus and TF Privacy)
or ``"pld"`` (privacy loss distributions: tighter, slower) turns it into
``(epsilon, delta)``. Shuffled fixed-size batches are *not* covered by this analysis;
the demos say which sampling they use.

:func:`add_noise` adds the noise to a clipped total, drawn from a seed that every
rank shares, so data-parallel replicas stay bitwise identical without sending it.
"""
from __future__ import annotations

import contextlib
import logging
import math

import numpy as np

from ..tree_util import tree_flatten, tree_unflatten


def _dp_accounting():
    try:
        import dp_accounting
    except ImportError:
        raise ImportError("spmdgrad.privacy needs the 'dp-accounting' package: install it with "
                          "`pip install dp-accounting` (or the extra: `pip install spmdgrad[dp]`)"
                          ) from None
    return dp_accounting


def _check(noise_multiplier=None, sample_rate=None, steps=None, delta=None, fname="epsilon"):
    if noise_multiplier is not None and not (noise_multiplier >= 0 and math.isfinite(noise_multiplier)):
        raise ValueError(f"{fname}: noise_multiplier must be a finite number >= 0, got {noise_multiplier!r}")
    if sample_rate is not None and not 0 < sample_rate <= 1:
        raise ValueError(f"{fname}: sample_rate must be in (0, 1] (expected batch size / data set "
                         f"size), got {sample_rate!r}")
    if steps is not None and (isinstance(steps, bool) or int(steps) != steps or steps < 0):
        raise ValueError(f"{fname}: steps must be a non-negative integer, got {steps!r}")
    if delta is not None and not 0 < delta < 1:
        raise ValueError(f"{fname}: delta must be in (0, 1), got {delta!r}")


@contextlib.contextmanager
def _quiet():
    """The accountant logs a warning per order it drops from the conversion (orders
    whose series did not converge): that is its normal operation, not the user's."""
    log = logging.getLogger("absl")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def _event(dpa, noise_multiplier, sample_rate, steps):
    gauss = dpa.GaussianDpEvent(noise_multiplier)
    step = gauss if sample_rate == 1 else dpa.PoissonSampledDpEvent(sample_rate, gauss)
    return dpa.SelfComposedDpEvent(step, int(steps))


def _accountant(dpa, accountant):
    if accountant == "rdp":
        return dpa.rdp.RdpAccountant()
    if accountant == "pld":
        return dpa.pld.PLDAccountant()
    raise ValueError(f"accountant must be 'rdp' or 'pld', got {accountant!r}")


def epsilon(noise_multiplier, sample_rate, steps, delta, *, accountant="rdp"):
    """The ``epsilon`` of ``steps`` DP-SGD steps with Poisson sampling rate ``sample_rate``
    and noise multiplier ``noise_multiplier`` (noise std / clipping bound), at ``delta``.

    >>> round(epsilon(1.1, 256 / 60000, 14063, 1e-5), 2)   # doctest: +SKIP
    2.6
    """
    _check(noise_multiplier, sample_rate, steps, delta, "epsilon")
    dpa = _dp_accounting()
    if steps == 0:
        return 0.0
    if noise_multiplier == 0:
        return math.inf
    acc = _accountant(dpa, accountant)
    with _quiet():
        acc.compose(_event(dpa, noise_multiplier, sample_rate, steps))
        return float(acc.get_epsilon(delta))


def noise_multiplier_for(target_epsilon, delta, sample_rate, steps, *, accountant="rdp", tol=1e-4):
    """The smallest noise multiplier (within ``tol``) whose run of ``steps`` steps at
    ``sample_rate`` is ``(target_epsilon, delta)``-DP.

    >>> s = noise_multiplier_for(2.6, 1e-5, 256 / 60000, 14063)   # doctest: +SKIP
    >>> round(s, 2)                                               # doctest: +SKIP
    1.1
    """
    if not (target_epsilon > 0 and math.isfinite(target_epsilon)):
        raise ValueError(f"noise_multiplier_for: target_epsilon must be a positive finite number, "
                         f"got {target_epsilon!r}")
    _check(None, sample_rate, steps, delta, "noise_multiplier_for")
    if steps == 0:
        return 0.0
    dpa = _dp_accounting()
    with _quiet():
        return float(dpa.calibrate_dp_mechanism(
            lambda: _accountant(dpa, accountant),
            lambda s: _event(dpa, s, sample_rate, steps),
            target_epsilon, delta,
            dpa.LowerEndpointAndGuess(1e-3, 1.0), tol=tol))


def add_noise(total, noise_multiplier, max_norm, seed):
    """``total + N(0, (noise_multiplier * max_norm)^2)`` per entry (a pytree), drawn from
    ``seed`` (an int or a sequence of ints, e.g. ``(run_seed, step)``).

    Every rank must pass the same seed, and then draws the same noise: replicas of a
    data-parallel run stay bitwise identical without communicating it. Arrays keep
    their dtype; the noise is drawn in float64 and rounded once.

    >>> import numpy as np
    >>> a = add_noise({"w": np.zeros(3)}, 1.0, 0.5, seed=(7, 0))
    >>> b = add_noise({"w": np.zeros(3)}, 1.0, 0.5, seed=(7, 0))
    >>> bool(np.array_equal(a["w"], b["w"]))
    True
    """
    if not (noise_multiplier >= 0 and math.isfinite(noise_multiplier)):
        raise ValueError(f"add_noise: noise_multiplier must be a finite number >= 0, got "
                         f"{noise_multiplier!r}")
    if not (max_norm > 0 and math.isfinite(max_norm)):
        raise ValueError(f"add_noise: max_norm must be a positive finite number, got {max_norm!r}")
    rng = np.random.default_rng(seed)
    leaves, tree = tree_flatten(total)
    std = float(noise_multiplier) * float(max_norm)
    out = []
    for x in leaves:
        x = np.asarray(x)
        noise = rng.standard_normal(x.shape) * std
        out.append((x + noise).astype(x.dtype, copy=False))
    return tree_unflatten(tree, out)
