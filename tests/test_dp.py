"""clipped_grad and per_example_norms against vmap(grad) + norms + clip + sum."""
import tracemalloc

import numpy as np
import pytest

import spmdgrad as sg
import spmdgrad.numpy as jnp
from spmdgrad import lax
from spmdgrad.core import UnboundAxisError
from spmdgrad.dp import ghost_norms
from spmdgrad.tree_util import tree_leaves, tree_map

RNG = np.random.default_rng(0)


def rand(*shape):
    return RNG.standard_normal(shape)


def reference(loss, args, in_axes, C, argnums=0):
    """Explicit per-example gradients, their norms, clipping and the sum."""
    pe = sg.vmap(sg.grad(loss, argnums=argnums), in_axes=in_axes, axis_name="b")(*args)
    leaves = tree_leaves(pe)
    B = leaves[0].shape[0]
    norms = np.sqrt(sum((np.asarray(x).reshape(B, -1) ** 2).sum(1) for x in leaves))
    f = np.minimum(1.0, C / norms)
    return tree_map(lambda x: np.tensordot(f, np.asarray(x), 1), pe), norms


def check(loss, args, in_axes, C=1.0, argnums=0, rtol=1e-10):
    ref, ref_norms = reference(loss, args, in_axes, C, argnums)
    total, norms = sg.vmap(sg.clipped_grad(loss, C, "b", argnums=argnums, return_norms=True),
                           in_axes=in_axes, axis_name="b", out_axes=(None, 0))(*args)
    np.testing.assert_allclose(norms, ref_norms, rtol=rtol)
    for a, b in zip(tree_leaves(total), tree_leaves(ref), strict=True):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-12)
    only = sg.vmap(sg.per_example_norms(loss, "b", argnums=argnums), in_axes=in_axes,
                   axis_name="b")(*args)
    np.testing.assert_allclose(only, ref_norms, rtol=rtol)
    return ref_norms


def mlp_loss(p, x, y):
    h = jnp.tanh(x @ p["w1"] + p["b1"])
    return jnp.sum((h @ p["w2"] + p["b2"] - y) ** 2)


MLP = {"w1": rand(5, 4), "b1": rand(4), "w2": rand(4, 3), "b2": rand(3)}
XS, YS = rand(7, 5), rand(7, 3)


@pytest.mark.parametrize("C", [1e-3, 1.0, 5.0, 1e9])
def test_mlp_with_biases(C):
    norms = check(mlp_loss, (MLP, XS, YS), (None, 0, 0), C)
    assert norms.min() < 5.0 < norms.max()  # C=5 clips some examples and not others


def test_max_norm_huge_is_the_total_gradient():
    total = sg.vmap(sg.clipped_grad(mlp_loss, 1e12, "b"), in_axes=(None, 0, 0), axis_name="b",
                    out_axes=None)(MLP, XS, YS)
    plain = sg.vmap(sg.grad(mlp_loss, reduce_axes=("b",)), in_axes=(None, 0, 0), axis_name="b",
                    out_axes=None)(MLP, XS, YS)
    for k in MLP:
        np.testing.assert_allclose(total[k], plain[k], rtol=1e-12)


def test_max_norm_tiny_clips_every_example():
    C = 1e-6
    total, norms = sg.vmap(sg.clipped_grad(mlp_loss, C, "b", return_norms=True),
                           in_axes=(None, 0, 0), axis_name="b", out_axes=(None, 0))(MLP, XS, YS)
    pe = sg.vmap(sg.grad(mlp_loss), in_axes=(None, 0, 0), axis_name="b")(MLP, XS, YS)
    for k in MLP:  # every example scaled to norm exactly C
        np.testing.assert_allclose(total[k], np.tensordot(C / norms, pe[k], 1), rtol=1e-10)


def test_tied_weights():
    def loss(p, x):
        h = jnp.tanh(x @ p["W"])          # (d,) @ (d, k)
        return jnp.sum((h @ p["W"].T - x) ** 2) + jnp.sum(p["W"] ** 2) * 0.1
    check(loss, ({"W": rand(6, 3)}, rand(5, 6)), (None, 0), 0.5)


