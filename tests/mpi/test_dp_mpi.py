"""clipped_grad over MPI ranks: pmap over ranks ('dev'), vmap over each rank's examples
('b'), reduce_axes=('dev',). Equal to the single-process result over all examples, and
bitwise the same on every rank (also after shared-seed noise). Runs at 1, 2, 3 ranks.

    timeout 300 mpiexec -n 3 python -m mpi4py -m pytest -q --with-mpi tests/mpi/test_dp_mpi.py
"""
import numpy as np
import pytest
from mpi_helpers import block, global_data, world

import spmdgrad.numpy as jnp
from spmdgrad import clipped_grad, per_example_norms, pmap, privacy, vmap
from spmdgrad.tree_util import tree_leaves

pytestmark = pytest.mark.mpi


def loss(p, x, y):
    h = jnp.tanh(x @ p["w1"] + p["b1"])
    return jnp.sum((h @ p["w2"] + p["b2"] - y) ** 2)


def params():
    return {"w1": global_data((5, 4), 1), "b1": global_data((4,), 2),
            "w2": global_data((4, 3), 3), "b2": global_data((3,), 4)}


def assert_replicated(tree):
    comm, _, _ = world()
    for leaf in tree_leaves(tree):
        gathered = comm.allgather(np.asarray(leaf))
        assert all(np.array_equal(gathered[0], g) for g in gathered)


@pytest.mark.parametrize("C", [1e-3, 1.0, 1e9])
def test_clipped_grad_over_ranks(k, C):
    _, _, n = world()
    B = 2 * k  # examples per pmap shard; k shards per rank
    xs, ys = global_data((n * k, B, 5), 5), global_data((n * k, B, 3), 6)
    inner = vmap(clipped_grad(loss, C, "b", reduce_axes=("dev",), return_norms=True),
                 in_axes=(None, 0, 0), axis_name="b", out_axes=(None, 0))
    f = pmap(inner, axis_name="dev", in_axes=(None, 0, 0), out_axes=(None, 0))
    total, norms = f(params(), block(xs, k), block(ys, k))
    single = vmap(vmap(clipped_grad(loss, C, "b", reduce_axes=("dev",), return_norms=True),
                       in_axes=(None, 0, 0), axis_name="b", out_axes=(None, 0)),
                  in_axes=(None, 0, 0), axis_name="dev", out_axes=(None, 0))
    want, want_norms = single(params(), xs, ys)
    np.testing.assert_allclose(norms, block(want_norms, k), rtol=1e-12)
    for g, w in zip(tree_leaves(total), tree_leaves(want), strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)
    assert_replicated(total)
    assert_replicated(privacy.add_noise(total, 1.0, C, seed=(0, 1)))


def test_per_example_norms_over_ranks(k):
    _, _, n = world()
    xs, ys = global_data((n * k, 3, 5), 7), global_data((n * k, 3, 3), 8)
    norms_fn = vmap(per_example_norms(loss, "b"), in_axes=(None, 0, 0), axis_name="b")
    got = pmap(norms_fn, axis_name="dev", in_axes=(None, 0, 0))(params(), block(xs, k), block(ys, k))
    want = vmap(norms_fn, in_axes=(None, 0, 0), axis_name="dev")(params(), xs, ys)
    np.testing.assert_allclose(got, block(want, k), rtol=1e-12)
