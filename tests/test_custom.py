"""custom_jvp, custom_vjp and stop_gradient.

Every custom rule here is deliberately *different* from autodiff of the function
(a stable formula, a clipped or scaled gradient), so a test can see that the rule
was used: under grad, jvp, jacfwd/jacrev, hessian, vmap, grad of vmap, vmap of
grad, pmap, and at second order. References are closed forms and Python loops.
"""
import functools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import spmdgrad
import spmdgrad.numpy as jnp
from spmdgrad import (custom_jvp, custom_vjp, grad, hessian, jacfwd, jacrev, jvp, linearize,
                      make_jaxpr, pmap, stop_gradient, value_and_grad, vjp, vmap)
from spmdgrad.dtypes import float0
from spmdgrad.lax import psum
from spmdgrad.test_util import loop_vmap


# --------------------------------------------------------------------------- custom_jvp fixtures

@custom_jvp
def log1pexp(x):
    return jnp.log(1.0 + jnp.exp(x))


@log1pexp.defjvp
def _log1pexp_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return log1pexp(x), t * (1.0 - 1.0 / (1.0 + jnp.exp(x)))


def naive_log1pexp(x):
    return jnp.log(1.0 + jnp.exp(x))


@custom_jvp
def double_sin(x):
    """sin(x) whose declared derivative is 2 cos(x): a valid rule for a different
    function, so using it is observable at every order."""
    return jnp.sin(x)


@double_sin.defjvp
def _double_sin_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return double_sin(x), 2.0 * jnp.cos(x) * t


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# --------------------------------------------------------------------------- custom_jvp

def test_stable_rule_is_used_where_autodiff_overflows():
    with np.errstate(over="ignore", invalid="ignore"):
        assert np.isnan(grad(naive_log1pexp)(1000.0))
        assert grad(log1pexp)(1000.0) == 1.0
    for x in (-3.0, 0.0, 2.5):
        assert grad(log1pexp)(x) == pytest.approx(sigmoid(x), rel=1e-14)
        assert log1pexp(x) == pytest.approx(np.log1p(np.exp(x)))


def test_custom_jvp_rule_in_every_mode():
    x = np.array([0.1, 0.5, -1.2])
    d = 2.0 * np.cos(x)
    np.testing.assert_allclose(double_sin(x), np.sin(x))
    np.testing.assert_allclose(grad(lambda x: jnp.sum(double_sin(x)))(x), d)
    out, t = jvp(double_sin, (x,), (np.ones(3),))
    np.testing.assert_allclose(out, np.sin(x))
    np.testing.assert_allclose(t, d)
    np.testing.assert_allclose(vjp(double_sin, x)[1](np.ones(3))[0], d)
    np.testing.assert_allclose(jacfwd(double_sin)(x), np.diag(d))
    np.testing.assert_allclose(jacrev(double_sin)(x), np.diag(d))
    np.testing.assert_allclose(linearize(double_sin, x)[1](np.ones(3)), d)


def test_custom_jvp_second_and_third_order():
    for x in (-0.4, 0.3, 1.7):
        assert grad(grad(double_sin))(x) == pytest.approx(-2.0 * np.sin(x))
        assert grad(grad(grad(double_sin)))(x) == pytest.approx(-2.0 * np.cos(x))
        s = sigmoid(x)
        assert grad(grad(log1pexp))(x) == pytest.approx(s * (1 - s))
    x = np.array([0.2, -0.9])
    np.testing.assert_allclose(hessian(lambda x: jnp.sum(double_sin(x)))(x),
                               np.diag(-2.0 * np.sin(x)), atol=1e-15)


