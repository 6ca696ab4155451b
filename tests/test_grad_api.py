"""The ``grad`` contract (docs/semantics.md section 1): every parameter and its errors.

References are closed forms, explicit NumPy, or central finite differences.
"""
import collections

import numpy as np
import pytest

import spmdgrad
import spmdgrad.numpy as jnp
from spmdgrad import grad, value_and_grad, vjp, vmap
from spmdgrad.core import Tracer
from spmdgrad.dtypes import float0
from spmdgrad.tree_util import register_pytree_node, tree_flatten


def fd_grad(f, x, eps=1e-6):
    """Central-difference gradient of a scalar f at a float array x."""
    x = np.asarray(x, dtype=float)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = eps
        g[i] = (float(f(x + e)) - float(f(x - e))) / (2 * eps)
    return g


def is_plain(x):
    """Results outside transformations are NumPy arrays or scalars, never tracers."""
    return isinstance(x, np.ndarray | np.generic) and not isinstance(x, Tracer)


def f3(x, y, z):
    return x * 2.0 * y + z ** 3


# --------------------------------------------------------------------------- argnums

def test_argnums_int_default_and_explicit():
    assert grad(f3)(1.5, 2.0, 3.0) == pytest.approx(4.0)
    assert grad(f3, argnums=1)(1.5, 2.0, 3.0) == pytest.approx(3.0)
    assert grad(f3, argnums=2)(1.5, 2.0, 3.0) == pytest.approx(27.0)


def test_argnums_tuple_returns_tuple_in_argnums_order():
    g = grad(f3, argnums=(2, 0))(1., 1., 1.)
    assert isinstance(g, tuple) and len(g) == 2
    assert g[0] == pytest.approx(3.0) and g[1] == pytest.approx(2.0)
    g1 = grad(f3, argnums=(1,))(1.5, 2.0, 3.0)
    assert isinstance(g1, tuple) and len(g1) == 1 and g1[0] == pytest.approx(3.0)
    g_list = grad(f3, argnums=[0, 2])(1.5, 2.0, 3.0)
    assert isinstance(g_list, tuple) and g_list[1] == pytest.approx(27.0)


@pytest.mark.parametrize("neg, pos", [(-1, 2), (-2, 1), (-3, 0)])
def test_negative_argnums_count_from_end(neg, pos):
    args = (1.5, 2.0, 3.0)
    assert grad(f3, argnums=neg)(*args) == pytest.approx(grad(f3, argnums=pos)(*args))
    other = 1 if pos != 1 else 0
    g = grad(f3, argnums=(neg, other))(*args)
    assert g == pytest.approx((grad(f3, argnums=pos)(*args), grad(f3, argnums=other)(*args)))


def test_keyword_arguments_are_never_differentiated():
    f = lambda x, y=1.0: x * y ** 2  # noqa: E731
    assert grad(f)(2.0, y=3.0) == pytest.approx(9.0)
    with pytest.raises(TypeError, match="positional"):
        grad(f, argnums=1)(2.0, y=3.0)


def test_too_few_positional_arguments():
    with pytest.raises(TypeError, match="argnums=2.*2 positional"):
        grad(f3, argnums=2)(1.0, 2.0)
    with pytest.raises(TypeError, match="positional"):
        grad(f3, argnums=(0, 3))(1.0, 2.0, 3.0)
    with pytest.raises(TypeError, match="positional"):
        grad(f3, argnums=-4)(1.0, 2.0, 3.0)


@pytest.mark.parametrize("argnums", [(0, 0), (1, -2), (2, 0, 2)])
def test_duplicate_argnums(argnums):
    with pytest.raises(ValueError, match="duplicate"):
        grad(f3, argnums=argnums)(1.0, 2.0, 3.0)


def test_empty_argnums():
    for empty in ((), []):
        with pytest.raises(ValueError, match="empty"):
            grad(f3, argnums=empty)


@pytest.mark.parametrize("bad", ["a", 1.0, None, (0, "1"), True, (0, 1.5)])
def test_argnums_of_wrong_type(bad):
    with pytest.raises(TypeError, match="argnums"):
        grad(f3, argnums=bad)(1.0, 2.0, 3.0)


