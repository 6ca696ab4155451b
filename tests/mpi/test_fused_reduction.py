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


def test_jit_produces_the_gradients_in_the_pack_buffer(k):
    """Compiled, the weight gradients (matmuls), bias gradients (sums) and elementwise
    products are written straight into the Allreduce's pack buffer, so the program
    does not copy them in; a float16 gradient (wider on the wire) is copied. Bitwise
    equal to eager, replicas equal."""
    from spmdgrad import jit
    comm, r, n = world()
    rng = np.random.default_rng(0)
    p = {"w": rng.standard_normal((5, 3)), "b": rng.standard_normal(3), "s": rng.standard_normal(5),
         "h": rng.standard_normal(5).astype(np.float16)}
    xs = global_data((n * k, 4, 5), 11)

    def loss(p, x):
        z = jnp.tanh((x * p["s"] * p["h"].astype(x.dtype)) @ p["w"] + p["b"])
        return jnp.sum(jnp.sin(z))
    step = pmap(grad(loss, reduce_axes=("i",)), axis_name="i", in_axes=(None, 0), out_axes=None)
    expected = step(p, block(xs, k))
    jstep = jit(step)
    for _ in range(2):   # the second call reuses the pooled buffers
        got = jstep(p, block(xs, k))
        for name in p:
            assert got[name].dtype == p[name].dtype
            assert got[name].tobytes() == expected[name].tobytes(), name
    views = comm.allgather({name: v.tobytes() for name, v in got.items()})
    assert all(v == views[0] for v in views)
    src = jstep.lower(p, block(xs, k)).as_text()
    if n > 1 and k == 1:
        # w: a matmul into the buffer; b and s: sums into it; h: float16, copied
        assert src.count("P0 = alloc_") == 1 and "packed_" in src, src
        assert src.count("P0[") == 3, src
    elif n > 1:   # k = 2: the sums over the local shards write into the buffer
        assert "packed_" in src and "P0[" in src, src
    if n == 1:
        assert "packed_" not in src   # no wire at one rank