def test_custom_jvp_under_vmap():
    xs = np.array([-2.0, 0.3, 4.0, 1000.0])
    with np.errstate(over="ignore"):
        np.testing.assert_allclose(vmap(grad(log1pexp))(xs), sigmoid(xs), rtol=1e-14)
        np.testing.assert_allclose(grad(lambda v: jnp.sum(vmap(log1pexp)(v)))(xs), sigmoid(xs),
                                   rtol=1e-14)
    ys = np.linspace(-1, 1, 5)
    np.testing.assert_allclose(vmap(double_sin)(ys), np.sin(ys))
    np.testing.assert_allclose(vmap(grad(double_sin))(ys), loop_vmap(grad(double_sin), 0, ys))
    np.testing.assert_allclose(vmap(grad(double_sin))(ys), 2 * np.cos(ys))
    np.testing.assert_allclose(vmap(grad(grad(double_sin)))(ys), -2 * np.sin(ys))
    np.testing.assert_allclose(grad(lambda v: jnp.sum(vmap(grad(double_sin))(v)))(ys),
                               -2 * np.sin(ys))


def test_custom_jvp_vmap_with_unmapped_and_nested_axes():
    @custom_jvp
    def scaled(w, x):
        return w * x

    @scaled.defjvp
    def _(primals, tangents):
        (w, x), (tw, tx) = primals, tangents
        return scaled(w, x), 3.0 * (tw * x + w * tx)   # 3x the true derivative

    w, xs = np.array([1.0, -2.0]), np.arange(6.0).reshape(3, 2)
    loss = lambda w, x: jnp.sum(scaled(w, x))  # noqa: E731
    np.testing.assert_allclose(vmap(grad(loss), in_axes=(None, 0))(w, xs), 3 * xs)
    np.testing.assert_allclose(grad(lambda w: jnp.sum(vmap(scaled, in_axes=(None, 0))(w, xs)))(w),
                               3 * xs.sum(0))
    x3 = np.arange(12.0).reshape(2, 3, 2)
    nested = vmap(vmap(grad(loss), in_axes=(None, 0)), in_axes=(None, 0))(w, x3)
    np.testing.assert_allclose(nested, 3 * x3)
    g = grad(lambda w: jnp.sum(vmap(vmap(scaled, in_axes=(None, 0)), in_axes=(None, 0))(w, x3)))(w)
    np.testing.assert_allclose(g, 3 * x3.sum((0, 1)))


def test_custom_jvp_with_a_collective_inside():
    @custom_jvp
    def total(x):
        return psum(x, "b")

    @total.defjvp
    def _(primals, tangents):
        return total(primals[0]), 10.0 * psum(tangents[0], "b")

    xs = np.arange(3.0)
    f = vmap(lambda x, c: total(x) + total(c), in_axes=(0, None), axis_name="b")
    np.testing.assert_allclose(f(xs, 1.0), np.full(3, xs.sum() + 3.0))
    g = grad(lambda v: jnp.sum(vmap(lambda x: total(x * x), axis_name="b")(v)))(xs)
    # d/dx_j sum_i psum(x^2) = 3 * 10 * 2 x_j (three instances each see the psum)
    np.testing.assert_allclose(g, 3 * 10.0 * 2 * xs)


def test_custom_jvp_with_reduce_axes():
    w, xs = 0.5, np.array([0.3, -0.7, 1.4])
    loss = lambda w, x: double_sin(w * x)  # noqa: E731
    per = vmap(grad(loss), in_axes=(None, 0), axis_name="b")(w, xs)
    np.testing.assert_allclose(per, 2 * xs * np.cos(w * xs))
    tot = vmap(grad(loss, reduce_axes=("b",)), in_axes=(None, 0), axis_name="b",
               out_axes=None)(w, xs)
    assert tot == pytest.approx(np.sum(2 * xs * np.cos(w * xs)))


