"""Derivatives at ties and zeros, against numbers computed with JAX 0.10.2 (x64).

Smooth functions written with tie-splitting pieces (max/min/abs/where) lose derivatives
exactly at the tie; these tests pin the JAX values there. Where spmdgrad deliberately
differs from JAX at a non-differentiable point, the test says so.
"""
import numpy as np
import pytest

import spmdgrad as sg
import spmdgrad.numpy as jnp
from spmdgrad.test_util import check_grads


def _hess(f, p):
    return sg.hessian(f)(np.asarray(p, dtype=np.float64))


def lae(v):
    return jnp.logaddexp(v[0], v[1])


# ---------------------------------------------------------------- logaddexp

def test_logaddexp_hessian_at_a_tie():
    # Was [[0, 0], [0, 0]]: hi/lo split the tie and log1p(exp(lo - hi)) had zero curvature.
    np.testing.assert_allclose(_hess(lae, [1.0, 1.0]), [[0.25, -0.25], [-0.25, 0.25]], rtol=1e-14)
    np.testing.assert_allclose(_hess(lae, [0.5, 0.5]),
                               [[0.24999999999999997, -0.24999999999999994],
                                [-0.24999999999999994, 0.24999999999999997]], rtol=1e-14)
    np.testing.assert_allclose(sg.grad(lae)(np.array([1.0, 1.0])), [0.5, 0.5], rtol=1e-15)


def test_logaddexp_third_derivative_at_a_tie_is_zero():
    # JAX: entries of order 1e-17 (rounding); the exact value is 0.
    t = sg.jacfwd(sg.hessian(lae))(np.array([0.5, 0.5]))
    np.testing.assert_allclose(t, np.zeros((2, 2, 2)), atol=1e-15)


def test_logaddexp_hessian_with_ties_and_non_ties_in_one_array():
    v = np.array([1.0, 2.0, 0.5, 0.5])
    h = _hess(lambda v: jnp.sum(jnp.logaddexp(v, 2 * v[::-1])), v)
    jax_h = [[0.8465858082813315, 0.0, 0.0, -0.7982929041406657],
             [0.0, 0.31042402876042546, -0.450129914242435, 0.0],
             [0.0, -0.450129914242435, 0.8149007568456632, 0.0],
             [-0.7982929041406657, 0.0, 0.0, 1.1491464520703327]]
    np.testing.assert_allclose(h, jax_h, rtol=1e-13, atol=1e-15)
    check_grads(lambda v: jnp.logaddexp(v, 2 * v[::-1]), (v,), order=2)


def test_logaddexp_batched_hessian_equals_loop():
    pts = np.array([[1.0, 1.0], [2.0, -1.0], [-3.0, -3.0]])
    got = sg.vmap(sg.hessian(lae))(pts)
    for p, g in zip(pts, got, strict=True):
        s = 1 / (1 + np.exp(p[1] - p[0]))
        c = s * (1 - s)  # the Hessian of log(e^x + e^y) is c [[1, -1], [-1, 1]]
        np.testing.assert_allclose(g, c * np.array([[1, -1], [-1, 1]]), rtol=1e-13)


def test_logaddexp_values_and_gradients_at_infinities():
    a = np.array([np.inf, -np.inf, np.inf, 0.0, 3.0])
    b = np.array([np.inf, -np.inf, -np.inf, -50.0, 3.0])
    with np.errstate(all="raise"):
        np.testing.assert_array_equal(jnp.logaddexp(a, b), np.logaddexp(a, b))
        ga, gb = sg.vmap(sg.grad(jnp.logaddexp, argnums=(0, 1)))(a, b)
    # Finite gradients everywhere (JAX gives NaN at equal infinities); tiny terms kept.
    np.testing.assert_allclose(ga, [1, 1, 1, 1, 0.5], rtol=1e-15)
    np.testing.assert_allclose(gb, [0, 0, 0, np.exp(-50) / (1 + np.exp(-50)), 0.5], rtol=1e-14)


# ---------------------------------------------------------------- pow

def xpy(v):
    return v[0] ** v[1]


@pytest.mark.parametrize("point, jax_hessian", [
    ([2.0, 0.0], [[0.0, 0.5], [0.5, 0.4804530139182014]]),
    ([0.5, 0.0], [[0.0, 2.0], [2.0, 0.4804530139182014]]),
    ([3.0, 1.0], [[0.0, 2.09861228866811], [2.09861228866811, 3.620846882437746]]),
    ([0.0, 2.0], [[2.0, 0.0], [0.0, 0.0]]),
])
def test_pow_hessian_is_jax_s_and_symmetric(point, jax_hessian):
    # At y == 0 the mixed derivative was 0 one way and 1/x the other (x**(y-1) was
    # zeroed by a select on y == 0, which also zeroed its y-derivative).
    h = _hess(xpy, point)
    np.testing.assert_allclose(h, jax_hessian, rtol=1e-14)
    np.testing.assert_array_equal(h, h.T)
    h_rev = sg.jacrev(sg.jacrev(xpy))(np.asarray(point))
    np.testing.assert_allclose(h_rev, jax_hessian, rtol=1e-14)


def test_pow_at_zero_zero_is_finite():
    # x**0 is constant: gradient 0 (JAX gives NaN for d/dx at 0**0), no NaN in the Hessian.
    p = np.array([0.0, 0.0])
    with np.errstate(divide="ignore"):
        np.testing.assert_array_equal(sg.grad(xpy)(p), [0.0, 0.0])
        assert np.isfinite(_hess(xpy, p)).all()
        assert np.isfinite(sg.jacrev(sg.grad(xpy))(p)).all()


def test_pow_derivatives_near_y_zero_by_finite_differences():
    check_grads(lambda x, y: x ** y, (np.array([2.0, 0.5, 3.0]), np.array([0.0, 0.0, 1e-3])), order=2)


# ---------------------------------------------------------------- other tie rules, pinned to JAX

def test_max_min_clip_ties_match_jax():
    np.testing.assert_allclose(_hess(lambda v: jnp.clip(v[0] * v[1], 0.0, 1.0) ** 2, [1.0, 1.0]),
                               [[0.5, 1.5], [1.5, 0.5]], rtol=1e-15)
    np.testing.assert_allclose(_hess(lambda v: jnp.maximum(v[0], v[1]) ** 2, [1.0, 1.0]),
                               [[0.5, 0.5], [0.5, 0.5]], rtol=1e-15)
    np.testing.assert_allclose(_hess(lambda v: jnp.max(v * v), [1.0, -1.0]), np.eye(2), rtol=1e-15)
    np.testing.assert_allclose(sg.grad(jnp.max)(np.array([2.0, 2.0, 2.0])), [1 / 3] * 3, rtol=1e-15)
    np.testing.assert_allclose(sg.grad(lambda x: jnp.sort(x) @ np.array([1.0, 2.0, 3.0]))(
        np.array([1.0, 1.0, 0.0])), [2.0, 3.0, 1.0])


def test_abs_at_zero_is_a_documented_difference_from_jax():
    # JAX takes d|x|/dx = 1 at 0; spmdgrad takes sign(0) = 0, the minimum-norm subgradient
    # (docs/decisions.md). Both are subgradients; away from 0 they agree.
    assert sg.grad(jnp.abs)(0.0) == 0.0
    assert sg.grad(jnp.abs)(-2.0) == -1.0
