"""Named-axis collectives under vmap: values against explicit NumPy over the stacked
axis, derivatives against finite differences, transposes (grad inside the map)
against the VJP of the whole mapped function, and nested maps against loops."""
import numpy as np
import pytest

import spmdgrad as sg
import spmdgrad.numpy as jnp
from spmdgrad import lax
from spmdgrad.core import ShapedArray, UnboundAxisError, vma_of
from spmdgrad.test_util import check_grads

N = 4
PERM = [(0, 2), (2, 1), (1, 0)]          # instance 3 receives nothing: zeros
RING = [(i, (i + 1) % N) for i in range(N)]


def mapped(f, name="i", **kw):
    return lambda *xs: sg.vmap(f, axis_name=name, **kw)(*xs)


# --------------------------------------------------------------------------- NumPy references
# Each takes the stacked per-instance values xs (instance axis first) and returns
# the stacked per-instance results.

def np_all_gather(xs, axis=0, tiled=False):
    parts = list(xs)
    one = np.concatenate(parts, axis=axis) if tiled else np.stack(parts, axis=axis)
    return np.stack([one] * len(xs))


def np_psum_scatter(xs, dim=0, tiled=False):
    total = xs.sum(0)
    n = len(xs)
    if tiled:
        return np.stack(np.split(total, n, axis=dim))
    return np.stack([np.take(total, i, axis=dim) for i in range(n)])


def np_ppermute(xs, perm):
    out = np.zeros_like(xs)
    for s, d in perm:
        out[d] = xs[s]
    return out


def np_all_to_all(xs, split, concat, tiled=False):
    n = len(xs)
    if tiled:
        return np.stack([np.concatenate([np.split(xs[j], n, axis=split)[i] for j in range(n)],
                                        axis=concat) for i in range(n)])
    return np.stack([np.stack([np.take(xs[j], i, axis=split) for j in range(n)], axis=concat)
                     for i in range(n)])


# --------------------------------------------------------------------------- values under vmap

@pytest.fixture
def xs(rng):
    return rng.standard_normal((N, 3, N))


def test_psum_pmean(xs):
    np.testing.assert_allclose(mapped(lambda x: lax.psum(x, "i"))(xs),
                               np.broadcast_to(xs.sum(0), xs.shape))
    np.testing.assert_allclose(mapped(lambda x: lax.pmean(x, "i"))(xs),
                               np.broadcast_to(xs.mean(0), xs.shape))


def test_psum_pytree_and_invariant(xs):
    out = mapped(lambda x: lax.psum({"a": x, "b": (2.0, x[0])}, "i"))(xs)
    np.testing.assert_allclose(out["a"], np.broadcast_to(xs.sum(0), xs.shape))
    np.testing.assert_allclose(out["b"][0], np.full(N, 2.0 * N))
    np.testing.assert_allclose(out["b"][1], np.broadcast_to(xs[:, 0].sum(0), (N, N)))


@pytest.mark.parametrize("op, ref", [(lax.pmax, np.max), (lax.pmin, np.min)])
def test_pmax_pmin_values(xs, op, ref):
    np.testing.assert_allclose(mapped(lambda x: op(x, "i"))(xs),
                               np.broadcast_to(ref(xs, axis=0), xs.shape))
    ints = np.array([[3, -1], [7, 2], [5, 9]])
    np.testing.assert_array_equal(mapped(lambda x: op(x, "i"))(ints),
                                  np.broadcast_to(ref(ints, axis=0), ints.shape))


@pytest.mark.parametrize("axis, tiled", [(0, False), (1, False), (2, False), (-1, False),
                                         (0, True), (1, True), (-1, True)])
def test_all_gather_values(xs, axis, tiled):
    out = mapped(lambda x: lax.all_gather(x, "i", axis=axis, tiled=tiled))(xs)
    np.testing.assert_allclose(out, np_all_gather(xs, axis % (3 if not tiled else 2), tiled))


def test_all_gather_scalars_and_ints():
    v = np.array([4, 5, 6])
    np.testing.assert_array_equal(mapped(lambda x: lax.all_gather(x, "i"))(v),
                                  np.stack([v] * 3))


