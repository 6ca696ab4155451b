"""spmdgrad.nn: values against explicit NumPy, stability at large inputs,
derivatives against finite differences, vmap against a loop, and per-example
VJPs with reduce_axes against the summed loop."""
import math

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
    "celu": (nn.celu, lambda x: np.maximum(x, 0) + np.expm1(np.minimum(x, 0))),
    "selu": (nn.selu, lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(x))),
    "gelu": (nn.gelu, lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))),
    "gelu_exact": (lambda x: nn.gelu(x, approximate=False),
                   lambda x: 0.5 * x * np.vectorize(math.erfc)(-x / np.sqrt(2))),
    "mish": (nn.mish, lambda x: x * np.tanh(np.logaddexp(x, 0))),
    "hard_tanh": (nn.hard_tanh, lambda x: np.clip(x, -1, 1)),
    "hard_sigmoid": (nn.hard_sigmoid, lambda x: np.clip(x + 3, 0, 6) / 6),
    "hard_silu": (nn.hard_silu, lambda x: x * np.clip(x + 3, 0, 6) / 6),
    "soft_sign": (nn.soft_sign, lambda x: x / (np.abs(x) + 1)),
    "squareplus": (nn.squareplus, lambda x: (x + np.sqrt(x * x + 4)) / 2),
    "sparse_plus": (nn.sparse_plus, lambda x: np.where(x <= -1, 0, np.where(x >= 1, x, (x + 1) ** 2 / 4))),
    "sparse_sigmoid": (nn.sparse_sigmoid, lambda x: 0.5 * np.clip(x + 1, 0, 2)),
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
    assert nn.one_hot(labels, 3, dtype=None).dtype == np.float64
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
            g = sg.grad(lambda v, f=f: jnp.sum(f(v)))(big)
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
        f = lambda v: AXIS_FNS[name][0](v, axis)
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
        op = lambda v: AXIS_FNS[name][0](v, -1)
    f = lambda w, x: op(w * x)
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


# ---------------------------------------------------------------- against stored JAX numbers
# Reference data from jax 0.10.2 with jax_enable_x64: for each function, [values, vmap(grad),
# vmap(grad(grad))] at X_TIES (XP for log1mexp); for the axis functions (value, grad of sum(f(A) * w)),
# w = _weights(shape). Computed once and pasted here; JAX is not a dependency.

