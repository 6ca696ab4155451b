"""spmdgrad.shard and shard_indices at any number of ranks: the blocks are pmap's
layout, and the shares of an index set cover it exactly once."""
import numpy as np
import pytest

from spmdgrad import pmap, shard, shard_indices, vmap
from spmdgrad.lax import all_gather, axis_index
from spmdgrad.testing import block, global_data


@pytest.mark.mpi(min_size=1)
@pytest.mark.parametrize("k", [1, 2])
def test_shard_is_pmaps_layout(size, k):
    g = global_data((size * k, 3), seed=4)
    mine = shard(g)
    np.testing.assert_array_equal(mine, block(g, k))
    # pmap sees the global array: gathering the blocks gives it back, in order.
    back = pmap(lambda x: all_gather(x, 'i'), axis_name='i')(mine)
    np.testing.assert_array_equal(back[0], g)
    idx = pmap(lambda x: axis_index('i'), axis_name='i')(mine)
    np.testing.assert_array_equal(idx, shard(np.arange(size * k)))


@pytest.mark.mpi(min_size=1)
def test_shards_keyword_gives_a_minibatch_per_shard(size):
    g = global_data((size * 2 * 3, 5), seed=5)
    mine = shard(g, shards=2)
    assert mine.shape == (2, 3, 5)
    ref = vmap(lambda x: x.sum(0))(g.reshape(size * 2, 3, 5))
    got = pmap(lambda x: x.sum(0), axis_name='i')(mine)
    np.testing.assert_allclose(got, block(ref, 2))


@pytest.mark.mpi(min_size=1)
@pytest.mark.parametrize("n", [0, 5, 7, 12])
def test_shard_indices_cover_the_set(comm, size, n):
    perm = np.random.default_rng(n).permutation(n)
    kept = shard_indices(perm, drop_remainder=False)
    everyone = comm.allgather(kept)
    np.testing.assert_array_equal(np.concatenate(everyone), perm)      # all, in order, once
    assert max(map(len, everyone)) - min(map(len, everyone)) <= 1
    equal = comm.allgather(shard_indices(perm))
    assert {len(e) for e in equal} == {n // size}
    np.testing.assert_array_equal(np.concatenate(equal), perm[:n - n % size])


@pytest.mark.mpi(min_size=2)
def test_indivisible_size_is_a_clear_error(size):
    with pytest.raises(ValueError, match=f"do not split evenly over {size} ranks"):
        shard(np.ones((size + 1, 2)))
