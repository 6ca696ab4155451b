"""spmdgrad.tree and tree_util: JAX's pytree API, key paths, errors naming keys, ravel_pytree."""
import collections

import numpy as np
import pytest

import spmdgrad as jax
import spmdgrad.numpy as jnp
from spmdgrad import flatten_util, tree, tree_util
from spmdgrad.test_util import check_grads, loop_vmap

Point = collections.namedtuple("Point", ["x", "y"])


def test_short_names_are_tree_util():
    t = {"b": [1, 2], "a": (3, None), "c": Point(4, 5)}
    leaves, td = tree.flatten(t)
    assert leaves == [3, 1, 2, 4, 5] == tree.leaves(t)
    assert tree.structure(t) == td and tree.unflatten(td, leaves) == t
    assert tree.map(lambda v: v * 10, t) == {"b": [10, 20], "a": (30, None), "c": Point(40, 50)}
    assert tree.reduce(lambda a, b: a + b, t) == 15 and tree.reduce(max, [], 7) == 7
    assert tree.all([True, {"x": 1}]) and not tree.all([True, (0,)])
    assert jax.tree is tree


def test_tree_map_with_prefix_trees_as_jax():
    assert tree.map(lambda a, b: (a, b), [1, 2], [(3, 4), {"k": 5}]) == [(1, (3, 4)), (2, {"k": 5})]
    assert tree.map(lambda a, b: a + b, {"w": 1.0}, {"w": 2.0}) == {"w": 3.0}


def test_is_leaf():
    t = [(1, 2), (3, 4)]
    assert tree.leaves(t, is_leaf=lambda x: isinstance(x, tuple)) == [(1, 2), (3, 4)]
    assert tree.map(sum, t, is_leaf=lambda x: isinstance(x, tuple)) == [3, 7]


@pytest.mark.parametrize("other, message", [
    ({"a": 1}, r"at the root, missing key\(s\) 'b'"),
    ({"a": 1, "b": 2, "c": 3}, r"extra key\(s\) 'c'"),
    ({"a": 1, "c": 3}, r"missing key\(s\) 'b' and extra key\(s\) 'c'"),
])
def test_errors_name_missing_and_extra_keys(other, message):
    with pytest.raises(ValueError, match=message):
        tree.map(lambda a, b: a, {"a": 1, "b": 2}, other)


def test_errors_name_the_path():
    a = {"layers": [{"w": 1, "b": 2}, {"w": 3, "b": 4}]}
    b = {"layers": [{"w": 1, "b": 2}, {"w": 3}]}
    with pytest.raises(ValueError, match=r"at \['layers'\]\[1\], missing key\(s\) 'b'"):
        tree.map(lambda x, y: x, a, b)
    with pytest.raises(ValueError, match=r"at \[1\], a tuple of 3 children where the structure has 2"):
        tree.map(lambda x, y: x, [0, (1, 2)], [0, (1, 2, 3)])
    with pytest.raises(ValueError, match=r"at \[0\], expected a list node, got a tuple"):
        tree.map(lambda x, y: x, [[1]], [(1,)])
    with pytest.raises(ValueError, match=r"expected a NoneType node, got a int"):
        tree.map(lambda x, y: x, [None], [1])


def test_unflatten_leaf_count_errors():
    td = tree.structure((1, 2))
    with pytest.raises(ValueError, match="too few leaves"):
        tree.unflatten(td, [1])
    with pytest.raises(ValueError, match="too many leaves"):
        tree.unflatten(td, [1, 2, 3])


def test_paths():
    t = {"a": [1, Point(2, 3)], "b": None}
    pairs, _ = tree.flatten_with_path(t)
    assert [tree_util.keystr(p) for p, _ in pairs] == ["['a'][0]", "['a'][1].x", "['a'][1].y"]
    assert [v for _, v in pairs] == [1, 2, 3]
    assert tree.leaves_with_path(t) == pairs
    out = tree.map_with_path(lambda p, v, w: (tree_util.keystr(p), v + w), t,
                             {"a": [10, Point(20, 30)], "b": None})
    assert out["a"][1].y == ("['a'][1].y", 33)


