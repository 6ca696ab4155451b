"""The vmap API against Python loops: in_axes/out_axes (ints, negative, None, pytrees),
keyword arguments, axis_size, nesting, and composition with grad."""
import numpy as np
import pytest

import spmdgrad as sg
import spmdgrad.numpy as jnp
from spmdgrad import lax
from spmdgrad.test_util import loop_vmap


def f2(x, y):
    return jnp.sin(x) * jnp.sum(y) + x ** 2


@pytest.mark.parametrize("ax", [0, 1, 2, -1, -2, -3])
def test_in_axes_ints(rng, ax):
    x = rng.standard_normal((2, 3, 4))
    got = sg.vmap(lambda v: jnp.cos(v) @ np.ones(v.shape[-1]), in_axes=ax)(x)
    ref = loop_vmap(lambda v: np.cos(v) @ np.ones(v.shape[-1]), ax, x)
    np.testing.assert_allclose(got, ref)


@pytest.mark.parametrize("in_axes", [(0, None), (None, 1), (1, 0), (-1, None), [0, 0]])
def test_in_axes_tuples_and_none(rng, in_axes):
    x = rng.standard_normal((3, 3))
    y = rng.standard_normal((3, 3))
    got = sg.vmap(f2, in_axes=in_axes)(x, y)
    ref = loop_vmap(f2, tuple(in_axes), x, y)
    np.testing.assert_allclose(got, ref)


def test_in_axes_pytrees(rng):
    params = {"w": rng.standard_normal((3, 2)), "b": rng.standard_normal((5, 2))}
    xs = (rng.standard_normal((3, 5)), rng.standard_normal(4))

    def f(p, xy):
        x, c = xy
        return jnp.tanh(x @ p["w"] + p["b"]) * jnp.sum(c)

    got = sg.vmap(f, in_axes=({"w": None, "b": 0}, (1, None)))(params, xs)
    ref = np.stack([np.tanh(xs[0][:, i] @ params["w"] + params["b"][i]) * xs[1].sum()
                    for i in range(5)])
    np.testing.assert_allclose(got, ref)
    # a prefix: one entry for the whole dict
    got = sg.vmap(lambda p: p["w"] + p["b"][:3], in_axes=({"w": 1, "b": 1},))(
        {"w": np.ones((3, 4)), "b": np.arange(20.0).reshape(5, 4)})
    np.testing.assert_allclose(got, np.stack([1 + np.arange(20.0).reshape(5, 4)[:3, i]
                                              for i in range(4)]))


@pytest.mark.parametrize("out_axes", [0, 1, 2, -1, -2])
def test_out_axes_ints(rng, out_axes):
    x = rng.standard_normal((4, 2, 3))
    got = sg.vmap(jnp.sin, out_axes=out_axes)(x)
    np.testing.assert_allclose(got, np.moveaxis(np.sin(x), 0, out_axes))


def test_out_axes_pytrees_and_none(rng):
    x = rng.standard_normal((4, 2, 3))
    w = rng.standard_normal(3)

    def f(v, w):
        return {"a": v * w, "b": (jnp.sum(v), w * 2.0)}

    got = sg.vmap(f, in_axes=(0, None), out_axes={"a": -1, "b": (0, None)})(x, w)
    np.testing.assert_allclose(got["a"], np.moveaxis(x * w, 0, -1))
    np.testing.assert_allclose(got["b"][0], x.sum((1, 2)))
    np.testing.assert_allclose(got["b"][1], w * 2.0)


def test_kwargs_are_mapped_over_axis_0(rng):
    x, y = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    got = sg.vmap(lambda x, scale: x * scale, in_axes=(1,))(x.T, scale=y)
    np.testing.assert_allclose(got, x * y)


def test_axis_size(rng):
    w = rng.standard_normal(3)
    got = sg.vmap(lambda w: w * lax.axis_index("i"), in_axes=None, axis_size=4,
                  axis_name="i")(w)
    np.testing.assert_allclose(got, np.arange(4)[:, None] * w)
    got = sg.vmap(lambda: 1.5, in_axes=(), axis_size=2)()
    np.testing.assert_allclose(got, [1.5, 1.5])
    got = sg.vmap(lambda x, w: x + w, in_axes=(0, None), axis_size=2)(np.ones(2), w[0])
    np.testing.assert_allclose(got, 1 + w[0] * np.ones(2))


