"""spmdgrad.random under pmap over MPI ranks: mapped keys and per-device keys folded
from axis_index give, on each rank, its block of the single-process draws.
Rank-count agnostic."""
import numpy as np
import pytest
from mpi_helpers import block, world

import spmdgrad.numpy as jnp
from spmdgrad import grad, pmap, random, vmap
from spmdgrad.lax import axis_index, psum

pytestmark = pytest.mark.mpi
K = 2  # shards per rank


def test_pmap_over_mapped_keys_is_the_block_of_vmap():
    _, _, n = world()
    keys = random.split(random.PRNGKey(0), n * K)
    f = lambda k: random.normal(k, (3,))
    got = pmap(f, axis_name="i")(block(keys, K))
    np.testing.assert_array_equal(got, block(vmap(f)(keys), K))
    typed = random.split(random.key(1), n * K)
    got = pmap(lambda k: random.uniform(k, (2,)))(random.wrap_key_data(block(random.key_data(typed), K)))
    np.testing.assert_array_equal(got, block(vmap(lambda k: random.uniform(k, (2,)))(typed), K))


def test_replicated_key_folded_with_axis_index():
    _, _, n = world()
    key = random.PRNGKey(3)
    f = lambda x: x + random.normal(random.fold_in(key, axis_index("i")), (2,))
    got = pmap(f, axis_name="i")(np.zeros((K, 2)))
    want = np.stack([random.normal(random.fold_in(key, j), (2,)) for j in range(n * K)])
    np.testing.assert_array_equal(got, block(want, K))


def test_data_parallel_gradient_with_per_device_noise():
    _, _, n = world()
    keys = random.split(random.PRNGKey(5), n * K)

    def loss(w, k):
        return jnp.sum((w * (1.0 + 0.1 * random.normal(k, (3,)))) ** 2)

    w = np.array([0.5, -1.0, 2.0])
    total = pmap(lambda k: psum(grad(loss)(w, k), "i"), axis_name="i")(block(keys, K))
    want = sum(grad(loss)(w, keys[j]) for j in range(n * K))
    np.testing.assert_allclose(total[0], want, rtol=1e-13)