def test_transpose():
    outer, inner = tree.structure([0, 0, 0]), tree.structure({"w": 0, "b": 0})
    t = [{"w": 1, "b": 2}, {"w": 3, "b": 4}, {"w": 5, "b": 6}]
    assert tree.transpose(outer, inner, t) == {"w": [1, 3, 5], "b": [2, 4, 6]}
    assert tree.transpose(outer, None, t) == {"w": [1, 3, 5], "b": [2, 4, 6]}
    with pytest.raises(ValueError, match="missing key"):
        tree.transpose(outer, inner, [{"w": 1}, {"w": 3, "b": 4}, {"w": 5, "b": 6}])


def test_registered_class_and_partial():
    @tree_util.register_pytree_node_class
    class Box:
        def __init__(self, v, tag):
            self.v, self.tag = v, tag

        def tree_flatten(self):
            return (self.v,), self.tag

        @classmethod
        def tree_unflatten(cls, tag, children):
            return cls(children[0], tag)

    b = tree.map(lambda v: v + 1, Box(1.0, "t"))
    assert isinstance(b, Box) and b.v == 2.0 and b.tag == "t"
    g = jax.grad(lambda box: box.v ** 2)(Box(3.0, "t"))
    assert g.v == 6.0
    p = tree_util.Partial(lambda a, x: a * x, np.float64(2.0))
    assert tree.leaves(p) == [2.0]
    assert jax.jit(lambda f, x: f(x))(p, np.float64(4.0)) == 8.0


def _tree():
    return {"w": np.arange(6.0).reshape(2, 3), "b": np.array([0.5, -1.0]), "s": np.float64(2.0)}


def test_ravel_pytree_roundtrip_and_dtypes():
    flat, unravel = flatten_util.ravel_pytree(_tree())
    np.testing.assert_array_equal(flat, np.concatenate([[0.5, -1.0, 2.0], np.arange(6.0)]))  # keys sorted
    back = unravel(flat)
    for k, v in _tree().items():
        np.testing.assert_array_equal(back[k], v)
        assert np.shape(back[k]) == np.shape(v)
    mixed = {"i": np.array([1, 2], np.int32), "f": np.array([0.5], np.float32)}
    flat, unravel = tree_util.ravel_pytree(mixed)
    assert flat.dtype == np.float64
    assert unravel(flat)["i"].dtype == np.int32 and unravel(flat)["f"].dtype == np.float32
    flat, unravel = flatten_util.ravel_pytree({})
    assert flat.shape == (0,) and unravel(flat) == {}


def test_ravel_pytree_errors():
    flat, unravel = flatten_util.ravel_pytree(_tree())
    with pytest.raises(ValueError, match=r"expected a vector of shape \(9,\), got shape \(8,\)"):
        unravel(flat[:8])
    with pytest.raises(TypeError, match="expected a vector of dtype float64, got float32"):
        unravel(flat.astype(np.float32))


def test_ravel_pytree_grad_and_vmap():
    def f(params):
        flat, _ = flatten_util.ravel_pytree(params)
        return jnp.sum(jnp.sin(flat) * jnp.arange(9.0))
    check_grads(f, (_tree(),), order=2)
    _, unravel = flatten_util.ravel_pytree(_tree())

    def g(v):
        p = unravel(v)
        return jnp.sum(p["w"] ** 2) * p["s"] + jnp.sum(p["b"])
    v0 = flatten_util.ravel_pytree(_tree())[0]
    check_grads(g, (v0,), order=2)
    vs = np.random.default_rng(0).standard_normal((4, 9))
    np.testing.assert_allclose(jax.vmap(g)(vs), loop_vmap(g, 0, vs))
    np.testing.assert_allclose(jax.jit(g)(v0), g(v0))
    # the per-example gradient of a flat vector, through unravel
    np.testing.assert_allclose(jax.vmap(jax.grad(g))(vs), loop_vmap(jax.grad(g), 0, vs))