def test_unbatched_and_constant_outputs_are_broadcast(rng):
    c = rng.standard_normal(3)
    got = sg.vmap(lambda x: (c, 2.0, x), in_axes=0)(np.arange(4.0))
    np.testing.assert_allclose(got[0], np.stack([c] * 4))
    np.testing.assert_allclose(got[1], np.full(4, 2.0))
    np.testing.assert_allclose(got[2], np.arange(4.0))


def test_integer_and_scalar_outputs():
    got = sg.vmap(lambda i: i * 2 + 1)(np.arange(5))
    np.testing.assert_array_equal(got, 2 * np.arange(5) + 1)
    assert got.dtype == np.arange(5).dtype


def test_nested_vmaps_outer_product(rng):
    x, y = rng.standard_normal(3), rng.standard_normal(4)
    got = sg.vmap(sg.vmap(lambda a, b: jnp.sin(a) * b, in_axes=(None, 0)), in_axes=(0, None))(x, y)
    np.testing.assert_allclose(got, np.sin(x)[:, None] * y[None, :])


def test_nested_vmaps_with_axes(rng):
    x = rng.standard_normal((2, 5, 3))
    got = sg.vmap(sg.vmap(lambda v: jnp.sum(v ** 2), in_axes=1), in_axes=2)(x)
    np.testing.assert_allclose(got, (x ** 2).sum(0).T)
    got = sg.vmap(sg.vmap(jnp.cos, in_axes=0, out_axes=1), in_axes=1, out_axes=0)(x)
    ref = np.stack([np.stack([np.cos(x[i, j]) for i in range(2)], axis=1) for j in range(5)])
    np.testing.assert_allclose(got, ref)


def test_nested_named_axes(rng):
    x = rng.standard_normal((2, 3))
    got = sg.vmap(sg.vmap(lambda v: v - lax.pmean(v, "row") + lax.psum(v, "col"),
                          axis_name="col"), axis_name="row")(x)
    np.testing.assert_allclose(got, x - x.mean(0) + x.sum(1, keepdims=True))


def test_vmap_of_grad_and_grad_of_vmap(rng):
    x = rng.standard_normal(5)
    f = lambda v: jnp.sin(v) * v  # noqa: E731
    np.testing.assert_allclose(sg.vmap(sg.grad(f))(x), np.cos(x) * x + np.sin(x))
    g = sg.grad(lambda xs: jnp.sum(sg.vmap(f)(xs)))(x)
    np.testing.assert_allclose(g, np.cos(x) * x + np.sin(x))
    h = sg.vmap(sg.grad(sg.grad(f)))(x)
    np.testing.assert_allclose(h, 2 * np.cos(x) - x * np.sin(x))


def test_vmap_of_jvp_and_vjp(rng):
    x, t = rng.standard_normal(4), rng.standard_normal(4)
    _, tan = sg.vmap(lambda a, b: sg.jvp(jnp.exp, (a,), (b,)))(x, t)
    np.testing.assert_allclose(tan, np.exp(x) * t)
    got = sg.vmap(lambda a, c: sg.vjp(jnp.sin, a)[1](c)[0])(x, t)
    np.testing.assert_allclose(got, np.cos(x) * t)


def test_wraps_function_metadata():
    def my_fun(x):
        """doc"""
        return x
    v = sg.vmap(my_fun)
    assert v.__name__ == "my_fun" and v.__doc__ == "doc"


@pytest.mark.parametrize("call, exc, match", [
    (lambda: sg.vmap(jnp.sin)(np.float64(1.0)), ValueError, "0-d argument"),
    (lambda: sg.vmap(jnp.sin, out_axes=2)(np.ones((3, 2))), ValueError, "out of bounds"),
    (lambda: sg.vmap(jnp.sin, axis_name=3), TypeError, "axis_name must be a str"),
    (lambda: sg.vmap(3), TypeError, "expects a callable"),
    (lambda: sg.vmap(lambda x: (x, x), out_axes=(0, 0, 0))(np.ones(2)), ValueError, "out_axes"),
    (lambda: sg.vmap(lambda x: x)("abc"), TypeError, "not a valid array type"),
])
def test_vmap_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_list_out_axes_match_a_list_output():
    xs = np.arange(6.0).reshape(3, 2)
    out = sg.vmap(lambda x: [x * 2.0, x.sum()], out_axes=[1, 0])(xs)
    assert isinstance(out, list)
    np.testing.assert_array_equal(out[0], (xs * 2.0).T)
    np.testing.assert_array_equal(out[1], xs.sum(1))
