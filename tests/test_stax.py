"""spmdgrad.example_libraries.stax and spmdgrad.nn.initializers: each layer's init shapes
and apply against a hand-written NumPy forward; gradients of small nets against finite
differences; per-example gradients (vmap) against a loop; jit against eager.

The layers draw their parameters through ``spmdgrad.random``. Where that module is not
available yet, the tests install a small NumPy stand-in (below, tests only) with the same
call signatures; the tests that compare weights with JAX's need the real module."""
import itertools
import sys
import types

import numpy as np
import pytest

import spmdgrad as sg
import spmdgrad.numpy as jnp
from spmdgrad import lax
from spmdgrad.example_libraries import stax
from spmdgrad.nn import initializers as init
from spmdgrad.test_util import check_grads
from spmdgrad.tree_util import tree_flatten, tree_leaves, tree_unflatten

HAVE_RANDOM = hasattr(sg, "random")
needs_conv = pytest.mark.skipif(not hasattr(lax, "conv_general_dilated"),
                                reason="needs the conv primitives (issue 10)")
needs_random = pytest.mark.skipif(not HAVE_RANDOM, reason="needs spmdgrad.random (issue 9)")


def _standin_random():
    """A NumPy stand-in with spmdgrad.random's (JAX's) signatures: keys are uint32 pairs."""
    mod = types.ModuleType("spmdgrad.random")

    def gen(key):
        return np.random.default_rng(np.asarray(key, np.uint32).tolist())

    mod.PRNGKey = lambda seed: np.array([0, seed], np.uint32)
    mod.split = lambda key, num=2: gen(key).integers(0, 2 ** 32, (num, 2), dtype=np.uint32)
    mod.normal = lambda key, shape=(), dtype=np.float64: gen(key).standard_normal(shape).astype(dtype)
    mod.uniform = lambda key, shape=(), dtype=np.float64, minval=0.0, maxval=1.0: \
        gen(key).uniform(minval, maxval, shape).astype(dtype)

    def truncated_normal(key, lower, upper, shape=(), dtype=np.float64):
        g, out = gen(key), np.empty(shape)
        flat = out.reshape(-1)
        for i in range(flat.size):
            v = g.standard_normal()
            while not lower < v < upper:
                v = g.standard_normal()
            flat[i] = v
        return out.astype(dtype)
    mod.truncated_normal = truncated_normal
    mod.bernoulli = lambda key, p=0.5, shape=(): gen(key).uniform(size=shape) < p

    def orthogonal(key, n, shape=(), dtype=np.float64, m=None):
        m = n if m is None else m
        q, r = np.linalg.qr(gen(key).standard_normal((max(n, m), min(n, m))))
        q = q * np.sign(np.diag(r))
        return (q if n >= m else q.T).astype(dtype)
    mod.orthogonal = orthogonal
    return mod


@pytest.fixture(autouse=True)
def random_module(monkeypatch):
    if HAVE_RANDOM:
        return sg.random
    mod = _standin_random()
    monkeypatch.setattr(sg, "random", mod, raising=False)
    monkeypatch.setitem(sys.modules, "spmdgrad.random", mod)
    return mod


def key(random_module, seed=0):
    return random_module.PRNGKey(seed)


def check_layer(layer, rng_key, input_shape, x, reference, rtol=1e-12, **apply_kwargs):
    """init's output shape equals apply's; apply equals the NumPy reference; jit equals eager."""
    init_fun, apply_fun = layer
    out_shape, params = init_fun(rng_key, input_shape)
    out = apply_fun(params, x, **apply_kwargs)
    assert tuple(np.shape(out)) == tuple(out_shape)
    np.testing.assert_allclose(out, reference(params, x), rtol=rtol, atol=1e-12)
    jitted = sg.jit(lambda p, v: apply_fun(p, v, **apply_kwargs))(params, x)
    np.testing.assert_allclose(jitted, out, rtol=1e-14, atol=1e-15)
    return params


# ---------------------------------------------------------------- dense, batchnorm, elementwise

def test_dense(random_module):
    x = np.random.default_rng(0).standard_normal((5, 3))
    params = check_layer(stax.Dense(4), key(random_module), (5, 3), x, lambda p, v: v @ p[0] + p[1])
    W, b = params
    assert W.shape == (3, 4) and b.shape == (4,) and W.dtype == np.float64
    # glorot_normal: truncated at 2 standard deviations of sqrt(2 / (3 + 4)) / .8796...
    assert np.all(np.abs(W) < 2 * np.sqrt(2 / 7) / .87962566103423978)
    assert np.all(np.abs(b) < 0.1)  # normal(1e-2)
    # batch dims before the feature axis
    x3 = np.random.default_rng(1).standard_normal((2, 5, 3))
    check_layer(stax.Dense(4), key(random_module), (2, 5, 3), x3, lambda p, v: v @ p[0] + p[1])


def _np_batchnorm(x, axis, eps, beta, gamma):
    mean = x.mean(axis=axis, keepdims=True)
    var = x.var(axis=axis, keepdims=True)
    z = (x - mean) / np.sqrt(var + eps)
    keep = [1 if i in axis else d for i, d in enumerate(x.shape)]
    if not isinstance(gamma, tuple):
        z = gamma.reshape(keep) * z
    if not isinstance(beta, tuple):
        z = z + beta.reshape(keep)
    return z


@pytest.mark.parametrize("axis,center,scale", [((0, 1, 2), True, True), ((0,), True, False),
                                               (0, False, True), ((0, 2), False, False)])
def test_batchnorm(random_module, axis, center, scale):
    x = np.random.default_rng(2).standard_normal((4, 3, 2, 5)) * 3 + 1
    ax = (axis,) if np.isscalar(axis) else axis
    layer = stax.BatchNorm(axis=axis, center=center, scale=scale,
                           beta_init=init.normal(1.0), gamma_init=init.uniform(2.0))
    params = check_layer(layer, key(random_module), x.shape, x,
                         lambda p, v: _np_batchnorm(v, ax, 1e-5, p[0], p[1]), rtol=1e-10)
    shape = tuple(d for i, d in enumerate(x.shape) if i not in ax)
    assert np.shape(params[0]) == (shape if center else (0,))
    assert np.shape(params[1]) == (shape if scale else (0,))