XP = [0.05, 0.5, 0.6931471805599453, 1.0, 3.0, 30.0]
JAX_ELEMENTWISE = {
    'relu':
        [[0.0, 0.0, 0.0, 0.0, 0.0, 0.3, 1.0, 2.5, 3.0, 6.0, 7.0],
         [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
         [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]],
    'relu6':
        [[0.0, 0.0, 0.0, 0.0, 0.0, 0.3, 1.0, 2.5, 3.0, 6.0, 6.0],
         [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0],
         [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]],
    'leaky_relu':
        [[-0.03, -0.025, -0.01, -0.003, 0.0, 0.3, 1.0, 2.5, 3.0, 6.0, 7.0],
         [0.01, 0.01, 0.01, 0.01, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
         [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]],
    'elu':
        [[-0.950212931632136, -0.9179150013761012, -0.6321205588285577, -0.2591817793182821, 0.0, 0.3, 1.0,
          2.5, 3.0, 6.0, 7.0],
         [0.04978706836786395, 0.08208499862389884, 0.36787944117144233, 0.7408182206817179, 1.0, 1.0, 1.0,
          1.0, 1.0, 1.0, 1.0],
         [0.04978706836786395, 0.08208499862389884, 0.36787944117144233, 0.7408182206817179, 1.0, 0.0, 0.0,
          0.0, 0.0, 0.0, 0.0]],
    'elu_a2':
        [[-1.900425863264272, -1.8358300027522023, -1.2642411176571153, -0.5183635586365642, 0.0, 0.3, 1.0,
          2.5, 3.0, 6.0, 7.0],
         [0.0995741367357279, 0.16416999724779768, 0.7357588823428847, 1.4816364413634358, 2.0, 1.0, 1.0,
          1.0, 1.0, 1.0, 1.0],
         [0.0995741367357279, 0.16416999724779768, 0.7357588823428847, 1.4816364413634358, 2.0, 0.0, 0.0,
          0.0, 0.0, 0.0, 0.0]],
    'celu':
        [[-0.950212931632136, -0.9179150013761012, -0.6321205588285577, -0.2591817793182821, 0.0, 0.3, 1.0,
          2.5, 3.0, 6.0, 7.0],
         [0.04978706836786395, 0.08208499862389884, 0.36787944117144233, 0.7408182206817179, 1.0, 1.0, 1.0,
          1.0, 1.0, 1.0, 1.0],
         [0.04978706836786395, 0.08208499862389884, 0.36787944117144233, 0.7408182206817179, 0.25, 0.0, 0.0,
          0.0, 0.0, 0.0, 0.0]],
    'celu_a2':
        [[-1.5537396797031404, -1.4269904062796197, -0.786938680574733, -0.2785840471498844, 0.0, 0.3, 1.0,
          2.5, 3.0, 6.0, 7.0],
         [0.2231301601484298, 0.28650479686019015, 0.6065306597126334, 0.8607079764250578, 1.0, 1.0, 1.0,
          1.0, 1.0, 1.0, 1.0],
         [0.1115650800742149, 0.14325239843009507, 0.3032653298563167, 0.4303539882125289, 0.125, 0.0, 0.0,
          0.0, 0.0, 0.0, 0.0]],
    'selu':
        [[-1.6705687287671118, -1.6137857588732423, -1.1113307378125625, -0.4556673153791221, 0.0,
          0.31521029620664415, 1.0507009873554805, 2.626752468388701, 3.1521029620664414, 6.304205924132883,
          7.354906911488364],
         [0.08753061208026489, 0.14431358197413438, 0.646768603034814, 1.3024320254682547,
          1.7580993408473766, 1.0507009873554805, 1.0507009873554805, 1.0507009873554805,
          1.0507009873554805, 1.0507009873554805, 1.0507009873554805],
         [0.08753061208026489, 0.14431358197413438, 0.646768603034814, 1.3024320254682547,
          1.7580993408473766, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]],
    'gelu':
        [[-0.003637392081773161, -0.0150842660899983, -0.1588080093917233, -0.11462907645724074, 0.0,
          0.18537092354275922, 0.8411919906082768, 2.4849157339100016, 2.996362607918227,
          5.9999999999156035, 6.9999999999999964],
         [-0.011584166630970047, -0.037951576212665414, -0.08296408384578258, 0.26770454836119817, 0.5,
          0.7322954516388018, 1.0829640838457828, 1.0379515762126654, 1.0115841666309702,
          1.0000000007710006, 1.0000000000000324],
         [-0.03176765888607522, -0.07624539207361147, 0.24214819798377296, 0.7281484484339119,
          0.7978845608028654, 0.7281484484339119, 0.24214819798377296, -0.07624539207361157,
          -0.03176765888607594, -6.824276048460508e-09, -3.797068499801229e-13]],
    'gelu_exact':
        [[-0.004049694094890279, -0.01552416331444033, -0.15865525393145707, -0.1146265733433142, 0.0,
          0.18537342665668577, 0.8413447460685429, 2.4844758366855597, 2.99595030590511, 5.999999994080474,
          6.999999999991041],
         [-0.01194564720418392, -0.037611085908145186, -0.08331547058768624, 0.2676722331728902, 0.5,
          0.7323277668271098, 1.0833154705876862, 1.037611085908145, 1.011945647204184, 1.0000000354687093,
          1.0000000000626632],
         [-0.03102293888356603, -0.07449527709766625, 0.24197072451914328, 0.728450727529601,
          0.7978845608028654, 0.728450727529601, 0.24197072451914328, -0.07449527709766625,
          -0.03102293888356603, -2.0658001689399104e-07, -4.2933185919313594e-10]],
    'sigmoid':
        [[0.04742587317756678, 0.07585818002124355, 0.2689414213699951, 0.425557483188341, 0.5,
          0.574442516811659, 0.7310585786300049, 0.9241418199787566, 0.9525741268224334, 0.9975273768433653,
          0.9990889488055994],
         [0.04517665973091214, 0.07010371654510815, 0.19661193324148185, 0.24445831169074586, 0.25,
          0.24445831169074586, 0.19661193324148185, 0.07010371654510807, 0.045176659730912,
          0.002466509291359931, 0.000910221180121784],
         [0.04089157466094349, 0.05946783584543406, 0.09085774767294842, 0.03639618395557622, 0.0,
          -0.03639618395557626, -0.09085774767294842, -0.059467835845434004, -0.04089157466094337,
          -0.0024543117953801886, -0.0009085626639351467]],
    'log_sigmoid':
        [[-3.048587351573742, -2.5788897342925496, -1.3132616875182228, -0.854355244468527,
          -0.6931471805599453, -0.554355244468527, -0.3132616875182228, -0.07888973429254963,
          -0.04858735157374206, -0.0024756851377304495, -0.0009114664537742447],
         [0.9525741268224333, 0.9241418199787564, 0.731058578630005, 0.5744425168116591, 0.5,
          0.4255574831883411, 0.2689414213699951, 0.07585818002124355, 0.04742587317756678,
          0.002472623156634775, 0.0009110511944006451],
         [-0.0451766597309121, -0.07010371654510816, -0.1966119332414818, -0.24445831169074583, -0.25,
          -0.2444583116907459, -0.19661193324148185, -0.07010371654510815, -0.04517665973091213,
          -0.0024665092913600485, -0.0009102211801218262]],
    'softplus':
        [[0.04858735157374206, 0.07888973429254963, 0.3132616875182228, 0.554355244468527,
          0.6931471805599453, 0.854355244468527, 1.3132616875182228, 2.5788897342925496, 3.048587351573742,
          6.00247568513773, 7.000911466453775],
         [0.04742587317756678, 0.07585818002124355, 0.2689414213699951, 0.4255574831883411, 0.5,
          0.5744425168116591, 0.731058578630005, 0.9241418199787564, 0.9525741268224333, 0.9975273768433656,
          0.999088948805599],
         [0.04517665973091213, 0.07010371654510815, 0.19661193324148185, 0.2444583116907459, 0.25,
          0.24445831169074583, 0.1966119332414818, 0.07010371654510816, 0.0451766597309121,
          0.0024665092913597098, 0.0009102211801222273]],
    'silu':
        [[-0.14227761953270035, -0.18964545005310887, -0.2689414213699951, -0.1276672449565023, 0.0,
          0.1723327550434977, 0.7310585786300049, 2.3103545499468914, 2.8577223804673, 5.985164261060192,
          6.993622641639195],
         [-0.08810410601516963, -0.09940111134152683, 0.07232948812851325, 0.3522199896811173, 0.5,
          0.6477800103188828, 0.9276705118714867, 1.0994011113415267, 1.0881041060151693,
          1.0123264325915249, 1.0054604970664518],
         [-0.03232140452100619, -0.00846215652336886, 0.3023661188100153, 0.4779977681948189, 0.5,
          0.4779977681948189, 0.3023661188100153, -0.008462156523368874, -0.03232140452100612,
          -0.00979285218956127, -0.004539496287302459]],
    'mish':
        [[-0.1456474612756246, -0.19681620390653337, -0.30340146137410895, -0.15113317713833452, 0.0,
          0.20800137234811503, 0.8650983882673103, 2.471392304557881, 2.9865350049679567, 5.999926634065253,
          6.999988379809741],
         [-0.0933931145323208, -0.10974357275018569, 0.059216755877395, 0.408510876935702,
          0.6000000000000001, 0.7828272995511304, 1.0490362200997922, 1.041129530131353, 1.0211069109294446,
          1.0001341405062087, 1.000021559160889],
         [-0.03992871324212923, -0.021145911278747792, 0.3497056736706449, 0.6212317330497978,
          0.6399999999999999, 0.5633946590020675, 0.18468576447332827, -0.050011029299784945,
          -0.03026649663932824, -0.0002428576261179039, -3.974078377804293e-05]],
    'tanh':
        [[-0.9950547536867305, -0.9866142981514302, -0.7615941559557649, -0.29131261245159085, 0.0,
          0.29131261245159085, 0.7615941559557649, 0.9866142981514302, 0.9950547536867305,
          0.9999877116507957, 0.9999983369439446],
         [0.009866037165440211, 0.026592226683160858, 0.419974341614026, 0.9151369618266292, 1.0,
          0.9151369618266293, 0.41997434161402614, 0.02659222668316079, 0.009866037165440166,
          2.4576547405080933e-05, 3.326109345090881e-06],
         [0.019634494363042432, 0.052472542130580724, 0.6397000084492248, 0.5331818782014541, 0.0,
          -0.5331818782014541, -0.6397000084492246, -0.05247254213058083, -0.019634494363042383,
          -4.915249079976836e-05, -6.652207627169186e-06]],
    'hard_tanh':
        [[-1.0, -1.0, -1.0, -0.3, 0.0, 0.3, 1.0, 1.0, 1.0, 1.0, 1.0],
         [0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0],
         [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]],
    'hard_sigmoid':
        [[0.0, 0.08333333333333333, 0.3333333333333333, 0.45, 0.5, 0.5499999999999999, 0.6666666666666666,
          0.9166666666666666, 1.0, 1.0, 1.0],
         [0.0, 0.16666666666666666, 0.16666666666666666, 0.16666666666666666, 0.16666666666666666,
          0.16666666666666666, 0.16666666666666666, 0.16666666666666666, 0.0, 0.0, 0.0],
         [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]],
    'hard_silu':
        [[-0.0, -0.20833333333333331, -0.3333333333333333, -0.135, 0.0, 0.16499999999999998,
          0.6666666666666666, 2.2916666666666665, 3.0, 6.0, 7.0],
         [0.0, -0.3333333333333333, 0.16666666666666666, 0.4, 0.5, 0.6, 0.8333333333333333,
          1.3333333333333333, 1.0, 1.0, 1.0],
         [0.0, 0.3333333333333333, 0.3333333333333333, 0.3333333333333333, 0.3333333333333333,
          0.3333333333333333, 0.3333333333333333, 0.3333333333333333, 0.0, 0.0, 0.0]],
    'soft_sign':
        [[-0.75, -0.7142857142857143, -0.5, -0.23076923076923075, 0.0, 0.23076923076923075, 0.5,
          0.7142857142857143, 0.75, 0.8571428571428571, 0.875],
         [0.0625, 0.0816326530612245, 0.25, 0.5917159763313609, 1.0, 0.5917159763313609, 0.25,
          0.0816326530612245, 0.0625, 0.020408163265306117, 0.015625],
         [0.03125, 0.0466472303206997, 0.25, 0.9103322712790167, -2.0, -0.9103322712790167, -0.25,
          -0.0466472303206997, -0.03125, -0.005830903790087461, -0.00390625]],
    'squareplus':
        [[0.30277563773199456, 0.35078105935821213, 0.6180339887498949, 0.8611874208078342, 1.0,
          1.161187420807834, 1.618033988749895, 2.850781059358212, 3.302775637731995, 6.16227766016838,
          7.140054944640259],
         [0.08397485283107814, 0.10956559527848482, 0.27639320225002106, 0.42582977353487766, 0.5,
          0.5741702264651223, 0.7236067977499789, 0.8904344047215151, 0.9160251471689218,
          0.9743416490252569, 0.9807619738204116],
         [0.042669245863479144, 0.06094585829799261, 0.17888543819998318, 0.2417937293076522, 0.25,
          0.2417937293076522, 0.17888543819998318, 0.06094585829799261, 0.042669245863479144,
          0.007905694150420958, 0.005183417507497706]],
    'sparse_plus':
        [[0.0, 0.0, 0.0, 0.12249999999999998, 0.25, 0.42250000000000004, 1.0, 2.5, 3.0, 6.0, 7.0],
         [0.0, 0.0, 0.0, 0.35, 0.5, 0.65, 1.0, 1.0, 1.0, 1.0, 1.0],
         [0.0, 0.0, 0.0, 0.5, 0.5, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0]],
    'sparse_sigmoid':
        [[0.0, 0.0, 0.0, 0.35, 0.5, 0.65, 1.0, 1.0, 1.0, 1.0, 1.0],
         [0.0, 0.0, 0.25, 0.5, 0.5, 0.5, 0.25, 0.0, 0.0, 0.0, 0.0],
         [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]],
    'identity':
        [[-3.0, -2.5, -1.0, -0.3, 0.0, 0.3, 1.0, 2.5, 3.0, 6.0, 7.0],
         [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
         [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]],
    'log1mexp':
        [[-3.0206281090573768, -0.9327521295671887, -0.6931471805599453, -0.4586751453870813,
          -0.05106918094270159, -9.357622968840613e-14],
         [19.50416649306588, 1.5414940825367984, 1.0, 0.5819767068693263, 0.05239569649125595,
          9.35762296884105e-14],
         [-399.9166770822997, -3.917698089032765, -2.0, -0.9206735942077922, -0.055141005502059755,
          -9.357622968841927e-14]],
}
A = [[0.5, -1.0, 2.0, 0.0], [1.5, 1.5, -0.5, 3.0], [-2.0, 0.25, 0.75, -1.0]]
M = [[True, False, True, True], [True, True, True, False], [False, True, True, True]]
W = [[0.3, -1.2, 0.7, 2.0], [1.1, -0.4, 0.9, 0.2], [-0.6, 1.3, 0.5, -0.8]]
JAX_AXIS = {
    'logsumexp_ax1':
        ([2.342349582389822, 3.3896457754787455, 1.3620631824652996],
         [[0.15844470951497974, 0.035353793408748876, 0.7100999228861743, 0.09610157419009724],
          [0.30225066330903727, 0.30225066330903727, 0.040905179127382625, 1.3545934942545428],
          [0.10399100293772309, 0.9866391652311002, 1.6266929782223332, 0.2826768536088439]]),
    'logsumexp_where':
        ([2.3063557122291467, 2.2586236756795133, 1.3267844750362334],
         [[0.1642516276250878, 0.0, 0.7361247243125938, 0.09962364806231833],
          [0.9366210616669624, 0.9366210616669624, 0.12675787666607524, 0.0],
          [0.0, 1.0220677831787996, 1.6851048942242137, 0.29282732259698685]]),
    'logsumexp_all_where':
        (3.151735138932859,
         [[0.07052872968356276, 0.0, 0.3160878369676511, 0.04277783694366532],
          [0.19171696428312873, 0.19171696428312873, 0.025946069662520787, 0.0],
          [0.0, 0.05492782990659012, 0.09056068152039376, 0.015737086749358677]]),
    'logmeanexp_ax0':
        ([0.7364853068480575, 0.7151685746691483, 1.2151685746691483, 1.9672716150893195],
         [[0.2631324936512963, 0.11995559063022855, 2.1920373876080665, 0.1864504903118956],
          [0.7152682759694339, 1.4613582584053775, 0.17993338594534286, 3.744958207506023],
          [0.021599230379269717, 0.4186861509643939, 0.6280292264465909, 0.06859130218208156]]),
    'logmeanexp_where':
        ([[1.207743423561037], [1.1600113870114035], [0.22817218636812364]],
         [[0.049275488287526335, 0.0, 0.22083741729377812, 0.029887094418695494],
          [0.5151415839168293, 0.5151415839168293, 0.06971683216634138, 0.0],
          [0.0, -0.20441355663575994, -0.3370209788448427, -0.05856546451939737]]),
    'softmax_where':
        ([[0.1642516276250878, 0.0, 0.7361247243125938, 0.09962364806231833],
          [0.4683105308334812, 0.4683105308334812, 0.06337893833303762, 0.0],
          [0.0, 0.34068926105959985, 0.5617016314080712, 0.09760910753232895]],
         [[-0.076181562426479, 0.0, -0.046972185962990465, 0.12315374838946966],
          [0.3349083347851869, -0.3675574614650349, 0.03264912667984805, 0.0],
          [0.0, 0.22292675789984998, -0.08181721756875654, -0.1411095403310935]]),
    'log_softmax_where':
        ([[-1.8063557122291467, 0.0, -0.30635571222914665, -2.3063557122291467],
          [-0.7586236756795135, -0.7586236756795135, -2.7586236756795133, 0.0],
          [0.0, -1.0767844750362334, -0.5767844750362334, -2.3267844750362334]],
         [[-0.19275488287526335, 0.0, -1.508374172937781, 1.7011290558130452],
          [0.3507031506664302, -1.1492968493335698, 0.7985936986671398, 0.0],
          [0.0, 0.9593107389404002, -0.06170163140807117, -0.897609107532329]]),
    'softmax_ax0':
        ([[0.2631324936512963, 0.059977795315114275, 0.7306791292026887, 0.0466126225779739],
          [0.7152682759694339, 0.7306791292026887, 0.059977795315114275, 0.9362395518765058],
          [0.021599230379269717, 0.20934307548219694, 0.20934307548219694, 0.01714782554552039]],
         [[-0.1454531466528191, -0.06644945893164517, 0.021827618569119855, 0.08079109991006533],
          [0.17683197533700024, -0.22497682876462963, 0.013787279103232056, -0.06249857306914927],
          [-0.031378828684181154, 0.2914262876962748, -0.03561489767235197, -0.018292526840916097]]),
    'standardize':
        ([[0.11546956116884852, -1.2701651728573338, 1.5011042951950306, -0.3464086835065455],
          [0.10050345666678831, 0.10050345666678831, -1.5075518500018246, 1.306544936668248],
          [-1.3949656326550572, 0.6974828163275286, 1.162471360545881, -0.4649885442183524]],
         [[-0.18967756297313088, -0.9619432221531619, -0.4335440420789668, 1.5851648272052594],
          [0.5433276439785532, -0.6627138360229067, 0.05116740433163158, 0.06821878771272238],
          [0.223689626798332, 0.6786357117720332, -0.35690382187867253, -0.5454215166916926]]),
    'standardize_ax0_stable':
        ([[0.33968232636199164, -1.2247389926585335, 1.2247389926585335, -0.3922315914145858],
          [1.0190469790859749, 1.2247389926585335, -1.2247389926585335, 1.3728105699510504],
          [-1.3587293054479666, 0.0, 0.0, -0.9805789785364645]],
         [[-0.1341302463164723, -0.6858575982508454, 0.09797817882216597, 0.9232527497601768],
          [0.09581000638150425, -0.685850073526712, 0.09798006000319937, -0.23081294983903725],
          [0.038320239934968026, 1.3717076717775574, -0.19595823882536534, -0.6924397999211396]]),
    'standardize_where':
        ([[-0.3922295548503879, -2.1572625516771335, 1.3728034419763573, -0.9805738871259697],
          [0.707102803744463, 0.707102803744463, -1.4142056074889262, 2.2980841121695046],
          [-2.7174397980031277, 0.33967997475039097, 1.019039924251173, -1.3587198990015639]],
         [[-0.12672345087218134, -1.4120263974613962, -0.6743221532709707, 2.2130720016045484],
          [0.6098752733126812, -0.9811060351123608, 0.15909992067634038, 0.2121308411233389],
          [-0.8152319394009383, 1.0207922921797592, -1.1949454736656229, 0.9893851208868017]]),
    'standardize_given':
        ([[0.0, -1.035098339013531, 1.035098339013531, -0.34503277967117707],
          [0.6900655593423541, 0.6900655593423541, -0.6900655593423541, 1.7251638983558855],
          [-1.7251638983558855, -0.17251638983558854, 0.17251638983558854, -1.035098339013531]],
         [[0.20701966780270623, -0.8280786712108249, 0.4830458915396479, 1.3801311186847083],
          [0.7590721152765896, -0.2760262237369417, 0.6210590034081187, 0.13801311186847084],
          [-0.41403933560541245, 0.8970852271450604, 0.34503277967117707, -0.5520524474738834]]),
    'glu':
        ([[0.44039853898894116, -0.5], [0.566311003197218, 1.42886119023365],
          [-1.358357398350786, 0.06723535534249878]],
         [[0.2642391233933647, -0.6, 0.01574903781052599, 0.3],
          [0.41529473567796, -0.3810296507289734, 0.38775612513263097, -0.027105995838547205],
          [-0.4075072195052358, 0.34962384778099365, 0.26147399251417686, 0.06389887830348161]]),
    'glu_ax0':
        ([[0.4087872380968218, -0.8175744761936437, 0.7550813375962908, 0.0]],
         [[0.24527234285809307, -0.9810893714323723, 0.26427846815870176, 1.9051482536448667],
          [0.02237196781054993, 0.17897574248439943, 0.32900519708223225, 0.0], [0.0, 0.0, 0.0, 0.0]]),
}
STD_CONST_GRAD = [-421.6370213557839, -105.40925533894597, 527.0462766947298]

# Values, first and second derivatives computed with jax 0.10.2 (x64) at points that include
# every kink and tie of these functions: 0 (relu, elu, celu, softplus, log_sigmoid), ±1
# (hard_tanh, sparse_plus, sparse_sigmoid), ±3 (hard_sigmoid, hard_silu) and 6 (relu6).

X_TIES = np.array([-3.0, -2.5, -1.0, -0.3, 0.0, 0.3, 1.0, 2.5, 3.0, 6.0, 7.0])
JAX_FNS = {
    "relu": nn.relu, "relu6": nn.relu6, "leaky_relu": nn.leaky_relu, "elu": nn.elu,
    "elu_a2": lambda x: nn.elu(x, 2.0), "celu": nn.celu, "celu_a2": lambda x: nn.celu(x, 2.0),
    "selu": nn.selu, "gelu": nn.gelu, "gelu_exact": lambda x: nn.gelu(x, approximate=False),
    "sigmoid": nn.sigmoid, "log_sigmoid": nn.log_sigmoid, "softplus": nn.softplus, "silu": nn.silu,
    "mish": nn.mish, "tanh": nn.tanh, "hard_tanh": nn.hard_tanh, "hard_sigmoid": nn.hard_sigmoid,
    "hard_silu": nn.hard_silu, "soft_sign": nn.soft_sign, "squareplus": nn.squareplus,
    "sparse_plus": nn.sparse_plus, "sparse_sigmoid": nn.sparse_sigmoid, "identity": nn.identity,
}


def _d1_d2(f, xs):
    d1 = sg.vmap(sg.grad(f))(xs)
    d2 = sg.vmap(sg.grad(sg.grad(f)))(xs)
    return d1, d2


@pytest.mark.parametrize("name", sorted(JAX_FNS) + ["log1mexp"])
def test_against_jax_values_and_derivatives(name):
    f, xs = (nn.log1mexp, np.array(XP)) if name == "log1mexp" else (JAX_FNS[name], X_TIES)
    want_v, want_d1, want_d2 = (np.array(w) for w in JAX_ELEMENTWISE[name])
    np.testing.assert_allclose(f(xs), want_v, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(sg.jit(f)(xs), f(xs), rtol=1e-15, atol=0)
    d1, d2 = _d1_d2(f, xs)
    np.testing.assert_allclose(sg.jit(lambda v: _d1_d2(f, v))(xs), (d1, d2), rtol=1e-15, atol=0)
    np.testing.assert_allclose(d1, want_d1, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(d2, want_d2, rtol=1e-12, atol=1e-12)  # cancellation in both
    # the same derivatives one point at a time (no vmap), and forward mode
    for i in (4, 6):
        if name != "log1mexp":
            assert float(sg.grad(f)(xs[i])) == pytest.approx(want_d1[i], rel=1e-13, abs=1e-15)
            assert float(sg.jvp(f, (xs[i],), (1.0,))[1]) == pytest.approx(want_d1[i], rel=1e-13, abs=1e-15)


def test_issue7_derivatives_at_zero():
    # The three numbers issue 7 names: tie-splitting rewrites used to give 0.5, 0 and 0.
    assert sg.grad(nn.elu)(0.0) == 1.0
    assert sg.grad(sg.grad(nn.softplus))(0.0) == 0.25
    assert sg.grad(sg.grad(nn.log_sigmoid))(0.0) == -0.25
    assert sg.jacfwd(sg.jacrev(nn.softplus))(0.0) == 0.25


@pytest.mark.parametrize("name", sorted(JAX_FNS))
def test_against_jax_float32(name):
    f = JAX_FNS[name]
    want = np.array(JAX_ELEMENTWISE[name][0])
    got = f(X_TIES.astype(np.float32))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=2e-7)


def _weights(shape):
    """The cotangent weights the JAX reference used (a slice of W, or 1, 2, 3, ...)."""
    if len(shape) == 2:
        return np.array(W)[:shape[0], :shape[1]]
    return np.arange(1.0, 1.0 + np.prod(shape)).reshape(shape)


MASK = np.array(M)
JAX_AXIS_FNS = {
    "logsumexp_ax1": lambda a: nn.logsumexp(a, axis=1),
    "logsumexp_where": lambda a: nn.logsumexp(a, axis=1, where=MASK),
    "logsumexp_all_where": lambda a: nn.logsumexp(a, where=MASK),
    "logmeanexp_ax0": lambda a: nn.logmeanexp(a, axis=0),
    "logmeanexp_where": lambda a: nn.logmeanexp(a, axis=1, where=MASK, keepdims=True),
    "softmax_where": lambda a: jnp.where(MASK, nn.softmax(a, axis=1, where=MASK), 0.0),
    "log_softmax_where": lambda a: jnp.where(MASK, nn.log_softmax(a, axis=1, where=MASK), 0.0),
    "softmax_ax0": lambda a: nn.softmax(a, axis=0),
    "standardize": lambda a: nn.standardize(a),
    "standardize_ax0_stable": lambda a: nn.standardize(a, axis=0, algorithm="stable"),
    "standardize_where": lambda a: nn.standardize(a, axis=1, where=MASK),
    "standardize_given": lambda a: nn.standardize(a, axis=1, mean=0.5, variance=2.0, epsilon=0.1),
    "glu": lambda a: nn.glu(a),
    "glu_ax0": lambda a: nn.glu(a[:2], axis=0),
}


@pytest.mark.parametrize("name", sorted(JAX_AXIS_FNS))
def test_axis_fns_against_jax(name):
    f, a = JAX_AXIS_FNS[name], np.array(A)
    want, want_grad = (np.array(w) for w in JAX_AXIS[name])
    got = f(a)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-14)
    wts = _weights(np.shape(got))
    g = sg.grad(lambda v: jnp.sum(f(v) * wts))(a)
    np.testing.assert_allclose(g, want_grad, rtol=1e-12, atol=1e-13)
    check_grads(lambda v: f(v) * wts, (a,), order=2)


def test_masked_outputs_match_jax_conventions():
    a = np.array(A)
    np.testing.assert_array_equal(nn.softmax(a, axis=1, where=MASK)[~MASK], 0.0)
    np.testing.assert_array_equal(nn.log_softmax(a, axis=1, where=MASK)[~MASK], -np.inf)
    g = sg.grad(lambda v: jnp.sum(nn.logsumexp(v, axis=1, where=MASK)))(a)
    np.testing.assert_array_equal(g[~MASK], 0.0)


# Hessians at a tied maximum (x[0] == x[1]), from JAX: the max shift is a constant to
# differentiation, so the tie must not leak into the derivatives.
X_TIED_MAX = np.array([0.5, 0.5, -1.0])
H_LSE = [[0.24748158798987824, -0.20233462966839588, -0.04514695832148241],
         [-0.20233462966839588, 0.24748158798987824, -0.04514695832148241],
         [-0.04514695832148241, -0.04514695832148241, 0.09029391664296481]]
H_SOFTMAX1 = [[-0.020307834030944993, -0.020307834030944993, 0.040615668061889924],
              [-0.020307834030944993, 0.024839124290537362, -0.004531290259592487],
              [0.040615668061889924, -0.004531290259592489, -0.036084377802297445]]


def test_hessians_at_tied_max_match_jax():
    h = sg.hessian(nn.logsumexp)(X_TIED_MAX)
    np.testing.assert_allclose(h, H_LSE, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(sg.hessian(nn.logmeanexp)(X_TIED_MAX), H_LSE, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(sg.hessian(lambda v: nn.log_softmax(v)[0])(X_TIED_MAX), -np.array(H_LSE),
                               rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(sg.hessian(lambda v: nn.softmax(v)[1])(X_TIED_MAX), H_SOFTMAX1,
                               rtol=1e-12, atol=1e-15)


def test_standardize_constant_input_tie():
    # mean(x**2) - mean(x)**2 is exactly 0 here: the clip at 0 ties and splits, as in JAX.
    g = sg.grad(lambda a: jnp.sum(nn.standardize(a) * np.array([1.0, 2.0, 4.0])))(np.full(3, 2.0))
    np.testing.assert_allclose(g, STD_CONST_GRAD, rtol=1e-12)


def test_new_fns_vmap_matches_loop():
    x = np.random.default_rng(8).uniform(-3, 3, (4, 2, 6))
    for f in list(JAX_FNS.values()) + [nn.glu, lambda v: nn.standardize(v, axis=0),
                                        lambda v: nn.logmeanexp(v, axis=1),
                                        lambda v: nn.softmax(v, where=v > -2.5)]:
        for ax in (0, 2):
            np.testing.assert_allclose(sg.vmap(f, in_axes=ax)(x), loop_vmap(f, ax, x),
                                       rtol=1e-13, atol=1e-14)


def test_one_hot_out_of_range_and_axis_name():
    np.testing.assert_array_equal(nn.one_hot(np.array([-1, 3]), 3), np.zeros((2, 3)))
    # a named axis is the one-hot axis: instance c holds (labels == c), as in JAX
    labels = np.array([2, 0, 1, 2])
    got = sg.vmap(lambda _: nn.one_hot(labels, 3, axis="i"), axis_name="i")(np.arange(3))
    np.testing.assert_array_equal(got, (labels == np.arange(3)[:, None]).astype(float))
    with pytest.raises(ValueError, match="num_classes"):
        sg.vmap(lambda _: nn.one_hot(labels, 4, axis="i"), axis_name="i")(np.arange(3))


def test_errors_name_the_function():
    with pytest.raises(ValueError, match="glu.*odd"):
        nn.glu(np.ones(3))
    with pytest.raises(ValueError, match="standardize.*algorithm"):
        nn.standardize(np.ones(3), algorithm="two-pass")


def test_gelu_exact_tails_and_jit():
    x = np.array([-40.0, -10.0, 10.0])
    # erfc keeps the left tail accurate where 1 + erf(x) would round to 0
    assert nn.gelu(x, approximate=False)[1] < 0 and nn.gelu(x, approximate=False)[1] > -1e-20
    np.testing.assert_allclose(sg.jit(lambda v: nn.gelu(v, approximate=False))(x),
                               nn.gelu(x, approximate=False), rtol=0)
    check_grads(lambda v: nn.gelu(v, approximate=False), (np.array([-1.5, 0.2, 2.0]),), order=2)
