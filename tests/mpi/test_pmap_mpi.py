"""pmap over MPI ranks against NumPy over the global data, vmap over the global axis,
and finite differences. Rank-count agnostic: run with
    mpiexec -n N python -m mpi4py -m pytest --with-mpi tests/mpi
"""
import numpy as np
import pytest

import spmdgrad.numpy as jnp
from spmdgrad import grad, jvp, pmap, vjp, vmap
from spmdgrad.lax import axis_index, axis_size, pmean, psum
from spmdgrad.test_util import numerical_jvp

from mpi_helpers import block, fd_check, global_data, world

pytestmark = pytest.mark.mpi


# ---------------------------------------------------------------- psum, pmean, axis_index

def test_psum_pmean_axis_index(k):
    _, r, n = world()
    g = global_data((n * k, 3, 2), seed=1)
    x = block(g, k)
    s, m, idx, size = pmap(lambda v: (psum(v, 'i'), pmean(v, 'i'), axis_index('i'),
                                      axis_size('i')), axis_name='i',
                           out_axes=(None, None, 0, None))(x)
    np.testing.assert_allclose(s, g.sum(0), rtol=1e-12)
    np.testing.assert_allclose(m, g.mean(0), rtol=1e-12)
    np.testing.assert_array_equal(idx, np.arange(r * k, (r + 1) * k))
    assert size == n * k


def test_psum_of_invariant_and_mixed_leaves(k):
    _, _, n = world()
    g = global_data((n * k, 4), seed=2)
    w = global_data((4,), seed=3)
    f32 = g.astype(np.float32)
    out = pmap(lambda a, b, c: psum((a, b, c), 'i'), axis_name='i', in_axes=(0, None, 0),
               out_axes=None)(block(g, k), w, block(f32, k))
    np.testing.assert_allclose(out[0], g.sum(0), rtol=1e-12)
    np.testing.assert_allclose(out[1], n * k * w, rtol=1e-12)   # invariant: size * w
    assert out[2].dtype == np.float32
    np.testing.assert_allclose(out[2], f32.sum(0), rtol=1e-5)


def test_pmap_equals_vmap_over_global_axis(k):
    _, _, n = world()
    g = global_data((n * k, 5), seed=4)

    def f(x):
        return jnp.sin(x) * psum(x ** 2, 'i') / pmean(jnp.cos(x), 'i') + axis_index('i')
    np.testing.assert_allclose(pmap(f, axis_name='i')(block(g, k)),
                               block(vmap(f, axis_name='i')(g), k), rtol=1e-12)


def test_pmap_grads_equal_vmap_grads(k):
    _, _, n = world()
    g = global_data((n * k, 3), seed=5)
    w = global_data((3,), seed=6)

    def per_shard(w, xi):
        return jnp.sum(jnp.tanh(xi * w)) * jnp.sum(pmean(xi, 'i'))

    def loss_vmap(w, x):
        return jnp.sum(vmap(lambda xi: per_shard(w, xi), axis_name='i')(x) ** 2)

    def loss_pmap(w, x):
        per = pmap(lambda xi: per_shard(w, xi), axis_name='i')(x)     # local block
        return pmap(lambda p: psum(p ** 2, 'i'), axis_name='i', out_axes=None)(per)

    gw_v, gx_v = grad(loss_vmap, argnums=(0, 1))(w, g)
    gw_p, gx_p = grad(loss_pmap, argnums=(0, 1))(w, block(g, k))
    np.testing.assert_allclose(gw_p, gw_v, rtol=1e-10)
    np.testing.assert_allclose(gx_p, block(gx_v, k), rtol=1e-10)


# ---------------------------------------------------------------- gradients: MLP model

def _params(seed=10, d=4, h=5, o=2):
    p = global_data((d * h + h + h * o + o,), seed=seed)
    W1 = p[:d * h].reshape(d, h)
    b1 = p[d * h:d * h + h]
    W2 = p[d * h + h:d * h + h + h * o].reshape(h, o)
    b2 = p[d * h + h + h * o:]
    return [W1, b1, W2, b2]