def test_batchnorm_default_params_are_zeros_and_ones(random_module):
    _, (beta, gamma) = stax.BatchNorm()[0](key(random_module), (2, 3, 3, 4))
    np.testing.assert_array_equal(beta, np.zeros(4))
    np.testing.assert_array_equal(gamma, np.ones(4))


def _np_softplus(v):
    return np.logaddexp(v, 0)


ELEMENTWISE_LAYERS = {
    "Tanh": (stax.Tanh, np.tanh),
    "Relu": (stax.Relu, lambda v: np.maximum(v, 0)),
    "Exp": (stax.Exp, np.exp),
    "LogSoftmax": (stax.LogSoftmax, lambda v: v - np.log(np.exp(v).sum(-1, keepdims=True))),
    "Softmax": (stax.Softmax, lambda v: np.exp(v) / np.exp(v).sum(-1, keepdims=True)),
    "Softplus": (stax.Softplus, _np_softplus),
    "Sigmoid": (stax.Sigmoid, lambda v: 1 / (1 + np.exp(-v))),
    "Elu": (stax.Elu, lambda v: np.where(v > 0, v, np.expm1(v))),
    "LeakyRelu": (stax.LeakyRelu, lambda v: np.where(v >= 0, v, 0.01 * v)),
    "Selu": (stax.Selu, lambda v: 1.0507009873554805 * np.where(v > 0, v, 1.6732632423543772 * np.expm1(v))),
    "Gelu": (stax.Gelu, lambda v: 0.5 * v * (1 + np.tanh(np.sqrt(2 / np.pi) * (v + 0.044715 * v ** 3)))),
    "Identity": (stax.Identity, lambda v: v),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE_LAYERS))
def test_elementwise_layers(random_module, name):
    layer, ref = ELEMENTWISE_LAYERS[name]
    x = np.random.default_rng(3).uniform(-3, 3, (4, 5))
    params = check_layer(layer, key(random_module), (4, 5), x, lambda p, v: ref(v), rtol=1e-13)
    assert params == ()


def test_flatten_fanout_fanin(random_module):
    x = np.random.default_rng(4).standard_normal((3, 2, 4))
    check_layer(stax.Flatten, key(random_module), (3, 2, 4), x, lambda p, v: v.reshape(3, 8))
    shapes, _ = stax.FanOut(3)[0](key(random_module), (3, 2))
    assert shapes == [(3, 2)] * 3
    outs = stax.FanOut(2)[1]((), x)
    assert len(outs) == 2 and all(o is x for o in outs)
    xs = [x, 2 * x, -x]
    assert stax.FanInSum[0](None, [(3, 2, 4)] * 3)[0] == (3, 2, 4)
    np.testing.assert_allclose(stax.FanInSum[1]((), xs), 2 * x)
    concat_init, concat_apply = stax.FanInConcat(axis=1)
    assert concat_init(None, [(3, 2, 4), (3, 5, 4)])[0] == (3, 7, 4)
    y = np.ones((3, 5, 4))
    np.testing.assert_array_equal(concat_apply((), [x, y]), np.concatenate([x, y], 1))
    assert stax.FanInConcat()[0](None, [(3, 2), (3, 6)])[0] == (3, 8)


def test_dropout(random_module):
    x = np.random.default_rng(5).standard_normal((40, 50))
    k = key(random_module, 3)
    init_fun, apply_fun = stax.Dropout(0.75)
    assert init_fun(k, x.shape) == (x.shape, ())
    keep = np.asarray(random_module.bernoulli(k, 0.75, x.shape))
    out = apply_fun((), x, rng=k)
    # as in JAX's stax, rate is the keep probability and kept entries are divided by it
    np.testing.assert_array_equal(out, np.where(keep, x / 0.75, 0))
    assert 0.65 < keep.mean() < 0.85
    np.testing.assert_array_equal(stax.Dropout(0.5, mode="test")[1]((), x, rng=k), x)
    with pytest.raises(ValueError, match="PRNG key"):
        apply_fun((), x)


# ---------------------------------------------------------------- combinators

def mlp():
    return stax.serial(stax.Dense(6), stax.Tanh, stax.Dense(5), stax.Relu, stax.Dense(3), stax.LogSoftmax)


def np_mlp(params, x):
    (W1, b1), _, (W2, b2), _, (W3, b3), _ = params
    h = np.maximum(np.tanh(x @ W1 + b1) @ W2 + b2, 0) @ W3 + b3
    return h - np.log(np.exp(h).sum(-1, keepdims=True))


def test_serial_mlp(random_module):
    x = np.random.default_rng(6).standard_normal((7, 4))
    params = check_layer(mlp(), key(random_module), (7, 4), x, np_mlp)
    assert [np.shape(p[0]) if p else () for p in params] == [(4, 6), (), (6, 5), (), (5, 3), ()]


def test_serial_splits_keys_like_jax(random_module):
    # serial's init: rng, layer_rng = split(rng) before each layer
    k = key(random_module, 11)
    _, params = stax.serial(stax.Dense(3), stax.Dense(2))[0](k, (1, 4))
    k, k1 = random_module.split(k)
    _, want1 = stax.Dense(3)[0](k1, (1, 4))
    k, k2 = random_module.split(k)
    _, want2 = stax.Dense(2)[0](k2, (1, 3))
    for got, want in zip(tree_leaves(params), tree_leaves([want1, want2]), strict=True):
        np.testing.assert_array_equal(got, want)