@pytest.mark.parametrize("T,d,k", [(2, 9, 8), (12, 3, 2)])  # ghost route, then instantiate route
def test_sequence_model(T, d, k):
    def loss(W, x):
        return jnp.sum(jnp.sin(x @ W))    # x: (T, d) per example
    check(loss, (rand(d, k), rand(4, T, d)), (None, 0), 0.7)


def test_sequence_model_tied_transpose():
    def loss(W, x):                      # x (T, d); W (d, k) used as W and W.T
        h = jnp.tanh(x @ W)
        return jnp.sum((h @ W.T) ** 2)
    check(loss, (rand(4, 3), rand(5, 6, 4)), (None, 0), 1.0)


def test_embedding_lookup():
    def loss(p, idx, y):
        e = jnp.take(p["E"], idx, axis=0)       # (T, d)
        return jnp.sum((jnp.tanh(e) @ p["W"] - y) ** 2)
    idx = RNG.integers(0, 10, size=(6, 4))
    idx[0, 1] = idx[0, 2]                      # a repeated token within one example
    check(loss, ({"E": rand(10, 3), "W": rand(3, 2)}, idx, rand(6, 4, 2)), (None, 0, 0), 1.0)


def test_embedding_tied_output():
    def loss(E, idx):
        h = E[idx]                             # (T, d) by indexing
        logits = h @ E.T                       # (T, V): the table again, transposed
        return jnp.sum(sg.nn.log_softmax(logits)[:, 0])
    idx = RNG.integers(0, 5, size=(4, 3))
    check(loss, (rand(5, 3), idx), (None, 0), 0.3)


def test_layer_norm():
    def loss(p, x):
        mu = jnp.mean(x @ p["W"])
        h = x @ p["W"] - mu
        h = h / jnp.sqrt(jnp.mean(h ** 2) + 1e-5)
        return jnp.sum(jnp.tanh(h * p["scale"] + p["bias"]))
    p = {"W": rand(5, 4), "scale": rand(4), "bias": rand(4)}
    check(loss, (p, rand(6, 5)), (None, 0), 0.8)


def test_argnums_tuple_and_has_aux():
    def loss(w, b, x):
        z = x @ w + b
        return jnp.sum(z ** 2), z
    w, b, xs = rand(3, 2), rand(2), rand(5, 3)
    ref, ref_norms = reference(lambda w, b, x: loss(w, b, x)[0], (w, b, xs), (None, None, 0), 1.0,
                               argnums=(0, 1))
    ((gw, gb), norms), aux = sg.vmap(
        sg.clipped_grad(loss, 1.0, "b", argnums=(0, 1), has_aux=True, return_norms=True),
        in_axes=(None, None, 0), axis_name="b", out_axes=((None, 0), 0))(w, b, xs)
    np.testing.assert_allclose(gw, ref[0], rtol=1e-12)
    np.testing.assert_allclose(gb, ref[1], rtol=1e-12)
    np.testing.assert_allclose(norms, ref_norms, rtol=1e-12)
    np.testing.assert_allclose(aux, xs @ w + b, rtol=1e-12)
    n2, aux2 = sg.vmap(sg.per_example_norms(loss, "b", argnums=(0, 1), has_aux=True),
                       in_axes=(None, None, 0), axis_name="b")(w, b, xs)
    np.testing.assert_allclose(n2, ref_norms, rtol=1e-12)
    np.testing.assert_allclose(aux2, aux)