def test_fun_must_be_callable():
    with pytest.raises(TypeError, match="callable"):
        grad(3.0)


# --------------------------------------------------------------------------- pytree inputs

Pair = collections.namedtuple("Pair", "a b")


class Point:
    """A user-registered pytree node."""

    def __init__(self, x, y):
        self.x, self.y = x, y


register_pytree_node(Point, lambda p: ((p.x, p.y), "point"), lambda aux, c: Point(*c))


def test_tuple_and_list_inputs():
    g = grad(lambda p: p[0] * p[1] ** 2)((2.0, 3.0))
    assert isinstance(g, tuple) and g == pytest.approx((9.0, 12.0))
    g = grad(lambda p: p[0] * p[1] ** 2)([2.0, 3.0])
    assert isinstance(g, list) and g == pytest.approx([9.0, 12.0])


def test_dict_input_with_nested_arrays():
    w = np.array([1.0, -2.0, 0.5])
    d = {"w": w, "b": 0.3, "nested": [np.array([[1.0, 2.0]])]}

    def loss(p):
        return jnp.sum(jnp.sin(p["w"]) * p["b"]) + jnp.sum(p["nested"][0] ** 2)
    g = grad(loss)(d)
    assert set(g) == {"w", "b", "nested"} and isinstance(g["nested"], list)
    np.testing.assert_allclose(g["w"], np.cos(w) * 0.3)
    np.testing.assert_allclose(g["b"], np.sum(np.sin(w)))
    np.testing.assert_allclose(g["nested"][0], 2 * d["nested"][0])
    assert g["nested"][0].shape == (1, 2)


def test_none_leaf_and_namedtuple():
    g = grad(lambda p: p[0] ** 2)((3.0, None))
    assert g[1] is None and g[0] == pytest.approx(6.0)
    g = grad(lambda p: p.a * p.b)(Pair(2.0, 3.0))
    assert type(g) is Pair and g.a == pytest.approx(3.0) and g.b == pytest.approx(2.0)


def test_user_registered_node():
    g = grad(lambda p: p.x * p.y ** 2)(Point(2.0, 3.0))
    assert type(g) is Point
    assert g.x == pytest.approx(9.0) and g.y == pytest.approx(12.0)


def test_pytree_with_several_argnums():
    def f(a, b, c):
        return jnp.sum(a["u"] * b[0]) + c
    a, b = {"u": np.array([1.0, 2.0])}, (np.array([3.0, 4.0]),)
    ga, gc, gb = grad(f, argnums=(0, 2, 1))(a, b, 5.0)
    np.testing.assert_allclose(ga["u"], b[0])
    np.testing.assert_allclose(gb[0], a["u"])
    assert gc == pytest.approx(1.0)


def test_gradient_matches_finite_differences(rng):
    x = rng.standard_normal(5)
    f = lambda x: jnp.sum(jnp.tanh(x) * jnp.exp(0.3 * x)) / (1.0 + jnp.sum(x ** 2))  # noqa: E731
    np.testing.assert_allclose(grad(f)(x), fd_grad(f, x), rtol=1e-6, atol=1e-8)


# --------------------------------------------------------------------------- scalar output

@pytest.mark.parametrize("shape", [(1,), (3,), (2, 2)])
def test_non_scalar_output_is_refused_naming_the_shape(shape):
    with pytest.raises(TypeError) as e:
        grad(lambda x: x * 2.0)(np.ones(shape))
    msg = str(e.value)
    assert str(shape) in msg and "vjp" in msg and "jacrev" in msg


def test_scalar_check_happens_after_the_forward_pass():
    calls = []

    def f(x):
        calls.append(1)
        return x * np.ones(3)
    with pytest.raises(TypeError, match=r"\(3,\)"):
        grad(f)(1.0)
    assert calls == [1]


def test_pytree_output_is_refused():
    with pytest.raises(TypeError, match="scalar"):
        grad(lambda x: (x, x))(1.0)