def test_custom_jvp_nondiff_argnums():
    @functools.partial(custom_jvp, nondiff_argnums=(0, 2))
    def apply_pow(f, x, n):
        return f(x) ** n

    @apply_pow.defjvp
    def _(f, n, primals, tangents):
        (x,), (t,) = primals, tangents
        # deliberately 100x the derivative of f(x)^n with f = identity
        return apply_pow(f, x, n), 100.0 * n * x ** (n - 1) * t

    assert apply_pow(lambda v: v, 2.0, 3) == pytest.approx(8.0)
    assert grad(apply_pow, argnums=1)(lambda v: v, 2.0, 3) == pytest.approx(1200.0)
    xs = np.array([1.0, 2.0])
    per = vmap(grad(lambda x: apply_pow(lambda v: v, x, 2)))(xs)
    np.testing.assert_allclose(per, 200.0 * xs)
    with pytest.raises(TypeError, match="nondiff_argnums"):
        grad(lambda n: apply_pow(lambda v: v, 2.0, n))(3.0)


def test_custom_jvp_pytree_arguments_and_outputs():
    @custom_jvp
    def stats(p):
        return {"sum": jnp.sum(p["x"]) * p["s"][0], "x2": p["x"] * 2.0}

    @stats.defjvp
    def _(primals, tangents):
        (p,), (t,) = primals, tangents
        assert set(p) == {"x", "s"} and isinstance(p["s"], tuple)
        out = stats(p)
        return out, {"sum": 5.0 * (jnp.sum(t["x"]) * p["s"][0] + jnp.sum(p["x"]) * t["s"][0]),
                     "x2": t["x"] * 2.0}

    p = {"x": np.array([1.0, 2.0]), "s": (3.0,)}
    g = grad(lambda p: stats(p)["sum"])(p)
    np.testing.assert_allclose(g["x"], [15.0, 15.0])
    assert g["s"][0] == pytest.approx(15.0)
    jx = jacrev(lambda x: stats({"x": x, "s": (3.0,)})["x2"])(p["x"])
    np.testing.assert_allclose(jx, 2.0 * np.eye(2))
    per = vmap(grad(lambda p: stats(p)["sum"]))({"x": np.ones((4, 2)), "s": (np.arange(4.0),)})
    np.testing.assert_allclose(per["x"], 5.0 * np.repeat(np.arange(4.0)[:, None], 2, 1))
    np.testing.assert_allclose(per["s"][0], 5.0 * 2.0 * np.ones(4))


def test_defjvps_and_keyword_arguments():
    @custom_jvp
    def f(x, y):
        return jnp.sin(x) * y

    f.defjvps(lambda tx, ans, x, y: 7.0 * tx, None)
    assert f(1.0, y=2.0) == pytest.approx(np.sin(1.0) * 2.0)
    gx, gy = grad(f, argnums=(0, 1))(1.0, 2.0)
    assert gx == pytest.approx(7.0) and gy == 0.0
    assert grad(lambda x: f(x, y=2.0))(0.3) == pytest.approx(7.0)


def test_custom_jvp_integer_argument_gets_float0_tangent():
    seen = []

    @custom_jvp
    def scale(x, n):
        return x * n

    @scale.defjvp
    def _(primals, tangents):
        (x, n), (tx, tn) = primals, tangents
        seen.append(np.asarray(tn).dtype)
        return scale(x, n), tx * n * 2.0

    assert grad(scale)(1.5, 3) == pytest.approx(6.0)
    assert seen == [float0]


def test_custom_jvp_rule_errors():
    @custom_jvp
    def no_rule(x):
        return x
    with pytest.raises(TypeError, match="no JVP rule"):
        no_rule(1.0)

    @custom_jvp
    def bad_pair(x):
        return x
    bad_pair.defjvp(lambda p, t: p[0])
    with pytest.raises(TypeError, match="pair"):
        grad(bad_pair)(1.0)

    @custom_jvp
    def bad_tree(x):
        return x
    bad_tree.defjvp(lambda p, t: (p[0], (t[0], t[0])))
    with pytest.raises(TypeError, match="structure"):
        grad(bad_tree)(1.0)

    @custom_jvp
    def bad_shape(x):
        return x
    bad_shape.defjvp(lambda p, t: (p[0], jnp.ones(3)))
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        grad(bad_shape)(1.0)


