"""Results that JAX defines (padding conventions, ties, derivatives at special points),
against numbers computed once with JAX 0.10.2 (x64) and stored here."""

import numpy as np

import spmdgrad as sg
import spmdgrad.numpy as jnp


def test_size_padding_conventions():
    x = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]])
    got = jnp.nonzero(x, size=4, fill_value=-1)
    np.testing.assert_array_equal(got[0], [0, 1, 1, -1])
    np.testing.assert_array_equal(got[1], [1, 0, 2, -1])
    u = np.array([3.0, 1, 3, 2])
    np.testing.assert_array_equal(jnp.unique(u, size=5), [1.0, 2, 3, 1, 1])  # pads with the minimum
    np.testing.assert_array_equal(jnp.unique(u, size=5, fill_value=0.0), [1.0, 2, 3, 0, 0])


def test_at_min_max_divide_power_with_repeated_indices():
    x, idx, v = np.array([1.0, 2, 3, 4]), np.array([0, 2, 0]), np.array([0.5, 5.0, 0.25])
    a = jnp.asarray(x)
    np.testing.assert_allclose(a.at[idx].min(v), [0.25, 2, 3, 4])
    np.testing.assert_allclose(a.at[idx].max(v), [1.0, 2, 5, 4])
    np.testing.assert_allclose(a.at[idx].divide(v), [8.0, 2, 0.6, 4])
    np.testing.assert_allclose(a.at[idx].power(v), [1.0, 2, 243, 4])
    for how, gx, gv in [("min", [0, 1, 1, 1], [0, 0, 1]), ("max", [1, 1, 0, 1], [0, 1, 0])]:
        g = sg.grad(lambda x, v: getattr(jnp.asarray(x).at[idx], how)(v).sum(), argnums=(0, 1))(x, v)
        np.testing.assert_allclose(g[0], gx)
        np.testing.assert_allclose(g[1], gv)


def test_derivatives_at_special_points():
    assert sg.grad(jnp.sinc)(0.0) == 0.0
    np.testing.assert_allclose(sg.grad(sg.grad(jnp.sinc))(0.0), -3.2898681336964524, rtol=1e-12)
    np.testing.assert_allclose(sg.grad(jnp.sinc)(0.5), -1.2732395447351625, rtol=1e-12)
    np.testing.assert_allclose(sg.grad(jnp.hypot, argnums=(0, 1))(3.0, 4.0), (0.6, 0.8))
    np.testing.assert_allclose(sg.grad(jnp.fmax, argnums=(0, 1))(1.0, 1.0), (0.0, 1.0))
    np.testing.assert_allclose(sg.grad(jnp.fmin, argnums=(0, 1))(1.0, 1.0), (0.0, 1.0))
    np.testing.assert_allclose(sg.grad(jnp.cbrt)(8.0), 0.08333333333333333)
    np.testing.assert_allclose(sg.grad(jnp.copysign, argnums=(0, 1))(-2.0, 3.0), (-1.0, 0.0))
    np.testing.assert_allclose(sg.grad(jnp.heaviside, argnums=(0, 1))(0.0, 0.3), (0.0, 1.0))
    np.testing.assert_allclose(
        sg.grad(lambda x: jnp.nan_to_num(x).sum())(np.array([1.0, np.nan, np.inf])), [1.0, 0, 0]
    )
    np.testing.assert_allclose(sg.grad(jnp.nanmax)(np.array([1.0, np.nan, 3.0])), [0.0, 0, 1])
    np.testing.assert_allclose(
        sg.grad(lambda x, y: jnp.angle(x + 1j * y), argnums=(0, 1))(1.0, 2.0), (-0.4, 0.2)
    )
    np.testing.assert_allclose(sg.grad(jnp.logaddexp2, argnums=(0, 1))(1.0, 1.0), (0.5, 0.5))
    np.testing.assert_allclose(sg.grad(jnp.fmod, argnums=(0, 1))(5.3, 2.0), (1.0, -2.0))
    xp, fp = np.array([0.0, 1, 2.5, 4]), np.array([1.0, 3, 2, 0])
    np.testing.assert_allclose(sg.grad(lambda x: jnp.interp(x, xp, fp))(1.7), -0.6666666666666666)


def test_quantiles_and_sorting_follow_the_stable_permutation():
    a = np.array([3.0, 1, 4, 1, 5])
    np.testing.assert_allclose(jnp.quantile(a, 0.3), 1.4)
    np.testing.assert_allclose(sg.grad(lambda a: jnp.quantile(a, 0.3))(a), [0.2, 0, 0, 0.8, 0])
    np.testing.assert_allclose(sg.grad(jnp.median)(np.array([3.0, 1, 4, 2])), [0.5, 0, 0, 0.5])
    np.testing.assert_array_equal(jnp.argsort(np.array([1.0, 3, 1, 2, 3]), descending=True), [1, 4, 3, 0, 2])
    np.testing.assert_array_equal(
        jnp.searchsorted(np.array([1.0, 2, 3]), np.array([2.0, 2.5]), side="right"), [2, 2]
    )
    # JAX's partition gives [1, 2, 3, 5, 4]; spmdgrad sorts fully: the same kth entry and sides.
    p = jnp.partition(np.array([5.0, 1, 4, 2, 3]), 2)
    assert p[2] == 3.0 and set(p[:2]) == {1.0, 2.0} and set(p[3:]) == {4.0, 5.0}


def test_gradient_with_coordinates():
    np.testing.assert_allclose(
        jnp.gradient(np.array([1.0, 4, 9, 16, 25]), np.array([0.0, 1, 1.5, 3, 4])),
        [3.0, 7.66666667, 8.66666667, 7.26666667, 9.0],
        rtol=1e-8,
    )