def test_non_array_output_is_refused():
    with pytest.raises(TypeError, match="not an array"):
        grad(lambda x: "result")(1.0)


def test_zero_d_array_output_is_accepted():
    assert grad(lambda x: jnp.sum(x ** 2))(np.array([1.0, 2.0])) == pytest.approx([2.0, 4.0])
    assert grad(lambda x: x ** 2)(np.array(3.0)) == pytest.approx(6.0)


def test_output_independent_of_input_gives_zero_gradient():
    g = grad(lambda x, y: y * 2.0)(np.array([1.0, 2.0]), 3.0)
    assert is_plain(g) and g.shape == (2,) and np.all(g == 0)


# --------------------------------------------------------------------------- dtypes

@pytest.mark.parametrize("x, name", [(3, "int64"), (np.int32(3), "int32"), (True, "bool"),
                                     (np.arange(3), "int64")])
def test_integer_and_bool_inputs_need_allow_int(x, name):
    with pytest.raises(TypeError) as e:
        grad(lambda x: jnp.sum(x * 1.0))(x)
    msg = str(e.value)
    assert name in msg and "allow_int=True" in msg and "vjp" in msg


def test_allow_int_gives_float0_cotangent_of_the_input_shape():
    x, y = np.arange(3), 2.0
    gx, gy = grad(lambda x, y: jnp.sum(x * y), argnums=(0, 1), allow_int=True)(x, y)
    assert gx.dtype == float0 and gx.shape == (3,)
    assert float0.itemsize == 0
    assert gy == pytest.approx(3.0)
    gb = grad(lambda b, y: y * 1.0, allow_int=True)(np.array([[True, False]]), 1.0)
    assert gb.dtype == float0 and gb.shape == (1, 2)


def test_allow_int_with_a_mixed_pytree():
    g = grad(lambda p: p["x"] * 2.0 + p["n"], allow_int=True)({"x": 1.5, "n": 4})
    assert g["x"] == pytest.approx(2.0)
    assert g["n"].dtype == float0 and g["n"].shape == ()


def test_integer_leaf_in_a_pytree_needs_allow_int():
    with pytest.raises(TypeError, match="int64.*allow_int=True"):
        grad(lambda p: p["x"] * 2.0)({"x": 1.5, "n": 4})


def test_numpy_integer_argnums():
    assert grad(lambda x, y: x * y, argnums=np.int64(1))(2.0, 3.0) == pytest.approx(2.0)
    g = grad(lambda x, y: x * y, argnums=(np.int32(1), 0))(2.0, 3.0)
    assert g == pytest.approx((2.0, 3.0))


def test_arithmetic_on_float0_is_refused():
    g = grad(lambda n, y: y * 1.0, allow_int=True)(np.arange(3), 1.0)
    with pytest.raises(TypeError):
        g + 1
    with pytest.raises(TypeError):
        jnp.add(g, 1.0)
    with pytest.raises(TypeError):
        jnp.multiply(g, g)


def test_float0_arithmetic_error_is_clear():
    g = np.zeros(3, float0)
    for op in (jnp.sin, lambda v: jnp.add(v, 1.0)):
        with pytest.raises(TypeError, match="float0"):
            op(g)


def test_complex_output_needs_holomorphic():
    with pytest.raises(TypeError) as e:
        grad(lambda z: z * z)(1.0 + 2.0j)
    msg = str(e.value)
    assert "holomorphic=True" in msg and "vjp" in msg and "complex128" in msg


def test_holomorphic_derivative():
    z = 1 + 2j
    g = grad(jnp.sin, holomorphic=True)(z)
    assert np.iscomplexobj(g)
    np.testing.assert_allclose(g, np.cos(z), rtol=1e-14)
    g2 = grad(lambda z: z ** 3 + 2.0 * z, holomorphic=True)(z)
    np.testing.assert_allclose(g2, 3 * z ** 2 + 2.0, rtol=1e-14)
    # complex-step finite difference along the real axis equals f'(z) for holomorphic f
    h = 1e-7
    fd = (np.exp(z + h) - np.exp(z - h)) / (2 * h)
    np.testing.assert_allclose(grad(jnp.exp, holomorphic=True)(z), fd, rtol=1e-7)


