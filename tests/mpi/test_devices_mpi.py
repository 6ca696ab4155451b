"""Devices over MPI ranks: device_count sums the local counts, ids are process-major, and the
multi-process pmap idiom (leading axis = local_device_count()) runs unchanged.
    mpiexec -n N python -m mpi4py -m pytest --with-mpi tests/mpi/test_devices_mpi.py
"""
import sys

import numpy as np
import pytest

import spmdgrad as jax
import spmdgrad.numpy as jnp
from spmdgrad.lax import psum

from mpi_helpers import global_data, world

pytestmark = pytest.mark.mpi


@pytest.fixture(params=[1, 2], ids=["local1", "local2"])
def local(request, monkeypatch):
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    monkeypatch.setenv("SPMDGRAD_LOCAL_DEVICES", str(request.param))
    return request.param


def test_counts_and_ids(local):
    comm, r, n = world()
    assert jax.process_count() == n and jax.process_index() == r
    assert jax.local_device_count() == local
    assert jax.device_count() == n * local
    assert jax.device_count() == comm.allreduce(jax.local_device_count())
    ids = [d.id for d in jax.devices()]
    assert ids == list(range(n * local))
    assert [d.id for d in jax.local_devices()] == list(range(r * local, (r + 1) * local))
    assert all(d.process_index == r for d in jax.local_devices())
    assert [d.process_index for d in jax.devices()] == [i // local for i in range(n * local)]


def test_remote_device_put_is_refused(local):
    _, r, n = world()
    if n == 1:
        pytest.skip("needs a second process")
    other = jax.local_devices(process_index=(r + 1) % n)[0]
    with pytest.raises(ValueError, match="put data only on local devices"):
        jax.device_put(np.ones(2), other)


def test_multiprocess_pmap_idiom(local):
    """Each process reshapes its share of the batch to (local_device_count(), ...)."""
    _, r, n = world()
    per_device = 3
    g = global_data((jax.device_count() * per_device, 2), seed=4)
    mine = g[r * local * per_device:(r + 1) * local * per_device]
    x = mine.reshape(jax.local_device_count(), per_device, 2)
    w = np.array([0.5, -1.0])

    def loss(w, xb):
        return jnp.sum(jnp.tanh(xb @ w) ** 2)
    step = jax.pmap(lambda w, xb: psum(jax.grad(loss)(w, xb), "batch"), axis_name="batch",
                    in_axes=(None, 0))
    total = step(w, x)
    assert total.shape == (local, 2)
    expected = jax.grad(loss)(w, g)
    np.testing.assert_allclose(total, np.broadcast_to(expected, (local, 2)), rtol=1e-12)


def test_xla_flags_ignored_under_mpi(monkeypatch):
    _, _, n = world()
    monkeypatch.delenv("SPMDGRAD_LOCAL_DEVICES", raising=False)
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=4")
    if n == 1:
        assert jax.local_device_count() == 4
    else:
        with pytest.warns(UserWarning, match="ignored under MPI"):
            sys.modules["spmdgrad.devices"]._warned.clear()
            assert jax.local_device_count() == 1
