"""Loops and branches with collectives in their bodies under pmap over MPI ranks, against
vmap over the global axis. Rank-count agnostic: run with
    mpiexec -n N python -m mpi4py -m pytest --with-mpi tests/mpi/test_control_flow_mpi.py
"""
import numpy as np
import pytest
from mpi_helpers import block, global_data, world

import spmdgrad.numpy as jnp
from spmdgrad import grad, jit, pmap, vmap
from spmdgrad.lax import cond, fori_loop, pmean, psum, scan, while_loop

pytestmark = pytest.mark.mpi


def _rnn_loss(W, xs):
    def step(h, x):
        h = jnp.tanh(h @ W + x)
        m = pmean(h, 'i')          # a collective in the body: one Allreduce per step
        return h - 0.5 * m, jnp.sum(h * m)
    h, ys = scan(step, jnp.zeros(3), xs)
    return jnp.sum(h ** 2) + jnp.sum(ys)


def test_scan_with_psum_in_body(k):
    _, _, n = world()
    xs = global_data((n * k, 4, 3), seed=1)
    W = global_data((3, 3), seed=2) * 0.5
    out_p = pmap(_rnn_loss, in_axes=(None, 0), axis_name='i')(W, block(xs, k))
    out_v = vmap(_rnn_loss, in_axes=(None, 0), axis_name='i')(W, xs)
    np.testing.assert_allclose(out_p, block(out_v, k), rtol=1e-12)


@pytest.mark.parametrize("use_jit", [False, True])
def test_scan_total_and_per_example_gradients(k, use_jit):
    _, _, n = world()
    xs = global_data((n * k, 4, 3), seed=3)
    W = global_data((3, 3), seed=4) * 0.5
    wrap = jit if use_jit else (lambda f: f)
    total_p = wrap(pmap(grad(_rnn_loss, reduce_axes=('i',)), in_axes=(None, 0), out_axes=None,
                        axis_name='i'))(W, block(xs, k))
    total_v = vmap(grad(_rnn_loss, reduce_axes=('i',)), in_axes=(None, 0), out_axes=None,
                   axis_name='i')(W, xs)
    np.testing.assert_allclose(total_p, total_v, rtol=1e-10, atol=1e-12)
    per_p = pmap(grad(_rnn_loss), in_axes=(None, 0), axis_name='i')(W, block(xs, k))
    per_v = vmap(grad(_rnn_loss), in_axes=(None, 0), axis_name='i')(W, xs)
    np.testing.assert_allclose(per_p, block(per_v, k), rtol=1e-10, atol=1e-12)
    # Every rank holds the same total.
    comm, _, _ = world()
    assert all(np.array_equal(t, total_p) for t in comm.allgather(total_p))


def test_fori_cond_while_with_collectives(k):
    _, _, n = world()
    x = global_data((n * k, 3), seed=5)

    def f(v):
        v = fori_loop(0, 3, lambda i, u: u - 0.1 * psum(u, 'i'), v)
        v = cond(jnp.sum(v) > 0, lambda u: u * pmean(u, 'i'), lambda u: u - pmean(u, 'i'), v)
        return v

    np.testing.assert_allclose(pmap(f, axis_name='i')(block(x, k)),
                               block(vmap(f, axis_name='i')(x), k), rtol=1e-12)
    g = grad(lambda v: jnp.sum(f(v) ** 2), reduce_axes=())
    np.testing.assert_allclose(pmap(g, axis_name='i')(block(x, k)),
                               block(vmap(g, axis_name='i')(x), k), rtol=1e-10, atol=1e-12)

    # A batched predicate: every rank loops until all instances, on every rank, are done.
    def w(v):
        return while_loop(lambda u: jnp.sum(u ** 2) < 50.0, lambda u: u * 1.5 + psum(u, 'i') * 0.01, v)
    np.testing.assert_allclose(pmap(w, axis_name='i')(block(x, k)),
                               block(vmap(w, axis_name='i')(x), k), rtol=1e-12)


def test_grad_outside_pmap_of_scan(k):
    _, _, n = world()
    xs = global_data((n * k, 4, 3), seed=6)
    W = global_data((3, 3), seed=7) * 0.5

    def loss_vmap(W, x):
        return jnp.sum(vmap(lambda xi: _rnn_loss(W, xi), axis_name='i')(x) ** 2)

    def loss_pmap(W, x):
        per = pmap(lambda xi: _rnn_loss(W, xi), axis_name='i')(x)     # local block
        return pmap(lambda p: psum(p ** 2, 'i'), axis_name='i', out_axes=None)(per)

    gw_v, gx_v = grad(loss_vmap, argnums=(0, 1))(W, xs)
    gw_p, gx_p = grad(loss_pmap, argnums=(0, 1))(W, block(xs, k))
    np.testing.assert_allclose(gw_p, gw_v, rtol=1e-10)
    np.testing.assert_allclose(gx_p, block(gx_v, k), rtol=1e-10, atol=1e-12)
