"""reduce_window (add, max, min) and the pooling helpers.

Forward values are compared with constants computed by JAX 0.10.2 (x64):
``jax.lax.reduce_window(data(shape), init, computation, **kwargs)`` for each entry
of ``WINDOW_CASES``, on integer-valued inputs (exact in float64). Derivatives are
checked against finite differences, vmap against a loop, jit against eager.
"""
import numpy as np
import pytest

import spmdgrad
import spmdgrad.numpy as jnp
from spmdgrad import lax
from spmdgrad.lax.windowed import avg_pool, max_pool
from spmdgrad.test_util import check_grads, loop_vmap

inf = np.inf


def data(shape, mult=7, mod=5):
    """Small integers from a formula, so every result is exact in float64."""
    n = int(np.prod(shape))
    return ((np.arange(n) * mult) % mod - mod // 2).astype(np.float64).reshape(shape)


# name: (operand shape, kwargs of reduce_window except the computation)
WINDOW_CASES = {
    "w1d_s2": ((9,), {"window_dimensions": (3,), "window_strides": (2,), "padding": "VALID"}),
    "w1d_same": ((8,), {"window_dimensions": (3,), "window_strides": (2,), "padding": "SAME"}),
    "w1d_pads_dil": ((7,), {"window_dimensions": (2,), "window_strides": (1,), "padding": ((2, 1),),
                                "base_dilation": (2,), "window_dilation": (2,)}),
    "w2d_pool": ((2, 6, 6, 3), {"window_dimensions": (1, 2, 2, 1), "window_strides": (1, 2, 2, 1),
                                    "padding": "VALID"}),
    "w2d_same_s1": ((2, 5, 4, 1), {"window_dimensions": (1, 3, 3, 1),
                                       "window_strides": (1, 1, 1, 1), "padding": "SAME"}),
    "w2d_neg_pad": ((3, 7, 5), {"window_dimensions": (1, 3, 2), "window_strides": (1, 2, 1),
                                    "padding": ((0, 0), (-1, 2), (1, -1))}),
    "w2d_dilations": ((2, 5, 6), {"window_dimensions": (2, 2, 2), "window_strides": (1, 1, 2),
                                      "padding": ((1, 0), (0, 1), (1, 1)), "base_dilation": (1, 2, 1),
                                      "window_dilation": (1, 1, 2)}),
}

# JAX 0.10.2 (x64) results: (case, computation) -> (shape, flattened values);
# 'add' is lax.add with init 0, 'max'/'min' use -inf/inf, 'add_init1' and 'max_init0'
# use init 1 and 0.
WINDOW_EXPECTED = {
    ('w1d_s2', 'add'): ((4,), [
        0, 2, -1, 1
    ]),
    ('w1d_s2', 'max'): ((4,), [
        2, 2, 1, 2
    ]),
    ('w1d_s2', 'min'): ((4,), [
        -2, -1, -2, -1
    ]),
    ('w1d_s2', 'add_init1'): ((4,), [
        1, 3, 0, 2
    ]),
    ('w1d_s2', 'max_init0'): ((4,), [
        2, 2, 1, 2
    ]),
    ('w1d_same', 'add'): ((4,), [
        0, 2, -1, 2
    ]),
    ('w1d_same', 'max'): ((4,), [
        2, 2, 1, 2
    ]),
    ('w1d_same', 'min'): ((4,), [
        -2, -1, -2, 0
    ]),
    ('w1d_same', 'add_init1'): ((4,), [
        1, 3, 0, 3
    ]),
    ('w1d_same', 'max_init0'): ((4,), [
        2, 2, 1, 2
    ]),
    ('w1d_pads_dil', 'add'): ((14,), [
        -2, 0, -2, 0, 2, 0, 1, 0, 0, 0, -1, 0, -2, 0
    ]),
    ('w1d_pads_dil', 'max'): ((14,), [
        -2, -inf, 0, -inf, 2, -inf, 2, -inf, 1, -inf, 1, -inf, 0, -inf
    ]),
    ('w1d_pads_dil', 'min'): ((14,), [
        -2, inf, -2, inf, 0, inf, -1, inf, -1, inf, -2, inf, -2, inf
    ]),
    ('w1d_pads_dil', 'add_init1'): ((14,), [
        -1, 1, -1, 1, 3, 1, 2, 1, 1, 1, 0, 1, -1, 1
    ]),
    ('w1d_pads_dil', 'max_init0'): ((14,), [
        0, 0, 0, 0, 2, 0, 2, 0, 1, 0, 1, 0, 0, 0
    ]),
    ('w2d_pool', 'add'): ((2, 3, 3, 3), [
        -4, 4, -3, 4, -3, 0, -3, 0, 3, 4, -3, 0, -3, 0, 3, 0, 3, -4, -3, 0, 3, 0, 3, -4, 3, -4, 4, 0, 3,
        -4, 3, -4, 4, -4, 4, -3, 3, -4, 4, -4, 4, -3, 4, -3, 0, -4, 4, -3, 4, -3, 0, -3, 0, 3
    ]),
    ('w2d_pool', 'max'): ((2, 3, 3, 3), [
        0, 2, 2, 2, 2, 1, 2, 1, 2, 2, 2, 1, 2, 1, 2, 1, 2, 0, 2, 1, 2, 1, 2, 0, 2, 0, 2, 1, 2, 0, 2, 0,
        2, 0, 2, 2, 2, 0, 2, 0, 2, 2, 2, 2, 1, 0, 2, 2, 2, 2, 1, 2, 1, 2
    ]),
    ('w2d_pool', 'min'): ((2, 3, 3, 3), [
        -2, 0, -2, 0, -2, -1, -2, -1, -2, 0, -2, -1, -2, -1, -2, -1, -2, -2, -2, -1, -2, -1, -2, -2, -2,
        -2, 0, -1, -2, -2, -2, -2, 0, -2, 0, -2, -2, -2, 0, -2, 0, -2, 0, -2, -1, -2, 0, -2, 0, -2, -1,
        -2, -1, -2
    ]),
    ('w2d_pool', 'add_init1'): ((2, 3, 3, 3), [
        -3, 5, -2, 5, -2, 1, -2, 1, 4, 5, -2, 1, -2, 1, 4, 1, 4, -3, -2, 1, 4, 1, 4, -3, 4, -3, 5, 1, 4,
        -3, 4, -3, 5, -3, 5, -2, 4, -3, 5, -3, 5, -2, 5, -2, 1, -3, 5, -2, 5, -2, 1, -2, 1, 4
    ]),
    ('w2d_pool', 'max_init0'): ((2, 3, 3, 3), [
        0, 2, 2, 2, 2, 1, 2, 1, 2, 2, 2, 1, 2, 1, 2, 1, 2, 0, 2, 1, 2, 1, 2, 0, 2, 0, 2, 1, 2, 0, 2, 0,
        2, 0, 2, 2, 2, 0, 2, 0, 2, 2, 2, 2, 1, 0, 2, 2, 2, 2, 1, 2, 1, 2
    ]),
    ('w2d_same_s1', 'add'): ((2, 5, 4, 1), [
        -3, -1, 1, 3, -3, -3, 0, 1, 0, -1, -3, -1, 3, 1, -1, -3, 3, 3, 0, -1, -3, -1, 1, 3, -3, -3, 0,
        1, 0, -1, -3, -1, 3, 1, -1, -3, 3, 3, 0, -1
    ]),
    ('w2d_same_s1', 'max'): ((2, 5, 4, 1), [
        1, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 1, 1, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 2,
        2, 2, 2, 1, 2, 2, 2, 1
    ]),
    ('w2d_same_s1', 'min'): ((2, 5, 4, 1), [
        -2, -2, -2, -1, -2, -2, -2, -2, -2, -2, -2, -2, -1, -2, -2, -2, -1, -1, -2, -2, -2, -2, -2, -1,
        -2, -2, -2, -2, -2, -2, -2, -2, -1, -2, -2, -2, -1, -1, -2, -2
    ]),
    ('w2d_same_s1', 'add_init1'): ((2, 5, 4, 1), [
        -2, 0, 2, 4, -2, -2, 1, 2, 1, 0, -2, 0, 4, 2, 0, -2, 4, 4, 1, 0, -2, 0, 2, 4, -2, -2, 1, 2, 1,
        0, -2, 0, 4, 2, 0, -2, 4, 4, 1, 0
    ]),
    ('w2d_same_s1', 'max_init0'): ((2, 5, 4, 1), [
        1, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 1, 1, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 2,
        2, 2, 2, 1, 2, 2, 2, 1
    ]),
    ('w2d_neg_pad', 'add'): ((3, 3, 4), [
        -6, -6, 6, 3, -6, -6, 6, 3, -4, -4, 4, 2, -6, -6, 6, 3, -6, -6, 6, 3, -4, -4, 4, 2, -6, -6, 6,
        3, -6, -6, 6, 3, -4, -4, 4, 2
    ]),
    ('w2d_neg_pad', 'max'): ((3, 3, 4), [
        -2, 0, 2, 2, -2, 0, 2, 2, -2, 0, 2, 2, -2, 0, 2, 2, -2, 0, 2, 2, -2, 0, 2, 2, -2, 0, 2, 2, -2,
        0, 2, 2, -2, 0, 2, 2
    ]),
    ('w2d_neg_pad', 'min'): ((3, 3, 4), [
        -2, -2, 0, -1, -2, -2, 0, -1, -2, -2, 0, -1, -2, -2, 0, -1, -2, -2, 0, -1, -2, -2, 0, -1, -2,
        -2, 0, -1, -2, -2, 0, -1, -2, -2, 0, -1
    ]),
    ('w2d_neg_pad', 'add_init1'): ((3, 3, 4), [
        -5, -5, 7, 4, -5, -5, 7, 4, -3, -3, 5, 3, -5, -5, 7, 4, -5, -5, 7, 4, -3, -3, 5, 3, -5, -5, 7,
        4, -5, -5, 7, 4, -3, -3, 5, 3
    ]),
    ('w2d_neg_pad', 'max_init0'): ((3, 3, 4), [
        0, 0, 2, 2, 0, 0, 2, 2, 0, 0, 2, 2, 0, 0, 2, 2, 0, 0, 2, 2, 0, 0, 2, 2, 0, 0, 2, 2, 0, 0, 2, 2,
        0, 0, 2, 2
    ]),
    ('w2d_dilations', 'add'): ((2, 9, 3), [
        0, -1, -3, 2, 3, 1, 2, 3, 1, -1, -3, 0, -1, -3, 0, 1, 1, -1, 1, 1, -1, -2, 0, 3, -2, 0, 3, 0,
        -2, -6, 4, 6, 2, 4, 6, 2, -2, -6, 0, -2, -6, 0, 2, 2, -2, 2, 2, -2, -4, 0, 6, -4, 0, 6
    ]),
    ('w2d_dilations', 'max'): ((2, 9, 3), [
        0, 0, -1, 2, 2, 1, 2, 2, 1, -1, -1, 2, -1, -1, 2, 1, 1, 0, 1, 1, 0, -2, 2, 2, -2, 2, 2, 0, 0,
        -1, 2, 2, 1, 2, 2, 1, -1, -1, 2, -1, -1, 2, 1, 1, 0, 1, 1, 0, -2, 2, 2, -2, 2, 2
    ]),
    ('w2d_dilations', 'min'): ((2, 9, 3), [
        0, -1, -2, 2, 1, 0, 2, 1, 0, -1, -2, -2, -1, -2, -2, 1, 0, -1, 1, 0, -1, -2, -2, 1, -2, -2, 1,
        0, -1, -2, 2, 1, 0, 2, 1, 0, -1, -2, -2, -1, -2, -2, 1, 0, -1, 1, 0, -1, -2, -2, 1, -2, -2, 1
    ]),
    ('w2d_dilations', 'add_init1'): ((2, 9, 3), [
        1, 0, -2, 3, 4, 2, 3, 4, 2, 0, -2, 1, 0, -2, 1, 2, 2, 0, 2, 2, 0, -1, 1, 4, -1, 1, 4, 1, -1, -5,
        5, 7, 3, 5, 7, 3, -1, -5, 1, -1, -5, 1, 3, 3, -1, 3, 3, -1, -3, 1, 7, -3, 1, 7
    ]),
    ('w2d_dilations', 'max_init0'): ((2, 9, 3), [
        0, 0, 0, 2, 2, 1, 2, 2, 1, 0, 0, 2, 0, 0, 2, 1, 1, 0, 1, 1, 0, 0, 2, 2, 0, 2, 2, 0, 0, 0, 2, 2,
        1, 2, 2, 1, 0, 0, 2, 0, 0, 2, 1, 1, 0, 1, 1, 0, 0, 2, 2, 0, 2, 2
    ]),
}

COMPUTATIONS = {"add": (lax.add, 0.0), "max": (lax.max, -inf), "min": (lax.min, inf),
                "add_init1": (lax.add, 1.0), "max_init0": (lax.max, 0.0)}


def _rand(rng, shape):
    return rng.standard_normal(shape)


@pytest.mark.parametrize("op", sorted(COMPUTATIONS))
@pytest.mark.parametrize("name", sorted(WINDOW_CASES))
def test_forward_matches_jax(name, op):
    shape, kw = WINDOW_CASES[name]
    fn, init = COMPUTATIONS[op]
    expect_shape, vals = WINDOW_EXPECTED[(name, op)]
    out = lax.reduce_window(data(shape), init, fn, **kw)
    np.testing.assert_array_equal(out, np.array(vals, np.float64).reshape(expect_shape))


def test_numpy_computations_are_accepted():
    x = data((9,))
    for fns in ((lax.add, np.add, jnp.add), (lax.max, np.maximum, jnp.maximum),
                (lax.min, np.minimum, jnp.minimum)):
        outs = [lax.reduce_window(x, 0.0, f, (3,), (2,), "SAME") for f in fns]
        for o in outs[1:]:
            np.testing.assert_array_equal(o, outs[0])


def test_int_operands():
    x = np.arange(7)
    np.testing.assert_array_equal(
        lax.reduce_window(x, np.iinfo(np.int64).min, lax.max, (2,), (2,), "SAME"), [1, 3, 5, 6])
    np.testing.assert_array_equal(lax.reduce_window(x, 0, lax.add, (3,), (1,), ((1, 1),)),
                                  [1, 3, 6, 9, 12, 15, 11])


@pytest.mark.parametrize("op", ["add", "max", "min", "add_init1", "max_init0"])
@pytest.mark.parametrize("name", sorted(WINDOW_CASES))
def test_grads_match_finite_differences(name, op):
    shape, kw = WINDOW_CASES[name]
    fn, init = COMPUTATIONS[op]
    x = _rand(np.random.default_rng(0), shape)  # distinct values: no ties

    def f(x):
        return lax.reduce_window(x, init, fn, **kw)
    finite = np.isfinite(f(x))  # windows of padding only hold -inf/inf: finite differences fail
    check_grads(lambda x: jnp.where(finite, f(x), 0.0), (x,))


def test_max_pool_ties_split_like_max():
    # Each window's gradient goes to its arg-max; tied maxima share it evenly, as jnp.max does.
    x = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0], [5.0, 1.0, 5.0, 5.0]])
    g = spmdgrad.grad(lambda x: jnp.sum(lax.reduce_window(x, -inf, lax.max, (1, 2), (1, 2)) *
                                        np.array([[1.0, 10.0]] * 3)))(x)
    blocks = x.reshape(3, 2, 2)
    gmax = spmdgrad.grad(lambda b: jnp.sum(jnp.max(b, axis=2) * np.array([[1.0, 10.0]] * 3)))(blocks)
    np.testing.assert_allclose(g, gmax.reshape(3, 4))
    np.testing.assert_allclose(g, [[0, 1, 10, 0], [0.5, 0.5, 5, 5], [1, 0, 5, 5]])
    gmin = spmdgrad.grad(lambda x: jnp.sum(lax.reduce_window(x, inf, lax.min, (1, 2), (1, 2))))(x)
    np.testing.assert_allclose(gmin, [[1, 0, 0, 1], [0.5, 0.5, 0.5, 0.5], [0, 1, 0.5, 0.5]])