def test_custom_function_closing_over_a_tracer_is_refused():
    def outer(w):
        @custom_jvp
        def f(x):
            return x * w

        f.defjvp(lambda p, t: (f(p[0]), t[0] * w))
        return f(2.0)
    with pytest.raises(TypeError, match="closes over a traced value"):
        grad(outer)(3.0)
    assert outer(3.0) == pytest.approx(6.0)  # fine outside transformations


@settings(max_examples=15, deadline=None)
@given(st.lists(st.floats(-5.0, 5.0), min_size=1, max_size=5))
def test_custom_jvp_vmap_grad_matches_loop(values):
    xs = np.array(values)
    np.testing.assert_allclose(vmap(grad(log1pexp))(xs), loop_vmap(grad(log1pexp), 0, xs),
                               rtol=1e-13)
    np.testing.assert_allclose(vmap(grad(log1pexp))(xs), sigmoid(xs), rtol=1e-13)


# --------------------------------------------------------------------------- custom_vjp fixtures

@custom_vjp
def clip_gradient(x):
    return x


clip_gradient.defvjp(lambda x: (x, None), lambda _, g: (jnp.clip(g, -1.0, 1.0),))


@custom_vjp
def tripled(w, x):
    """w * x with a cotangent rule 3x the true one (a valid VJP of 3 w x)."""
    return w * x


def _tripled_fwd(w, x):
    return tripled(w, x), (w, x)


def _tripled_bwd(res, ct):
    w, x = res
    return 3.0 * x * ct, 3.0 * w * ct


tripled.defvjp(_tripled_fwd, _tripled_bwd)


# --------------------------------------------------------------------------- custom_vjp

def test_clipped_gradient_is_observed():
    f = lambda x: 5.0 * clip_gradient(x)  # noqa: E731
    assert f(2.0) == pytest.approx(10.0)
    assert grad(f)(2.0) == pytest.approx(1.0)
    assert grad(lambda x: 0.5 * clip_gradient(x))(2.0) == pytest.approx(0.5)
    assert grad(lambda x: -5.0 * clip_gradient(x))(2.0) == pytest.approx(-1.0)


def test_clipping_per_example_vs_total():
    xs = np.array([1.0, 2.0, 3.0])
    loss = lambda w, x: clip_gradient(w) * x  # noqa: E731
    per = vmap(grad(loss), in_axes=(None, 0))(0.5, xs)
    np.testing.assert_allclose(per, np.clip(xs, -1, 1))
    np.testing.assert_allclose(per, loop_vmap(lambda x: grad(loss)(0.5, x), 0, xs))
    # Under grad of vmap, the unmapped w gives one value clip_gradient(w): its one
    # cotangent is the total over instances (sum x = 6), clipped once.
    tot = grad(lambda w: jnp.sum(vmap(loss, in_axes=(None, 0))(w, xs)))(0.5)
    assert tot == pytest.approx(1.0)
    # A mapped value is clipped per instance: each cotangent 5 -> 1, so d/dw = sum x.
    g = grad(lambda w: jnp.sum(vmap(lambda x: 5.0 * clip_gradient(w * x))(xs)))(0.5)
    assert g == pytest.approx(np.sum(xs))
    # With reduce_axes the rule of section 3 reduces the cotangent of every invariant
    # variable, intermediates included: clip_gradient(w) gets the total, as above.
    tot_named = vmap(grad(loss, reduce_axes=("b",)), in_axes=(None, 0), axis_name="b",
                     out_axes=None)(0.5, xs)
    assert tot_named == pytest.approx(tot)


