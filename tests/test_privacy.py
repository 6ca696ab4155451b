"""spmdgrad.privacy: the dp-accounting wrapper and the shared-seed noise."""
import importlib.util
import math

import numpy as np
import pytest

import spmdgrad as sg
from spmdgrad import privacy


def test_add_noise_is_deterministic_per_seed_and_keeps_dtype():
    total = {"w": np.zeros((200, 50), np.float32), "b": np.zeros(3)}
    a = privacy.add_noise(total, 1.5, 2.0, seed=(3, 17))
    b = privacy.add_noise(total, 1.5, 2.0, seed=(3, 17))
    c = privacy.add_noise(total, 1.5, 2.0, seed=(3, 18))
    assert a["w"].dtype == np.float32 and a["b"].dtype == np.float64
    assert np.array_equal(a["w"], b["w"]) and np.array_equal(a["b"], b["b"])
    assert not np.array_equal(a["w"], c["w"])
    # std sigma * C = 3 (10000 draws: the sample std is within 3% with this seed)
    assert abs(np.std(a["w"]) - 3.0) < 0.09 and abs(np.mean(a["w"])) < 0.09


def test_add_noise_rejects_bad_input():
    with pytest.raises(ValueError, match="noise_multiplier"):
        privacy.add_noise(np.zeros(2), -1.0, 1.0, 0)
    with pytest.raises(ValueError, match="max_norm"):
        privacy.add_noise(np.zeros(2), 1.0, 0.0, 0)


needs_dp = pytest.mark.skipif(importlib.util.find_spec("dp_accounting") is None,
                              reason="the optional 'dp' extra (dp-accounting) is not installed")


@needs_dp
def test_gaussian_published_value():
    # dp-accounting's own test (rdp_privacy_accountant_test, test_compute_epsilon_delta_gaussian):
    # noise 4.530877117 on one full-batch step is exactly (1, 1e-6)-DP.
    assert privacy.epsilon(4.530877117, 1.0, 1, 1e-6) == pytest.approx(1.0, abs=1e-3)


@needs_dp
def test_poisson_rdp_published_values():
    # dp-accounting's own test (test_compute_rdp_poisson_sampled_gaussian): q=0.01, sigma=2.5,
    # 50 steps have RDP 2.18075656e-03 at order 5 and 2.38460375e-02 at order 50. Our epsilon,
    # converted by the package, is at most the classical bound rdp + log(1/delta)/(order-1).
    eps = privacy.epsilon(2.5, 0.01, 50, 1e-5)
    classical = min(2.18075656e-03 + math.log(1e5) / 4, 2.38460375e-02 + math.log(1e5) / 49)
    assert 0 < eps <= classical


@needs_dp
def test_dpsgd_mnist_setting():
    # The TF Privacy tutorial setting (N=60000, batch 256, sigma 1.1, 60 epochs, delta 1e-5):
    # 3.01 with the old accountant; the package's tighter RDP conversion gives 2.5967.
    steps = math.ceil(60 * 60000 / 256)
    eps = privacy.epsilon(1.1, 256 / 60000, steps, 1e-5)
    assert eps == pytest.approx(2.5967, abs=1e-3) and eps < 3.01
    assert privacy.epsilon(1.1, 256 / 60000, steps, 1e-5, accountant="pld") < eps


@needs_dp
def test_noise_multiplier_round_trip():
    sigma = privacy.noise_multiplier_for(2.0, 1e-5, 0.01, 1000)
    assert privacy.epsilon(sigma, 0.01, 1000, 1e-5) == pytest.approx(2.0, rel=1e-3)
    assert privacy.epsilon(sigma * 1.05, 0.01, 1000, 1e-5) < 2.0


@needs_dp
def test_edge_cases_and_errors():
    assert privacy.epsilon(1.0, 0.1, 0, 1e-5) == 0.0
    assert privacy.epsilon(0.0, 0.1, 10, 1e-5) == math.inf
    with pytest.raises(ValueError, match="sample_rate"):
        privacy.epsilon(1.0, 0.0, 10, 1e-5)
    with pytest.raises(ValueError, match="delta"):
        privacy.epsilon(1.0, 0.1, 10, 1.0)
    with pytest.raises(ValueError, match="target_epsilon"):
        privacy.noise_multiplier_for(-1.0, 1e-5, 0.1, 10)
    with pytest.raises(ValueError, match="accountant"):
        privacy.epsilon(1.0, 0.1, 10, 1e-5, accountant="moments")


def test_exported():
    assert sg.privacy is privacy