def test_overlapping_windows_accumulate():
    x = np.array([0.0, 3.0, 1.0, 2.0])
    g = spmdgrad.grad(lambda x: jnp.sum(lax.reduce_window(x, -inf, lax.max, (2,), (1,), "SAME")))(x)
    np.testing.assert_allclose(g, [0, 2, 0, 2])  # windows [0,3] [3,1] [1,2] [2,pad]


@pytest.mark.parametrize("op", ["add", "max", "min"])
@pytest.mark.parametrize("name", ["w1d_pads_dil", "w2d_neg_pad", "w2d_dilations", "w2d_same_s1",
                                  "w2d_pool"])
@pytest.mark.parametrize("axis", [0, 1])
def test_vmap_matches_loop(name, op, axis):
    shape, kw = WINDOW_CASES[name]
    fn, init = COMPUTATIONS[op]
    rng = np.random.default_rng(1)
    xs = np.moveaxis(_rand(rng, (3,) + shape), 0, axis)
    f = lambda x: lax.reduce_window(x, init, fn, **kw)
    np.testing.assert_allclose(spmdgrad.vmap(f, axis)(xs), loop_vmap(f, axis, xs))
    g = spmdgrad.grad(lambda x: jnp.sum(jnp.tanh(f(x))))
    np.testing.assert_allclose(spmdgrad.vmap(g, axis)(xs), loop_vmap(g, axis, xs), atol=1e-12)


