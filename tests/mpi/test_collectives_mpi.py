"""Every collective under pmap over MPI ranks: forward against explicit NumPy over the
global data, derivatives against finite differences and against vmap over the same
global axis, inside and outside pmap, and under an outer vmap. Rank-count agnostic."""
import zlib

import numpy as np
import pytest

import spmdgrad.numpy as jnp
from spmdgrad import grad, pmap, vmap
from spmdgrad.lax import (all_gather, all_to_all, pmax, pmean, pmin, ppermute, psum,
                          psum_scatter)

from mpi_helpers import block, fd_check, global_data, world

pytestmark = pytest.mark.mpi


def _ring(N, shift=1):
    return [(j, (j + shift) % N) for j in range(N)]


def _cases(N):
    """(name, per-instance function, per-instance shape, NumPy reference on the
    global stack g -> global stack of results)."""
    def a2a_ref(split, concat):
        return lambda g: np.stack([np.moveaxis(np.take(g, i, axis=split + 1), 0, concat)
                                   for i in range(N)])

    def perm_ref(perm):
        def ref(g):
            out = np.zeros_like(g)
            for s, d in perm:
                out[d] = g[s]
            return out
        return ref
    half = [(0, N - 1)] + [(j, j - 1) for j in range(2, N, 2)]
    return [
        ("psum", lambda x: psum(x, 'i'), (3,), lambda g: np.broadcast_to(g.sum(0), g.shape)),
        ("pmean", lambda x: pmean(x, 'i'), (3,), lambda g: np.broadcast_to(g.mean(0), g.shape)),
        ("pmax", lambda x: pmax(x, 'i'), (3,), lambda g: np.broadcast_to(g.max(0), g.shape)),
        ("pmin", lambda x: pmin(x, 'i'), (3,), lambda g: np.broadcast_to(g.min(0), g.shape)),
        ("all_gather", lambda x: all_gather(x, 'i'), (2, 3),
         lambda g: np.broadcast_to(g, (N,) + g.shape)),
        ("all_gather_axis1", lambda x: all_gather(x, 'i', axis=1), (2, 3),
         lambda g: np.broadcast_to(np.moveaxis(g, 0, 1), (N, 2, N, 3))),
        ("all_gather_tiled", lambda x: all_gather(x, 'i', tiled=True), (2, 3),
         lambda g: np.broadcast_to(g.reshape(N * 2, 3), (N, N * 2, 3))),
        ("psum_scatter", lambda x: psum_scatter(x, 'i'), (N, 3), lambda g: g.sum(0)),
        ("psum_scatter_dim1", lambda x: psum_scatter(x, 'i', scatter_dimension=1), (2, N),
         lambda g: np.moveaxis(g.sum(0), 1, 0)),
        ("psum_scatter_tiled", lambda x: psum_scatter(x, 'i', tiled=True), (2 * N, 3),
         lambda g: g.sum(0).reshape(N, 2, 3)),
        ("all_to_all", lambda x: all_to_all(x, 'i', 0, 0), (N, 3), a2a_ref(0, 0)),
        ("all_to_all_1_0", lambda x: all_to_all(x, 'i', 1, 0), (2, N), a2a_ref(1, 0)),
        ("all_to_all_0_1", lambda x: all_to_all(x, 'i', 0, 1), (N, 3), a2a_ref(0, 1)),
        ("ppermute_ring", lambda x: ppermute(x, 'i', _ring(N)), (3,), perm_ref(_ring(N))),
        ("ppermute_back2", lambda x: ppermute(x, 'i', _ring(N, -2)), (2, 2),
         perm_ref(_ring(N, -2))),
        ("ppermute_partial", lambda x: ppermute(x, 'i', half), (3,), perm_ref(half)),
    ]


NAMES = [c[0] for c in _cases(2)]


def _case(name, N):
    return next(c for c in _cases(N) if c[0] == name)


