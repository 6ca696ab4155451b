"""reduce_axes and the named-axis type system (docs/semantics.md sections 2 and 3).

References: the exact numbers of section 3, Python loops of per-example grads,
their sums, and finite differences of the corresponding functions."""
import numpy as np
import pytest

import spmdgrad as sg
import spmdgrad.numpy as jnp
from spmdgrad import lax
from spmdgrad.core import UnboundAxisError
from spmdgrad.test_util import check_grads, loop_vmap

# ------------------------------------------------------------------------ section 3 reference case

W = np.arange(12.0).reshape(3, 4)
X = np.arange(6.0).reshape(2, 3)
GY = np.arange(8.0).reshape(2, 4)
W_TOTAL = np.array([[10.23864, 6.60215, -1.98697, -13.15533],
                    [13.65152, 8.27003, -1.35546, -19.78462],
                    [17.0644, 9.93791, -0.72394, -26.4139]])
X_BAR = np.array([[-4.67767, -10.61034, -16.54301], [-12.27927, -10.01462, -7.74998]])


def f_ref(w, x):
    return jnp.sin(x @ w)


def vjp_in_map(reduce_axes, w_out_axes):
    def per_example(w, x, gy):
        _, f_vjp = sg.vjp(f_ref, w, x, reduce_axes=reduce_axes)
        return f_vjp(gy)
    return sg.vmap(per_example, in_axes=(None, 0, 0), out_axes=(w_out_axes, 0),
                   axis_name="batch")(W, X, GY)


def test_reference_total():
    w_bar, x_bar = vjp_in_map(("batch",), None)
    np.testing.assert_allclose(w_bar, W_TOTAL, atol=1e-5)
    np.testing.assert_allclose(w_bar, X.T @ (GY * np.cos(X @ W)), rtol=1e-12)
    np.testing.assert_allclose(x_bar, X_BAR, atol=1e-5)


def test_reference_per_example():
    w_bar, x_bar = vjp_in_map((), 0)
    assert w_bar.shape == (2, 3, 4)
    for i in range(2):
        np.testing.assert_allclose(w_bar[i], np.outer(X[i], GY[i] * np.cos(X[i] @ W)),
                                   rtol=1e-12)
    np.testing.assert_allclose(w_bar.sum(0), W_TOTAL, atol=1e-5)
    np.testing.assert_allclose(x_bar, X_BAR, atol=1e-5)


def test_per_example_total_is_not_invariant():
    """Without reduce_axes the gradient varies over the axis: out_axes=None refuses it."""
    with pytest.raises(ValueError, match="varies over axis 'batch'.*out_axes=None"):
        vjp_in_map((), None)


# --------------------------------------------------------------------------- a small model

def loss(params, x, y):
    h = jnp.tanh(x @ params["w"] + params["b"])
    return jnp.sum((h - y) ** 2)


def loss_l2(params, x, y):
    return loss(params, x, y) + 0.1 * jnp.sum(params["w"] ** 2)


@pytest.fixture
def data(rng):
    params = {"w": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}
    return params, rng.standard_normal((5, 3)), rng.standard_normal((5, 2))


def _stack(trees):
    return {k: np.stack([t[k] for t in trees]) for k in trees[0]}


def test_per_example_grads_equal_loop(data):
    params, xs, ys = data
    got = sg.vmap(sg.grad(loss), in_axes=(None, 0, 0), axis_name="batch")(params, xs, ys)
    ref = loop_vmap(sg.grad(loss), (None, 0, 0), params, xs, ys)
    for k in params:
        np.testing.assert_allclose(got[k], ref[k], rtol=1e-12)


def test_total_grads_equal_summed_loop(data):
    params, xs, ys = data
    got = sg.vmap(sg.grad(loss, reduce_axes=("batch",)), in_axes=(None, 0, 0), out_axes=None,
                  axis_name="batch")(params, xs, ys)
    ref = loop_vmap(sg.grad(loss), (None, 0, 0), params, xs, ys)
    for k in params:
        np.testing.assert_allclose(got[k], ref[k].sum(0), rtol=1e-12)