def test_custom_vjp_two_arguments_all_modes():
    w, xs = np.array([1.0, -2.0]), np.arange(6.0).reshape(3, 2)
    gw, gx = grad(lambda w, x: jnp.sum(tripled(w, x)), argnums=(0, 1))(w, xs[1])
    np.testing.assert_allclose(gw, 3 * xs[1])
    np.testing.assert_allclose(gx, 3 * w)
    per = vmap(grad(lambda w, x: jnp.sum(tripled(w, x))), in_axes=(None, 0))(w, xs)
    np.testing.assert_allclose(per, 3 * xs)
    tot = grad(lambda w: jnp.sum(vmap(tripled, in_axes=(None, 0))(w, xs)))(w)
    np.testing.assert_allclose(tot, 3 * xs.sum(0))
    np.testing.assert_allclose(jacrev(tripled)(w, xs[2]), np.diag(3 * xs[2]))
    np.testing.assert_allclose(jacrev(tripled, argnums=1)(w, xs[2]), np.diag(3 * w))


def test_custom_vjp_under_pmap_single_process():
    w, xs = np.array([1.0, -2.0]), np.arange(6.0).reshape(3, 2)
    tot = pmap(grad(lambda w, x: jnp.sum(tripled(w, x)), reduce_axes=("p",)), in_axes=(None, 0),
               axis_name="p", out_axes=None)(w, xs)
    np.testing.assert_allclose(tot, 3 * xs.sum(0))
    g = grad(lambda w: jnp.sum(pmap(tripled, in_axes=(None, 0), axis_name="p")(w, xs)))(w)
    np.testing.assert_allclose(g, 3 * xs.sum(0))


def test_custom_vjp_is_not_used_without_differentiation():
    calls = []

    @custom_vjp
    def f(x):
        calls.append("fun")
        return jnp.sin(x)

    def fwd(x):
        calls.append("fwd")
        return jnp.sin(x), jnp.cos(x)
    f.defvjp(fwd, lambda c, g: (c * g,))
    f(1.0)
    vmap(f)(np.ones(2))
    assert calls == ["fun", "fun"]
    grad(f)(1.0)
    assert calls[-1] == "fwd"


def test_custom_vjp_second_order_through_bwd():
    @custom_vjp
    def cube(x):
        return x ** 3

    cube.defvjp(lambda x: (cube(x), x), lambda x, g: (5.0 * x ** 2 * g,))   # 5/3 of d/dx x^3
    xs = np.array([0.5, -1.5])
    for x in xs:
        assert grad(cube)(x) == pytest.approx(5 * x ** 2)
        assert grad(grad(cube))(x) == pytest.approx(10 * x)
        assert grad(grad(grad(cube)))(x) == pytest.approx(10.0)
    np.testing.assert_allclose(vmap(grad(grad(cube)))(xs), 10 * xs)
    np.testing.assert_allclose(grad(lambda v: jnp.sum(grad(lambda u: jnp.sum(vmap(cube)(u)))(v)))(xs),
                               10 * xs)
    np.testing.assert_allclose(hessian(lambda v: jnp.sum(cube(v)))(xs), np.diag(10 * xs))


def test_custom_vjp_forward_mode_uses_the_transposed_bwd():
    @custom_vjp
    def f(x):
        return jnp.sin(x)

    f.defvjp(lambda x: (f(x), jnp.cos(x)), lambda c, g: (3.0 * c * g,))
    x = np.array([0.2, 1.1])
    _, t = jvp(f, (x,), (np.array([1.0, 2.0]),))
    np.testing.assert_allclose(t, 3 * np.cos(x) * [1.0, 2.0])
    np.testing.assert_allclose(jacfwd(f)(x), np.diag(3 * np.cos(x)))
    np.testing.assert_allclose(linearize(f, x)[1](np.ones(2)), 3 * np.cos(x))
    np.testing.assert_allclose(vmap(lambda v: jvp(f, (v,), (1.0,))[1])(x), 3 * np.cos(x))
    np.testing.assert_allclose(jacfwd(jacfwd(lambda v: jnp.sum(f(v))))(x),
                               np.diag(-3 * np.sin(x)), atol=1e-15)