@pytest.mark.parametrize("dim, tiled", [(0, False), (1, False), (-1, False), (0, True)])
def test_psum_scatter_values(rng, dim, tiled):
    shape = {(0, False): (N, 3), (1, False): (3, N), (-1, False): (3, N), (0, True): (2 * N, 3)}
    xs = rng.standard_normal((N,) + shape[(dim, tiled)])
    out = mapped(lambda x: lax.psum_scatter(x, "i", scatter_dimension=dim, tiled=tiled))(xs)
    np.testing.assert_allclose(out, np_psum_scatter(xs, dim % 2, tiled))


@pytest.mark.parametrize("perm", [PERM, RING, [(1, 1)], []])
def test_ppermute_values(xs, perm):
    np.testing.assert_allclose(mapped(lambda x: lax.ppermute(x, "i", perm))(xs),
                               np_ppermute(xs, perm))


@pytest.mark.parametrize("split, concat", [(0, 0), (0, 1), (1, 0), (1, 1), (0, 2), (2, 1)])
def test_all_to_all_untiled_values(rng, split, concat):
    shape = [3, 2, 5]
    shape[split] = N
    xs = rng.standard_normal((N, *shape))
    out = mapped(lambda x: lax.all_to_all(x, "i", split, concat))(xs)
    np.testing.assert_allclose(out, np_all_to_all(xs, split, concat))


@pytest.mark.parametrize("split, concat", [(0, 0), (0, 1), (1, 0), (1, 1)])
def test_all_to_all_tiled_values(rng, split, concat):
    shape = [3, 5]
    shape[split] = 2 * N
    xs = rng.standard_normal((N, *shape))
    out = mapped(lambda x: lax.all_to_all(x, "i", split, concat, tiled=True))(xs)
    np.testing.assert_allclose(out, np_all_to_all(xs, split, concat, tiled=True))


def test_axis_index_and_size():
    out = mapped(lambda x: (lax.axis_index("i"), x * lax.axis_size("i")))(np.ones(5))
    np.testing.assert_array_equal(out[0], np.arange(5))
    np.testing.assert_allclose(out[1], np.full(5, 5.0))


def test_invariant_operands(rng):
    """A value that does not vary over the axis is broadcast to every instance first."""
    w = rng.standard_normal((N, 3))
    out = sg.vmap(lambda x, w: (lax.all_gather(w, "i"), lax.psum_scatter(w, "i"),
                                lax.ppermute(w, "i", PERM), lax.all_to_all(w, "i", 0, 1),
                                lax.pmax(w, "i")),
                  in_axes=(0, None), axis_name="i")(np.zeros(N), w)
    ws = np.stack([w] * N)
    for got, ref in zip(out, [np_all_gather(ws), np_psum_scatter(ws), np_ppermute(ws, PERM),
                              np_all_to_all(ws, 0, 1), ws], strict=True):
        np.testing.assert_allclose(got, ref)


# --------------------------------------------------------------------------- vma rules

def test_vma_rules():
    x = ShapedArray((N, 3), "float64", frozenset({"i", "j"}))

    def f(x):
        outs = [lax.psum(x, "i"), lax.pmax(x, "i"), lax.pmin(x, ("i", "j")),
                lax.all_gather(x, "i"), lax.psum_scatter(x, "i"), lax.ppermute(x, "i", PERM),
                lax.all_to_all(x, "i", 0, 1), lax.pmean(x, "j")]
        return [vma_of(o) for o in outs]

    captured = []
    sg.make_jaxpr(lambda x: captured.append(f(x)) or x, axis_env=[("i", N), ("j", 2)])(x)
    i, j = frozenset({"i"}), frozenset({"j"})
    assert captured[0] == [j, j, frozenset(), j, i | j, i | j, i | j, i]


def test_psum_scatter_of_invariant_varies():
    c = ShapedArray((N,), "float64")
    captured = []
    sg.make_jaxpr(lambda x: captured.append(vma_of(lax.psum_scatter(x, "i"))) or x,
                  axis_env=[("i", N)])(c)
    assert captured == [frozenset({"i"})]


# --------------------------------------------------------------------------- derivatives