def test_nested_maps_reduce_outer_axis():
    xs, ys = XS[:6].reshape(2, 3, 5), YS[:6].reshape(2, 3, 3)
    ref, norms = reference(mlp_loss, (MLP, XS[:6], YS[:6]), (None, 0, 0), 2.0)
    inner = sg.vmap(sg.clipped_grad(mlp_loss, 2.0, "b", reduce_axes=("dev",), return_norms=True),
                    in_axes=(None, 0, 0), axis_name="b", out_axes=(None, 0))
    total, n = sg.vmap(inner, in_axes=(None, 0, 0), axis_name="dev", out_axes=(None, 0))(MLP, xs, ys)
    np.testing.assert_allclose(n.reshape(-1), norms, rtol=1e-12)
    for k in MLP:
        np.testing.assert_allclose(total[k], ref[k], rtol=1e-12)
    # Without reduce_axes: one clipped total per device.
    inner = sg.vmap(sg.clipped_grad(mlp_loss, 2.0, "b"), in_axes=(None, 0, 0), axis_name="b",
                    out_axes=None)
    per_dev = sg.vmap(inner, in_axes=(None, 0, 0), axis_name="dev")(MLP, xs, ys)
    ref0, _ = reference(mlp_loss, (MLP, XS[:3], YS[:3]), (None, 0, 0), 2.0)
    np.testing.assert_allclose(per_dev["w1"][0], ref0["w1"], rtol=1e-12)


def test_small_cnn():
    dn = ("NHWC", "HWIO", "NHWC")

    def loss(p, x, y):
        h = lax.conv_general_dilated(x[None], p["k"], (1, 1), "SAME", dimension_numbers=dn)
        h = jnp.tanh(h + p["b"])
        return jnp.sum((jnp.reshape(h, (-1,)) @ p["W"] - y) ** 2)
    p = {"k": rand(3, 3, 2, 3), "b": rand(3), "W": rand(5 * 5 * 3, 2) * 0.1}
    check(loss, (p, rand(4, 5, 5, 2), rand(4, 2)), (None, 0, 0), 1.0)


@pytest.fixture
def ghost_only(monkeypatch):
    """Fails any instantiation of a factored per-example term; counts the terms made."""
    made = []
    init = ghost_norms.Term.__init__

    def counting(self, a, b, spec):
        made.append(spec)
        init(self, a, b, spec)

    def refuse(self):
        raise AssertionError(f"instantiated a per-example term of shape {self.shape}")
    monkeypatch.setattr(ghost_norms.Term, "__init__", counting)
    monkeypatch.setattr(ghost_norms.Term, "instantiate", refuse)
    return made


@pytest.mark.parametrize("ghost", [True, False])
def test_cnn_kernel_ghost_norm(ghost, request):
    """Few positions and many channels: the Gram route, never the per-example kernel."""
    dn = ("NHWC", "HWIO", "NHWC")
    made = request.getfixturevalue("ghost_only") if ghost else None

    def loss(k, x):
        h = lax.conv_general_dilated(x[None], k, (2, 2), "VALID", dimension_numbers=dn)
        return jnp.sum(jnp.tanh(h) ** 2)
    k, xs = rand(3, 3, 6, 7), rand(3, 5, 5, 6)
    if ghost:  # 4 positions: Gram 16 << kernel 378
        n = sg.vmap(sg.per_example_norms(loss, "b"), in_axes=(None, 0), axis_name="b")(k, xs)
        _, ref = reference(loss, (k, xs), (None, 0), 1.0)
        np.testing.assert_allclose(n, ref, rtol=1e-10)
        assert made  # the kernel went through a factored term
    else:
        check(loss, (k, xs), (None, 0), 0.5)


def test_float32():
    p32 = tree_map(lambda x: x.astype(np.float32), MLP)
    x32, y32 = XS.astype(np.float32), YS.astype(np.float32)
    total = sg.vmap(sg.clipped_grad(mlp_loss, 1.0, "b"), in_axes=(None, 0, 0), axis_name="b",
                    out_axes=None)(p32, x32, y32)
    ref, _ = reference(mlp_loss, (MLP, XS, YS), (None, 0, 0), 1.0)
    for k in MLP:
        assert total[k].dtype == np.float32
        np.testing.assert_allclose(total[k], ref[k], rtol=2e-4, atol=1e-5)


