"""Convolution and max pooling under pmap over MPI ranks: per-example and total
gradients of a small CNN (vmap 'b' inside pmap 'i') against one process's vmap over
the global data. Rank-count agnostic."""
import numpy as np
import pytest
from mpi_helpers import block, global_data, world

import spmdgrad.numpy as jnp
from spmdgrad import grad, lax, nn, pmap, vmap

pytestmark = pytest.mark.mpi


def cnn_loss(p, x, y):
    """One example x (6, 6, 2), NHWC."""
    h = lax.conv_general_dilated(x[None], p["w"], (1, 1), "SAME",
                                 dimension_numbers=("NHWC", "HWIO", "NHWC"))
    h = nn.relu(h + p["b"])
    h = lax.reduce_window(h, -np.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
    return jnp.sum((jnp.reshape(h, (-1,)) @ p["d"] - y) ** 2)


def _problem(n, k):
    p = {"w": global_data((3, 3, 2, 3), 1), "b": global_data((3,), 2),
         "d": global_data((27, 4), 3) * 0.2}
    xs, ys = global_data((n * k, 5, 6, 6, 2), 4), global_data((n * k, 5, 4), 5)
    return p, xs, ys


def test_total_gradient_over_ranks_and_batch(k):
    _, _, n = world()
    p, xs, ys = _problem(n, k)
    inner = vmap(grad(cnn_loss, reduce_axes=("b", "i")), in_axes=(None, 0, 0), axis_name="b",
                 out_axes=None)
    g = pmap(inner, axis_name="i", in_axes=(None, 0, 0), out_axes=None)(p, block(xs, k),
                                                                         block(ys, k))
    flat_x, flat_y = xs.reshape((-1,) + xs.shape[2:]), ys.reshape((-1,) + ys.shape[2:])
    ref = vmap(grad(cnn_loss), in_axes=(None, 0, 0))(p, flat_x, flat_y)
    for name in p:
        np.testing.assert_allclose(g[name], ref[name].sum(0), rtol=1e-10, err_msg=name)


def test_per_example_gradients_stay_local(k):
    _, _, n = world()
    p, xs, ys = _problem(n, k)
    per = pmap(vmap(grad(cnn_loss), in_axes=(None, 0, 0), axis_name="b"), axis_name="i",
               in_axes=(None, 0, 0))(p, block(xs, k), block(ys, k))
    ref = vmap(vmap(grad(cnn_loss), in_axes=(None, 0, 0)), in_axes=(None, 0, 0))(p, xs, ys)
    for name in p:
        np.testing.assert_allclose(per[name], block(ref[name], k), rtol=1e-10, err_msg=name)