def test_serial_passes_split_rngs_to_dropout(random_module):
    k = key(random_module, 5)
    net = stax.serial(stax.Identity, stax.Dropout(0.5))
    x = np.ones((6, 6))
    out = net[1](((), ()), x, rng=k)
    k_drop = random_module.split(k, 2)[1]
    np.testing.assert_array_equal(out, stax.Dropout(0.5)[1]((), x, rng=k_drop))


def test_parallel_with_fanout_and_fanin(random_module):
    block = stax.serial(stax.FanOut(2), stax.parallel(stax.Dense(4), stax.Identity), stax.FanInSum)
    x = np.random.default_rng(7).standard_normal((3, 4))
    params = check_layer(block, key(random_module), (3, 4), x,
                         lambda p, v: (v @ p[1][0][0] + p[1][0][1]) + v)
    shapes, ps = stax.parallel(stax.Dense(2), stax.Relu)[0](key(random_module), [(3, 4), (3, 4)])
    assert shapes == ((3, 2), (3, 4)) and ps[1] == ()
    assert len(params) == 3


def test_shape_dependent(random_module):
    layer = stax.shape_dependent(lambda shape: stax.Dense(shape[-1] * 2))
    x = np.random.default_rng(8).standard_normal((2, 3))
    params = check_layer(layer, key(random_module), (2, 3), x, lambda p, v: v @ p[0] + p[1])
    assert params[0].shape == (3, 6)


def test_layer_errors(random_module):
    with pytest.raises(TypeError, match="not a layer.*FanOut"):
        stax.serial(stax.FanOut)
    with pytest.raises(TypeError, match="PRNG key"):
        stax.Dense(3)[0](None, (2, 4))
    with pytest.raises(ValueError, match="padding"):
        stax.MaxPool((2,), padding="FULL")[0](None, (1, 4, 1))
    _, params = mlp()[0](key(random_module), (2, 4))
    with pytest.raises(TypeError, match="serial: apply_fun expected the params.*6 entries"):
        mlp()[1](params[:5], np.ones((2, 4)))
    with pytest.raises(TypeError, match="Dense: apply_fun expected"):
        stax.Dense(3)[1](params[0][0], np.ones((2, 4)))
    with pytest.raises(TypeError, match="parallel: apply_fun expected a list of 2 inputs"):
        stax.parallel(stax.Relu, stax.Relu)[1](((), ()), np.ones(3))


# ---------------------------------------------------------------- gradients and vmap

def _loss_of_leaves(apply_fun, tree, x, y):
    def loss(*leaves):
        logp = apply_fun(tree_unflatten(tree, leaves), x)
        return -jnp.mean(jnp.sum(logp * y, axis=-1))
    return loss


def test_mlp_grads_against_finite_differences(random_module):
    rng = np.random.default_rng(9)
    x, y = rng.standard_normal((5, 4)), np.eye(3)[rng.integers(0, 3, 5)]
    _, params = mlp()[0](key(random_module), (5, 4))
    leaves, tree = tree_flatten(params)
    check_grads(_loss_of_leaves(mlp()[1], tree, x, y), leaves, order=2, atol=1e-6, rtol=1e-6)


def test_batchnorm_net_grads(random_module):
    rng = np.random.default_rng(10)
    x, y = rng.standard_normal((6, 4)), np.eye(2)[rng.integers(0, 2, 6)]
    net = stax.serial(stax.Dense(5), stax.BatchNorm(axis=0), stax.Gelu, stax.Dense(2), stax.LogSoftmax)
    _, params = net[0](key(random_module), (6, 4))
    leaves, tree = tree_flatten(params)
    check_grads(_loss_of_leaves(net[1], tree, x, y), leaves, order=1, atol=1e-6, rtol=1e-6)
    check_grads(lambda v: net[1](params, v), (x,), order=1, atol=1e-6, rtol=1e-6)


def test_per_example_grads_vmap_matches_loop(random_module):
    rng = np.random.default_rng(11)
    xs, ys = rng.standard_normal((4, 4)), np.eye(3)[rng.integers(0, 3, 4)]
    init_fun, apply_fun = mlp()
    _, params = init_fun(key(random_module), (1, 4))

    def loss(p, x, y):
        return -jnp.sum(apply_fun(p, x[None])[0] * y)
    per = sg.vmap(sg.grad(loss), in_axes=(None, 0, 0))(params, xs, ys)
    loop = [sg.grad(loss)(params, x, y) for x, y in zip(xs, ys)]
    for got, *want in zip(tree_leaves(per), *[tree_leaves(g) for g in loop], strict=True):
        np.testing.assert_allclose(got, np.stack(want), rtol=1e-12, atol=1e-14)
    total = sg.vmap(sg.grad(loss, reduce_axes=("b",)), in_axes=(None, 0, 0), out_axes=None,
                    axis_name="b")(params, xs, ys)
    for got, want in zip(tree_leaves(total), tree_leaves(per), strict=True):
        np.testing.assert_allclose(got, np.sum(want, 0), rtol=1e-12, atol=1e-14)


def test_init_under_vmap_over_keys(random_module):
    if not HAVE_RANDOM:
        pytest.skip("vmap over keys needs spmdgrad.random's traceable keys")
    keys = random_module.split(key(random_module), 3)
    _shapes, params = sg.vmap(lambda k: stax.Dense(2)[0](k, (4,)))(keys)
    for i in range(3):
        _, want = stax.Dense(2)[0](keys[i], (4,))
        np.testing.assert_array_equal(params[0][i], want[0])


# ---------------------------------------------------------------- convolutions and pooling