@pytest.mark.parametrize("name", NAMES)
def test_forward_against_numpy(name, k):
    _, _, n = world()
    N = n * k
    _, f, shape, ref = _case(name, N)
    g = global_data((N,) + shape, seed=zlib.crc32(name.encode()) % 1000)
    out = pmap(f, axis_name='i')(block(g, k))
    np.testing.assert_allclose(out, block(ref(g), k), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_derivatives_outside_pmap(name, k):
    # The global function x_global -> pmap(f)(x_global), block by block: JVP and VJP
    # against central differences, and the VJP against vmap over the global axis.
    _, _, n = world()
    N = n * k
    _, f, shape, _ = _case(name, N)
    g = global_data((N,) + shape, seed=7)
    w = global_data(shape, seed=8)

    def h(w, x):
        return pmap(lambda xi: f(jnp.sin(xi) * w), axis_name='i')(x)
    fd_check(h, [block(g, k)], [w])
    ct = global_data(np.shape(vmap(lambda xi: f(jnp.sin(xi) * w), axis_name='i')(g)), seed=9)

    def loss_v(w, x):
        return jnp.sum(vmap(lambda xi: f(jnp.sin(xi) * w), axis_name='i')(x) * ct)

    def loss_p(w, x):
        per = pmap(lambda xi, c: psum(jnp.sum(f(jnp.sin(xi) * w) * c), 'i'), axis_name='i',
                   out_axes=None)
        return per(x, block(ct, k))
    gw_v, gx_v = grad(loss_v, argnums=(0, 1))(w, g)
    gw_p, gx_p = grad(loss_p, argnums=(0, 1))(w, block(g, k))
    np.testing.assert_allclose(gw_p, gw_v, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gx_p, block(gx_v, k), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_total_gradient_inside_pmap(name, k):
    # grad inside pmap with reduce_axes: the total gradient of the replicated weight,
    # equal to the vmap version over the global axis.
    _, _, n = world()
    N = n * k
    _, f, shape, _ = _case(name, N)
    g = global_data((N,) + shape, seed=11)
    w = global_data(shape, seed=12)

    def loss(w, x):
        return jnp.sum(jnp.tanh(f(x * w)) ** 2)
    total = grad(loss, reduce_axes=('i',))
    gp = pmap(total, axis_name='i', in_axes=(None, 0), out_axes=None)(w, block(g, k))
    gv = vmap(total, axis_name='i', in_axes=(None, 0), out_axes=None)(w, g)
    np.testing.assert_allclose(gp, gv, rtol=1e-10, atol=1e-12)
    per = pmap(grad(loss), axis_name='i', in_axes=(None, 0))(w, block(g, k))
    np.testing.assert_allclose(per, block(vmap(grad(loss), axis_name='i', in_axes=(None, 0))(w, g),
                                          k), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["psum", "pmax", "all_gather", "psum_scatter", "all_to_all",
                                  "ppermute_ring"])
def test_vmap_of_pmap(name, k):
    _, _, n = world()
    N = n * k
    _, f, shape, ref = _case(name, N)
    B = 2
    g = global_data((B, N) + shape, seed=13)
    out = vmap(pmap(f, axis_name='i'))(block(g, k, axis=1))
    expect = np.stack([block(ref(g[b]), k) for b in range(B)])
    np.testing.assert_allclose(out, expect, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["psum", "all_gather", "psum_scatter", "ppermute_ring"])
def test_invariant_operand(name, k):
    # A replicated operand meets the collective directly (no shard dimension).
    _, _, n = world()
    N = n * k
    _, f, shape, ref = _case(name, N)
    w = global_data(shape, seed=14)
    out = pmap(lambda x: f(w) + 0 * x[..., :1].sum(), axis_name='i')(np.ones((k,) + shape))
    np.testing.assert_allclose(out, block(ref(np.broadcast_to(w, (N,) + shape)), k),
                               rtol=1e-12, atol=1e-12)
    # Its gradient outside pmap counts every instance's use of the one replicated value.
    ct = global_data((N,) + np.shape(ref(np.broadcast_to(w, (N,) + shape)))[1:], seed=15)

    def loss_p(w):
        return pmap(lambda c: psum(jnp.sum(f(w) * c), 'i'), axis_name='i', out_axes=None)(
            block(ct, k))

    def loss_v(w):
        return jnp.sum(vmap(lambda c: f(w) * c, axis_name='i')(ct))
    np.testing.assert_allclose(grad(loss_p)(w), grad(loss_v)(w), rtol=1e-10, atol=1e-12)


def test_ppermute_rejects_bad_permutations():
    _, _, n = world()
    with pytest.raises(ValueError, match="out of range"):
        pmap(lambda x: ppermute(x, 'i', [(0, n + 5)]), axis_name='i')(np.ones((1, 2)))
    if n > 1:
        with pytest.raises(ValueError, match="repeats"):
            pmap(lambda x: ppermute(x, 'i', [(0, 1), (1, 1)]), axis_name='i')(np.ones((1, 2)))