def test_jit_matches_eager():
    f = sg.vmap(sg.clipped_grad(mlp_loss, 1.0, "b"), in_axes=(None, 0, 0), axis_name="b",
                out_axes=None)
    eager, jitted = f(MLP, XS, YS), sg.jit(f)(MLP, XS, YS)
    for k in MLP:
        np.testing.assert_allclose(jitted[k], eager[k], rtol=1e-12)


def test_nan_example_contributes_zero():
    xs = XS.copy()
    xs[2, 1] = np.nan
    total, norms = sg.vmap(sg.clipped_grad(mlp_loss, 1.0, "b", return_norms=True),
                           in_axes=(None, 0, 0), axis_name="b", out_axes=(None, 0))(MLP, xs, YS)
    assert np.isnan(norms[2]) and np.isfinite(np.delete(norms, 2)).all()
    assert int(np.sum(~np.isfinite(norms))) == 1
    keep = np.arange(7) != 2
    ref, _ = reference(mlp_loss, (MLP, XS[keep], YS[keep]), (None, 0, 0), 1.0)
    for k in MLP:
        np.testing.assert_allclose(total[k], ref[k], rtol=1e-12)


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_infinite_loss_example_contributes_zero():
    def loss(w, x):
        return jnp.sum(jnp.log(x @ w))   # x @ w = 0 for one example: -inf loss, inf gradient
    w = np.array([1.0, 1.0])
    xs = np.array([[1.0, 2.0], [1.0, -1.0], [2.0, 0.5]])
    total, norms = sg.vmap(sg.clipped_grad(loss, 10.0, "b", return_norms=True), in_axes=(None, 0),
                           axis_name="b", out_axes=(None, 0))(w, xs)
    assert not np.isfinite(norms[1])
    expected = xs[0] / 3.0 + xs[2] / 2.5
    np.testing.assert_allclose(total, expected, rtol=1e-12)


@pytest.mark.parametrize("bad", [0.0, -1.0, np.inf, np.nan, -np.inf])
def test_bad_max_norm(bad):
    with pytest.raises(ValueError, match="max_norm must be a positive finite number"):
        sg.clipped_grad(mlp_loss, bad, "b")


def test_bad_max_norm_type():
    with pytest.raises(TypeError, match="max_norm"):
        sg.clipped_grad(mlp_loss, "1.0", "b")
    with pytest.raises(TypeError, match="axis_name"):
        sg.clipped_grad(mlp_loss, 1.0, ("b",))


def test_unbound_axis_name():
    f = sg.vmap(sg.clipped_grad(mlp_loss, 1.0, "examples"), in_axes=(None, 0, 0), axis_name="b")
    with pytest.raises(UnboundAxisError, match="'examples'.*clipped_grad"):
        f(MLP, XS, YS)
    with pytest.raises(UnboundAxisError, match="per_example_norms"):
        sg.per_example_norms(mlp_loss, "b")(MLP, XS[0], YS[0])


def test_interacting_examples_rejected():
    summed = sg.vmap(sg.clipped_grad(lambda p, x, y: lax.psum(mlp_loss(p, x, y), "b"), 1.0, "b"),
                     in_axes=(None, 0, 0), axis_name="b")
    with pytest.raises(ValueError, match="does not vary over axis 'b'"):
        summed(MLP, XS, YS)

    def batchnorm_loss(p, x, y):
        h = x @ p["w1"]
        return jnp.sum((h - lax.pmean(h, "b")) ** 2)
    f = sg.vmap(sg.clipped_grad(batchnorm_loss, 1.0, "b"), in_axes=(None, 0, 0), axis_name="b")
    with pytest.raises(ValueError, match="examples interact"):
        f(MLP, XS, YS)


def test_integer_argnum_rejected():
    f = sg.vmap(sg.clipped_grad(lambda w, i: jnp.sum(w * i), 1.0, "b", argnums=1),
                in_axes=(None, 0), axis_name="b")
    with pytest.raises(TypeError, match="real floating-point inputs"):
        f(np.ones(2), np.ones((3, 2), np.int64))


