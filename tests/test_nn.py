"""spmdgrad.nn: values against explicit NumPy, stability at large inputs,
derivatives against finite differences, vmap against a loop, and per-example
VJPs with reduce_axes against the summed loop."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import spmdgrad as sg
import spmdgrad.numpy as jnp
from spmdgrad import nn
from spmdgrad.test_util import check_grads, loop_vmap


def np_sigmoid(x):
    e = np.exp(-np.abs(x))  # explicit and overflow-free in both tails
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def np_logsumexp(x, axis=None, keepdims=False):
    return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))


def np_softmax(x, axis=-1):
    e = np.exp(x)
    return e / np.sum(e, axis=axis, keepdims=True)


# name -> (spmdgrad fn, explicit NumPy reference); moderate inputs, away from kinks
ELEMENTWISE = {
    "relu": (nn.relu, lambda x: np.where(x > 0, x, 0.0)),
    "relu6": (nn.relu6, lambda x: np.minimum(np.maximum(x, 0.0), 6.0)),
    "leaky_relu": (nn.leaky_relu, lambda x: np.where(x >= 0, x, 0.01 * x)),
    "elu": (nn.elu, lambda x: np.where(x > 0, x, np.exp(x) - 1.0)),
    "sigmoid": (nn.sigmoid, np_sigmoid),
    "log_sigmoid": (nn.log_sigmoid, lambda x: np.log(np_sigmoid(x))),
    "softplus": (nn.softplus, lambda x: np.log(1.0 + np.exp(x))),
    "silu": (nn.silu, lambda x: x * np_sigmoid(x)),
}
# name -> (fn(x, axis), reference(x, axis)); axis=None allowed for logsumexp only
AXIS_FNS = {
    "logsumexp": (lambda x, axis: nn.logsumexp(x, axis=axis), np_logsumexp),
    "logsumexp_keepdims": (lambda x, axis: nn.logsumexp(x, axis=axis, keepdims=True),
                           lambda x, axis: np_logsumexp(x, axis, keepdims=True)),
    "softmax": (nn.softmax, np_softmax),
    "log_softmax": (nn.log_softmax, lambda x, axis: np.log(np_softmax(x, axis))),
}


def _points(rng, shape):
    """Clear of the kinks at 0 and 6."""
    x = rng.uniform(0.2, 3.0, shape) * rng.choice([-1.0, 1.0], shape)
    return np.where(np.abs(x - 6) < 0.2, 5.0, x)


# ---------------------------------------------------------------- values

@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_values(name):
    f, ref = ELEMENTWISE[name]
    x = np.concatenate([_points(np.random.default_rng(0), (10,)), [7.5, -7.5]])
    np.testing.assert_allclose(f(x), ref(x), rtol=1e-12, atol=1e-14)
    assert f(x.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize("name", sorted(AXIS_FNS))
@pytest.mark.parametrize("axis", [0, 1, -1, (0, 1)])
def test_axis_values(name, axis):
    f, ref = AXIS_FNS[name]
    x = np.random.default_rng(1).uniform(-3, 3, (3, 4))
    np.testing.assert_allclose(f(x, axis), ref(x, axis), rtol=1e-12)
    assert f(x.astype(np.float32), axis).dtype == np.float32


def test_logsumexp_axis_none_b_and_sign():
    x = np.random.default_rng(2).uniform(-3, 3, (3, 4))
    np.testing.assert_allclose(nn.logsumexp(x), np_logsumexp(x), rtol=1e-12)
    b = np.array([1.0, -2.0, 0.5, 1.0])
    s = np.sum(b * np.exp(x), axis=1)
    out, sign = nn.logsumexp(x, axis=1, b=b, return_sign=True)
    np.testing.assert_allclose(out, np.log(np.abs(s)), rtol=1e-12)
    np.testing.assert_array_equal(sign, np.sign(s))
    plain = nn.logsumexp(x, axis=1, b=b)
    np.testing.assert_array_equal(np.isnan(plain), s < 0)


def test_one_hot():
    labels = np.array([[0, 2], [1, 1]])
    want = (labels[..., None] == np.arange(3)).astype(np.float64)
    np.testing.assert_array_equal(nn.one_hot(labels, 3), want)
    np.testing.assert_array_equal(nn.one_hot(labels, 3, axis=0), np.moveaxis(want, -1, 0))
    assert nn.one_hot(labels, 3, dtype=np.float32).dtype == np.float32
    got = sg.vmap(lambda l: nn.one_hot(l, 3))(labels)
    np.testing.assert_array_equal(got, want)


# ---------------------------------------------------------------- stability at large inputs

def test_large_inputs_are_stable():
    big = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # no inf - inf, no 0/0
        sig = nn.sigmoid(big)
        np.testing.assert_allclose(sig, [0.0, np_sigmoid(-30.0), 0.5, np_sigmoid(30.0), 1.0])
        np.testing.assert_allclose(nn.softplus(big), [0.0, np.log1p(np.exp(-30.0)), np.log(2.0),
                                                      30.0 + np.log1p(np.exp(-30.0)), 1000.0])
        np.testing.assert_allclose(nn.log_sigmoid(big)[[0, 4]], [-1000.0, 0.0])
        np.testing.assert_allclose(nn.logsumexp(np.array([1000.0, 1000.0])), 1000.0 + np.log(2))
        np.testing.assert_allclose(nn.logsumexp(np.array([-1000.0, -1000.0])), -1000.0 + np.log(2))
        np.testing.assert_allclose(nn.softmax(np.array([1000.0, 0.0, -1000.0])), [1.0, 0.0, 0.0])
        np.testing.assert_allclose(nn.log_softmax(np.array([1000.0, 0.0])), [0.0, -1000.0])
        np.testing.assert_allclose(nn.elu(big)[[0, 4]], [-1.0, 1000.0])
        for f in (nn.sigmoid, nn.softplus, nn.log_sigmoid, nn.silu, nn.elu):
            g = sg.grad(lambda v: jnp.sum(f(v)))(big)
            assert np.all(np.isfinite(g)), f.__name__
        g = sg.grad(lambda v: nn.logsumexp(v))(np.array([1000.0, 1000.0, -1000.0]))
        np.testing.assert_allclose(g, [0.5, 0.5, 0.0])
        g = sg.grad(lambda v: nn.log_softmax(v)[0])(np.array([1000.0, 0.0]))
        np.testing.assert_allclose(g, [0.0, 0.0], atol=1e-300)
    np.testing.assert_allclose(sg.grad(lambda v: jnp.sum(nn.softplus(v)))(big), np_sigmoid(big))


@pytest.mark.filterwarnings("ignore:divide by zero")  # log(0) = -inf, as in NumPy
def test_infinite_inputs():
    np.testing.assert_array_equal(nn.logsumexp(np.array([-np.inf, -np.inf])), -np.inf)
    np.testing.assert_array_equal(nn.logsumexp(np.array([np.inf, 0.0])), np.inf)
    np.testing.assert_allclose(nn.softmax(np.array([-np.inf, 0.0])), [0.0, 1.0])


def test_kink_derivatives():
    # relu'(0) = 0 as in JAX; softplus'(0) = sigmoid(0) = 1/2.
    assert sg.grad(nn.relu)(0.0) == 0.0
    assert sg.grad(nn.softplus)(0.0) == 0.5
    assert sg.grad(nn.relu6)(6.0) == 0.0


# ---------------------------------------------------------------- derivatives

@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_grads(name):
    x = _points(np.random.default_rng(3), (2, 3))
    check_grads(ELEMENTWISE[name][0], (x,), order=2)


@pytest.mark.parametrize("name", sorted(AXIS_FNS))
@pytest.mark.parametrize("axis", [0, -1, (0, 1)])
def test_axis_grads(name, axis):
    x = np.random.default_rng(4).uniform(-3, 3, (3, 4))
    check_grads(lambda v: AXIS_FNS[name][0](v, axis), (x,), order=2)


def test_logsumexp_with_b_grads():
    x = np.random.default_rng(5).uniform(-1, 1, (3, 4))
    b = np.array([1.0, 2.0, 0.5, 1.0])
    check_grads(lambda v, w: nn.logsumexp(v, axis=1, b=w), (x, b), order=2)


# ---------------------------------------------------------------- vmap vs loop

@pytest.mark.parametrize("name", sorted(ELEMENTWISE) + sorted(AXIS_FNS))
@settings(max_examples=15, deadline=None)
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=3), data=st.data())
def test_vmap_matches_loop(name, shape, data):
    if name in ELEMENTWISE:
        f = ELEMENTWISE[name][0]
    else:
        axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
        f = lambda v: AXIS_FNS[name][0](v, axis)  # noqa: E731
    ax = data.draw(st.integers(0, len(shape)), label="in_axis")
    size = data.draw(st.integers(1, 3), label="size")
    rng = np.random.default_rng(data.draw(st.integers(0, 99)))
    x = np.moveaxis(_points(rng, (size,) + shape), 0, ax)
    got, want = sg.vmap(f, in_axes=ax)(x), loop_vmap(f, ax, x)
    assert np.asarray(got).shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------- per-example VJP with reduce_axes

@pytest.mark.parametrize("name", sorted(ELEMENTWISE) + sorted(AXIS_FNS))
def test_vjp_reduce_axes(name):
    rng = np.random.default_rng(6)
    if name in ELEMENTWISE:
        op = ELEMENTWISE[name][0]
    else:
        op = lambda v: AXIS_FNS[name][0](v, -1)  # noqa: E731
    f = lambda w, x: op(w * x)  # noqa: E731
    w = rng.uniform(0.5, 1.5, (3,))
    xs = _points(rng, (4, 2, 3))
    cts = rng.standard_normal((4,) + np.shape(f(w, xs[0])))
    got = sg.vmap(lambda x, ct: sg.vjp(f, w, x, reduce_axes=("b",))[1](ct)[0],
                  in_axes=(0, 0), out_axes=None, axis_name="b")(xs, cts)
    loop = [sg.vjp(f, w, x)[1](ct) for x, ct in zip(xs, cts)]
    np.testing.assert_allclose(got, sum(c[0] for c in loop), rtol=1e-10, atol=1e-12)
    per_w = sg.vmap(lambda x, ct: sg.vjp(f, w, x)[1](ct)[0], axis_name="b")(xs, cts)
    np.testing.assert_allclose(per_w, np.stack([c[0] for c in loop]), rtol=1e-10, atol=1e-12)


def test_per_example_logistic_regression_gradients():
    # The classic use: total vs per-example gradients of a softmax cross-entropy loss.
    rng = np.random.default_rng(7)
    w = rng.standard_normal((3, 4))
    xs, ys = rng.standard_normal((5, 3)), rng.integers(0, 4, 5)

    def loss(w, x, y):
        return -jnp.sum(nn.log_softmax(x @ w) * nn.one_hot(y, 4))

    total = sg.vmap(lambda x, y: sg.grad(loss, reduce_axes=("b",))(w, x, y),
                    out_axes=None, axis_name="b")(xs, ys)
    per = sg.vmap(lambda x, y: sg.grad(loss)(w, x, y), axis_name="b")(xs, ys)
    p = np_softmax(xs @ w)
    explicit = np.einsum("bi,bj->bij", xs, p - np.eye(4)[ys])
    np.testing.assert_allclose(per, explicit, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(total, explicit.sum(0), rtol=1e-10, atol=1e-12)