def _loss(params, x, y):
    W1, b1, W2, b2 = params
    h = jnp.tanh(x @ W1 + b1)
    return jnp.sum((h @ W2 + b2 - y) ** 2)


def _np_grads(params, x, y):
    """Manual backprop over the rows of x (the full-data gradient)."""
    W1, b1, W2, b2 = params
    h = np.tanh(x @ W1 + b1)
    do = 2 * (h @ W2 + b2 - y)
    dz = (do @ W2.T) * (1 - h ** 2)
    return [x.T @ dz, dz.sum(0), h.T @ do, do.sum(0)]


def _data(n, k, seed=11):
    return global_data((n * k, 4), seed), global_data((n * k, 2), seed + 1)


def test_total_gradient_via_reduce_axes_equals_full_data_gradient(k):
    _, _, n = world()
    X, Y = _data(n, k)
    params = _params()
    g = pmap(grad(_loss, reduce_axes=('dev',)), axis_name='dev', in_axes=(None, 0, 0),
             out_axes=None)(params, block(X, k), block(Y, k))
    for a, b in zip(g, _np_grads(params, X, Y)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_per_example_gradients_stay_local(k):
    _, _, n = world()
    X, Y = _data(n, k)
    params = _params()
    xl, yl = block(X, k), block(Y, k)
    g = pmap(grad(_loss), axis_name='dev', in_axes=(None, 0, 0))(params, xl, yl)
    for j in range(k):
        ref = _np_grads(params, xl[j:j + 1], yl[j:j + 1])
        for a, b in zip(g, ref):
            assert a.shape == (k,) + b.shape
            np.testing.assert_allclose(a[j], b, rtol=1e-10, atol=1e-12)
    # A per-example gradient cannot leave pmap as one replicated value.
    with pytest.raises(ValueError, match="out_axes=None"):
        pmap(grad(_loss), axis_name='dev', in_axes=(None, 0, 0), out_axes=None)(params, xl, yl)


def test_grad_outside_pmap_sums_replicated_input_over_all_shards(k):
    _, _, n = world()
    X, Y = _data(n, k)
    params = _params()

    def total_loss(params, x, y):
        return pmap(lambda xi, yi: psum(_loss(params, xi, yi), 'dev'), axis_name='dev',
                    out_axes=None)(x, y)
    gp, gx = grad(total_loss, argnums=(0, 1))(params, block(X, k), block(Y, k))
    for a, b in zip(gp, _np_grads(params, X, Y)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    # The input gradient is local: this rank's block of the global input gradient.
    W1, b1, W2, b2 = params
    h = np.tanh(X @ W1 + b1)
    dx = ((2 * (h @ W2 + b2 - Y)) @ W2.T * (1 - h ** 2)) @ W1.T
    np.testing.assert_allclose(gx, block(dx, k), rtol=1e-10, atol=1e-12)


def test_unmapped_input_meeting_mapped_one_without_psum(k):
    # out_axes=0 output, cotangent on every shard: w's gradient sums over every rank.
    _, _, n = world()
    g = global_data((n * k, 3), seed=20)
    w = global_data((3,), seed=21)
    ct = global_data((n * k, 3), seed=22)
    _, f_vjp = vjp(lambda w, x: pmap(lambda xi: jnp.sin(w * xi), axis_name='i')(x), w, block(g, k))
    gw, gx = f_vjp(block(ct, k))
    np.testing.assert_allclose(gw, (ct * g * np.cos(w * g)).sum(0), rtol=1e-10)
    np.testing.assert_allclose(gx, block(ct * w * np.cos(w * g), k), rtol=1e-10)


# ---------------------------------------------------------------- vmap inside pmap

def test_vmap_inside_pmap(k):
    _, _, n = world()
    B = 3
    g = global_data((n * k, B, 2), seed=30)

    def f(x):
        return psum(x, ('dev', 'b')), psum(x, 'b'), psum(x, 'dev'), axis_index('dev')

    tot, per_dev, per_b, idx = pmap(vmap(f, axis_name='b'), axis_name='dev')(block(g, k))
    np.testing.assert_allclose(tot[0, 0], g.sum((0, 1)), rtol=1e-12)
    np.testing.assert_allclose(per_dev, block(np.broadcast_to(g.sum(1, keepdims=True), g.shape), k),
                               rtol=1e-12)
    np.testing.assert_allclose(per_b, np.broadcast_to(g.sum(0), (k,) + g.shape[1:]), rtol=1e-12)
    _, r, _ = world()
    np.testing.assert_array_equal(idx, np.repeat(np.arange(r * k, r * k + k)[:, None], B, 1))


def test_reduce_axes_over_vmap_and_pmap(k):
    _, _, n = world()
    B = 3
    X = global_data((n * k, B, 4), seed=31)
    Y = global_data((n * k, B, 2), seed=32)
    params = _params()
    xl, yl = block(X, k), block(Y, k)

    def inner(reduce_axes):
        return vmap(grad(_loss, reduce_axes=reduce_axes), in_axes=(None, 0, 0), axis_name='b',
                    out_axes=None if reduce_axes else 0)

    both = pmap(inner(('dev', 'b')), axis_name='dev', in_axes=(None, 0, 0),
                out_axes=None)(params, xl, yl)
    for a, b in zip(both, _np_grads(params, X.reshape(-1, 4), Y.reshape(-1, 2))):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    per_dev = pmap(inner(('b',)), axis_name='dev', in_axes=(None, 0, 0))(params, xl, yl)
    for j in range(k):
        for a, b in zip(per_dev, _np_grads(params, xl[j], yl[j])):
            np.testing.assert_allclose(a[j], b, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- replicas stay identical

def test_replicas_bitwise_identical_after_sgd():
    comm, _, n = world()
    k = 2
    X, Y = _data(n, k * 8, seed=40)
    params = _params(seed=41)
    step = pmap(grad(_loss, reduce_axes=('dev',)), axis_name='dev', in_axes=(None, 0, 0),
                out_axes=None)
    xl, yl = block(X.reshape(n * k, 8, 4), k), block(Y.reshape(n * k, 8, 2), k)
    for _ in range(50):
        g = step(params, xl, yl)
        params = [p - 0.01 * gp for p, gp in zip(params, g)]
    blobs = comm.allgather(b"".join(np.ascontiguousarray(p).tobytes() for p in params))
    assert all(b == blobs[0] for b in blobs)
    ref = _np_grads(params, X, Y)   # and they are the right numbers
    g = step(params, xl, yl)
    for a, b in zip(g, ref):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------- finite differences

def test_jvp_vjp_of_pmap_against_finite_differences(k):
    _, _, n = world()
    x = block(global_data((n * k, 3), seed=50), k)
    w = global_data((3,), seed=51)

    def f(w, x):
        return pmap(lambda xi: jnp.sin(xi * w) * pmean(jnp.tanh(xi), 'i') + psum(xi ** 2, 'i'),
                    axis_name='i')(x)
    fd_check(f, [x], [w])


def test_jvp_of_grad_through_pmap(k):
    # Second order: the gradient (with its allreduce) is itself differentiated.
    _, _, n = world()
    X, Y = _data(n, k, seed=60)
    params = _params(seed=61)
    W1 = params[0]

    def total_grad_W1(W1, x, y):
        p = [W1] + params[1:]
        return pmap(grad(_loss, reduce_axes=('dev',)), axis_name='dev', in_axes=(None, 0, 0),
                    out_axes=None)(p, x, y)[0]
    xl, yl = block(X, k), block(Y, k)
    t = global_data(W1.shape, seed=62)
    _, tan = jvp(lambda W: total_grad_W1(W, xl, yl), (W1,), (t,))
    num, = numerical_jvp(lambda W: [total_grad_W1(W, xl, yl)], [W1], [t], 1e-6)
    np.testing.assert_allclose(tan, num, rtol=1e-6, atol=1e-6)


def test_pmap_out_axes_none_is_identical_on_every_rank(k):
    comm, _, n = world()
    g = global_data((n * k, 7), seed=70)
    s = pmap(lambda x: psum(jnp.exp(x) / 3.0, 'i'), axis_name='i', out_axes=None)(block(g, k))
    blobs = comm.allgather(np.ascontiguousarray(s).tobytes())
    assert all(b == blobs[0] for b in blobs)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(TypeError, match="callable"):
        pmap(3)
    with pytest.raises(TypeError, match="axis_name"):
        pmap(lambda x: x, axis_name=3)
    with pytest.raises(TypeError, match="communicator"):
        pmap(lambda x: x, comm="world")(np.ones(2))
    with pytest.raises(ValueError, match="already bound"):
        pmap(lambda x: pmap(lambda y: y, axis_name='i')(x), axis_name='i')(np.ones((1, 1)))


def test_nested_pmap_over_mpi_is_refused():
    _, _, n = world()
    f = pmap(lambda x: pmap(lambda y: y * 2, axis_name='j')(x), axis_name='i')
    if n == 1:   # one process: both maps are local, so nesting is fine
        np.testing.assert_array_equal(f(np.ones((1, 2))), 2 * np.ones((1, 2)))
    else:
        with pytest.raises(NotImplementedError, match="only one pmap level"):
            f(np.ones((1, 2)))


def test_clipped_per_example_total_as_in_dpsgd(k):
    # launch/dpsgd.py's pattern: per-example gradients (local) give clipping factors,
    # then grad of the scaled loss with reduce_axes over the batch and the ranks.
    _, _, n = world()
    B, C = 3, 0.5
    X = global_data((n * k, B, 4), seed=80)
    Y = global_data((n * k, B, 2), seed=81)
    params = _params(seed=82)

    def one(params, x, y):
        g = grad(_loss)(params, x, y)
        norm = jnp.sqrt(sum(jnp.sum(leaf ** 2) for leaf in g))
        scale = jnp.minimum(1.0, C / norm)
        return grad(lambda p: scale * _loss(p, x, y), reduce_axes=('b', 'dev'))(params)
    total = pmap(vmap(one, in_axes=(None, 0, 0), axis_name='b', out_axes=None), axis_name='dev',
                 in_axes=(None, 0, 0), out_axes=None)(params, block(X, k), block(Y, k))
    expect = [np.zeros_like(p) for p in params]
    for x, y in zip(X.reshape(-1, 4), Y.reshape(-1, 2)):
        g = _np_grads(params, x[None], y[None])
        s = min(1.0, C / np.sqrt(sum(np.sum(a ** 2) for a in g)))
        expect = [e + s * a for e, a in zip(expect, g)]
    for a, b in zip(total, expect):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_pmax_gradient_with_ties_across_ranks():
    # One shard per rank; every rank holds the maximum: the gradient is split evenly,
    # as under vmap over the same global axis.
    _, _, n = world()
    g = np.ones((n, 2)) * np.array([3.0, -1.0])
    g[0, 1] = 5.0                                     # column 1: a unique maximum
    from spmdgrad.lax import pmax

    def total(x, mapper):
        return jnp.sum(mapper(lambda v: pmax(v, 'i'), axis_name='i', out_axes=None)(x)
                       * np.array([1.0, 2.0]))
    gp = grad(lambda x: total(x, pmap))(block(g, 1))
    gv = grad(lambda x: total(x, vmap))(g)
    np.testing.assert_allclose(gp, block(gv, 1), rtol=1e-12)
    np.testing.assert_allclose(gv[:, 0], np.full(n, 1.0 / n))


def test_checks_can_be_switched_off_and_on(k):
    from spmdgrad.mpi import checks_enabled, set_checks
    _, _, n = world()
    g = global_data((n * k, 3), seed=90)
    f = pmap(lambda x: psum(x, 'i'), axis_name='i', out_axes=None)
    before = checks_enabled()
    try:
        set_checks(False)
        off = f(block(g, k))
        set_checks(True)
        on = f(block(g, k))
    finally:
        set_checks(before)
    np.testing.assert_array_equal(off, on)
    np.testing.assert_allclose(on, g.sum(0), rtol=1e-12)
