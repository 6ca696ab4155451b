"""spmdgrad.shard / shard_indices in one process (the whole array is local), and
their errors. The multi-rank layout is tested in tests/mpi/test_sharding_mpi.py."""
import numpy as np
import pytest

import spmdgrad
from spmdgrad import shard, shard_indices


def test_one_process_keeps_everything():
    x = np.arange(24.0).reshape(4, 6)
    np.testing.assert_array_equal(shard(x), x)
    np.testing.assert_array_equal(shard(x, axis=1), x)
    np.testing.assert_array_equal(shard(x, axis=-1), x)
    np.testing.assert_array_equal(shard(x, shards=2), x.reshape(2, 2, 6))
    np.testing.assert_array_equal(shard(x, axis=1, shards=3), x.reshape(4, 3, 2))
    np.testing.assert_array_equal(shard_indices(5), np.arange(5))
    np.testing.assert_array_equal(shard_indices(np.array([3, 1, 2]), drop_remainder=False),
                                  [3, 1, 2])


def test_pmap_of_shard_equals_vmap():
    x = np.random.default_rng(0).standard_normal((6, 3))
    f = lambda v: v * spmdgrad.lax.psum(v, 'i')
    np.testing.assert_allclose(spmdgrad.pmap(f, axis_name='i')(shard(x)),
                               spmdgrad.vmap(f, axis_name='i')(x))


@pytest.mark.parametrize("args, kwargs, match", [
    ((np.float64(1.0),), {}, "scalar"),
    ((np.ones(3),), {"axis": 1}, "out of range"),
    ((np.ones(3),), {"axis": 0.5}, "axis must be an int"),
    ((np.ones(6),), {"shards": 4}, "shards=4 must be >= 1 and divide"),
    ((np.ones(6),), {"shards": 0}, "shards=0"),
])
def test_shard_errors(args, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        shard(*args, **kwargs)


def test_shard_indices_errors():
    with pytest.raises(ValueError, match="must be >= 0"):
        shard_indices(-1)
    with pytest.raises(ValueError, match="1-D index array"):
        shard_indices(np.ones((2, 2), int))


def test_indivisible_message_names_sizes_and_fix(monkeypatch):
    from spmdgrad import sharding
    monkeypatch.setattr(sharding, "_rank_and_count", lambda comm: (1, 4))
    with pytest.raises(ValueError, match=r"10 entries, which do not split evenly over 4 ranks "
                                         r"\(remainder 2\).*shard\(x\[:8\]\)"):
        shard(np.ones(10))
    np.testing.assert_array_equal(shard(np.arange(8)), [2, 3])
    np.testing.assert_array_equal(shard_indices(10), [2, 3])
    np.testing.assert_array_equal(shard_indices(10, drop_remainder=False), [3, 4, 5])
