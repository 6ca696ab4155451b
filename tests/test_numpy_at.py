"""``x.at[idx].min/max/divide/power/apply`` (traced and eager), and eager ``.at`` on
spmdgrad.numpy results (issue 9 section 6)."""

import numpy as np
import pytest

import spmdgrad as sg
import spmdgrad.numpy as jnp
from spmdgrad.test_util import check_grads, loop_vmap

R = np.random.default_rng(3)
X = R.uniform(0.5, 2.0, (4, 3))
IDX = np.array([0, 2, 0, 3])  # a repeated index
V = R.uniform(0.5, 2.0, (4, 3))

UFUNC = {
    "min": np.minimum,
    "max": np.maximum,
    "divide": np.divide,
    "power": np.power,
    "add": np.add,
    "multiply": np.multiply,
}


def reference(how, x, idx, v):
    out = x.copy()
    UFUNC[how].at(out, idx, v)
    return out


@pytest.mark.parametrize("how", sorted(UFUNC))
def test_repeated_indices_match_numpy_ufunc_at(how):
    got = getattr(jnp.asarray(X).at[IDX], how)(V)
    np.testing.assert_allclose(got, reference(how, X, IDX, V), rtol=1e-12)


@pytest.mark.parametrize("how", ["min", "max", "divide", "power"])
def test_derivatives_vmap_jit(how):
    f = lambda x, v: getattr(jnp.asarray(x).at[IDX], how)(v)  # noqa: E731
    check_grads(f, [X, V], order=2 if how in ("divide", "power") else 1)
    xs, vs = np.stack([X, X * 1.5]), np.stack([V, V[::-1]])
    np.testing.assert_allclose(sg.vmap(f)(xs, vs), loop_vmap(f, 0, xs, vs))
    np.testing.assert_allclose(sg.vmap(f, in_axes=(None, 0))(X, vs), loop_vmap(f, (None, 0), X, vs))
    np.testing.assert_allclose(sg.jit(f)(X, V), f(X, V))


def test_min_with_traced_indices_and_slices():
    f = lambda x, i: jnp.asarray(x).at[i, 1:].min(-x[0, 1:])  # noqa: E731
    got = sg.vmap(f, in_axes=(None, 0))(X, np.array([0, 3]))
    np.testing.assert_allclose(got, loop_vmap(f, (None, 0), X, np.array([0, 3])))
    check_grads(lambda x: f(x, 2), [X])


def test_ties_share_the_derivative():
    # x[0] = 1 and the update 1 tie: minimum splits the derivative evenly, as jnp.minimum.
    g = sg.grad(lambda x, v: x.at[0].min(v).sum(), argnums=(0, 1))(np.array([1.0, 2.0]), 1.0)
    np.testing.assert_allclose(g[0], [0.5, 1.0])
    assert g[1] == 0.5


def test_apply():
    f = lambda x: jnp.asarray(x).at[IDX[:2]].apply(jnp.sin)  # noqa: E731
    want = X.copy()
    want[IDX[:2]] = np.sin(X[IDX[:2]])
    np.testing.assert_allclose(f(X), want)
    check_grads(f, [X])


def test_eager_at_on_results_stays_a_numpy_array():
    z = jnp.zeros(3).at[0].set(1.0)
    assert isinstance(z, np.ndarray)
    np.testing.assert_array_equal(z, [1.0, 0.0, 0.0])
    z2 = z.at[1].add(2.0).at[2].max(5.0).at[0].divide(4.0)  # chained, as in JAX code
    np.testing.assert_array_equal(z2, [0.25, 2.0, 5.0])
    np.testing.assert_array_equal(z, [1.0, 0.0, 0.0])  # functional: z itself is unchanged
    for made in (
        jnp.ones((2, 2)),
        jnp.arange(4.0),
        jnp.asarray([1.0, 2.0]),
        jnp.dot(np.ones((2, 2)), np.ones(2)),
        jnp.split(np.arange(4.0), 2)[1],
        jnp.exp(np.zeros(2)),
    ):
        assert isinstance(made, np.ndarray) and hasattr(made, "at"), type(made)
    assert repr(jnp.zeros(2)) == "array([0., 0.])"
    assert isinstance(jnp.sum(np.ones(3)), np.float64)  # 0-d results stay NumPy scalars


def test_at_of_plain_numpy_array_via_function():
    np.testing.assert_array_equal(jnp.at(np.zeros(3))[1].set(2.0), [0.0, 2.0, 0.0])


def test_jnp_ndarray_matches_arrays_and_traced_values():
    seen = []
    f = lambda x: seen.append(isinstance(x, jnp.ndarray)) or x * 2  # noqa: E731
    sg.vmap(f)(np.ones((2, 2)))
    sg.jit(f)(np.ones(2))
    sg.grad(lambda x: f(x).sum())(np.ones(2))
    assert seen == [True, True, True]
    assert isinstance(np.ones(2), jnp.ndarray) and not isinstance(1.0, jnp.ndarray)
    assert issubclass(np.ndarray, jnp.ndarray)
    with pytest.raises(TypeError, match="cannot be instantiated"):
        jnp.ndarray((2,))


def test_jax_keywords_of_at():
    x = jnp.zeros(3)
    np.testing.assert_array_equal(x.at[1].set(2.0, unique_indices=True, indices_are_sorted=True), [0, 2, 0])
    np.testing.assert_array_equal(x.at[1].get(mode="promise_in_bounds"), 0.0)
    with pytest.raises(NotImplementedError, match=r"at\[...\].set: mode='drop'"):
        x.at[5].set(1.0, mode="drop")
    with pytest.raises(TypeError, match="unexpected keyword arguments"):
        x.at[0].add(1.0, bogus=True)
