"""spmdgrad.config: x64 is always on; no option changes precision or behaviour silently."""
import numpy as np
import pytest

import spmdgrad as jax
import spmdgrad.numpy as jnp
from spmdgrad import config


def test_x64_is_on_and_enabling_is_a_no_op():
    assert jax.config.jax_enable_x64 is True and config.read("jax_enable_x64") is True
    config.update("jax_enable_x64", True)
    config.update("jax_enable_x64", np.True_)
    assert jnp.zeros(2).dtype == np.float64 and jnp.arange(3).dtype == np.int64
    assert jax.config.x64_enabled


@pytest.mark.parametrize("value", [False, 0, np.False_])
def test_disabling_x64_raises_and_changes_nothing(value):
    with pytest.raises(NotImplementedError, match="jax_enable_x64=.*64-bit defaults.*astype"):
        config.update("jax_enable_x64", value)
    assert config.jax_enable_x64 is True
    assert jnp.ones(1).dtype == np.float64


def test_harmless_options_are_stored():
    old = config.read("jax_platforms")
    config.update("jax_platforms", "cpu")
    assert config.jax_platforms == "cpu"
    config.update("jax_platforms", old)
    config.update("jax_traceback_filtering", "off")
    assert config.read("jax_traceback_filtering") == "off"
    config.update("jax_traceback_filtering", "auto")
    config.update("jax_default_matmul_precision", "highest")
    assert config.jax_default_matmul_precision == "highest"
    config.update("jax_default_matmul_precision", None)


@pytest.mark.parametrize("name, value, match", [
    ("jax_platforms", "gpu", "supports only"),
    ("jax_debug_nans", True, "NaN checking is not implemented"),
    ("jax_disable_jit", True, "disabling jit"),
    ("jax_numpy_rank_promotion", "raise", "always broadcasts"),
    ("jax_default_prng_impl", "rbg", "threefry2x32"),
    ("jax_threefry_partitionable", False, "other random numbers"),
])
def test_unsupported_values_raise(name, value, match):
    before = config.read(name)
    with pytest.raises(NotImplementedError, match=match):
        config.update(name, value)
    assert config.read(name) == before


def test_unknown_option():
    with pytest.raises(AttributeError, match="unrecognized or unsupported option 'jax_bogus'"):
        config.update("jax_bogus", 1)
    with pytest.raises(AttributeError, match="jax_bogus"):
        config.read("jax_bogus")
    with pytest.raises(AttributeError):
        config.jax_bogus  # noqa: B018


def test_absl_hooks():
    assert config.config_with_absl() is None
    assert jax.config.parse_flags_with_absl() is None