def test_holomorphic_requires_complex_input_and_output():
    with pytest.raises(TypeError, match="holomorphic=True.*complex input"):
        grad(jnp.sin, holomorphic=True)(1.0)
    with pytest.raises(TypeError, match="holomorphic=True.*complex output"):
        grad(lambda z: jnp.real(z), holomorphic=True)(1.0 + 1.0j)


def test_complex_input_real_output_conjugate_convention():
    g = grad(lambda z: (z * z.conj()).real)(1 + 2j)
    assert g == 2 - 4j
    # General check: for real L(z), grad = dL/dx - i dL/dy (the conjugate convention).
    L = lambda z: jnp.real(jnp.sin(z) * jnp.conj(z))  # noqa: E731
    z = 0.7 - 0.4j
    h = 1e-6
    dx = (np.real(np.sin(z + h) * np.conj(z + h)) - np.real(np.sin(z - h) * np.conj(z - h))) / (2 * h)
    zi, zj = z + 1j * h, z - 1j * h
    dy = (np.real(np.sin(zi) * np.conj(zi)) - np.real(np.sin(zj) * np.conj(zj))) / (2 * h)
    np.testing.assert_allclose(grad(L)(z), dx - 1j * dy, rtol=1e-7)


def test_seed_dtype_float64_default():
    g = grad(jnp.tanh)(0.2)
    assert str(g) == "0.9610429829661166"
    assert g == 1 - np.tanh(0.2) ** 2
    assert g.dtype == np.float64


def test_float32_inputs_give_float32_gradients():
    g = grad(jnp.tanh)(np.float32(0.2))
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, 1 - np.tanh(np.float32(0.2)) ** 2, rtol=1e-6)
    x = np.array([0.1, 0.2], np.float32)
    g = grad(lambda x: jnp.sum(jnp.sin(x) * 2.0))(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, 2 * np.cos(x), rtol=1e-6)
    g64, g32 = grad(lambda a, b: jnp.sum(a * b), argnums=(0, 1))(np.ones(2), x)
    assert g64.dtype == np.float64 and g32.dtype == np.float32


def test_complex64_input_keeps_its_dtype():
    g = grad(lambda z: jnp.real(z * jnp.conj(z)))(np.complex64(1 + 2j))
    assert g.dtype == np.complex64
    np.testing.assert_allclose(g, 2 - 4j, rtol=1e-6)


@pytest.mark.parametrize("bad", ["abc", object(), {1, 2}, b"x"])
def test_non_array_arguments(bad):
    with pytest.raises(TypeError, match="Argument .* is not a valid array type"):
        grad(lambda x: 1.0)(bad)
    with pytest.raises(TypeError, match="Argument .* is not a valid array type"):
        grad(lambda x, y: y * 1.0, argnums=(0, 1))((bad,), 1.0)


def test_non_array_non_differentiated_arguments_are_fine():
    def f(x, name, n):
        assert name == "scale" and n == 3
        return x * n
    assert grad(f)(2.0, "scale", 3) == pytest.approx(3.0)


# --------------------------------------------------------------------------- has_aux

def test_has_aux_returns_gradient_and_aux():
    g, aux = grad(lambda x: (x ** 2, {"half": x / 2, "s": "tag"}), has_aux=True)(3.0)
    assert g == pytest.approx(6.0)
    assert aux["half"] == pytest.approx(1.5) and aux["s"] == "tag"
    assert is_plain(aux["half"])


def test_value_and_grad_has_aux():
    (v, aux), g = value_and_grad(lambda x: (jnp.sin(x), x * 10.0), has_aux=True)(0.5)
    assert v == pytest.approx(np.sin(0.5)) and aux == pytest.approx(5.0)
    assert g == pytest.approx(np.cos(0.5))
    v, g = value_and_grad(lambda x, y: x * y, argnums=(0, 1))(2.0, 3.0)
    assert v == pytest.approx(6.0) and g == pytest.approx((3.0, 2.0))


