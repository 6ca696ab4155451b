"""dynamic_slice and dynamic_update_slice (and their _in_dim forms): JAX's clamping,
derivatives against finite differences, vmap against loops at every in_axes, jit."""
import itertools

import numpy as np
import pytest

import spmdgrad
import spmdgrad.numpy as jnp
from spmdgrad import lax
from spmdgrad.test_util import check_grads, loop_vmap

rng = np.random.default_rng(0)
X = np.arange(20.0).reshape(4, 5)


def np_slice(x, starts, sizes):
    """Reference: wrap negative starts once, clamp into bounds (JAX's semantics)."""
    begin = []
    for s, d, n in zip(starts, x.shape, sizes):
        s = s + d if s < 0 else s
        begin.append(min(max(s, 0), d - n))
    return x[tuple(slice(b, b + n) for b, n in zip(begin, sizes))], begin


def test_clamping_matches_jax():
    # Stored from jax 0.10.2.
    assert lax.dynamic_slice(X, (-1, 3), (2, 3)).tolist() == [[12.0, 13.0, 14.0], [17.0, 18.0, 19.0]]
    assert lax.dynamic_slice(X, (2, -7), (2, 2)).tolist() == [[10.0, 11.0], [15.0, 16.0]]
    assert lax.dynamic_update_slice(X, -np.ones((2, 2)), (5, -1)).tolist() == [
        [0.0, 1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0, 9.0],
        [10.0, 11.0, 12.0, -1.0, -1.0], [15.0, 16.0, 17.0, -1.0, -1.0]]
    with pytest.raises(ValueError, match="allow_negative_indices=False"):
        lax.dynamic_slice(X, (-1, 3), (2, 3), allow_negative_indices=False)


@pytest.mark.parametrize("starts", list(itertools.product([-9, -2, 0, 1, 3, 8], [-1, 2, 6])))
def test_forward_against_reference(starts):
    ref, begin = np_slice(X, starts, (2, 3))
    assert np.array_equal(lax.dynamic_slice(X, starts, (2, 3)), ref)
    upd = -np.arange(6.0).reshape(2, 3)
    want = X.copy()
    want[begin[0]:begin[0] + 2, begin[1]:begin[1] + 3] = upd
    assert np.array_equal(lax.dynamic_update_slice(X, upd, starts), want)
    # A 1-d index array works like a sequence of scalars.
    assert np.array_equal(lax.dynamic_slice(X, np.array(starts), (2, 3)), ref)


def test_in_dim_forms():
    assert np.array_equal(lax.dynamic_slice_in_dim(X, 3, 2, axis=1), X[:, 3:5])
    assert np.array_equal(lax.dynamic_slice_in_dim(X, 3, 2), X[2:4])        # clamped
    assert np.array_equal(lax.dynamic_index_in_dim(X, -1, axis=1), X[:, 4:5])
    assert np.array_equal(lax.dynamic_index_in_dim(X, 2, keepdims=False), X[2])
    want = X.copy()
    want[:, 1:3] = 0.0
    assert np.array_equal(lax.dynamic_update_slice_in_dim(X, np.zeros((4, 2)), 1, axis=1), want)
    want = X.copy()
    want[3] = 1.0
    assert np.array_equal(lax.dynamic_update_index_in_dim(X, np.ones(5), -1, axis=0), want)
    assert np.array_equal(lax.dynamic_update_index_in_dim(X, np.ones((1, 5)), 3, axis=0), want)