def test_custom_vjp_nondiff_argnums_and_static_residuals():
    @functools.partial(custom_vjp, nondiff_argnums=(0,))
    def app(fn, x):
        return fn(x)

    def fwd(fn, x):
        return fn(x), ("tag", x)

    def bwd(fn, res, g):
        tag, x = res
        assert tag == "tag"
        return (10.0 * g,)
    app.defvjp(fwd, bwd)
    assert app(jnp.sin, 1.0) == pytest.approx(np.sin(1.0))
    assert grad(lambda x: app(jnp.sin, x))(1.0) == pytest.approx(10.0)
    np.testing.assert_allclose(vmap(grad(lambda x: app(jnp.sin, x)))(np.ones(3)), 10.0)
    np.testing.assert_allclose(grad(lambda v: jnp.sum(vmap(lambda x: app(jnp.sin, x))(v)))(np.ones(3)),
                               10.0)


def test_custom_vjp_pytrees_and_none_cotangents():
    @custom_vjp
    def f(p, scale):
        return {"y": p["a"] * p["b"][0] * scale}

    def fwd(p, scale):
        return f(p, scale), (p, scale)

    def bwd(res, ct):
        p, scale = res
        g = ct["y"] * scale
        return {"a": 2.0 * g * p["b"][0], "b": (None,)}, None
    f.defvjp(fwd, bwd)
    p = {"a": np.array([1.0, 2.0]), "b": (np.array([3.0, 4.0]),)}
    gp, gs = grad(lambda p, s: jnp.sum(f(p, s)["y"]), argnums=(0, 1))(p, 2.0)
    np.testing.assert_allclose(gp["a"], 2.0 * 2.0 * p["b"][0])
    np.testing.assert_allclose(gp["b"][0], [0.0, 0.0])
    assert gs == 0.0
    per = vmap(grad(lambda p: jnp.sum(f(p, 2.0)["y"])))(
        {"a": np.ones((3, 2)), "b": (np.arange(6.0).reshape(3, 2),)})
    np.testing.assert_allclose(per["a"], 4.0 * np.arange(6.0).reshape(3, 2))


def test_custom_vjp_integer_input_and_output():
    @custom_vjp
    def f(x, n):
        return x * n, n + 1

    f.defvjp(lambda x, n: (f(x, n), n), lambda n, ct: (2.0 * n * ct[0], None))
    assert grad(lambda x: f(x, 3)[0])(1.5) == pytest.approx(6.0)
    y, n1 = f(1.5, 3)
    assert y == pytest.approx(4.5) and n1 == 4


def test_custom_vjp_errors():
    @custom_vjp
    def f(x):
        return x
    with pytest.raises(TypeError, match="no VJP rule"):
        f(1.0)
    f.defvjp(lambda x: (x, None), lambda _, g: g)
    with pytest.raises(TypeError, match=r"return \(g,\)"):
        grad(f)(1.0)
    f.defvjp(lambda x: (x, None), lambda _, g: (g, g))
    with pytest.raises(TypeError, match="one cotangent per differentiable argument"):
        grad(f)(1.0)
    f.defvjp(lambda x: (x, None), lambda _, g: (jnp.ones(2),))
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        grad(f)(1.0)
    f.defvjp(lambda x: x, lambda _, g: (g,))
    with pytest.raises(TypeError, match="pair"):
        grad(f)(1.0)
    f.defvjp(lambda x: (x, None), lambda _, g: ({"a": g},))
    with pytest.raises(TypeError, match="structure"):
        grad(f)(1.0)
    with pytest.raises(TypeError, match="not a valid array type"):
        f("text")


def test_make_jaxpr_shows_custom_calls():
    text = str(make_jaxpr(lambda x: tripled(x, x) + log1pexp(x))(np.ones(2)))
    assert "custom_vjp_call[call=tripled" in text and "custom_jvp_call[call=log1pexp" in text
    jaxpr_grad = str(make_jaxpr(grad(lambda x: jnp.sum(log1pexp(x))))(np.ones(2)))
    # the primal is the custom call again; the derivative is the rule's formula
    assert "custom_jvp_call[call=log1pexp" in jaxpr_grad and "div" in jaxpr_grad