@pytest.mark.parametrize("ret", [lambda x: x ** 2, lambda x: (x ** 2,),
                                 lambda x: (x ** 2, 1.0, 2.0)])
def test_has_aux_requires_a_pair(ret):
    with pytest.raises(TypeError, match="pair"):
        grad(ret, has_aux=True)(3.0)


def test_has_aux_error_does_not_name_internal_types():
    with pytest.raises(TypeError) as e:
        grad(lambda x: x ** 2, has_aux=True)(3.0)
    assert "Tracer" not in str(e.value)


def test_aux_is_not_differentiated_and_is_concrete():
    g, aux = grad(lambda x: (x * 2.0, x * x), has_aux=True)(np.array(3.0))
    assert g == pytest.approx(2.0) and aux == pytest.approx(9.0) and is_plain(aux)


# --------------------------------------------------------------------------- reduce_axes

@pytest.mark.parametrize("bad", ["batch", 1, ("batch", 2), None, {"batch": 1}])
def test_reduce_axes_must_be_tuple_or_list_of_str(bad):
    with pytest.raises(TypeError, match="reduce_axes"):
        grad(jnp.sin, reduce_axes=bad)


def test_reduce_axes_unbound_name_is_an_error():
    with pytest.raises(NameError, match="unbound axis name: 'batch'"):
        grad(jnp.sin, reduce_axes=("batch",))(1.0)
    with pytest.raises(NameError, match="unbound axis name: 'other'"):
        vmap(grad(jnp.sin, reduce_axes=["other"]), axis_name="batch")(np.ones(2))


def test_reduce_axes_total_vs_per_example():
    w = np.array([0.5, -1.0])
    x = np.arange(6.0).reshape(3, 2)
    loss = lambda w, x: jnp.sum(jnp.sin(w * x))  # noqa: E731
    per = vmap(grad(loss), in_axes=(None, 0), axis_name="b")(w, x)
    np.testing.assert_allclose(per, x * np.cos(w * x))
    tot = vmap(grad(loss, reduce_axes=("b",)), in_axes=(None, 0), axis_name="b",
               out_axes=None)(w, x)
    np.testing.assert_allclose(tot, (x * np.cos(w * x)).sum(0))
    tot_list = vmap(grad(loss, reduce_axes=["b"]), in_axes=(None, 0), axis_name="b",
                    out_axes=None)(w, x)
    np.testing.assert_allclose(tot_list, tot)


# --------------------------------------------------------------------------- result types

def test_results_are_plain_numpy():
    outs = [grad(jnp.sin)(1.0), grad(lambda x: jnp.sum(x ** 2))(np.ones(3)),
            value_and_grad(jnp.cos)(0.3)[0], vjp(jnp.sin, np.ones(2))[1](np.ones(2))[0],
            grad(lambda p: p["a"] * 2.0)({"a": 1.0})["a"],
            spmdgrad.jvp(jnp.sin, (1.0,), (1.0,))[1]]
    for o in outs:
        assert is_plain(o), type(o)
    leaves, _ = tree_flatten(grad(lambda p: jnp.sum(p[0]) * p[1])((np.ones(2), 2.0)))
    assert all(is_plain(v) for v in leaves)


def test_grad_preserves_input_shapes(rng):
    x = rng.standard_normal((2, 3, 4))
    g = grad(lambda x: jnp.sum(x ** 3))(x)
    assert g.shape == x.shape
    np.testing.assert_allclose(g, 3 * x ** 2)


def test_vjp_signature_and_cotangent_checks():
    y, f_vjp = vjp(lambda x, y: x * y, np.array([1.0, 2.0]), 3.0)
    gx, gy = f_vjp(np.array([1.0, 1.0]))
    np.testing.assert_allclose(gx, [3.0, 3.0])
    assert gy == pytest.approx(3.0)
    with pytest.raises(ValueError, match="shape"):
        f_vjp(np.ones(3))
    out, f_vjp, aux = vjp(lambda x: (x * 2.0, "aux"), 1.0, has_aux=True)
    assert aux == "aux" and f_vjp(1.0)[0] == pytest.approx(2.0)