def test_ghost_route_never_forms_the_per_example_weight(ghost_only):
    """A contracted weight (used twice: cross terms) goes through Gram matrices."""
    W = rand(64, 64) * 0.2
    loss = lambda W, x: jnp.sum(jnp.tanh(x @ W @ W))  # noqa: E731
    xs = rand(5, 2, 64)
    n = sg.vmap(sg.per_example_norms(loss, "b"), in_axes=(None, 0), axis_name="b")(W, xs)
    assert len(ghost_only) == 2
    _, ref = reference(loss, (W, xs), (None, 0), 1.0)
    np.testing.assert_allclose(n, ref, rtol=1e-10)


def test_memory_per_example_weight_never_materialised():
    """Peak traced memory stays far below B copies of the big weight (deterministic)."""
    B, d = 64, 256
    W = rand(d, d) * 0.05
    xs, ys = rand(B, d), rand(B, d)

    def loss(W, x, y):
        return jnp.sum((jnp.tanh(x @ W) - y) ** 2)
    f = sg.vmap(sg.clipped_grad(loss, 1.0, "b"), in_axes=(None, 0, 0), axis_name="b", out_axes=None)
    f(W, xs, ys)  # warm caches
    tracemalloc.start()
    try:
        total = f(W, xs, ys)
        _, peak = tracemalloc.get_traced_memory()
        print(f"peak {peak / 2**20:.2f} MiB; B copies of W: {B * W.nbytes / 2**20:.0f} MiB")
    finally:
        tracemalloc.stop()
    per_example_bytes = B * W.nbytes  # 32 MiB
    assert peak < per_example_bytes / 8, peak
    ref, _ = reference(loss, (W, xs, ys), (None, 0, 0), 1.0)
    np.testing.assert_allclose(total, ref, rtol=1e-8, atol=1e-14)


def test_scalar_parameter_elementwise_and_contracted():
    def loss(p, x):
        return jnp.sum(jnp.tanh(p["s"] * x @ p["W"])) + p["s"] ** 2
    check(loss, ({"s": np.float64(0.7), "W": rand(3, 2)}, rand(4, 3)), (None, 0), 0.5)


def test_einsum_with_shared_batch_index():
    def loss(W, x):
        return jnp.sum(jnp.sin(jnp.einsum("hij,hj->hi", W, x)))
    check(loss, (rand(2, 3, 4), rand(5, 2, 4)), (None, 0), 0.5)


def test_weight_on_the_left_and_reshaped_weight():
    check(lambda W, x: jnp.sum(jnp.tanh(W @ x)), (rand(4, 3), rand(6, 3)), (None, 0), 0.5)
    check(lambda W, x: jnp.sum(jnp.sin(x @ jnp.reshape(W, (3, 4)))), (rand(12), rand(5, 3)),
          (None, 0), 0.5)


def test_recurrent_weight_in_scan():
    def loss(W, xs):
        def body(h, x):
            h = jnp.tanh(h @ W + x)
            return h, h
        h, _ = lax.scan(body, jnp.zeros(3), xs)
        return jnp.sum(h ** 2)
    check(loss, (rand(3, 3), rand(4, 5, 3)), (None, 0), 0.5)


def test_docs_example_runs():
    import pathlib
    import re
    page = pathlib.Path(__file__).resolve().parents[1] / "docs" / "dp.md"
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)
    ns = {}
    for block in blocks:
        exec(compile(block, "docs/dp.md", "exec"), ns)
    ref, norms = reference(ns["loss"], (ns["params"], ns["xs"], ns["ys"]), (None, 0, 0), 1.0)
    np.testing.assert_allclose(ns["norms"], norms, rtol=1e-12)
    for k in ref:
        np.testing.assert_allclose(ns["total"][k], ref[k], rtol=1e-12)
        assert ns["noisy"][k].shape == ref[k].shape