def test_grads():
    x, u = rng.normal(size=(4, 5)), rng.normal(size=(2, 3))
    for i, j in [(0, 0), (3, -1), (-2, 9)]:
        check_grads(lambda x, i=i, j=j: lax.dynamic_slice(x, (i, j), (2, 3)), (x,), order=2)
        check_grads(lambda x, u, i=i, j=j: lax.dynamic_update_slice(x, u, (i, j)), (x, u), order=2)
    check_grads(lambda x: lax.dynamic_index_in_dim(x, 2, axis=1, keepdims=False), (x,))
    check_grads(lambda x, u: lax.dynamic_update_index_in_dim(x, u, 1, 1), (x, u[:, 0].repeat(2)))
    # Traced start indices (concrete under grad).
    f = lambda x, i: jnp.sum(lax.dynamic_slice(x, (i, 1), (2, 2)) ** 2)
    g = spmdgrad.grad(f)(x, np.int64(3))
    want = np.zeros_like(x)
    want[2:4, 1:3] = 2 * x[2:4, 1:3]
    assert np.allclose(g, want)


@pytest.mark.parametrize("in_axes", [(0, None), (None, 0), (0, 0)])
def test_vmap_dynamic_slice(in_axes):
    xs, idx = rng.normal(size=(6, 4, 5)), np.array([0, 3, -1, 7, 2, -9])
    x = xs if in_axes[0] == 0 else xs[0]
    i = idx if in_axes[1] == 0 else np.int64(-2)
    f = lambda x, i: lax.dynamic_slice(x, (i, 1), (2, 3))
    assert np.allclose(spmdgrad.vmap(f, in_axes)(x, i), loop_vmap(f, in_axes, x, i))
    g = spmdgrad.grad(lambda x, i: jnp.sum(jnp.sin(f(x, i))))
    assert np.allclose(spmdgrad.vmap(g, in_axes)(x, i), loop_vmap(g, in_axes, x, i))
    assert np.allclose(spmdgrad.jit(spmdgrad.vmap(f, in_axes))(x, i), loop_vmap(f, in_axes, x, i))


@pytest.mark.parametrize("in_axes", list(itertools.product([0, None], [0, None], [0, None]))[:-1])
def test_vmap_dynamic_update_slice(in_axes):
    xs, us, idx = rng.normal(size=(6, 4, 5)), rng.normal(size=(6, 2, 3)), np.array([0, 3, -1, 7, 2, -9])
    args = [a if ax == 0 else a[0] for a, ax in zip((xs, us, idx), in_axes)]
    f = lambda x, u, i: lax.dynamic_update_slice(x, u, (1, i))
    assert np.allclose(spmdgrad.vmap(f, in_axes)(*args), loop_vmap(f, in_axes, *args))
    g = spmdgrad.grad(lambda x, u, i: jnp.sum(jnp.sin(f(x, u, i)) * np.arange(5.0)), argnums=(0, 1))
    for a, b in zip(spmdgrad.vmap(g, in_axes)(*args), loop_vmap(g, in_axes, *args)):
        assert np.allclose(a, b)


def test_jit_and_jaxpr():
    f = lambda x, i: lax.dynamic_update_slice(x, lax.dynamic_slice(x, (i, 0), (1, 5)) * 2.0, (0, 0))
    for i in (0, 2, 9):
        assert np.allclose(spmdgrad.jit(f)(X, np.int64(i)), f(X, np.int64(i)))
    text = str(spmdgrad.make_jaxpr(f)(X, np.int64(1)))
    assert "dynamic_slice" in text and "dynamic_update_slice" in text


def test_errors():
    with pytest.raises(TypeError, match="start indices for an operand of rank 2"):
        lax.dynamic_slice(X, (1,), (2, 2))
    with pytest.raises(TypeError, match="integer"):
        lax.dynamic_slice(X, (1.0, 0), (2, 2))
    with pytest.raises(TypeError, match="slice sizes"):
        lax.dynamic_slice(X, (0, 0), (5, 2))
    with pytest.raises(TypeError, match="rank and dtype"):
        lax.dynamic_update_slice(X, np.ones((2, 2), np.float32), (0, 0))
    with pytest.raises(ValueError, match="axis 2 is out of bounds"):
        lax.dynamic_slice_in_dim(X, 0, 1, axis=2)