def _np_pads(in_sizes, window, strides, padding):
    if padding == "VALID":
        return [(0, 0)] * len(in_sizes)
    out = []
    for n, w, s in zip(in_sizes, window, strides):
        total = max((-(-n // s) - 1) * s + w - n, 0)
        out.append((total // 2, total - total // 2))
    return out


def np_conv_nhwc(x, W, strides, padding):
    """Cross-correlation, NHWC input, HWIO kernel, explicit loops."""
    n, *sp, _c = x.shape
    ks = W.shape[:-2]
    pads = _np_pads(sp, ks, strides, padding)
    xp = np.pad(x, [(0, 0)] + pads + [(0, 0)])
    out_sp = [(xp.shape[1 + i] - ks[i]) // strides[i] + 1 for i in range(len(sp))]
    out = np.zeros((n, *out_sp, W.shape[-1]))
    for idx in itertools.product(*[range(o) for o in out_sp]):
        win = tuple(slice(i * s, i * s + k) for i, s, k in zip(idx, strides, ks))
        patch = xp[(slice(None),) + win]
        out[(slice(None),) + idx] = np.tensordot(patch, W, axes=(list(range(1, len(sp) + 2)),
                                                                 list(range(len(sp) + 1))))
    return out


@needs_conv
@pytest.mark.parametrize("padding,strides", [("VALID", None), ("SAME", (2, 1)), ("SAME", (2, 2))])
def test_conv(random_module, padding, strides):
    x = np.random.default_rng(12).standard_normal((2, 5, 6, 3))
    layer = stax.Conv(4, (3, 2), strides=strides, padding=padding)
    params = check_layer(layer, key(random_module), x.shape, x,
                         lambda p, v: np_conv_nhwc(v, p[0], strides or (1, 1), padding) + p[1])
    assert params[0].shape == (3, 2, 3, 4) and params[1].shape == (1, 1, 1, 4)


@needs_conv
def test_general_conv_nchw(random_module):
    x = np.random.default_rng(13).standard_normal((2, 3, 6, 5))
    layer = stax.GeneralConv(("NCHW", "OIHW", "NCHW"), 4, (2, 3), padding="SAME")
    params = check_layer(layer, key(random_module), x.shape, x,
                         lambda p, v: np.moveaxis(np_conv_nhwc(np.moveaxis(v, 1, -1),
                                                               np.transpose(p[0], (2, 3, 1, 0)),
                                                               (1, 1), "SAME"), -1, 1) + p[1])
    assert params[0].shape == (4, 3, 2, 3) and params[1].shape == (1, 4, 1, 1)


def np_conv_transpose(x, W, strides, padding):
    """JAX's conv_transpose (kernel not flipped): out[i*s + pad_lo - k] += x[i] * W[k]."""
    n, *sp, _ = x.shape
    ks = W.shape[:-2]
    out_sp, lo = [], []
    for i, k, s in zip(sp, ks, strides):
        if padding == "SAME":
            out_sp.append(i * s)
            lo.append(k - 1 if s > k - 1 else -(-(k + s - 2) // 2))
        else:
            out_sp.append(i * s + max(k - s, 0))
            lo.append(k - 1)
    out = np.zeros((n, *out_sp, W.shape[-1]))
    for idx in itertools.product(*[range(i) for i in sp]):
        for kidx in itertools.product(*[range(k) for k in ks]):
            pos = tuple(i * s + p - k for i, s, p, k in zip(idx, strides, lo, kidx))
            if all(0 <= q < o for q, o in zip(pos, out_sp)):
                out[(slice(None),) + pos] += x[(slice(None),) + idx] @ W[kidx]
    return out


@needs_conv
@pytest.mark.parametrize("padding,strides", [("VALID", (1, 1)), ("VALID", (2, 1)), ("SAME", (2, 2)),
                                             ("SAME", (1, 3))])
def test_conv_transpose(random_module, padding, strides):
    x = np.random.default_rng(14).standard_normal((2, 3, 4, 2))
    layer = stax.ConvTranspose(3, (3, 2), strides=strides, padding=padding)
    check_layer(layer, key(random_module), x.shape, x,
                lambda p, v: np_conv_transpose(v, p[0], strides, padding) + p[1])


@needs_conv
def test_conv1d_transpose(random_module):
    x = np.random.default_rng(15).standard_normal((2, 5, 3))
    layer = stax.Conv1DTranspose(2, (3,), strides=(2,), padding="SAME")
    check_layer(layer, key(random_module), x.shape, x,
                lambda p, v: np_conv_transpose(v, p[0], (2,), "SAME") + p[1])


def np_pool(x, window, strides, padding, op, spec="NHWC"):
    """Pooling over the spatial axes of ``spec`` with explicit loops."""
    xs = np.moveaxis(x, [spec.index("N"), spec.index("C")], [0, -1])
    n, *sp, c = xs.shape
    pads = _np_pads(sp, window, strides, padding)
    fill = -np.inf if op == "max" else 0.0
    xp = np.pad(xs, [(0, 0)] + pads + [(0, 0)], constant_values=fill)
    ones = np.pad(np.ones(sp), pads)
    out_sp = [(xp.shape[1 + i] - window[i]) // strides[i] + 1 for i in range(len(sp))]
    out = np.zeros((n, *out_sp, c))
    for idx in itertools.product(*[range(o) for o in out_sp]):
        win = tuple(slice(i * s, i * s + w) for i, s, w in zip(idx, strides, window))
        patch = xp[(slice(None),) + win].reshape(n, -1, c)
        if op == "max":
            out[(slice(None),) + idx] = patch.max(1)
        elif op == "sum":
            out[(slice(None),) + idx] = patch.sum(1)
        else:
            out[(slice(None),) + idx] = patch.sum(1) / ones[win].sum()
    return np.moveaxis(out, [0, -1], [spec.index("N"), spec.index("C")])


POOLS = {"max": stax.MaxPool, "sum": stax.SumPool, "avg": stax.AvgPool}


@needs_conv
@pytest.mark.parametrize("op", sorted(POOLS))
@pytest.mark.parametrize("window,strides,padding", [((2, 2), None, "VALID"), ((3, 2), (2, 2), "SAME"),
                                                    ((2, 3), (1, 2), "SAME")])
def test_pools(random_module, op, window, strides, padding):
    x = np.random.default_rng(16).standard_normal((2, 5, 7, 3))
    layer = POOLS[op](window, strides=strides, padding=padding)
    check_layer(layer, key(random_module), x.shape, x,
                lambda p, v: np_pool(v, window, strides or (1, 1), padding, op))


@needs_conv
@pytest.mark.parametrize("op", sorted(POOLS))
def test_pools_with_spec(random_module, op):
    x = np.random.default_rng(17).standard_normal((3, 2, 7))
    layer = POOLS[op]((3,), strides=(2,), padding="SAME", spec="CNW")
    check_layer(layer, key(random_module), x.shape, x,
                lambda p, v: np_pool(v, (3,), (2,), "SAME", op, spec="CNW"))


def cnn():
    return stax.serial(stax.Conv(3, (3, 3), padding="SAME"), stax.Relu, stax.AvgPool((2, 2), (2, 2)),
                       stax.Conv(2, (2, 2)), stax.Tanh, stax.MaxPool((2, 2), padding="SAME"),
                       stax.Flatten, stax.Dense(3), stax.LogSoftmax)


@needs_conv
def test_cnn_grads_and_per_example(random_module):
    rng = np.random.default_rng(18)
    x, y = rng.standard_normal((3, 6, 6, 2)), np.eye(3)[rng.integers(0, 3, 3)]
    init_fun, apply_fun = cnn()
    out_shape, params = init_fun(key(random_module), x.shape)
    assert out_shape == (3, 3) == np.shape(apply_fun(params, x))
    leaves, tree = tree_flatten(params)
    check_grads(_loss_of_leaves(apply_fun, tree, x, y), leaves, order=1, atol=1e-6, rtol=1e-6)

    def loss(p, xi, yi):
        return -jnp.sum(apply_fun(p, xi[None])[0] * yi)
    per = sg.vmap(sg.grad(loss), in_axes=(None, 0, 0))(params, x, y)
    loop = [sg.grad(loss)(params, a, b) for a, b in zip(x, y)]
    for got, *want in zip(tree_leaves(per), *[tree_leaves(g) for g in loop], strict=True):
        np.testing.assert_allclose(got, np.stack(want), rtol=1e-11, atol=1e-13)


# ---------------------------------------------------------------- initializers

def test_constant_initializers(random_module):
    k = key(random_module)
    np.testing.assert_array_equal(init.zeros(k, (2, 3)), np.zeros((2, 3)))
    np.testing.assert_array_equal(init.ones(k, (2,), np.float32), np.ones(2, np.float32))
    assert init.ones(k, (2,), np.float32).dtype == np.float32
    np.testing.assert_array_equal(init.constant(-7.0)(k, (2, 2)), np.full((2, 2), -7.0))
    assert init.constant(1.0, np.float32)(k, (1,)).dtype == np.float32


@pytest.mark.parametrize("name,scale,mode,dist", [
    ("glorot_uniform", 1.0, "fan_avg", "uniform"), ("glorot_normal", 1.0, "fan_avg", "truncated_normal"),
    ("lecun_uniform", 1.0, "fan_in", "uniform"), ("lecun_normal", 1.0, "fan_in", "truncated_normal"),
    ("he_uniform", 2.0, "fan_in", "uniform"), ("he_normal", 2.0, "fan_in", "truncated_normal"),
    ("xavier_uniform", 1.0, "fan_avg", "uniform"), ("kaiming_normal", 2.0, "fan_in", "truncated_normal")])
def test_variance_scaling_family(random_module, name, scale, mode, dist):
    shape = (3, 3, 40, 60)  # receptive field 9: fan_in 360, fan_out 540
    k = key(random_module, 1)
    w = getattr(init, name)()(k, shape)
    assert w.shape == shape and w.dtype == np.float64
    n = {"fan_in": 360, "fan_avg": 450}[mode]
    # the named initializer is exactly variance_scaling with its parameters
    np.testing.assert_array_equal(w, init.variance_scaling(scale, mode, dist)(k, shape))
    assert np.std(w) == pytest.approx(np.sqrt(scale / n), rel=0.03)
    bound = np.sqrt(3 * scale / n) if dist == "uniform" else 2 * np.sqrt(scale / n) / .87962566103423978
    assert np.abs(w).max() <= bound


def test_variance_scaling_modes_and_axes(random_module):
    k = key(random_module, 2)
    w = init.variance_scaling(1.0, "fan_out", "normal", in_axis=0, out_axis=1)(k, (80, 50, 9))
    assert np.std(w) == pytest.approx(np.sqrt(1 / (50 * 9)), rel=0.03)
    w = init.variance_scaling(1.0, "fan_geo_avg", "normal", batch_axis=0)(k, (5, 100, 400))
    assert np.std(w) == pytest.approx(np.sqrt(1 / 200.0), rel=0.03)
    assert init.variance_scaling(1.0, "fan_in", "uniform", dtype=np.float32)(k, (4, 4)).dtype == np.float32
    with pytest.raises(ValueError, match="in_axis"):
        init.glorot_normal()(k, (5,))
    with pytest.raises(ValueError, match="invalid distribution"):
        init.variance_scaling(1.0, "fan_in", "cauchy")


def test_normal_uniform_truncated(random_module):
    k = key(random_module, 3)
    w = init.normal(0.5)(k, (200, 100))
    assert np.std(w) == pytest.approx(0.5, rel=0.03) and w.shape == (200, 100)
    u = init.uniform(2.0)(k, (1000,))
    assert 0 <= u.min() and u.max() < 2.0
    t = init.truncated_normal(1.5, lower=-1.0, upper=1.0)(k, (500,))
    assert np.abs(t).max() < 1.5


@pytest.mark.parametrize("shape,column_axis", [((4, 6), -1), ((6, 4), -1), ((3, 2, 5), -1), ((5, 3), 0)])
def test_orthogonal(random_module, shape, column_axis):
    w = init.orthogonal(scale=2.0, column_axis=column_axis)(key(random_module, 4), shape)
    assert w.shape == shape
    cols = np.moveaxis(w, column_axis, -1).reshape(-1, shape[column_axis]) / 2.0
    gram = cols.T @ cols if cols.shape[0] >= cols.shape[1] else cols @ cols.T
    np.testing.assert_allclose(gram, np.eye(min(cols.shape)), atol=1e-12)


def test_delta_orthogonal(random_module):
    w = init.delta_orthogonal()(key(random_module, 5), (3, 3, 4, 4))
    centre = w[1, 1]
    np.testing.assert_allclose(centre.T @ centre, np.eye(4), atol=1e-12)
    mask = np.ones((3, 3), bool)
    mask[1, 1] = False
    np.testing.assert_array_equal(w[mask], 0.0)
    with pytest.raises(ValueError, match="fan_in"):
        init.delta_orthogonal()(key(random_module), (3, 5, 4))


# ---------------------------------------------------------------- weights identical to JAX's
# jax 0.10.2 with jax_enable_x64: each initializer at random.PRNGKey(42), and a net (conv,
# batchnorm, pooling, parallel dense branches, dropout) initialised at PRNGKey(7) and applied
# with rng=PRNGKey(3) to a fixed input. Needs the real spmdgrad.random (threefry, as JAX).

JAX_INIT_FNS = {
    "normal": (init.normal(0.5), (3, 4)), "uniform": (init.uniform(2.0), (3, 4)),
    "truncated_normal": (init.truncated_normal(1.5, lower=-1.0, upper=0.5), (3, 4)),
    "glorot_uniform": (init.glorot_uniform(), (3, 4)), "glorot_normal": (init.glorot_normal(), (3, 4)),
    "lecun_uniform": (init.lecun_uniform(), (2, 3, 4)), "lecun_normal": (init.lecun_normal(), (2, 3, 4)),
    "he_uniform": (init.he_uniform(), (3, 4)), "he_normal": (init.he_normal(in_axis=0, out_axis=1), (3, 4, 2)),
    "fan_geo_normal": (init.variance_scaling(0.7, "fan_geo_avg", "normal", batch_axis=0), (2, 3, 4)),
    "fan_out_uniform": (init.variance_scaling(1.3, "fan_out", "uniform"), (5, 3)),
    "orthogonal": (init.orthogonal(), (3, 5)), "orthogonal_tall": (init.orthogonal(2.0), (5, 3)),
    "orthogonal_axis0": (init.orthogonal(column_axis=0), (3, 2, 4)),
    "delta_orthogonal": (init.delta_orthogonal(), (3, 2, 3)),
    "float32_glorot": (init.glorot_normal(dtype=np.float32), (3, 4)),
}


@needs_random
@pytest.mark.parametrize("name", sorted(JAX_INIT_FNS))
def test_initializers_equal_jax(random_module, name):
    f, shape = JAX_INIT_FNS[name]
    got = f(random_module.PRNGKey(42), shape)
    want = np.array(JAX_INITS[name])
    assert got.shape == want.shape == shape
    assert got.dtype == (np.float32 if name.startswith("float32") else np.float64)
    rtol = 1e-6 if got.dtype == np.float32 else 1e-12  # orthogonal goes through a QR
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * 1e-2)


def jax_style_net():
    return stax.serial(stax.Conv(3, (2, 2), padding="SAME"),
                       stax.BatchNorm(beta_init=init.normal(1.0), gamma_init=init.uniform(1.0)),
                       stax.Relu, stax.MaxPool((2, 2)), stax.Flatten,
                       stax.FanOut(2), stax.parallel(stax.Dense(3), stax.Dense(3, W_init=init.he_uniform())),
                       stax.FanInSum, stax.Dropout(0.8), stax.LogSoftmax)


@needs_random
@needs_conv
def test_net_init_and_apply_equal_jax(random_module):
    init_fun, apply_fun = jax_style_net()
    shape, params = init_fun(random_module.PRNGKey(7), (2, 4, 4, 2))
    assert tuple(shape) == JAX_NET_SHAPE
    leaves = tree_leaves(params)
    assert len(leaves) == len(JAX_NET_PARAMS)
    for got, want in zip(leaves, JAX_NET_PARAMS, strict=True):
        np.testing.assert_allclose(got, np.array(want), rtol=1e-13, atol=1e-16)
    x = np.linspace(-1, 1, 64).reshape(2, 4, 4, 2)
    out = apply_fun(params, x, rng=random_module.PRNGKey(3))
    np.testing.assert_allclose(out, JAX_NET_OUT, rtol=1e-12)


JAX_INITS = {
    'normal':
        [[-0.09235587264095581, -1.084912280198877, 0.09346777589691291, 0.30613267852554793],
         [0.2448124752378509, 0.18450215235414177, 0.18543731889309525, 0.11766366207640896],
         [-0.35844941575956857, -0.3173121663824603, -0.350010940833805, -0.7882790659278354]],
    'uniform':
        [[0.8534551332998181, 0.030020139030629167, 1.1482888357990704, 1.4596377938092617],
         [1.375600682461132, 1.2878754838332207, 1.2892690937553684, 1.1860453110743907],
         [0.47343652302236716, 0.5256734544288455, 0.4839136392772434, 0.11489723288427323]],
    'truncated_normal':
        [[-0.4345660809484, -1.4512160383968713, -0.13341475329823352, 0.17905172888648876],
         [0.09451312985853169, 0.006579634205681513, 0.007975577077656136, -0.09548426886478653],
         [-0.8530474547429008, -0.7922295746278849, -0.8407395668221367, -1.3209160044353299]],
    'glorot_uniform':
        [[-0.13567418310951762, -0.8980268516600285, 0.13728878475465084, 0.4255419081237261],
         [0.3477386613108036, 0.2665209091645439, 0.2678111412417107, 0.17224448846110776],
         [-0.4875030507920136, -0.4391410497454559, -0.4778031259755955, -0.8194459321600435]],
    'glorot_normal':
        [[-0.10708224471964317, -1.0850921657384123, 0.10837009993748835, 0.3530245953011063],
         [0.2829420325178457, 0.21358832705340253, 0.21466629972213033, 0.13638175770923922],
         [-0.4123613442319495, -0.3657433692287702, -0.40282366647724566, -0.8638072727706128]],
    'lecun_uniform':
        [[[-0.10362286899177726, -0.6858793373058267, 0.10485604136778114, 0.3250130008921531],
          [0.2655897895865616, 0.2035587067558287, 0.20454413778210817, 0.13155390106866235],
          [-0.3723366052960507, -0.33539951687015335, -0.36492816534494793, -0.625862168674508]],
         [[0.31825030596409376, 0.4502691853571498, 0.12492574694283114, -0.3806081843229271],
          [-0.6764381709238071, 0.1827013647906075, -0.3926750077404231, 0.6619238486152007],
          [0.032339311397786834, -0.5384967444058908, 0.13559198314956636, 0.43402753718246306]]],
    'lecun_normal':
        [[[-0.0817854153355917, -0.8287528309166402, 0.08276903100557824, 0.2696269883580786],
          [0.21610054688294747, 0.16313077938020024, 0.16395409460545665, 0.10416328801895264],
          [-0.3149461789361084, -0.27934111240317033, -0.3076616572252706, -0.6597437022207833]],
         [[0.2633652587350864, 0.3971163425394125, 0.09883291796328812, -0.323172231217998],
          [-0.794561139603722, 0.14582008849756087, -0.33535846917827516, 0.7491606731917481],
          [0.02540533017136292, -0.5086471822513582, 0.10741742186138116, 0.3790265284017696]]],
    'he_uniform':
        [[-0.20724573798355453, -1.3717586746116535, 0.20971208273556227, 0.6500260017843063],
         [0.5311795791731232, 0.4071174135116574, 0.40908827556421634, 0.2631078021373247],
         [-0.7446732105921015, -0.6707990337403067, -0.7298563306898959, -1.251724337349016]],
    'he_normal':
        [[[-0.11566204357191028, -1.172033493337409], [0.11705308619256796, 0.3813101437178073],
          [0.3056123242381072, 0.2307017606399724], [0.2318661041976383, 0.14730913461777773]],
         [[-0.44540115766902805, -0.39504798968895066], [-0.43509928827016, -0.9330184913708682],
          [0.37245472076105846, 0.5616073174592369], [0.13977085299258954, -0.4570345523708665]],
         [[-1.1236791397622057, 0.20622074681969552], [-0.47426849536859633, 1.0594731844243281],
          [0.035928562484907826, -0.7193357436027301], [0.15191117483151742, 0.5360244569649737]]],
    'fan_geo_normal':
        [[[-0.08303252029966265, -0.9753900683627851, 0.08403217659689066, 0.2752284951373028],
          [0.22009858429709864, 0.16587660613888366, 0.16671736734235462, 0.10578548099343651],
          [-0.3222638424539126, -0.2852794104269848, -0.3146772340387056, -0.7087020637865387]],
         [[0.26875781348095334, 0.40872618495974744, 0.10036371598785279, -0.33084434924330103],
          [-0.9080897142231042, 0.14821155758874002, -0.34358301778039685, 0.8329195128052537],
          [0.02578086231881387, -0.5299306245202319, 0.1090961013793056, 0.38953268577908406]]],
    'fan_out_uniform':
        [[-0.16708685568597637, -1.1059472003183553, 0.16907528639466135],
         [0.524067716948105, 0.42825066779264753, 0.32822855215516245],
         [0.3298175119405695, 0.2121242916419448, -0.6003747362046528],
         [-0.5408154707323968, -0.5884289857249361, -1.0091724237525972],
         [0.5131631990314798, 0.7260372456931514, 0.20143671425036483]],
    'orthogonal':
        [[-0.16158502045427015, 0.5356070351213917, 0.3244394981011543, -0.5551665685042897,
          0.5230147974773833],
         [-0.9707617547727446, -0.17321412262694816, -0.13591485364279005, 0.08214247117124313,
          0.048971932596732486],
         [0.05152583704152164, -0.11470874600190745, -0.6963456666080963, -0.6872690018089544,
          -0.16416766873075334]],
    'orthogonal_tall':
        [[-0.3231700409085403, -1.9415235095454892, 0.10305167408304328],
         [1.0712140702427835, -0.3464282452538963, -0.2294174920038149],
         [0.6488789962023086, -0.2718297072855801, -1.3926913332161925],
         [-1.1103331370085794, 0.16428494234248625, -1.374538003617909],
         [1.0460295949547667, 0.09794386519346497, -0.32833533746150667]],
    'orthogonal_axis0':
        [[[-0.09447791031707053, 0.3131666121471445, 0.18969806556784796, -0.32460296828707624],
          [0.3058039971257938, -0.37644868111807905, -0.3909432764797896, -0.6029774579526406]],
         [[-0.5752514053198517, 0.06583953720856414, 0.023056519527646084, -0.1211200597228042],
          [0.18270390508393192, -0.4723289488969322, 0.5945969378654657, 0.1988175863441801]],
         [[0.13940429353088402, 0.1975598504668312, -0.34703465525159116, -0.7944975030651187],
          [0.11390430121493816, 0.18328601907688985, -0.050254287242002614, 0.37521162841236716]]],
    'delta_orthogonal':
        [[[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]],
         [[-0.3323982541017758, 0.3364001079140078, 0.8811051969348128],
          [-0.9177473674466865, 0.09995078745710319, -0.3843821140888083]],
         [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]],
    'float32_glorot':
        [[-0.0164171252399683, 0.27003705501556396, 0.17128834128379822, 0.08902860432863235],
         [-0.07192526012659073, 0.12573154270648956, -0.7994455695152283, 0.4343254864215851],
         [0.30115261673927307, 0.5204616785049438, -0.22251516580581665, 0.6452774405479431]],
}
JAX_NET_SHAPE = (np.int64(2), 3)
JAX_NET_PARAMS = [[[[[0.19148169507998955, -0.2566886773223342, 0.03856979225177817],
                     [-0.2633687796242192, -0.38068572500801784, 0.3772549732905081]],
                    [[-0.026293578051489137, 0.19132751455944658, -0.4507164222314293],
                     [0.36176767725575093, 0.20499074039977563, 0.4309562923013284]]],
                   [[[0.10304656819606182, 0.3129550590511206, -0.5809933169343074],
                     [0.36878474018005525, -0.2623709790615336, -0.2973663056485392]],
                    [[-0.31862331663854365, 0.41651620670942197, -0.269880272428181],
                     [0.1066698161712035, -0.32026802502971596, -0.044818871212912434]]]],
                  [[[[7.266366959188575e-07, -9.760064368260266e-07, 7.017382676897671e-07]]]],
                  [0.1737367902258421, -0.8420019910930027, -1.037384535734183],
                  [0.34667027278153006, 0.5255004156906691, 0.9548741317796072],
                  [[-0.36602379160347304, -0.2172601930884996, 0.005867445618427337],
                   [0.04778463631686261, -0.17109908800221996, -0.14619182179741044],
                   [0.039311418073526574, 0.10528082771757427, 0.1268372275605879],
                   [0.03943691445439301, 0.037803324155558024, -0.19132278957260934],
                   [-0.5192319282112698, -0.172195211582313, 0.19903210363662435],
                   [-0.08581321435209514, -0.2708414285574396, 0.24143772176021644],
                   [0.18036533024287707, 0.3953182067733274, 0.21937756080846363],
                   [-0.032260947648848515, 0.39009668234617734, -0.16768262644150847],
                   [-0.23812413658779652, 0.40238149791130556, 0.039642899980151095],
                   [-0.3832328618810443, 0.07653865453188691, -0.25670468484928516],
                   [0.1508087226027009, -0.04692001499700393, 0.08581136531901329],
                   [0.114208238659579, 0.20900140725179364, 0.3458339520375761],
                   [-0.016434028691814734, 0.1551984229566596, -0.45536401841175433],
                   [-0.30088515177876185, -0.14996407573127454, -0.3878613963189284],
                   [-0.03987830798287206, -0.16369440611977634, 0.025776495862360072],
                   [0.3666393076065862, 0.2800673659313764, 0.39663027763671593],
                   [0.3472115116279153, -0.3091860787707136, -0.08860673191676427],
                   [0.0660014135945785, 0.46814854012852525, -0.23252706834508793],
                   [0.022595268542879868, -0.04094073134967711, -0.0018331710270162015],
                   [-0.19269900270904072, -0.19879852240299042, -0.08153142671018063],
                   [-0.5513973102431466, 0.298002639396302, 0.44639863746356717],
                   [0.09563327520200965, 0.29082172914574794, 0.26647712710493765],
                   [0.09941479110433159, 0.12132516679868344, -0.42065040657372343],
                   [0.5104219525862157, 0.17026115366009742, -0.3058638442700841],
                   [0.20657643875377818, -0.14911133472883084, -0.2631421068775882],
                   [-0.10428504002266381, -0.4792470315250917, 0.2705899465966155],
                   [-0.0769153386706832, 0.18958468424106384, 0.048671680869208214]],
                  [-0.0004646656729971873, 0.007015458843425442, -0.0016603725600103322],
                  [[-0.08640711551470989, 0.4419999260595683, 0.3262674734278187],
                   [-0.07356180328275794, -0.237368075504266, 0.005590681402644131],
                   [-0.46917168801551756, -0.03591326796695484, 0.3031280939363624],
                   [0.09874850436099578, 0.03582306685691337, 0.46473201224359345],
                   [0.4455848608350569, -0.18951728986336555, 0.310543001161551],
                   [-0.46878195870951767, 0.1368758730621088, 0.4554770768429133],
                   [0.4024647534668177, 0.41793039499961687, 0.4654944663485619],
                   [0.08203941297996332, 0.30123624565525253, 0.1966263463053423],
                   [0.12232800679833841, 0.09489557554096098, 0.43732880579785766],
                   [-0.44982863481737345, 0.24426455276172976, -0.3492564313980586],
                   [0.4216352761050502, -0.3434138458243475, 0.12231429731874906],
                   [-0.07142004524401414, 0.27768499719563267, 0.31688331314607104],
                   [-0.23134462803638522, -0.35066908493170806, 0.3276889205079044],
                   [0.06817292206020639, 0.22697692124595956, 0.3177797698366456],
                   [0.35071353266331007, 0.36186264040782257, 0.30152123228624594],
                   [-0.4351666318864219, -0.2528362365292799, -0.03919248977681864],
                   [-0.05155407354724791, 0.2592720765989262, -0.05552205560640248],
                   [0.07870581217186562, 0.18297324391085878, -0.2911245107904234],
                   [-0.404743450398652, 0.25746210782967693, -0.4071126591394947],
                   [-0.46132481274621573, 0.22719170216904983, 0.15951519767068842],
                   [-0.21177200421429063, 0.10591997440830175, -0.18905774935673195],
                   [0.19068090788906444, 0.017616497746530513, -0.44704441225644626],
                   [0.240963566977015, 0.4229763529904904, -0.32616079790460234],
                   [0.3701644395077202, -0.26855712647441243, 0.3672877770631162],
                   [0.09754345273391647, 0.06975089874349365, 0.10718632102140857],
                   [0.3242466347452994, -0.10092210824472739, 0.2511290311663421],
                   [0.21417976833216407, -0.267516047523356, 0.16765516606388403]],
                  [-0.005482290581677322, 0.02358620613304054, -0.002851442804831425]]
JAX_NET_OUT = [[-1.7106207693212494, -0.8735377446884875, -0.9118644816556185],
               [-2.115335886007851, -0.3677679950020339, -1.6759546678450767]]
