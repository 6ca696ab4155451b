"""Devices mapped onto processes: counts from the environment, the pmap idiom, device_put/get."""
import numpy as np
import pytest

import spmdgrad as jax
import spmdgrad.numpy as jnp
from spmdgrad.lax import psum


@pytest.fixture
def env(monkeypatch):
    monkeypatch.delenv("SPMDGRAD_LOCAL_DEVICES", raising=False)
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    return monkeypatch


def test_default_one_device(env):
    assert jax.local_device_count() == 1 == jax.device_count()
    assert jax.process_index() == 0 and jax.process_count() == 1
    (d,) = jax.devices()
    assert d == jax.local_devices()[0] and d.id == 0 and d.process_index == 0
    assert d.platform == "cpu" and repr(d) == "CpuDevice(id=0)"
    assert jax.default_backend() == "cpu"


def test_own_env_variable(env):
    env.setenv("SPMDGRAD_LOCAL_DEVICES", "4")
    assert jax.local_device_count() == 4 == jax.device_count()
    assert [d.id for d in jax.devices()] == [0, 1, 2, 3]
    assert [d.id for d in jax.local_devices()] == [0, 1, 2, 3]
    assert len({hash(d) for d in jax.devices()}) == 4


def test_xla_flags_honoured_in_one_process(env):
    env.setenv("XLA_FLAGS", "--xla_cpu_foo=1 --xla_force_host_platform_device_count=8")
    assert jax.local_device_count() == 8 == jax.device_count()
    env.setenv("SPMDGRAD_LOCAL_DEVICES", "2")  # spmdgrad's own variable wins
    assert jax.local_device_count() == 2


@pytest.mark.parametrize("bad", ["0", "-1", "two", ""])
def test_bad_counts_are_named(env, bad):
    env.setenv("SPMDGRAD_LOCAL_DEVICES", bad)
    with pytest.raises(ValueError, match="SPMDGRAD_LOCAL_DEVICES must be a positive integer"):
        jax.local_device_count()


def test_backend_and_process_arguments(env):
    assert jax.devices("cpu") == jax.devices()
    with pytest.raises(ValueError, match="only the 'cpu' backend"):
        jax.devices("gpu")
    with pytest.raises(ValueError, match="out of range"):
        jax.local_devices(process_index=1)


def test_pmap_idiom_with_simulated_devices(env):
    """JAX's single-host idiom: reshape to (local_device_count(), ...), pmap, psum."""
    env.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=4")
    x = np.arange(24.0)
    n = jax.local_device_count()
    out = jax.pmap(lambda v: psum(jnp.sum(v ** 2), "i"), axis_name="i")(x.reshape(n, -1))
    np.testing.assert_allclose(out, np.full(4, np.sum(x ** 2)))
    g = jax.pmap(jax.grad(lambda v: psum(jnp.sum(v ** 2), "i")), axis_name="i")(x.reshape(n, -1))
    np.testing.assert_allclose(g, 2 * x.reshape(4, -1))


def test_device_put_copies_and_keeps_trees():
    a = np.zeros(3)
    tree = {"a": a, "b": [1.0, np.float32(2.0)]}
    out = jax.device_put(tree)
    a[0] = 5.0
    assert out["a"][0] == 0.0 and isinstance(out["a"], np.ndarray)
    assert out["b"][0].dtype == np.float64 and out["b"][1].dtype == np.float32
    assert jax.device_put(a, jax.devices()[0]) is not a
    np.testing.assert_array_equal(jax.device_put(a, jax.devices()[0]), a)


def test_device_put_passes_tracers_and_rejects_shardings():
    f = jax.grad(lambda x: jnp.sum(jax.device_put(x) ** 2))
    np.testing.assert_allclose(f(np.array([1.0, 2.0])), [2.0, 4.0])
    np.testing.assert_allclose(jax.jit(lambda x: jax.device_put(x) * 2)(np.ones(2)), [2.0, 2.0])
    with pytest.raises(TypeError, match="shardings are not supported"):
        jax.device_put(np.ones(2), "some_sharding")


def test_device_put_rejects_remote_device(env):
    with pytest.raises(ValueError, match="belongs to process 1"):
        jax.device_put(np.ones(2), jax.Device(1, 1))


def test_device_get_and_block_until_ready():
    a = np.ones(2)
    tree = (a, 3, {"c": np.float64(1.0)})
    out = jax.device_get(tree)
    assert out[0] is a and out[1] == 3 and out[2]["c"] == 1.0
    assert jax.block_until_ready(tree) is tree
    with pytest.raises(jax.ConcretizationTypeError, match="device_get: got a traced value"):
        jax.jit(lambda x: jax.device_get(x))(np.ones(2))
    with pytest.raises(TypeError, match="outside jit/vmap/pmap/grad"):
        jax.vmap(jax.device_get)(np.ones(2))


def test_device_put_replicated_and_sharded(env):
    env.setenv("SPMDGRAD_LOCAL_DEVICES", "3")
    devs = jax.local_devices()
    rep = jax.device_put_replicated({"w": np.arange(2.0)}, devs)
    np.testing.assert_array_equal(rep["w"], np.tile(np.arange(2.0), (3, 1)))
    shards = [{"x": np.full(2, float(i))} for i in range(3)]
    out = jax.device_put_sharded(shards, devs)
    np.testing.assert_array_equal(out["x"], [[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
    summed = jax.pmap(lambda s: psum(s["x"], "i"), axis_name="i")(out)
    np.testing.assert_array_equal(summed, np.full((3, 2), 3.0))
    with pytest.raises(ValueError, match="2 shards for 3 devices"):
        jax.device_put_sharded(shards[:2], devs)
    with pytest.raises(ValueError, match="empty"):
        jax.device_put_replicated(np.ones(1), [])
    with pytest.raises(ValueError, match="missing key"):
        jax.device_put_sharded([{"x": 1.0}, {"y": 2.0}, {"x": 3.0}], devs)
