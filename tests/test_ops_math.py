"""Elementwise math, reductions, scans and sorting of spmdgrad.numpy.

Every op is checked against an independent reference:
- derivatives (orders 1 and 2) against central finite differences (check_grads);
- vmap at random in_axes and broadcast shapes against a Python loop (loop_vmap);
- per-example VJPs under vmap with reduce_axes against the summed loop of VJPs;
- forward values (and dtypes) against NumPy.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import spmdgrad as sg
import spmdgrad.numpy as jnp
from spmdgrad.primitives import elementwise as ew
from spmdgrad.primitives import reductions as red
from spmdgrad.test_util import check_grads, loop_vmap

HYP = settings(max_examples=15, deadline=None)


# ---------------------------------------------------------------- point samplers

def uni(lo, hi):
    return lambda rng, shape: np.asarray(rng.uniform(lo, hi, shape), np.float64)


def away(lo, hi):
    """|x| in (lo, hi), either sign: keeps clear of a kink at 0."""
    return lambda rng, shape: np.asarray(
        rng.uniform(lo, hi, shape) * rng.choice([-1.0, 1.0], shape), np.float64)


def frac():
    """Clear of integers and half-integers (kinks of floor, ceil, round, remainder)."""
    return lambda rng, shape: np.asarray(
        rng.integers(-3, 3, shape) + rng.uniform(0.1, 0.4, shape), np.float64)


def cplx(sampler):
    """Complex points near the real domain of ``sampler``: clear of branch cuts."""
    return lambda rng, shape: sampler(rng, shape) + 0.3j * rng.uniform(-1, 1, shape)


# name -> (spmdgrad fn, NumPy reference, sampler, holomorphic)
UNARY = {
    "negative": (jnp.negative, np.negative, uni(-2, 2), True),
    "exp": (jnp.exp, np.exp, uni(-2, 2), True),
    "log": (jnp.log, np.log, uni(0.5, 3), True),
    "log1p": (jnp.log1p, np.log1p, uni(-0.5, 2), True),
    "expm1": (jnp.expm1, np.expm1, uni(-2, 2), True),
    "log2": (jnp.log2, np.log2, uni(0.5, 3), True),
    "log10": (jnp.log10, np.log10, uni(0.5, 3), True),
    "sqrt": (jnp.sqrt, np.sqrt, uni(0.5, 3), True),
    "square": (jnp.square, np.square, uni(-2, 2), True),
    "reciprocal": (jnp.reciprocal, np.reciprocal, away(0.5, 2), True),
    "abs": (jnp.abs, np.abs, away(0.2, 2), False),
    "sign": (jnp.sign, np.sign, away(0.2, 2), False),
    "sin": (jnp.sin, np.sin, uni(-2, 2), True),
    "cos": (jnp.cos, np.cos, uni(-2, 2), True),
    "tan": (jnp.tan, np.tan, uni(-1, 1), True),
    "arcsin": (jnp.arcsin, np.arcsin, uni(-0.8, 0.8), True),
    "arccos": (jnp.arccos, np.arccos, uni(-0.8, 0.8), True),
    "arctan": (jnp.arctan, np.arctan, uni(-2, 2), True),
    "sinh": (jnp.sinh, np.sinh, uni(-2, 2), True),
    "cosh": (jnp.cosh, np.cosh, uni(-2, 2), True),
    "tanh": (jnp.tanh, np.tanh, uni(-2, 2), True),
    "arcsinh": (jnp.arcsinh, np.arcsinh, uni(-2, 2), True),
    "arccosh": (jnp.arccosh, np.arccosh, uni(1.2, 3), True),
    "arctanh": (jnp.arctanh, np.arctanh, uni(-0.8, 0.8), True),
    "floor": (jnp.floor, np.floor, frac(), False),
    "ceil": (jnp.ceil, np.ceil, frac(), False),
    "round": (jnp.round, np.round, frac(), False),
    "clip": (lambda x: jnp.clip(x, -0.5, 0.7), lambda x: np.clip(x, -0.5, 0.7),
             uni(-2, 2), False),
    "real": (jnp.real, np.real, uni(-2, 2), False),
    "imag": (jnp.imag, np.imag, uni(-2, 2), False),
    "conj": (jnp.conj, np.conj, uni(-2, 2), False),
    "astype32": (lambda x: jnp.astype(x, np.float32).astype(np.float64),
                 lambda x: x.astype(np.float32).astype(np.float64), uni(-2, 2), False),
    "pow_int": (lambda x: x ** 3, lambda x: x ** 3, uni(-2, 2), True),
    "pow_float": (lambda x: x ** 2.5, lambda x: x ** 2.5, uni(0.5, 2), True),
    "rpow": (lambda x: 2.0 ** x, lambda x: 2.0 ** x, uni(-2, 2), True),
}
HOLOMORPHIC = [k for k, v in UNARY.items() if v[3]]
# Finite differences through a float32 round trip need a wider step and tolerance.
GRAD_TOL = {"astype32": dict(eps=1e-3, atol=1e-3, rtol=1e-3)}
ZERO_DERIVATIVE = {"sign", "floor", "ceil", "round", "imag"}


def np_logaddexp(x, y):
    return np.logaddexp(x, y)


# name -> (spmdgrad fn, NumPy reference, sampler x, sampler y, holomorphic)
BINARY = {
    "add": (jnp.add, np.add, uni(-2, 2), uni(-2, 2), True),
    "subtract": (jnp.subtract, np.subtract, uni(-2, 2), uni(-2, 2), True),
    "multiply": (jnp.multiply, np.multiply, uni(-2, 2), uni(-2, 2), True),
    "divide": (jnp.divide, np.divide, uni(-2, 2), away(0.5, 2), True),
    "power": (jnp.power, np.power, uni(0.5, 2), uni(-1.5, 1.5), True),
    "maximum": (jnp.maximum, np.maximum, uni(-2, 2), uni(-2, 2), False),
    "minimum": (jnp.minimum, np.minimum, uni(-2, 2), uni(-2, 2), False),
    "arctan2": (jnp.arctan2, np.arctan2, away(0.3, 2), away(0.3, 2), False),
    "remainder": (jnp.remainder, np.remainder, uni(-3, 3), away(0.5, 2), False),
    "floor_divide": (jnp.floor_divide, np.floor_divide, uni(-3, 3), away(0.5, 2), False),
    "logaddexp": (jnp.logaddexp, np_logaddexp, uni(-3, 3), uni(-3, 3), False),
    "where": (lambda x, y: jnp.where(x > 0.3 * y, x * y, y),
              lambda x, y: np.where(x > 0.3 * y, x * y, y), uni(-2, 2), uni(-2, 2), False),
    "clip2": (lambda x, y: jnp.clip(x, y, y + 1.0), lambda x, y: np.clip(x, y, y + 1.0),
              uni(-2, 2), uni(-2, 2), False),
}


# name -> (fn(x, axis, keepdims), NumPy reference, axis kinds allowed)
#   axis kinds: "multi" (None, int or tuple), "one" (None or int), "int" (int only)
def _red(f, g, kind="multi", **kw):
    return (lambda x, axis, keepdims: f(x, axis=axis, keepdims=keepdims, **kw),
            lambda x, axis, keepdims: g(x, axis=axis, keepdims=keepdims, **kw), kind)


def _scan(f, g, kind="one"):
    return (lambda x, axis, keepdims: f(x, axis), lambda x, axis, keepdims: g(x, axis), kind)


REDUCTIONS = {
    "sum": _red(jnp.sum, np.sum),
    "mean": _red(jnp.mean, np.mean),
    "prod": _red(jnp.prod, np.prod),
    "max": _red(jnp.max, np.max),
    "min": _red(jnp.min, np.min),
    "var": _red(jnp.var, np.var),
    "var_ddof1": _red(jnp.var, np.var, ddof=1),
    "std": _red(jnp.std, np.std),
    "std_ddof1": _red(jnp.std, np.std, ddof=1),
    "cumsum": _scan(jnp.cumsum, np.cumsum),
    "cumprod": _scan(jnp.cumprod, np.cumprod),
    "sort": _scan(jnp.sort, np.sort),
    "argmax": _red(jnp.argmax, np.argmax, "one"),
    "argmin": _red(jnp.argmin, np.argmin, "one"),
    "argsort": _scan(jnp.argsort, lambda x, axis: np.argsort(x, axis, kind="stable")),
}
INT_OUTPUT = {"argmax", "argmin", "argsort"}
# ddof=1 needs at least two elements in the reduced slice.
NEEDS_TWO = {"var_ddof1", "std_ddof1"}


# ---------------------------------------------------------------- 1. derivatives vs finite differences

@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_grads(name):
    f, _, sample, _ = UNARY[name]
    x = sample(np.random.default_rng(1), (2, 3))
    check_grads(f, (x,), order=2, **GRAD_TOL.get(name, {}))
    check_grads(f, (x[0, 0],), order=1, **GRAD_TOL.get(name, {}))  # 0-d


@pytest.mark.parametrize("name", HOLOMORPHIC)
def test_unary_grads_complex(name):
    f, _, sample, _ = UNARY[name]
    z = cplx(sample)(np.random.default_rng(2), (2, 3))
    check_grads(f, (z,), order=2)


@pytest.mark.parametrize("name", sorted(ZERO_DERIVATIVE))
def test_zero_derivative_ops(name):
    f, _, sample, _ = UNARY[name]
    x = sample(np.random.default_rng(3), (4,))
    np.testing.assert_array_equal(sg.grad(lambda x: jnp.sum(f(x)))(x), np.zeros(4))
    np.testing.assert_array_equal(sg.jvp(f, (x,), (np.ones(4),))[1], np.zeros(4))


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_grads(name):
    f, _, sx, sy, _ = BINARY[name]
    rng = np.random.default_rng(4)
    x, y = sx(rng, (2, 3)), sy(rng, (2, 3))
    check_grads(f, (x, y), order=2)
    check_grads(f, (x, y[0]), order=2)      # broadcasting (2,3) with (3,)
    check_grads(f, (x[0, 0], y), order=1)   # 0-d with (2,3)


@pytest.mark.parametrize("name", [k for k, v in BINARY.items() if v[4]])
def test_binary_grads_complex(name):
    f, _, sx, sy, _ = BINARY[name]
    rng = np.random.default_rng(5)
    check_grads(f, (cplx(sx)(rng, (2, 3)), cplx(sy)(rng, (3,))), order=2)


def _axis_cases(nd, kind):
    cases = [None] + list(range(nd)) + [-1]
    if kind == "multi" and nd >= 2:
        cases += [(0, nd - 1)]
    if kind == "int":
        cases = cases[1:]
    return cases


@pytest.mark.parametrize("name", sorted(set(REDUCTIONS) - INT_OUTPUT))
def test_reduction_grads(name):
    f, _, kind = REDUCTIONS[name]
    x = np.random.default_rng(6).uniform(-2, 2, (2, 3, 4))
    for axis in _axis_cases(3, kind):
        for keepdims in (False, True):
            check_grads(lambda x: f(x, axis, keepdims), (x,), order=2)


def test_prod_and_cumprod_grads_with_zeros():
    # The products skip no factor and divide by none, so zeros (one or two) are exact.
    x = np.array([[1.5, 0.0, 2.0, -0.5], [0.0, 3.0, 0.0, 1.2]])
    for f in (lambda x: jnp.prod(x, axis=1), lambda x: jnp.prod(x),
              lambda x: jnp.cumprod(x, axis=1), lambda x: jnp.cumprod(x, axis=0)):
        check_grads(f, (x,), order=3)
    # Exact values: d prod / dx_i = product of the others.
    np.testing.assert_allclose(sg.grad(lambda v: jnp.prod(v))(np.array([2.0, 0.0, 3.0])),
                               [0.0, 6.0, 0.0])


def test_cumulative_reverse_and_cummax():
    x = np.random.default_rng(7).uniform(-2, 2, (3, 5))
    for f in (lambda x: red.cumsum(x, 1, reverse=True), lambda x: red.cumprod(x, 0, reverse=True),
              lambda x: red.cummax(x, 1), lambda x: red.cummin(x, 1, reverse=True)):
        check_grads(f, (x,), order=2)
    np.testing.assert_allclose(red.cumprod(x, 1, reverse=True),
                               np.flip(np.cumprod(np.flip(x, 1), 1), 1))
    np.testing.assert_allclose(red.cummax(x, 1), np.maximum.accumulate(x, 1))


def test_cummax_tie_rule():
    # The derivative goes to the first element that reached the running maximum.
    x = np.array([1.0, 3.0, 3.0, 2.0, 5.0])
    jac = sg.jacfwd(lambda v: red.cummax(v, 0))(x)
    want = np.zeros((5, 5))
    want[0, 0] = want[1, 1] = want[2, 1] = want[3, 1] = want[4, 4] = 1
    np.testing.assert_array_equal(jac, want)


def test_extremum_ties_split_evenly():
    x = np.array([1.0, 3.0, 3.0])
    np.testing.assert_allclose(sg.grad(lambda v: jnp.max(v))(x), [0, 0.5, 0.5])
    np.testing.assert_allclose(sg.grad(lambda v: jnp.sum(jnp.maximum(v, 3.0)))(x), [0, 0.5, 0.5])


def test_sort_tangent_follows_permutation():
    x = np.array([[3.0, 1.0, 2.0], [0.5, -1.0, 4.0]])
    t = np.arange(6.0).reshape(2, 3)
    _, dt = sg.jvp(lambda v: jnp.sort(v, axis=1), (x,), (t,))
    np.testing.assert_array_equal(dt, np.take_along_axis(t, np.argsort(x, 1), 1))
    # reverse mode: the cotangent is scattered back through the permutation
    ct = np.array([[10.0, 20.0, 30.0], [1.0, 2.0, 3.0]])
    g, = sg.vjp(lambda v: jnp.sort(v, axis=1), x)[1](ct)
    np.testing.assert_array_equal(g, [[30.0, 10.0, 20.0], [2.0, 1.0, 3.0]])


def test_take_along_repeated_indices():
    x = np.array([[1.0, 2.0, 3.0]])
    idx = np.array([[2, 2, 0, 2]])
    check_grads(lambda v: red.take_along(v, idx, 1), (x,), order=2)
    out, f_vjp = sg.vjp(lambda v: red.take_along(v, idx, 1), x)
    np.testing.assert_array_equal(out, [[3.0, 3.0, 1.0, 3.0]])
    np.testing.assert_array_equal(f_vjp(np.ones((1, 4)))[0], [[1.0, 0.0, 3.0]])


def test_integer_outputs_carry_no_tangent():
    x = np.array([0.3, 2.0, -1.0, 2.5])
    # argmax/argsort inside a differentiated function: the integers are constants.
    g = sg.grad(lambda v: jnp.sum(v * (np.arange(4) == jnp.argmax(v))))(x)
    np.testing.assert_array_equal(g, [0, 0, 0, 1])
    g = sg.grad(lambda v: jnp.sum(v * jnp.argsort(v)))(x)
    np.testing.assert_array_equal(g, np.argsort(x))
    y, t = sg.jvp(lambda v: jnp.argmin(v), (x,), (np.ones(4),))
    assert y == 2 and t == 0
    with pytest.raises(TypeError, match="real- or complex-valued output"):
        sg.grad(lambda v: jnp.argmax(v))(x)


def test_comparisons_and_logic_do_not_block_grad():
    x = np.array([-1.5, 0.5, 2.0])
    f = lambda v: jnp.sum(jnp.where(jnp.logical_and(v > 0, jnp.isfinite(v)), v ** 2, -v))
    np.testing.assert_allclose(sg.grad(f)(x), [-1.0, 1.0, 4.0])
    check_grads(f, (x,), order=2)


def test_complex_nonholomorphic_parts():
    # Checked as maps R^2 -> R^2: z = a + ib, output (real, imag).
    rng = np.random.default_rng(8)
    a, b = rng.uniform(0.3, 2, (2, 3)), rng.uniform(-2, -0.3, (2, 3))
    for op in (jnp.abs, jnp.real, jnp.imag, jnp.conj, jnp.sign, lambda z: jnp.var(z, axis=1)):
        def f(a, b, op=op):
            out = op(jnp.asarray(a) + 1j * jnp.asarray(b))
            return jnp.real(out), jnp.imag(out)
        check_grads(f, (a, b), order=2)
    # The conjugate-convention gradient of a real function of z (semantics section 1).
    z = np.complex128(1 + 2j)
    np.testing.assert_allclose(sg.grad(lambda z: jnp.abs(z))(z), np.conj(z) / abs(z))


# ---------------------------------------------------------------- 2. vmap vs a Python loop

def _batched(rng, sample, shape, ax, size):
    """A sample of per-example ``shape``, with a batch axis of ``size`` at ``ax``."""
    if ax is None:
        return sample(rng, shape)
    return np.moveaxis(sample(rng, (size,) + shape), 0, ax)


def _assert_tree_close(a, b, **kw):
    la, lb = sg.tree_util.tree_flatten(a)[0], sg.tree_util.tree_flatten(b)[0]
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        x, y = np.asarray(x), np.asarray(y)
        assert x.shape == y.shape, (x.shape, y.shape)
        assert x.dtype == y.dtype, (x.dtype, y.dtype)
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12, **kw)


@pytest.mark.parametrize("name", sorted(UNARY))
@HYP
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=3), data=st.data())
def test_unary_vmap(name, shape, data):
    f, _, sample, _ = UNARY[name]
    ax = data.draw(st.integers(0, len(shape)), label="in_axis")
    size = data.draw(st.integers(1, 3), label="size")
    x = _batched(np.random.default_rng(data.draw(st.integers(0, 99))), sample, shape, ax, size)
    _assert_tree_close(sg.vmap(f, in_axes=ax)(x), loop_vmap(f, ax, x))


@pytest.mark.parametrize("name", sorted(BINARY))
@HYP
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
       data=st.data())
def test_binary_vmap(name, shapes, data):
    f, _, sx, sy, _ = BINARY[name]
    sxs, sys_ = shapes.input_shapes
    ax = data.draw(st.one_of(st.none(), st.integers(0, len(sxs))), label="x_axis")
    ay = data.draw(st.integers(0, len(sys_)) if ax is None else
                   st.one_of(st.none(), st.integers(0, len(sys_))), label="y_axis")
    size = data.draw(st.integers(1, 3), label="size")
    rng = np.random.default_rng(data.draw(st.integers(0, 99)))
    x, y = _batched(rng, sx, sxs, ax, size), _batched(rng, sy, sys_, ay, size)
    _assert_tree_close(sg.vmap(f, in_axes=(ax, ay))(x, y), loop_vmap(f, (ax, ay), x, y))


@st.composite
def _reduction_case(draw, kind, min_side=1):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=min_side, max_side=3))
    nd = len(shape)
    options = [st.integers(-nd, nd - 1)]
    if kind != "int":
        options.append(st.none())
    if kind == "multi":
        options.append(st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True)
                       .map(tuple))
    axis = draw(st.one_of(*options))
    return shape, axis, draw(st.booleans())


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@HYP
@given(data=st.data())
def test_reduction_vmap(name, data):
    f, _, kind = REDUCTIONS[name]
    shape, axis, keepdims = data.draw(_reduction_case(kind, 2 if name in NEEDS_TWO else 1))
    ax = data.draw(st.integers(0, len(shape)), label="in_axis")
    size = data.draw(st.integers(1, 3), label="size")
    x = _batched(np.random.default_rng(data.draw(st.integers(0, 99))), uni(-2, 2), shape, ax, size)
    g = lambda x: f(x, axis, keepdims)  # noqa: E731
    _assert_tree_close(sg.vmap(g, in_axes=ax)(x), loop_vmap(g, ax, x))


def test_vmap_out_axes_and_nested():
    x = np.random.default_rng(9).uniform(-2, 2, (3, 4, 5))
    f = lambda v: jnp.cumsum(jnp.sort(v, axis=0) * jnp.max(v), axis=0)  # noqa: E731
    got = sg.vmap(sg.vmap(f, in_axes=1), in_axes=0, out_axes=1)(x)
    want = np.stack([np.stack([f(x[i, :, j]) for j in range(5)]) for i in range(3)], axis=1)
    np.testing.assert_allclose(got, want)


# ---------------------------------------------------------------- 3. per-example VJP with reduce_axes

def _check_reduce_axes_vjp(f, w, xs, rng):
    """vjp under vmap with reduce_axes = summed loop; without it = stacked loop."""
    cts = rng.standard_normal((len(xs),) + np.shape(f(w, xs[0])))
    got = sg.vmap(lambda x, ct: sg.vjp(f, w, x, reduce_axes=("b",))[1](ct)[0],
                  in_axes=(0, 0), out_axes=None, axis_name="b")(xs, cts)
    loop = [sg.vjp(f, w, x)[1](ct) for x, ct in zip(xs, cts)]
    np.testing.assert_allclose(got, sum(c[0] for c in loop), rtol=1e-10, atol=1e-12)
    per_w, per_x = sg.vmap(lambda x, ct: sg.vjp(f, w, x)[1](ct), in_axes=(0, 0),
                           axis_name="b")(xs, cts)
    np.testing.assert_allclose(per_w, np.stack([c[0] for c in loop]), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(per_x, np.stack([c[1] for c in loop]), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_vjp_reduce_axes(name):
    op, _, sample, _ = UNARY[name]
    rng = np.random.default_rng(10)
    w = sample(rng, (3,))
    xs = rng.uniform(-1, 1, (4, 2, 3))
    _check_reduce_axes_vjp(lambda w, x: op(w + 0.05 * x), w, xs, rng)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_vjp_reduce_axes(name):
    op, _, sx, sy, _ = BINARY[name]
    rng = np.random.default_rng(11)
    _check_reduce_axes_vjp(op, sx(rng, (3,)), sy(rng, (4, 2, 3)), rng)
    _check_reduce_axes_vjp(lambda w, x: op(x, w), sy(rng, (2, 3)), sx(rng, (4, 3)), rng)


@pytest.mark.parametrize("name", sorted(set(REDUCTIONS) - INT_OUTPUT))
def test_reduction_vjp_reduce_axes(name):
    f, _, kind = REDUCTIONS[name]
    rng = np.random.default_rng(12)
    w = rng.uniform(0.5, 1.5, (3,))
    xs = rng.uniform(-2, 2, (4, 2, 3))
    for axis in _axis_cases(2, kind):
        _check_reduce_axes_vjp(lambda w, x: f(w * x, axis, False), w, xs, rng)


# ---------------------------------------------------------------- 4. forward values and dtypes vs NumPy

@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_values(name):
    f, ref, sample, _ = UNARY[name]
    x = sample(np.random.default_rng(13), (2, 3))
    for v in (x, x.astype(np.float32), x[0, 0]):
        got, want = np.asarray(f(v)), np.asarray(ref(v))
        assert got.dtype == want.dtype, (got.dtype, want.dtype)
        np.testing.assert_allclose(got, want, rtol=1e-6 if v.dtype == np.float32 else 1e-13)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_values(name):
    f, ref, sx, sy, _ = BINARY[name]
    rng = np.random.default_rng(14)
    x, y = sx(rng, (2, 1, 3)), sy(rng, (4, 3))
    for a, b in ((x, y), (x.astype(np.float32), y.astype(np.float32)), (x[0, 0, 0], y)):
        got, want = np.asarray(f(a, b)), np.asarray(ref(a, b))
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-6 if got.dtype == np.float32 else 1e-13)


@pytest.mark.parametrize("name", ["add", "subtract", "multiply", "divide", "power", "maximum",
                                  "minimum", "arctan2", "remainder", "floor_divide"])
def test_python_scalars_do_not_upcast_float32(name):
    f = BINARY[name][0]
    x = np.array([0.5, 1.5], np.float32)
    assert f(x, 2).dtype == np.float32
    assert f(2.0, x).dtype == np.float32
    assert sg.vmap(lambda v: f(v, 3.0))(x).dtype == np.float32
    assert sg.grad(lambda v: jnp.sum(f(v, 1.5)))(x).dtype == np.float32


@pytest.mark.parametrize("name", sorted(set(REDUCTIONS) - INT_OUTPUT) + sorted(set(UNARY) - {"astype32"}))
def test_float32_stays_float32_under_grad_and_vmap(name):
    if name in UNARY:
        f = UNARY[name][0]
        x = UNARY[name][2](np.random.default_rng(17), (2, 3)).astype(np.float32)
    else:
        f = lambda v: REDUCTIONS[name][0](v, 1, False)  # noqa: E731
        x = np.random.default_rng(17).uniform(0.5, 2, (2, 3)).astype(np.float32)
    loss = lambda v: jnp.sum(f(v) * 1.5)  # noqa: E731
    assert np.asarray(f(x)).dtype == np.float32
    assert sg.grad(loss)(x).dtype == np.float32
    assert sg.vmap(sg.grad(loss))(x[None]).dtype == np.float32


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reduction_values(name):
    f, ref, kind = REDUCTIONS[name]
    x = np.random.default_rng(15).uniform(-2, 2, (2, 3, 4))
    for axis in _axis_cases(3, kind):
        for keepdims in (False, True):
            for v in (x, x.astype(np.float32)):
                got, want = np.asarray(f(v, axis, keepdims)), np.asarray(ref(v, axis, keepdims))
                assert got.shape == want.shape and got.dtype == want.dtype, (axis, keepdims)
                np.testing.assert_allclose(got, want, rtol=1e-5 if v.dtype == np.float32 else 1e-12)


def test_operators_and_comparisons_match_numpy():
    rng = np.random.default_rng(16)
    x, y = rng.uniform(-3, 3, (2, 3)), rng.uniform(0.5, 2, (3,))

    def ops(a, b):
        return [a + b, a - b, a * b, a / b, a // b, a % b, -a, a ** 2, b ** a, a < b, a <= b,
                a > b, a >= b, a == b, a != b, abs(a)]
    got = sg.vmap(lambda a: ops(a, y))(x)
    for g, w in zip(got, ops(x, y)):
        assert np.asarray(g).dtype == w.dtype
        np.testing.assert_allclose(g, w)


def test_integer_and_bool_dtypes_follow_numpy():
    i32 = np.arange(6, dtype=np.int32).reshape(2, 3)
    b = i32 > 2
    cases = [(jnp.sum, np.sum, i32), (jnp.prod, np.prod, i32), (jnp.cumsum, np.cumsum, i32),
             (jnp.cumprod, np.cumprod, i32), (jnp.sum, np.sum, b), (jnp.cumsum, np.cumsum, b),
             (jnp.mean, np.mean, i32), (jnp.var, np.var, i32), (jnp.max, np.max, i32),
             (jnp.abs, np.abs, -i32), (jnp.sign, np.sign, i32 - 2), (jnp.square, np.square, i32),
             (jnp.sqrt, np.sqrt, i32), (jnp.round, np.round, i32), (jnp.any, np.any, b),
             (jnp.all, np.all, b), (jnp.sort, np.sort, -i32), (jnp.true_divide, None, i32)]
    for f, g, v in cases:
        if g is None:
            got, want = f(v, 2), np.true_divide(v, 2)
        else:
            got, want = f(v), g(v)
        assert np.asarray(got).dtype == np.asarray(want).dtype, f.__name__
        np.testing.assert_allclose(got, want)


def test_complex_values_match_numpy():
    z = np.array([1 + 2j, -0.5 + 0.1j, 3 - 1j])
    for f, g in ((jnp.abs, np.abs), (jnp.real, np.real), (jnp.imag, np.imag), (jnp.conj, np.conj),
                 (jnp.sign, np.sign), (jnp.var, np.var), (jnp.std, np.std), (jnp.sqrt, np.sqrt),
                 (jnp.mean, np.mean), (jnp.prod, np.prod), (jnp.cumsum, np.cumsum)):
        got, want = np.asarray(f(z)), np.asarray(g(z))
        assert got.dtype == want.dtype, f.__name__
        np.testing.assert_allclose(got, want, rtol=1e-13)


def test_misc_values():
    x = np.array([[0.25, -1.5, 2.5], [3.5, 0.5, -0.5]])
    np.testing.assert_array_equal(jnp.round(x), np.round(x))   # half to even
    np.testing.assert_allclose(jnp.round(x * 1.234, 2), np.round(x * 1.234, 2))
    np.testing.assert_array_equal(jnp.argmax(x, axis=1, keepdims=True),
                                  np.argmax(x, axis=1, keepdims=True))
    np.testing.assert_array_equal(jnp.argmax(x), np.argmax(x))
    np.testing.assert_array_equal(jnp.sort(x, axis=None), np.sort(x, axis=None))
    np.testing.assert_allclose(jnp.cumsum(x), np.cumsum(x))
    np.testing.assert_array_equal(jnp.where(x > 0, x, 0), np.where(x > 0, x, 0))
    np.testing.assert_allclose(jnp.logaddexp(np.array([-np.inf, np.inf, 1000.0]),
                                             np.array([-np.inf, np.inf, 1000.0])),
                               np.logaddexp([-np.inf, np.inf, 1000.0], [-np.inf, np.inf, 1000.0]))
    np.testing.assert_array_equal(jnp.isinf(np.array([1.0, np.inf, -np.inf, np.nan])),
                                  [False, True, True, False])
    np.testing.assert_array_equal(jnp.clip(x, min=0.0, max=1.0), np.clip(x, 0.0, 1.0))
    np.testing.assert_array_equal(jnp.any(x > 3, axis=0), np.any(x > 3, axis=0))
    np.testing.assert_array_equal(jnp.all(x > -1, axis=1, keepdims=True),
                                  np.all(x > -1, axis=1, keepdims=True))


# ---------------------------------------------------------------- errors

def test_errors_are_clear():
    with pytest.raises(ValueError, match="max: reduction over an empty axis"):
        jnp.max(np.zeros((0, 3)), axis=0)
    with pytest.raises(ValueError, match="argmax.*empty"):
        jnp.argmax(np.zeros(0))
    with pytest.raises(ValueError, match="sort: axis is out of bounds for a 0-d array"):
        jnp.sort(np.float64(1.0), axis=0)
    with pytest.raises(ValueError, match="axis 3 is out of bounds"):
        jnp.cumsum(np.ones((2, 2)), axis=3)
    with pytest.raises(ValueError, match="repeated axis"):
        jnp.sum(np.ones((2, 2)), axis=(0, 0))
    with pytest.raises(ValueError, match=r"add: operands have shapes \[\(2,\), \(3,\)\]"):
        sg.make_jaxpr(lambda a: ew.add_p.bind(a, np.ones(3)))(np.ones(2))
    with pytest.raises(ValueError, match="broadcast"):
        jnp.add(np.ones(2), np.ones(3))
    with pytest.raises(TypeError, match="gather: index operands must have an integer dtype"):
        red.take_along(np.ones(3), np.ones(3), 0)
    with pytest.raises(TypeError, match="needs three arguments"):
        jnp.where(np.ones(2) > 0)
