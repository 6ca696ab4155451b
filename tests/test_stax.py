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