def test_total_grads_match_finite_differences(data):
    params, xs, ys = data
    total = sg.vmap(sg.grad(loss, reduce_axes=["batch"]), in_axes=(None, 0, 0), out_axes=None,
                    axis_name="batch")(params, xs, ys)

    def summed(w, b):
        return sum(float(loss({"w": w, "b": b}, x, y)) for x, y in zip(xs, ys, strict=True))
    eps = 1e-6
    for idx in np.ndindex(params["w"].shape):
        e = np.zeros_like(params["w"])
        e[idx] = eps
        w = params["w"]
        fd = (summed(w + e, params["b"]) - summed(w - e, params["b"])) / (2 * eps)
        np.testing.assert_allclose(total["w"][idx], fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("reduce_axes, out_ex, out_dev, summed", [
    ((), 0, 0, ()),
    (("ex",), None, 0, (1,)),
    (("dev",), 0, None, (0,)),
    (("ex", "dev"), None, None, (0, 1)),
    (("dev", "ex"), None, None, (0, 1)),
])
def test_nested_partial_reductions(rng, reduce_axes, out_ex, out_dev, summed):
    """vmap(vmap(..., 'ex'), 'dev'): per-example, per-group totals over 'ex', totals over
    'dev' per example slot, and the grand total, against sums of a loop of grads."""
    w = rng.standard_normal((3, 2))
    xs = rng.standard_normal((2, 3, 3))
    ys = rng.standard_normal((2, 3, 2))
    lf = lambda w, x, y: jnp.sum((jnp.tanh(x @ w) - y) ** 2)  # noqa: E731
    g = sg.grad(lf, reduce_axes=reduce_axes)
    got = sg.vmap(sg.vmap(g, in_axes=(None, 0, 0), out_axes=out_ex, axis_name="ex"),
                  in_axes=(None, 0, 0), out_axes=out_dev, axis_name="dev")(w, xs, ys)
    per = np.stack([loop_vmap(sg.grad(lf), (None, 0, 0), w, xs[d], ys[d]) for d in range(2)])
    np.testing.assert_allclose(got, per.sum(summed) if summed else per, rtol=1e-12)


# ------------------------------------------------------------------------ intermediate variables

def f_mid(w, x):
    return jnp.sum(jnp.tanh(x @ w))


def g_mid(w, x):
    return jnp.sum(jnp.sin(x @ w) ** 2)


def z_mid(w, x):
    y = lax.psum(f_mid(w, x), "b")
    return y * g_mid(w, x)


@pytest.fixture
def mid_data(rng):
    return rng.standard_normal((3, 2)), rng.standard_normal((4, 3))


def test_intermediate_reduced_matches_finite_differences(mid_data):
    """With 'b' reduced the cotangent of the invariant y sums every instance's
    contribution: the total gradient of sum_i z_i."""
    w, xs = mid_data
    total = sg.vmap(sg.grad(z_mid, reduce_axes=("b",)), in_axes=(None, 0), out_axes=None,
                    axis_name="b")(w, xs)

    def summed(w):
        return jnp.sum(sg.vmap(z_mid, in_axes=(None, 0), axis_name="b")(w, xs))
    check_grads(summed, (w,))
    np.testing.assert_allclose(total, sg.grad(summed)(w), rtol=1e-10)
    eps = 1e-6
    for idx in np.ndindex(w.shape):
        e = np.zeros_like(w)
        e[idx] = eps
        fd = (summed(w + e) - summed(w - e)) / (2 * eps)
        np.testing.assert_allclose(total[idx], fd, rtol=1e-6, atol=1e-8)


def test_intermediate_per_example_matches_finite_differences(mid_data):
    """Not reduced, instance i gets dL/dw_i: the derivative of the total output
    L = sum_j z_j with respect to its own copy w_i (vmap(z, in_axes=(0, 0)) at stacked
    copies W_i = w). Through the psum inside z_mid, every instance's output depends on w_i."""
    w, xs = mid_data
    n = len(xs)
    per = sg.vmap(sg.grad(z_mid), in_axes=(None, 0), axis_name="b")(w, xs)
    copies = np.stack([w] * n)

    def h(ws):
        return sg.vmap(z_mid, axis_name="b")(ws, xs)
    eps = 1e-6
    fd = np.zeros_like(per)
    for i in range(n):
        for idx in np.ndindex(w.shape):
            e = np.zeros_like(copies)
            e[(i,) + idx] = eps
            fd[(i,) + idx] = (h(copies + e).sum() - h(copies - e).sum()) / (2 * eps)
    np.testing.assert_allclose(per, fd, rtol=1e-6, atol=1e-8)


# --------------------------------------------------------------------------- JAX #3970

def lossj(w, x):
    return jnp.sum(jnp.sin(x * w) ** 2)


def test_jax_3970_per_example_not_n_times(rng):
    w, xs = rng.standard_normal(3), rng.standard_normal((5, 3))
    got = sg.vmap(sg.grad(lambda w, x: lax.psum(lossj(w, x), "b")), in_axes=(None, 0),
                  axis_name="b")(w, xs)
    np.testing.assert_allclose(got, loop_vmap(sg.grad(lossj), (None, 0), w, xs), rtol=1e-12)


def test_jax_3970_total_not_n_times(rng):
    w, xs = rng.standard_normal(3), rng.standard_normal((5, 3))
    got = sg.vmap(sg.grad(lambda w, x: lax.psum(lossj(w, x), "b"), reduce_axes=("b",)),
                  in_axes=(None, 0), out_axes=None, axis_name="b")(w, xs)
    np.testing.assert_allclose(got, loop_vmap(sg.grad(lossj), (None, 0), w, xs).sum(0),
                               rtol=1e-12)


# --------------------------------------------------------------------------- boundary rule

def test_grad_outside_vmap_sums_unmapped_input(data):
    params, xs, ys = data

    def total_loss(p):
        return jnp.sum(sg.vmap(loss, in_axes=(None, 0, 0))(p, xs, ys))
    got = sg.grad(total_loss)(params)
    ref = loop_vmap(sg.grad(loss), (None, 0, 0), params, xs, ys)
    for k in params:
        np.testing.assert_allclose(got[k], ref[k].sum(0), rtol=1e-12)


def test_grad_outside_vmap_of_invariant_output(rng):
    """out_axes=None returns the one invariant value; its gradient is the total."""
    w, xs = rng.standard_normal(3), rng.standard_normal((5, 3))

    def total(w):
        return sg.vmap(lambda w, x: lax.psum(lossj(w, x), "b"), in_axes=(None, 0),
                       out_axes=None, axis_name="b")(w, xs)
    np.testing.assert_allclose(sg.grad(total)(w),
                               loop_vmap(sg.grad(lossj), (None, 0), w, xs).sum(0), rtol=1e-12)
    check_grads(total, (w,), order=2)


def test_out_axes_none_with_varying_output_errors():
    with pytest.raises(ValueError, match="varies over axis 'b'.*psum/pmean"):
        sg.vmap(lambda x: x * 2, out_axes=None, axis_name="b")(np.ones(3))
    with pytest.raises(ValueError, match="varies over axis '<unnamed>'"):
        sg.vmap(lambda x: x * 2, out_axes=None)(np.ones(3))


def test_out_axes_none_with_invariant_output():
    out = sg.vmap(lambda x, w: (w * 2, lax.psum(x, "b")), in_axes=(0, None),
                  out_axes=(None, None), axis_name="b")(np.arange(3.0), 5.0)
    assert float(out[0]) == 10.0 and float(out[1]) == 3.0


# -------------------------------------------------------------------------- implicit broadcasts and mixed contributions

def test_total_with_invariant_regularizer(data):
    params, xs, ys = data
    got = sg.vmap(sg.grad(loss_l2, reduce_axes=("batch",)), in_axes=(None, 0, 0),
                  out_axes=None, axis_name="batch")(params, xs, ys)
    ref = loop_vmap(sg.grad(loss_l2), (None, 0, 0), params, xs, ys)
    np.testing.assert_allclose(got["w"], ref["w"].sum(0), rtol=1e-12)


def test_per_example_with_invariant_regularizer(data):
    params, xs, ys = data
    got = sg.vmap(sg.grad(loss_l2), in_axes=(None, 0, 0), axis_name="batch")(params, xs, ys)
    ref = loop_vmap(sg.grad(loss_l2), (None, 0, 0), params, xs, ys)
    for k in params:
        np.testing.assert_allclose(got[k], ref[k], rtol=1e-12)


def test_invariant_cotangent_through_implicit_broadcast():
    got = sg.vmap(sg.grad(lambda w, x: w + x, reduce_axes=("i",)), in_axes=(None, 0),
                  out_axes=None, axis_name="i")(2.0, np.arange(3.0))
    assert float(got) == 3.0


def test_mixed_invariant_and_varying_contributions():
    f = lambda w, x: lax.psum(x * w, "i") + w  # noqa: E731
    got = sg.vmap(sg.grad(f, reduce_axes=("i",)), in_axes=(None, 0), out_axes=None,
                  axis_name="i")(2.0, np.array([1.0, 2.0, 3.0]))
    assert float(got) == 7.0


# --------------------------------------------------------------------------- errors

def test_unbound_name_in_psum():
    with pytest.raises(UnboundAxisError, match="unbound axis name: 'x'"):
        sg.vmap(lambda v: lax.psum(v, "x"), axis_name="b")(np.ones(3))
    with pytest.raises(UnboundAxisError, match="unbound axis name: 'x'"):
        sg.grad(lambda v: lax.psum(v, "x"))(1.0)


def test_unbound_name_in_reduce_axes():
    with pytest.raises(UnboundAxisError, match="unbound axis name: 'x'"):
        sg.vmap(sg.grad(lossj, reduce_axes=("x",)), in_axes=(None, 0), axis_name="b")(
            np.ones(3), np.ones((2, 3)))
    with pytest.raises(UnboundAxisError, match="unbound axis name: 'batch'"):
        sg.grad(lossj, reduce_axes=("batch",))(np.ones(3), np.ones(3))
    with pytest.raises(UnboundAxisError, match="unbound axis name: 'batch'"):
        sg.vjp(lossj, np.ones(3), np.ones(3), reduce_axes=("batch",))


@pytest.mark.parametrize("bad", ["batch", 3, ("batch", 1), {"batch"}, None])
def test_reduce_axes_must_be_tuple_or_list_of_str(bad):
    with pytest.raises(TypeError, match="reduce_axes"):
        sg.grad(lossj, reduce_axes=bad)
    with pytest.raises(TypeError, match="reduce_axes"):
        sg.vjp(lossj, np.ones(3), np.ones(3), reduce_axes=bad)


def test_reusing_axis_name_in_nested_maps():
    f = sg.vmap(sg.vmap(lambda x: x, axis_name="b"), axis_name="b")
    with pytest.raises(ValueError, match="'b' is already bound"):
        f(np.ones((2, 3)))


def test_size_mismatch_between_mapped_args():
    with pytest.raises(ValueError, match="different sizes.*size 2.*size 3"):
        sg.vmap(lambda a, b: a + b)(np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match="axis_size=4 but mapped arguments have size 2"):
        sg.vmap(lambda a: a, axis_size=4)(np.ones(2))


@pytest.mark.parametrize("in_axes, exc, match", [
    ((0,), ValueError, "in_axes has 1 entries but .* 2 positional"),
    ((0, 0, 0), ValueError, "in_axes has 3 entries"),
    (1.5, TypeError, "in_axes must be an int, None or a tuple"),
    ((0, "a"), TypeError, "must be int or None"),
    ((0, 2), ValueError, "out of bounds"),
    (({"a": 0}, 0), ValueError, "in_axes"),
])
def test_bad_in_axes(in_axes, exc, match):
    with pytest.raises(exc, match=match):
        sg.vmap(lambda a, b: a, in_axes=in_axes)(np.ones((2, 3)), np.ones((2, 3)))


def test_axis_size_needed_when_nothing_is_mapped():
    with pytest.raises(ValueError, match="no argument is mapped.*axis_size"):
        sg.vmap(lambda a: a, in_axes=None, axis_name="b")(np.ones(3))
    out = sg.vmap(lambda a: a * lax.axis_size("b"), in_axes=None, axis_name="b",
                  axis_size=4)(np.ones(3))
    np.testing.assert_allclose(out, np.full((4, 3), 4.0))


# --------------------------------------------------------------------------- the docs page

def test_per_example_and_total_doc_examples_run():
    """Every ```python block of docs/per_example_and_total.md, in order, one namespace."""
    import pathlib
    import re
    page = pathlib.Path(__file__).resolve().parents[1] / "docs" / "per_example_and_total.md"
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)
    assert len(blocks) >= 9
    namespace = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"{page.name}[block {i}]", "exec"), namespace)  # noqa: S102
