"""Composition to any order: grad of grad, hessian, jacfwd/jacrev, jvp/vjp/linearize,
make_jaxpr's typed output, and grad/vmap interleavings.

References: closed forms, central finite differences (check_grads), Python loops.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import spmdgrad.numpy as jnp
from spmdgrad import (custom_vjp, grad, hessian, jacfwd, jacrev, jvp, linearize, make_jaxpr,
                      value_and_grad, vjp, vmap)
from spmdgrad.core import ShapedArray
from spmdgrad.lax import psum
from spmdgrad.test_util import check_grads, loop_vmap


def fd_jac(f, x, eps=1e-6):
    """Central-difference Jacobian of f: R^n -> R^m (arrays), shape out.shape + x.shape."""
    x = np.asarray(x, dtype=float)
    cols = []
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = eps
        cols.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * eps))
    out_shape = np.shape(f(x))
    return np.stack(cols, axis=-1).reshape(out_shape + x.shape)


# --------------------------------------------------------------------------- grad of grad

@settings(max_examples=20, deadline=None)
@given(st.floats(-2.0, 2.0))
def test_third_derivatives_closed_forms(x):
    d3 = grad(grad(grad(jnp.sin)))(x)
    assert d3 == pytest.approx(-np.cos(x), abs=1e-12)
    assert grad(grad(grad(lambda x: x ** 4)))(x) == pytest.approx(24 * x, abs=1e-10)
    t = np.tanh(x)
    assert grad(grad(grad(jnp.tanh)))(x) == pytest.approx((1 - t ** 2) * (6 * t ** 2 - 2),
                                                          abs=1e-10)
    e = grad(grad(grad(lambda x: jnp.exp(x) * jnp.sin(x))))(x)
    # (e^x sin x)''' = 2 e^x (cos x - sin x)
    assert e == pytest.approx(2 * np.exp(x) * (np.cos(x) - np.sin(x)), rel=1e-10, abs=1e-10)


def test_third_derivative_against_finite_differences():
    f = lambda x: jnp.log(1.0 + x ** 2) * jnp.cos(x)  # noqa: E731
    d2 = grad(grad(f))
    for x in (-1.3, 0.2, 0.9):
        h = 1e-5
        fd = (d2(x + h) - d2(x - h)) / (2 * h)
        assert grad(d2)(x) == pytest.approx(fd, rel=1e-6, abs=1e-7)


def test_fourth_order_polynomial_vanishes_at_fifth():
    p = lambda x: 3.0 * x ** 4 - x ** 3 + 2.0 * x  # noqa: E731
    d4 = grad(grad(grad(grad(p))))
    assert d4(0.7) == pytest.approx(72.0)
    assert grad(d4)(0.7) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("f, xshape, yshape", [
    (lambda x, y: jnp.sum(jnp.sin(x) * y ** 2), (2, 3), (2, 3)),
    (lambda x, y: jnp.sum(jnp.tanh(x @ y)), (2, 3), (3, 2)),
    (lambda x, y: jnp.exp(-x * x) / (1.0 + y * y), (3,), (3,)),
])
def test_check_grads_third_order(f, xshape, yshape, rng):
    x = rng.standard_normal(xshape) * 0.5
    y = rng.standard_normal(yshape) * 0.5
    check_grads(f, (x, y), order=3, rtol=1e-4, atol=1e-5, eps=1e-4)


def test_grad_of_grad_with_argnums_mixed_partials():
    f = lambda x, y: x ** 3 * y ** 2 + jnp.sin(x * y)  # noqa: E731
    x, y = 0.4, -1.1
    dxy = grad(grad(f, argnums=0), argnums=1)(x, y)
    dyx = grad(grad(f, argnums=1), argnums=0)(x, y)
    expected = 6 * x ** 2 * y + np.cos(x * y) - x * y * np.sin(x * y)
    assert dxy == pytest.approx(expected) and dyx == pytest.approx(expected)


def test_complex_second_order():
    z = 1 + 2j
    np.testing.assert_allclose(grad(grad(jnp.sin, holomorphic=True), holomorphic=True)(z),
                               -np.sin(z), rtol=1e-14)
    # L = Re(z^3 conj z) = x^4 - y^4: grad L = 4x^3 + 4i y^3 (conjugate convention),
    # and grad of Re(grad L) = grad 4x^3 = 12 x^2.
    np.testing.assert_allclose(grad(lambda z: jnp.real(z ** 3 * jnp.conj(z)))(z), 4 + 32j)
    g2 = grad(lambda w: jnp.real(grad(lambda z: jnp.real(z ** 3 * jnp.conj(z)))(w)))(z)
    np.testing.assert_allclose(g2, 12.0 + 0j)


def test_value_and_grad_of_grad():
    v, g = value_and_grad(grad(jnp.sin))(0.3)
    assert v == pytest.approx(np.cos(0.3)) and g == pytest.approx(-np.sin(0.3))


# --------------------------------------------------------------------------- Jacobians, Hessians

def quad_sin(x):
    a = np.array([[2.0, 1.0, 0.0], [0.5, 3.0, -1.0], [0.0, 1.0, 1.0]])
    return 0.5 * x @ (a @ x) + jnp.sum(jnp.sin(x))


def test_hessian_closed_form():
    a = np.array([[2.0, 1.0, 0.0], [0.5, 3.0, -1.0], [0.0, 1.0, 1.0]])
    x = np.array([0.3, -0.4, 1.2])
    expected = 0.5 * (a + a.T) + np.diag(-np.sin(x))
    for h in (hessian(quad_sin), jacfwd(jacrev(quad_sin)), jacrev(jacfwd(quad_sin)),
              jacrev(jacrev(quad_sin)), jacfwd(jacfwd(quad_sin))):
        np.testing.assert_allclose(h(x), expected, rtol=1e-12, atol=1e-12)


def test_jacobians_against_finite_differences(rng):
    def f(x):
        return jnp.stack([jnp.sum(x ** 2) * x[0], jnp.sin(x[1]) * x[2], jnp.prod(jnp.tanh(x))])
    x = rng.standard_normal(4)
    ref = fd_jac(f, x)
    np.testing.assert_allclose(jacfwd(f)(x), ref, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(jacrev(f)(x), ref, rtol=1e-6, atol=1e-8)


def test_jacobian_shapes_of_matrix_functions(rng):
    f = lambda m: jnp.tanh(m) @ m.T  # noqa: E731
    m = rng.standard_normal((2, 3))
    for jac in (jacfwd(f), jacrev(f)):
        j = jac(m)
        assert j.shape == (2, 2, 2, 3)
        np.testing.assert_allclose(j, fd_jac(f, m), rtol=1e-6, atol=1e-8)


def test_jacobians_with_pytrees_and_argnums(rng):
    def f(p, s):
        return {"u": p["a"] * s, "v": jnp.sum(p["a"] ** 2)}
    a = rng.standard_normal(3)
    for jac in (jacfwd, jacrev):
        j = jac(f)({"a": a}, 2.0)
        np.testing.assert_allclose(j["u"]["a"], 2.0 * np.eye(3))
        np.testing.assert_allclose(j["v"]["a"], 2 * a)
        ja, js = jac(f, argnums=(0, 1))({"a": a}, 2.0)["u"]
        np.testing.assert_allclose(ja["a"], 2.0 * np.eye(3))
        np.testing.assert_allclose(js, a)


def test_hessian_with_argnums():
    f = lambda a, b: jnp.sum(a ** 2 * b ** 3)  # noqa: E731
    a, b = np.array([0.5, -1.0]), np.array([1.5, 2.0])
    np.testing.assert_allclose(hessian(f, argnums=1)(a, b), np.diag(6 * a ** 2 * b))
    (haa, hab), (hba, hbb) = hessian(f, argnums=(0, 1))(a, b)
    np.testing.assert_allclose(haa, np.diag(2 * b ** 3))
    np.testing.assert_allclose(hab, np.diag(6 * a * b ** 2))
    np.testing.assert_allclose(hba, np.diag(6 * a * b ** 2))
    np.testing.assert_allclose(hbb, np.diag(6 * a ** 2 * b))


def test_hessian_of_float32_stays_float32():
    h = hessian(lambda x: jnp.sum(x ** 3))(np.array([1.0, 2.0], np.float32))
    assert h.dtype == np.float32
    np.testing.assert_allclose(h, np.diag([6.0, 12.0]))


# --------------------------------------------------------------------------- jvp, vjp, linearize

def test_jvp_against_finite_differences(rng):
    f = lambda x, y: jnp.sin(x) * jnp.exp(y)  # noqa: E731
    x, y = rng.standard_normal(3), rng.standard_normal(3)
    tx, ty = rng.standard_normal(3), rng.standard_normal(3)
    out, t_out = jvp(f, (x, y), (tx, ty))
    np.testing.assert_allclose(out, np.sin(x) * np.exp(y))
    eps = 1e-6
    fd = (np.asarray(f(x + eps * tx, y + eps * ty)) - np.asarray(f(x - eps * tx, y - eps * ty))) / (2 * eps)
    np.testing.assert_allclose(t_out, fd, rtol=1e-6, atol=1e-9)


def test_jvp_of_jvp_is_second_directional_derivative():
    f = lambda x: jnp.sin(x) * x  # noqa: E731
    d1 = lambda x: jvp(f, (x,), (1.0,))[1]  # noqa: E731
    _, d2 = jvp(d1, (0.8,), (1.0,))
    assert d2 == pytest.approx(2 * np.cos(0.8) - 0.8 * np.sin(0.8))


def test_vjp_of_vjp_and_pytree_cotangents():
    y, f_vjp = vjp(lambda p: {"s": jnp.sin(p[0]) * p[1]}, (0.5, 2.0))
    (g,) = f_vjp({"s": 1.0})
    assert g == pytest.approx((2.0 * np.cos(0.5), np.sin(0.5)))
    # Differentiate the pullback with respect to the primal point.
    h = grad(lambda x: vjp(jnp.sin, x)[1](1.0)[0])(0.5)
    assert h == pytest.approx(-np.sin(0.5))
    # and with respect to the cotangent (it is linear: the derivative is the VJP itself)
    c = grad(lambda ct: vjp(jnp.sin, 0.5)[1](ct)[0])(3.0)
    assert c == pytest.approx(np.cos(0.5))


def test_linearize_matches_jvp(rng):
    f = lambda x: jnp.tanh(x) * jnp.sum(x ** 2)  # noqa: E731
    x = rng.standard_normal(4)
    y, f_jvp = linearize(f, x)
    np.testing.assert_allclose(y, np.tanh(x) * np.sum(x ** 2))
    for _ in range(3):
        t = rng.standard_normal(4)
        np.testing.assert_allclose(f_jvp(t), jvp(f, (x,), (t,))[1], rtol=1e-12)
    np.testing.assert_allclose(f_jvp(2.0 * t), 2.0 * f_jvp(t), rtol=1e-12)


# --------------------------------------------------------------------------- make_jaxpr types

def test_make_jaxpr_prints_vma_types():
    w = ShapedArray((3,), "float64")
    x = ShapedArray((3,), "float64", frozenset({"batch"}))
    text = str(make_jaxpr(lambda w, x: psum(jnp.sin(w * x), "batch"),
                          axis_env=[("batch", 4)])(w, x))
    lines = text.splitlines()
    assert "a:f64[3] b:f64[3]{batch}" in lines[0]
    assert any("f64[3]{batch} = mul" in ln for ln in lines)
    assert any("f64[3]{batch} = sin" in ln for ln in lines)
    assert any(ln.endswith("f64[3] = psum[axes=('batch',)] " + ln.split()[-1]) for ln in lines)


def test_make_jaxpr_of_grad_with_reduce_axes_ends_in_psum():
    w = ShapedArray((3,), "float64")
    x = ShapedArray((3,), "float64", frozenset({"batch"}))
    loss = lambda w, x: jnp.sum(jnp.sin(w * x))  # noqa: E731
    total = str(make_jaxpr(grad(loss, reduce_axes=("batch",)), axis_env=[("batch", 4)])(w, x))
    per = str(make_jaxpr(grad(loss), axis_env=[("batch", 4)])(w, x))
    assert "psum[axes=('batch',)]" in total and "psum" not in per
    assert "cos" in total and "cos" in per
    # the per-example gradient keeps the batch annotation; the total drops it
    assert total.splitlines()[-2].split("=")[0].strip().endswith("f64[3]")
    assert per.splitlines()[-2].split("=")[0].strip().endswith("f64[3]{batch}")


def test_make_jaxpr_of_concrete_arguments():
    text = str(make_jaxpr(lambda x: jnp.sum(jnp.cos(x)))(np.ones((2, 3), np.float32)))
    assert "f32[2,3]" in text and "f32[]" in text


# --------------------------------------------------------------------------- grad and vmap

def test_vmap_of_third_derivative_matches_loop():
    xs = np.linspace(-1.5, 1.5, 7)
    f = lambda x: jnp.sin(x) * jnp.exp(0.5 * x)  # noqa: E731
    d3 = grad(grad(grad(f)))
    np.testing.assert_allclose(vmap(d3)(xs), loop_vmap(d3, 0, xs), rtol=1e-12)


def test_second_derivative_of_a_vmapped_sum():
    xs = np.array([0.2, -0.5, 1.1])
    g2 = grad(grad(lambda s: jnp.sum(vmap(lambda x: jnp.sin(s * x))(xs))))(0.7)
    assert g2 == pytest.approx(np.sum(-xs ** 2 * np.sin(0.7 * xs)))


def test_hessian_of_vmap_and_vmap_of_hessian(rng):
    def f(row):
        return jnp.sum(row ** 3) + row[0] * row[1]
    xs = rng.standard_normal((4, 2))
    per = vmap(hessian(f))(xs)
    np.testing.assert_allclose(per, loop_vmap(hessian(f), 0, xs), rtol=1e-12)
    np.testing.assert_allclose(per[1], np.diag(6 * xs[1]) + np.array([[0, 1], [1, 0]]))
    total = hessian(lambda m: jnp.sum(vmap(f)(m)))(xs)
    assert total.shape == (4, 2, 4, 2)
    for i in range(4):
        np.testing.assert_allclose(total[i, :, i, :], per[i], rtol=1e-12)
        for j in range(4):
            if j != i:
                assert np.all(total[i, :, j, :] == 0)


def test_jacrev_and_jacfwd_of_vmap(rng):
    m = rng.standard_normal((3, 2))
    f = vmap(lambda r: jnp.tanh(r) * r[0])
    ref = fd_jac(f, m)
    np.testing.assert_allclose(jacrev(f)(m), ref, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(jacfwd(f)(m), ref, rtol=1e-6, atol=1e-8)


def test_per_example_and_total_second_order_with_named_axis():
    x = np.array([0.3, -0.7, 1.4])
    loss = lambda w, x: jnp.sin(w * x)  # noqa: E731
    per = vmap(grad(grad(loss)), in_axes=(None, 0), axis_name="b")(0.5, x)
    np.testing.assert_allclose(per, -x ** 2 * np.sin(0.5 * x))
    tot = vmap(grad(grad(loss, reduce_axes=("b",)), reduce_axes=("b",)), in_axes=(None, 0),
               axis_name="b", out_axes=None)(0.5, x)
    assert tot == pytest.approx(np.sum(-x ** 2 * np.sin(0.5 * x)))


def test_grad_of_vmap_of_grad(rng):
    xs = rng.standard_normal(5)
    # d/dw sum_i d/dx [sin(w x)]_{x=x_i} = sum_i (cos(w x_i) - w x_i sin(w x_i))
    g = grad(lambda w: jnp.sum(vmap(grad(lambda x: jnp.sin(w * x)))(xs)))(0.8)
    assert g == pytest.approx(np.sum(np.cos(0.8 * xs) - 0.8 * xs * np.sin(0.8 * xs)))


# --------------------------------------------------------------------------- custom_vjp at order 2

@custom_vjp
def soft_clip(x):
    return jnp.tanh(x)


def _soft_clip_fwd(x):
    return soft_clip(x), x


def _soft_clip_bwd(x, ct):
    # Deliberately not the derivative of tanh: d/dx = exp(-x^2), so the custom
    # rule is visible at every order.
    return (jnp.exp(-x * x) * ct,)


soft_clip.defvjp(_soft_clip_fwd, _soft_clip_bwd)


def test_custom_vjp_inside_grad_of_grad():
    for x in (-0.6, 0.1, 1.3):
        assert grad(soft_clip)(x) == pytest.approx(np.exp(-x * x))
        assert grad(grad(soft_clip))(x) == pytest.approx(-2 * x * np.exp(-x * x))
        assert grad(grad(grad(soft_clip)))(x) == pytest.approx((4 * x * x - 2) * np.exp(-x * x))


def test_custom_vjp_second_order_under_vmap_and_hessian():
    xs = np.array([-0.6, 0.1, 1.3])
    np.testing.assert_allclose(vmap(grad(grad(soft_clip)))(xs), -2 * xs * np.exp(-xs * xs))
    h = hessian(lambda x: jnp.sum(soft_clip(x)))(xs)
    np.testing.assert_allclose(h, np.diag(-2 * xs * np.exp(-xs * xs)), atol=1e-15)
    g2 = grad(lambda x: jnp.sum(grad(lambda y: jnp.sum(vmap(soft_clip)(y)))(x)))(xs)
    np.testing.assert_allclose(g2, -2 * xs * np.exp(-xs * xs))
