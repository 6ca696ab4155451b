"""Functions whose output shape depends on the values (nonzero, unique, set operations,
...) and the integer-valued family: concrete values work (also under grad, where the
primal is concrete), ``size=`` makes them work under vmap and jit, and otherwise the
error names the function."""

import numpy as np
import pytest

import spmdgrad as sg
import spmdgrad.numpy as jnp
from spmdgrad.test_util import loop_vmap

X = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]])
U = np.array([3.0, 1.0, 3.0, 2.0, 1.0, 5.0])


def test_concrete_values_match_numpy():
    for got, want in [
        (jnp.nonzero(X), np.nonzero(X)),
        (jnp.argwhere(X), np.argwhere(X)),
        (jnp.flatnonzero(X), np.flatnonzero(X)),
        (
            jnp.unique(U, return_index=True, return_inverse=True, return_counts=True),
            np.unique(U, return_index=True, return_inverse=True, return_counts=True),
        ),
        (
            jnp.unique(np.array([[1, 2], [1, 2], [0, 1]]), axis=0),
            np.unique(np.array([[1, 2], [1, 2], [0, 1]]), axis=0),
        ),
        (jnp.unique_all(U), np.unique_all(U)),
        (jnp.unique_counts(U), np.unique_counts(U)),
        (jnp.unique_inverse(U), np.unique_inverse(U)),
        (jnp.unique_values(U), np.unique_values(U)),
        (
            jnp.intersect1d(U, [1.0, 5.0, 7.0], return_indices=True),
            np.intersect1d(U, [1.0, 5.0, 7.0], return_indices=True),
        ),
        (jnp.union1d(U, [7.0, 1.0]), np.union1d(U, [7.0, 1.0])),
        (jnp.setdiff1d(U, [1.0]), np.setdiff1d(U, [1.0])),
        (jnp.setxor1d(U, [1.0, 9.0]), np.setxor1d(U, [1.0, 9.0])),
        (jnp.extract(X > 0, X), np.extract(X > 0, X)),
        (jnp.trim_zeros(np.array([0.0, 0, 1, 2, 0])), np.trim_zeros(np.array([0.0, 0, 1, 2, 0]))),
        (jnp.trim_zeros(np.array([0.0, 1, 0]), "f"), np.trim_zeros(np.array([0.0, 1, 0]), "f")),
        (jnp.bincount(np.array([1, 1, 3])), np.bincount(np.array([1, 1, 3]))),
        (jnp.histogram_bin_edges(U, 3), np.histogram_bin_edges(U, 3)),
        (jnp.histogramdd(np.stack([U, U[::-1]], 1), 2)[0], np.histogramdd(np.stack([U, U[::-1]], 1), 2)[0]),
        (
            jnp.packbits(np.array([1, 0, 1, 1, 0, 0, 0, 1, 1], np.uint8)),
            np.packbits(np.array([1, 0, 1, 1, 0, 0, 0, 1, 1], np.uint8)),
        ),
        (jnp.unpackbits(np.array([7, 200], np.uint8)), np.unpackbits(np.array([7, 200], np.uint8))),
    ]:
        got = got if isinstance(got, tuple | list) else [got]
        want = want if isinstance(want, tuple | list) else [want]
        for g, w in zip(got, want, strict=True):
            np.testing.assert_array_equal(np.asarray(g), np.asarray(w))


def test_unique_values_carry_the_derivative_under_grad():
    f = lambda x: jnp.sum(jnp.unique(x) ** 2)  # noqa: E731
    g = sg.grad(f)(U)
    first = np.zeros_like(U)
    first[np.unique(U, return_index=True)[1]] = 1
    np.testing.assert_allclose(g, 2 * U * first)
    g = sg.grad(lambda x: jnp.sum(jnp.intersect1d(x, [1.0, 5.0]) ** 2))(U)
    np.testing.assert_allclose(g, [0, 2.0, 0, 0, 0, 10.0])  # first occurrences of 1 and 5


def test_size_makes_them_work_under_vmap_and_jit():
    xs = np.stack([X, X[::-1], np.zeros_like(X)])
    for f in (
        lambda x: jnp.nonzero(x, size=4, fill_value=-1),
        lambda x: jnp.argwhere(x, size=2),
        lambda x: jnp.flatnonzero(x, size=5),
        lambda x: jnp.extract(x > 0, x, size=3),
        lambda x: jnp.unique(x, size=4, return_counts=True, return_index=True),
    ):
        got, want = sg.vmap(f)(xs), loop_vmap(f, 0, xs)
        for g, w in zip(
            got if isinstance(got, tuple) else [got], want if isinstance(want, tuple) else [want], strict=True
        ):
            np.testing.assert_array_equal(g, w)
        np.testing.assert_equal(sg.jit(f)(X), f(X))
    np.testing.assert_array_equal(jnp.unique(U, size=6, fill_value=0.0), [1, 2, 3, 5, 0, 0])
    np.testing.assert_array_equal(jnp.nonzero(np.array([0, 1, 1, 1]), size=2)[0], [1, 2])  # cut to size


