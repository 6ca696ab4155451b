"""Data-parallel training of a stax model with an optimizers update, over MPI ranks:
pmap with grad(reduce_axes) gives, on every rank, bitwise the same parameters, equal to
the single-process vmap run. Rank-count agnostic (1, 2, 3 ranks; k shards per rank).

    timeout 300 mpiexec -n 2 python -m mpi4py -m pytest -q --with-mpi tests/mpi/test_stax_dp_mpi.py
"""
import numpy as np
import pytest
from mpi_helpers import block, global_data, world

import spmdgrad.numpy as jnp
from spmdgrad import grad, pmap, vmap
from spmdgrad.example_libraries import optimizers, stax
from spmdgrad.tree_util import tree_leaves

pytestmark = pytest.mark.mpi


def model():
    return stax.serial(stax.Dense(6), stax.Tanh, stax.Dense(3), stax.LogSoftmax)


def params0():
    # deterministic weights on every rank (no key needed): Dense params are (W, b)
    return [(global_data((4, 6), 1) * 0.5, global_data((6,), 2) * 0.1), (),
            (global_data((6, 3), 3) * 0.5, global_data((3,), 4) * 0.1), ()]


def loss(params, x, y):
    return -jnp.sum(model()[1](params, x) * y)


def train(step_grads, xs, ys, steps=3):
    opt_init, opt_update, get_params = optimizers.adam(0.05)
    state = opt_init(params0())
    for i in range(steps):
        state = opt_update(i, step_grads(get_params(state), xs, ys), state)
    return get_params(state)


def test_dp_adam_equals_vmap_on_every_rank(k):
    comm, _, n = world()
    xs = global_data((n * k, 5, 4), 5)
    ys = np.eye(3)[np.random.default_rng(6).integers(0, 3, (n * k, 5))]
    dp = pmap(grad(loss, reduce_axes=("i",)), axis_name="i", in_axes=(None, 0, 0), out_axes=None)
    got = train(lambda p, x, y: dp(p, block(x, k), block(y, k)), xs, ys)
    single = vmap(grad(loss, reduce_axes=("i",)), axis_name="i", in_axes=(None, 0, 0), out_axes=None)
    want = train(single, xs, ys)
    for g, w in zip(tree_leaves(got), tree_leaves(want), strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)
        gathered = comm.allgather(np.asarray(g))
        assert all(np.array_equal(gathered[0], other) for other in gathered)  # identical replicas