def test_second_order():
    shape, kw = WINDOW_CASES["w2d_dilations"]
    x = _rand(np.random.default_rng(2), shape)
    for op in ("add", "max"):
        fn, init = COMPUTATIONS[op]
        check_grads(lambda x, fn=fn, init=init: jnp.sin(lax.reduce_window(x, init, fn, **kw)), (x,),
                    order=2)


def test_jit_matches_eager():
    shape, kw = WINDOW_CASES["w2d_dilations"]
    x = _rand(np.random.default_rng(3), shape)
    for op in ("add", "max", "max_init0"):
        fn, init = COMPUTATIONS[op]
        def f(x, fn=fn, init=init):
            return jnp.sum(jnp.sin(lax.reduce_window(x, init, fn, **kw)))
        np.testing.assert_allclose(spmdgrad.jit(f)(x), f(x))
        np.testing.assert_allclose(spmdgrad.jit(spmdgrad.grad(f))(x), spmdgrad.grad(f)(x))


# ---------------------------------------------------------------- pooling helpers

def test_pooling_matches_numpy():
    x = _rand(np.random.default_rng(4), (2, 6, 4, 3))  # NHWC
    blocks = x.reshape(2, 3, 2, 2, 2, 3)
    np.testing.assert_allclose(max_pool(x, (2, 2), (2, 2)), blocks.max(axis=(2, 4)))
    np.testing.assert_allclose(avg_pool(x, (2, 2), (2, 2)), blocks.mean(axis=(2, 4)))
    np.testing.assert_allclose(max_pool(x[0], (2, 2), (2, 2)), blocks[0].max(axis=(1, 3)))
    # SAME padding: count_include_pad decides the divisor at the border.
    one = np.ones((1, 3, 1))
    np.testing.assert_allclose(avg_pool(one, (2,), (2,), "SAME")[0, :, 0], [1.0, 0.5])
    np.testing.assert_allclose(avg_pool(one, (2,), (2,), "SAME", count_include_pad=False)[0, :, 0],
                               [1.0, 1.0])
    check_grads(lambda x: avg_pool(x, (3, 2), (1, 2), "SAME", count_include_pad=False), (x,))
    check_grads(lambda x: max_pool(x, (3, 2), (2, 1), [(1, 1), (0, 1)]), (x,))
    # Tiling windows (stride = window) that leave a remainder: the remainder gets no gradient.
    check_grads(lambda x: max_pool(x, (2, 2), (2, 2)), (x[:, :5, :3],))
    check_grads(lambda x: avg_pool(x, (2, 2), (2, 2)), (x[:, :5, :3],))
    xs = _rand(np.random.default_rng(5), (3, 2, 5, 3, 3))
    for pool in (max_pool, avg_pool):
        g = spmdgrad.grad(lambda x, pool=pool: jnp.sum(jnp.sin(pool(x, (2, 2), (2, 2)))))
        np.testing.assert_allclose(spmdgrad.vmap(g, 2)(xs), loop_vmap(g, 2, xs), atol=1e-12)


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("call, exc, match", [
    (lambda: lax.reduce_window(np.ones(4), 1.0, np.multiply, (2,), (1,)), NotImplementedError,
     "computation"),
    (lambda: lax.reduce_window(np.ones(4), 0.0, lax.add, (2, 2), (1, 1)), ValueError, "entries"),
    (lambda: lax.reduce_window(np.ones(4), 0.0, lax.add, (2,), (1,), "FULL"), ValueError,
     "padding"),
    (lambda: lax.reduce_window(np.ones(4), np.zeros(2), lax.add, (2,), (1,)), ValueError, "scalar"),
    (lambda: lax.reduce_window(np.ones(4), 0.0, lax.add, (2,), (0,)), ValueError, ">= 1"),
    (lambda: spmdgrad.grad(lambda c: jnp.sum(lax.reduce_window(np.ones(4), c, lax.add, (2,), (1,))))(
        1.0), TypeError, "concrete"),
    (lambda: max_pool(np.ones((4, 3)), (2, 2)), ValueError, "rank"),
])
def test_errors_are_clear(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