@pytest.mark.parametrize(
    "name, f",
    [
        ("nonzero", jnp.nonzero),
        ("argwhere", jnp.argwhere),
        ("unique", jnp.unique),
        ("union1d", lambda x: jnp.union1d(x, x)),
        ("setdiff1d", lambda x: jnp.setdiff1d(x, x)),
        ("trim_zeros", jnp.trim_zeros),
        ("bincount", lambda x: jnp.bincount(x.astype(int))),
        ("real_if_close", lambda x: jnp.real_if_close(x + 0j)),
        ("compress", lambda x: jnp.compress(x > 0, x)),
    ],
)
def test_abstract_values_raise_an_error_naming_the_function(name, f):
    with pytest.raises(TypeError, match=name):
        sg.vmap(f)(np.abs(np.stack([U, U])))
    with pytest.raises(TypeError, match=name):
        sg.jit(f)(np.abs(U))


def test_integer_valued_functions_under_grad_vmap_jit():
    a = np.sort(U)
    v = np.array([[0.5, 3.0, 9.0], [2.0, 2.5, 1.0]])
    for f in (
        lambda v: jnp.searchsorted(a, v),
        lambda v: jnp.digitize(v, a, right=True),
        lambda v: jnp.isin(v, U),
        lambda v: jnp.lexsort([v, -v]),
        jnp.signbit,
        lambda v: jnp.argsort(v, descending=True),
        lambda v: jnp.count_nonzero(v > 1),
        lambda v: jnp.bincount(jnp.astype(v, int), length=10),
    ):
        np.testing.assert_array_equal(sg.vmap(f)(v), loop_vmap(f, 0, v))
        np.testing.assert_array_equal(sg.jit(f)(v[0]), f(v[0]))
        g = sg.grad(lambda v: jnp.sum(jnp.astype(f(v), float) * v[0]))(v[0])
        np.testing.assert_array_equal(g[1:], 0.0)


def test_bitwise_and_integer_ops():
    a, b = np.array([12, 7, -3]), np.array([10, 3, 2])
    for f, ref in [
        (jnp.bitwise_and, np.bitwise_and),
        (jnp.bitwise_or, np.bitwise_or),
        (jnp.bitwise_xor, np.bitwise_xor),
        (jnp.left_shift, np.left_shift),
        (jnp.right_shift, np.right_shift),
        (jnp.gcd, np.gcd),
        (jnp.lcm, np.lcm),
    ]:
        np.testing.assert_array_equal(f(a, b), ref(a, b))
        np.testing.assert_array_equal(
            sg.vmap(f)(np.stack([a, b]), np.stack([b, a])), np.stack([ref(a, b), ref(b, a)])
        )
    np.testing.assert_array_equal(jnp.invert(a), np.invert(a))
    np.testing.assert_array_equal(jnp.bitwise_count(a), np.bitwise_count(a))
    np.testing.assert_array_equal(sg.jit(lambda x: (x & 6) | (x >> 1) ^ ~x)(a), (a & 6) | (a >> 1) ^ ~a)
    m = np.array([True, False, True])
    np.testing.assert_array_equal(
        sg.vmap(lambda p, q: p & q | ~p)(np.stack([m, ~m]), np.stack([m, m])),
        np.stack([m & m | ~m, ~m & m | m]),
    )
    with pytest.raises(TypeError, match="bitwise_and: only integer and boolean"):
        jnp.bitwise_and(np.ones(2), np.ones(2))


def test_float_result_without_derivative_names_op_and_transformation():
    with pytest.raises(TypeError, match=r"i0 has no derivative \(jvp/grad\)"):
        sg.grad(lambda x: jnp.i0(x).sum())(np.ones(2))
    np.testing.assert_allclose(sg.vmap(jnp.i0)(np.ones((2, 3))), np.i0(np.ones((2, 3))))


def test_in_place_functions_need_inplace_false():
    with pytest.raises(NotImplementedError, match="put: spmdgrad arrays are immutable"):
        jnp.put(np.zeros(3), [0], 1.0)
    with pytest.raises(NotImplementedError, match="fill_diagonal"):
        jnp.fill_diagonal(np.zeros((2, 2)), 1.0)


def test_nondiff_primitive_under_nested_vmap_and_other_axes():
    a = np.sort(np.random.default_rng(5).uniform(size=(2, 3, 6)), axis=-1)
    v = np.random.default_rng(6).uniform(size=(2, 3, 4))
    f = lambda a, v: jnp.searchsorted(a, v)  # noqa: E731
    got = sg.vmap(sg.vmap(f))(a, v)
    want = np.stack([np.stack([np.searchsorted(a[i, j], v[i, j]) for j in range(3)]) for i in range(2)])
    np.testing.assert_array_equal(got, want)
    got = sg.vmap(f, in_axes=(None, 1))(a[0, 0], v[0].T)  # a unbatched, v mapped over axis 1
    np.testing.assert_array_equal(got, np.stack([np.searchsorted(a[0, 0], v[0].T[:, k]) for k in range(3)]))
    g = sg.vmap(lambda x: jnp.signbit(x) * 1.0 + jnp.fmod(x, 0.3))(v - 0.5)
    np.testing.assert_allclose(g, np.signbit(v - 0.5) + np.fmod(v - 0.5, 0.3))
    np.testing.assert_array_equal(sg.jit(sg.vmap(f))(a[0], v[0]), want[0])