CASES = {
    "psum": lambda x: jnp.sin(lax.psum(x * x, "i")),
    "pmean": lambda x: lax.pmean(x ** 3, "i") * x,
    "pmax": lambda x: lax.pmax(jnp.sin(x), "i") * x,
    "pmin": lambda x: lax.pmin(x * x, "i"),
    "all_gather": lambda x: lax.all_gather(jnp.sin(x), "i", axis=1),
    "all_gather_tiled": lambda x: lax.all_gather(x, "i", axis=1, tiled=True) * x[0, 0],
    "psum_scatter": lambda x: jnp.cos(lax.psum_scatter(x * x, "i", scatter_dimension=1)),
    "psum_scatter_tiled": lambda x: lax.psum_scatter(jnp.sin(x), "i", tiled=True,
                                                    scatter_dimension=1) ** 2,
    "ppermute": lambda x: jnp.sin(lax.ppermute(x, "i", PERM)) * x,
    "all_to_all": lambda x: lax.all_to_all(x * x, "i", 1, 0) * x[0, 0],
    "all_to_all_tiled": lambda x: jnp.tanh(lax.all_to_all(x, "i", 1, 0, tiled=True)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_mapped_jvp_vjp_finite_differences(xs, name):
    check_grads(mapped(CASES[name]), (xs,), order=2)


@pytest.mark.parametrize("name", sorted(CASES))
def test_transpose_inside_map_equals_vjp_of_mapped(rng, xs, name):
    """grad inside the map, reduced over the axis, is the VJP of the whole mapped
    function: this exercises every collective's transpose rule."""
    f = CASES[name]
    outs = mapped(f)(xs)
    cts = rng.standard_normal(np.shape(outs))
    ref, = sg.vjp(mapped(f), xs)[1](cts)
    inside = sg.vmap(lambda x, c: sg.vjp(f, x, reduce_axes=("i",))[1](c)[0],
                     axis_name="i")(xs, cts)
    np.testing.assert_allclose(inside, ref, rtol=1e-10, atol=1e-12)


INVARIANT_CASES = {
    "psum": lambda w, x: jnp.sum(lax.psum(w ** 2, "i") * x),
    "all_gather": lambda w, x: jnp.sum(lax.all_gather(jnp.sin(w), "i", axis=1) * x[0]),
    "psum_scatter": lambda w, x: jnp.sum(lax.psum_scatter(w * w, "i", scatter_dimension=1)
                                         * x[:, 0]),
    "ppermute": lambda w, x: jnp.sum(jnp.sin(lax.ppermute(w, "i", PERM)) * x),
    "all_to_all": lambda w, x: jnp.sum(lax.all_to_all(w * w, "i", 1, 0) * x[0, 0]),
    "pmax": lambda w, x: jnp.sum(lax.pmax(w * x, "i") * x[0]),
    "psum_invariant_out": lambda w, x: jnp.sum(lax.psum(w ** 2, "i")),
    "all_gather_invariant_out": lambda w, x: jnp.sum(lax.all_gather(w, "i") ** 2),
    "pmax_invariant_out": lambda w, x: jnp.sum(lax.pmax(jnp.sin(w), "i")),
}


@pytest.mark.parametrize("name", sorted(INVARIANT_CASES))
def test_reduced_gradient_of_invariant_operand(rng, xs, name):
    """A replicated parameter through a collective: the gradient reduced inside the map
    equals the gradient of the mapped function taken outside it (boundary rule)."""
    f = INVARIANT_CASES[name]
    w = rng.standard_normal((3, N))
    varying = []
    sg.vmap(lambda w, x: varying.append("i" in vma_of(f(w, x))), in_axes=(None, 0),
            axis_name="i")(w, xs)
    out_axes = 0 if varying[0] else None
    ref = sg.grad(lambda w: jnp.sum(sg.vmap(f, in_axes=(None, 0), out_axes=out_axes,
                                            axis_name="i")(w, xs)))(w)
    inside = sg.vmap(sg.grad(f, reduce_axes=("i",)), in_axes=(None, 0), out_axes=None,
                     axis_name="i")(w, xs)
    np.testing.assert_allclose(inside, ref, rtol=1e-10, atol=1e-12)


def test_psum_of_invariant_derivative():
    """psum(w) = size * w: derivative size when the axis is reduced, 1 per own copy
    when it is not (semantics section 4)."""
    f = lambda w: lax.psum(jnp.sin(w), "i")  # noqa: E731
    red = sg.vmap(sg.grad(f, reduce_axes=("i",)), in_axes=None, axis_size=N, axis_name="i",
                  out_axes=None)(0.3)
    own = sg.vmap(sg.grad(f), in_axes=None, axis_size=N, axis_name="i", out_axes=None)(0.3)
    np.testing.assert_allclose(red, N * np.cos(0.3))
    np.testing.assert_allclose(own, np.cos(0.3))
    outside = sg.grad(lambda w: sg.vmap(f, in_axes=None, out_axes=None, axis_size=N,
                                        axis_name="i")(w))(0.3)
    np.testing.assert_allclose(outside, N * np.cos(0.3))


def test_all_gather_per_instance_cotangent(rng, xs):
    """Not reduced: the gathered value is invariant, so its cotangent collects every
    instance's (L = sum_i <c_i, all_gather(x)>), and each instance takes its own slice."""
    cts = rng.standard_normal((N, N, 3, N))
    got = sg.vmap(lambda x, c: sg.vjp(lambda x: lax.all_gather(x, "i"), x)[1](c)[0],
                  axis_name="i")(xs, cts)
    np.testing.assert_allclose(got, np.stack([cts.sum(0)[i] for i in range(N)]))


def test_pmax_ties_split_evenly():
    xs = np.array([1.0, 3.0, 3.0, 2.0])
    cts = np.array([0.5, 1.0, 2.0, 4.0])
    got, = sg.vjp(mapped(lambda x: lax.pmax(x, "i")), xs)[1](cts)
    np.testing.assert_allclose(got, [0.0, 7.5 / 2, 7.5 / 2, 0.0])
    got, = sg.vjp(mapped(lambda x: lax.pmin(x, "i")), xs)[1](cts)
    np.testing.assert_allclose(got, [7.5, 0.0, 0.0, 0.0])
    _, t = sg.jvp(mapped(lambda x: lax.pmax(x, "i")), (xs,), (cts,))
    np.testing.assert_allclose(t, np.full(4, 1.5))


def test_pmax_of_invariant_is_identity():
    g = sg.vmap(sg.grad(lambda w: lax.pmax(w * w, "i")), in_axes=None, out_axes=None,
                axis_size=N, axis_name="i")(1.5)
    np.testing.assert_allclose(g, 3.0)


def test_ppermute_transpose_is_inverse_permutation(rng, xs):
    cts = rng.standard_normal(xs.shape)
    got, = sg.vjp(mapped(lambda x: lax.ppermute(x, "i", PERM)), xs)[1](cts)
    np.testing.assert_allclose(got, np_ppermute(cts, [(d, s) for s, d in PERM]))


# --------------------------------------------------------------------------- nested maps

def nested(f, xs):
    """vmap over 'outer' (axis 0) of vmap over 'inner' (axis 1)."""
    return sg.vmap(sg.vmap(f, axis_name="inner"), axis_name="outer")(xs)


NESTED = {
    "psum": (lambda x, a: lax.psum(x, a), lambda xs: np.broadcast_to(xs.sum(0), xs.shape)),
    "pmax": (lambda x, a: lax.pmax(x, a), lambda xs: np.broadcast_to(xs.max(0), xs.shape)),
    "all_gather": (lambda x, a: lax.all_gather(x, a, axis=1), lambda xs: np_all_gather(xs, 1)),
    "psum_scatter": (lambda x, a: lax.psum_scatter(x, a, scatter_dimension=1),
                     lambda xs: np_psum_scatter(xs, 1)),
    "ppermute": (lambda x, a: lax.ppermute(x, a, [(0, 1), (1, 0)]),
                 lambda xs: np_ppermute(xs, [(0, 1), (1, 0)])),
    "all_to_all": (lambda x, a: lax.all_to_all(x, a, 1, 0), lambda xs: np_all_to_all(xs, 1, 0)),
}


@pytest.mark.parametrize("which", ["outer", "inner"])
@pytest.mark.parametrize("name", sorted(NESTED))
def test_nested_maps_against_loops(rng, name, which):
    op, ref = NESTED[name]
    xs = rng.standard_normal((2, 2, 3, 2))   # both axes of size 2, as the operands need
    xs[0, 1, 0, 0] = 5.0                     # a clear maximum
    got = nested(lambda x: op(x, which), xs)
    want = np.empty_like(got)
    if which == "inner":
        for a in range(2):
            want[a] = ref(xs[a])
    else:
        for b in range(2):
            want[:, b] = ref(xs[:, b])
    np.testing.assert_allclose(got, want)


@pytest.mark.parametrize("name", sorted(NESTED))
def test_nested_maps_gradients(rng, name):
    op, _ = NESTED[name]
    xs = rng.standard_normal((2, 2, 3, 2))
    check_grads(lambda xs: nested(lambda x: jnp.sin(op(x * x, "outer")) * x[0, 0], xs), (xs,))
    check_grads(lambda xs: nested(lambda x: op(jnp.sin(x), "inner") ** 2, xs), (xs,))


def test_collective_on_inner_axis_of_outer_only_value(rng):
    """x varies over 'outer' only; psum over 'inner' multiplies by its size."""
    xs = rng.standard_normal((2, 3))
    got = sg.vmap(lambda x: sg.vmap(lambda _: lax.psum(x, "inner"), axis_name="inner")(
        np.zeros(5)), axis_name="outer")(xs)
    np.testing.assert_allclose(got, np.broadcast_to(5 * xs[:, None], (2, 5, 3)))


@pytest.mark.parametrize("op, ref", [(lax.psum, np.sum), (lax.pmean, np.mean),
                                     (lax.pmax, np.max), (lax.pmin, np.min)])
@pytest.mark.parametrize("axes", [("outer", "inner"), ("inner", "outer")])
def test_tuple_of_axes_reductions(rng, op, ref, axes):
    xs = rng.standard_normal((2, 3, 4))
    got = nested(lambda x: op(x, axes), xs)
    np.testing.assert_allclose(got, np.broadcast_to(ref(xs, axis=(0, 1)), xs.shape))
    check_grads(lambda xs: nested(lambda x: op(jnp.sin(x), axes) * x, xs), (xs,))


@pytest.mark.parametrize("tiled", [False, True])
def test_tuple_of_axes_all_gather(rng, tiled):
    xs = rng.standard_normal((2, 3, 4))
    got = nested(lambda x: lax.all_gather(x, ("outer", "inner"), tiled=tiled), xs)
    flat = xs.reshape(6, 4)
    one = flat.reshape(24) if tiled else flat
    np.testing.assert_allclose(got, np.broadcast_to(one, (2, 3) + one.shape))
    idx = nested(lambda x: lax.axis_index(("outer", "inner")), xs)
    np.testing.assert_array_equal(idx, np.arange(6).reshape(2, 3))
    check_grads(lambda xs: nested(lambda x: jnp.sin(lax.all_gather(x * x, ("outer", "inner"),
                                                                   tiled=tiled)), xs), (xs,))


# --------------------------------------------------------------------------- errors

@pytest.mark.parametrize("call", [
    lambda x: lax.psum(x, "x"), lambda x: lax.pmean(x, "x"), lambda x: lax.pmax(x, "x"),
    lambda x: lax.pmin(x, "x"), lambda x: lax.all_gather(x, "x"),
    lambda x: lax.psum_scatter(x, "x"), lambda x: lax.ppermute(x, "x", [(0, 1)]),
    lambda x: lax.all_to_all(x, "x", 0, 0), lambda x: lax.axis_index("x"),
    lambda x: lax.axis_size("x"), lambda x: lax.psum(x, ("i", "x"))])
def test_unbound_axis_names(call):
    with pytest.raises(UnboundAxisError, match="unbound axis name: 'x'"):
        mapped(call)(np.ones((N, N)))
    with pytest.raises(UnboundAxisError, match="unbound axis name: '[xi]'"):
        call(np.ones((N, N)))


@pytest.mark.parametrize("call, exc, match", [
    (lambda x: lax.psum_scatter(x, "i"), ValueError, "has size 3.*equal the axis size"),
    (lambda x: lax.psum_scatter(x, "i", tiled=True), ValueError, "not a multiple of 4"),
    (lambda x: lax.psum_scatter(x[0, 0], "i"), ValueError, "rank >= 1"),
    (lambda x: lax.psum_scatter(x, "i", scatter_dimension=5), ValueError, "out of bounds"),
    (lambda x: lax.all_to_all(x, "i", 0, 1), ValueError, "split_axis 0.*size 3"),
    (lambda x: lax.all_to_all(x, "i", 0, 1, tiled=True), ValueError, "not a multiple of 4"),
    (lambda x: lax.all_to_all(x, "i", 1, 3), ValueError, "out of bounds"),
    (lambda x: lax.all_gather(x[0, 0], "i", tiled=True), ValueError, "rank >= 1"),
    (lambda x: lax.all_gather(x, "i", axis=3), ValueError, "out of bounds"),
    (lambda x: lax.ppermute(x, "i", [(0, 1), (2, 1)]), ValueError, "repeats a destination"),
    (lambda x: lax.ppermute(x, "i", [(0, 1), (0, 2)]), ValueError, "repeats a source"),
    (lambda x: lax.ppermute(x, "i", [(0, 4)]), ValueError, r"out of range.*\[0, 4\)"),
    (lambda x: lax.ppermute(x, "i", [0, 1]), TypeError, "pairs"),
    (lambda x: lax.ppermute(x, ("i", "j"), [(0, 1)]), NotImplementedError, "once per axis"),
    (lambda x: lax.pmax(x + 1j, "i"), TypeError, "complex"),
    (lambda x: lax.psum(x, ()), ValueError, "at least one axis"),
    (lambda x: lax.psum(x, ("i", "i")), ValueError, "repeats"),
    (lambda x: lax.all_gather(x, "i", axis_index_groups=[[0, 1]]), NotImplementedError,
     "axis_index_groups"),
])
def test_collective_errors(call, exc, match):
    xs = np.ones((N, 3, N))
    f = sg.vmap(lambda x: sg.vmap(call, axis_name="j", in_axes=None, axis_size=2)(x),
                axis_name="i")
    with pytest.raises(exc, match=match):
        f(xs)


# --------------------------------------------------------------------------- higher order

SCALAR_CASES = {
    "all_gather": (lambda x: jnp.sum(lax.all_gather(jnp.sin(x), "i") ** 2), True),
    "pmax": (lambda x: jnp.sum(lax.pmax(jnp.sin(x), "i") ** 2), True),
    "psum_scatter": (lambda x: jnp.sum(jnp.sin(lax.psum_scatter(x * x, "i"))), False),
    "ppermute": (lambda x: jnp.sum(jnp.sin(lax.ppermute(x, "i", [(0, 1), (1, 2)])) * x), False),
    "all_to_all": (lambda x: jnp.sum(jnp.sin(lax.all_to_all(x, "i", 0, 0)) * x), False),
}


@pytest.mark.parametrize("name", sorted(SCALAR_CASES))
def test_hessian_vector_product_inside_map(rng, name):
    """jvp of grad(reduce_axes) inside the map equals the Hessian of the mapped function
    (the invariant outputs counted once) applied to the same direction."""
    f, invariant = SCALAR_CASES[name]
    xs, v = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))

    def total(xs):
        out = sg.vmap(f, axis_name="i", out_axes=None if invariant else 0)(xs)
        return out if invariant else jnp.sum(out)
    hess = sg.hessian(total)(xs).reshape(9, 9)
    inside = sg.vmap(lambda x, t: sg.jvp(sg.grad(f, reduce_axes=("i",)), (x,), (t,))[1],
                     axis_name="i")(xs, v)
    np.testing.assert_allclose(inside, (hess @ v.ravel()).reshape(3, 3), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sg.jacrev(sg.grad(total))(xs), sg.jacfwd(sg.grad(total))(xs),
                               rtol=1e-10, atol=1e-12)
