"""One fused Allreduce per dtype for a data-parallel gradient with reduce_axes: the
backward pass carries pending psums through linear equations (bias broadcasts,
reshapes) to the parameters instead of reducing activation-sized intermediates.
Rank-count agnostic."""
import numpy as np
import pytest

import spmdgrad.numpy as jnp
from spmdgrad import grad, pmap, vmap
from spmdgrad.core import impl_rules
from spmdgrad.collectives.psum import allreduce_p

from mpi_helpers import block, global_data, world

pytestmark = pytest.mark.mpi


def mlp_loss(p, x, y):
    h = jnp.maximum(x @ p["w1"] + p["b1"], 0.0)
    z = h @ p["w2"] + p["b2"]
    return jnp.sum((z - y) ** 2)


@pytest.fixture
def count_allreduces(monkeypatch):
    calls = []
    impl = impl_rules[allreduce_p]

    def counting(*xs, **params):
        calls.append([np.shape(x) for x in xs])
        return impl(*xs, **params)
    monkeypatch.setitem(impl_rules, allreduce_p, counting)
    return calls


def test_dp_gradient_is_one_allreduce_and_exact(k, count_allreduces):
    _, _, n = world()
    p = {"w1": global_data((5, 4), 1), "b1": global_data((4,), 2),
         "w2": global_data((4, 3), 3), "b2": global_data((3,), 4)}
    xs, ys = global_data((n * k, 6, 5), 5), global_data((n * k, 6, 3), 6)
    g = pmap(grad(mlp_loss, reduce_axes=("i",)), axis_name="i", in_axes=(None, 0, 0),
             out_axes=None)(p, block(xs, k), block(ys, k))
    if n > 1:
        assert len(count_allreduces) == 1, count_allreduces
        assert sorted(count_allreduces[0]) == sorted([(5, 4), (4,), (4, 3), (3,)])
    ref = grad(lambda p: jnp.sum(vmap(mlp_loss, in_axes=(None, 0, 0))(p, xs, ys)))(p)
    for name in p:
        np.testing.assert_allclose(g[name], ref[name], rtol=1e-10, err_msg=name)


def test_jit_of_dp_gradient_replays_the_same_allreduce(k, count_allreduces):
    from spmdgrad import jit
    _, _, n = world()
    p = {"w": global_data((5, 3), 7), "b": global_data((3,), 8)}
    xs, ys = global_data((n * k, 4, 5), 9), global_data((n * k, 4, 3), 10)

    def loss(p, x, y):
        return jnp.sum((jnp.tanh(x @ p["w"] + p["b"]) - y) ** 2)
    step = pmap(grad(loss, reduce_axes=("i",)), axis_name="i", in_axes=(None, 0, 0),
                out_axes=None)
    expected = step(p, block(xs, k), block(ys, k))
    jstep = jit(step)
    for _ in range(3):
        got = jstep(p, block(xs, k), block(ys, k))
        for name in p:
            np.testing.assert_array_equal(got[name], expected[name])
    if n > 1:
        assert len(count_allreduces) == 1 + 3, count_allreduces  # one per call, traced or not