# --------------------------------------------------------------------------- stop_gradient

def test_stop_gradient_values_and_gradients():
    x = np.array([0.5, -1.0, 2.0])
    np.testing.assert_array_equal(stop_gradient(x), x)
    assert grad(lambda x: x * stop_gradient(x))(3.0) == pytest.approx(3.0)
    np.testing.assert_allclose(grad(lambda x: jnp.sum(x ** 2 * stop_gradient(x)))(x), 2 * x * x)
    np.testing.assert_allclose(jvp(stop_gradient, (x,), (np.ones(3),))[1], np.zeros(3))
    np.testing.assert_allclose(jacrev(lambda x: x + stop_gradient(x))(x), np.eye(3))
    np.testing.assert_allclose(jacfwd(lambda x: x + stop_gradient(x))(x), np.eye(3))
    assert grad(lambda x: stop_gradient(x) * 1.0)(2.0) == 0.0


def test_stop_gradient_second_order():
    # d/dx [x^2 sg(x)] = 2 x sg(x); the second derivative is 2 sg(x) = 2x, not 6x.
    assert grad(grad(lambda x: x ** 2 * stop_gradient(x)))(1.5) == pytest.approx(3.0)
    np.testing.assert_allclose(hessian(lambda x: jnp.sum(x ** 2 * stop_gradient(x)))(np.ones(2)),
                               2 * np.eye(2))


def test_stop_gradient_under_vmap():
    xs = np.array([0.5, 1.0, 2.0])
    f = lambda x: x ** 2 * stop_gradient(x)  # noqa: E731
    np.testing.assert_allclose(vmap(stop_gradient)(xs), xs)
    np.testing.assert_allclose(vmap(grad(f))(xs), 2 * xs * xs)
    np.testing.assert_allclose(grad(lambda v: jnp.sum(vmap(f)(v)))(xs), 2 * xs * xs)
    w = 2.0
    g = grad(lambda w: jnp.sum(vmap(lambda x: w * stop_gradient(w * x), in_axes=0)(xs)))(w)
    assert g == pytest.approx(np.sum(w * xs))


def test_stop_gradient_pytrees_and_integers():
    tree = {"a": 1.5, "b": (np.arange(3), np.ones(2))}
    out = stop_gradient(tree)
    assert set(out) == {"a", "b"} and out["b"][0].dtype == np.arange(3).dtype
    np.testing.assert_array_equal(out["b"][0], np.arange(3))
    g = grad(lambda p: p["a"] * stop_gradient(p)["a"] + jnp.sum(stop_gradient(p["b"][1])),
             allow_int=True)(
        {"a": 2.0, "b": (np.arange(3), np.ones(2))})
    assert g["a"] == pytest.approx(2.0) and g["b"][0].dtype == float0
    np.testing.assert_allclose(g["b"][1], 0.0)
    (v, g2) = value_and_grad(lambda x: jnp.sum(stop_gradient(x)))(np.ones(2))
    assert v == 2.0 and np.all(g2 == 0)
    with pytest.raises(TypeError, match="not a valid array type"):
        stop_gradient("text")
    assert "stop_gradient" in str(make_jaxpr(stop_gradient)(np.ones(2)))


def test_custom_vjp_with_stop_gradient_in_fwd():
    @custom_vjp
    def f(x):
        return x * x

    f.defvjp(lambda x: (f(x), stop_gradient(x)), lambda x, g: (2.0 * x * g,))
    assert grad(f)(3.0) == pytest.approx(6.0)
    # bwd depends on its residual, which fwd cut from the graph: no second derivative
    # flows through x there, but x still reaches bwd as a value.
    assert grad(grad(f))(3.0) == pytest.approx(0.0)


def test_value_and_grad_and_public_names():
    assert spmdgrad.custom_jvp is custom_jvp and spmdgrad.custom_vjp is custom_vjp
    assert spmdgrad.stop_gradient is stop_gradient
    v, g = value_and_grad(log1pexp)(0.0)
    assert v == pytest.approx(np.log(2.0)) and g == pytest.approx(0.5)
    assert log1pexp.__name__ == "log1pexp"


def test_custom_functions_applied_to_tangents_inside_a_rule():
    @custom_jvp
    def times3(t):
        return 3.0 * t

    times3.defjvp(lambda p, t: (times3(p[0]), times3(t[0])))

    @custom_vjp
    def times5(t):
        return 5.0 * t

    times5.defvjp(lambda t: (times5(t), None), lambda _, g: (5.0 * g,))

    @custom_jvp
    def f(x):
        return jnp.sin(x)

    f.defjvp(lambda p, t: (f(p[0]), jnp.cos(p[0]) * times3(times5(t[0]))))
    x = 0.3
    assert grad(f)(x) == pytest.approx(15 * np.cos(x))
    assert jvp(f, (x,), (1.0,))[1] == pytest.approx(15 * np.cos(x))
    assert grad(grad(f))(x) == pytest.approx(-15 * np.sin(x))
    np.testing.assert_allclose(vmap(grad(f))(np.array([0.3, 0.6])), 15 * np.cos([0.3, 0.6]))


@custom_vjp
def matvec(w, x):
    """x @ w with its true VJP, written by hand: must agree with autodiff everywhere."""
    return x @ w


matvec.defvjp(lambda w, x: (matvec(w, x), (w, x)),
              lambda res, g: (jnp.outer(res[1], g), res[0] @ g))


@custom_jvp
def sine(x):
    return jnp.sin(x)


sine.defjvp(lambda p, t: (sine(p[0]), jnp.cos(p[0]) * t[0]))


@pytest.mark.parametrize("reduce_axes", [(), ("b",)])
def test_exact_custom_rules_agree_with_autodiff_under_reduce_axes(reduce_axes):
    w = np.arange(12.0).reshape(3, 4) / 10
    x = np.arange(6.0).reshape(2, 3) / 5

    def loss(mv, sn):
        def f(w, x):
            y = psum(jnp.sum(sn(mv(w, x))), "b")   # an invariant intermediate
            return y * jnp.sum(sn(mv(w, x)) ** 2)
        return f

    def run(f):
        return vmap(grad(f, argnums=(0, 1), reduce_axes=reduce_axes), in_axes=(None, 0),
                    axis_name="b")(w, x)
    custom = run(loss(matvec, sine))
    plain = run(loss(lambda w, x: x @ w, jnp.sin))
    for c, p in zip(custom, plain):
        np.testing.assert_allclose(c, p, rtol=1e-12, atol=1e-12)
    if reduce_axes:
        np.testing.assert_allclose(custom[0][0], custom[0][1])   # the total, on every instance


def test_custom_vjp_under_reduce_axes_counts_broadcasts_at_and_inside_the_call():
    """An invariant input broadcast at the call (w + x) or inside it (psum(w * x)) gets the
    total over the axis with reduce_axes, and each instance's own derivative without."""
    @custom_vjp
    def add(w, x):
        return w + x
    add.defvjp(lambda w, x: (w + x, None), lambda r, ct: (ct, ct))

    @custom_vjp
    def dot(w, x):
        return psum(w * x, "i")
    dot.defvjp(lambda w, x: (dot(w, x), x), lambda x, ct: (ct * x, None))

    xs = np.array([0.5, 1.0, 2.5])
    total = lambda f: spmdgrad.vmap(grad(f, reduce_axes=("i",)), in_axes=(None, 0),  # noqa: E731
                              out_axes=None, axis_name="i")(2.0, xs)
    per_example = lambda f: spmdgrad.vmap(grad(f), in_axes=(None, 0), axis_name="i")(2.0, xs)  # noqa: E731
    assert float(total(add)) == 3.0
    np.testing.assert_allclose(per_example(add), np.ones(3))
    assert float(total(dot)) == xs.sum()
    np.testing.assert_allclose(per_example(dot), xs)
