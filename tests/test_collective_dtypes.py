"""Issue 7's wrong numbers in the collectives, each against an independent reference:
dtypes of psum/pmean, IEEE zeros and NaN in pmax/pmin, axis_name=None, non-array operands,
and the per-example contract through collectives (semantics section 3)."""
import numpy as np
import pytest

import spmdgrad as sg
import spmdgrad.numpy as jnp
from spmdgrad import lax
from spmdgrad.core import UnboundAxisError


def mapped(f, **kw):
    return sg.vmap(f, axis_name="i", **kw)


@pytest.mark.parametrize("dtype", [np.bool_, np.int8, np.uint8, np.int32, np.int64])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_psum_dtype_follows_numpy_sum_at_every_size(dtype, n):
    x = np.arange(n) % 2 == 0 if dtype is np.bool_ else np.arange(n).astype(dtype) + 100
    got = mapped(lambda v: lax.psum(v, "i"))(x)
    assert got.dtype == np.sum(x).dtype            # bool/narrow ints widen: int64/uint64
    np.testing.assert_array_equal(got, np.full(n, np.sum(x)))


def test_psum_of_uint8_does_not_wrap():
    got = mapped(lambda v: lax.psum(v, "i"))(np.array([200, 100], np.uint8))
    np.testing.assert_array_equal(got, [300, 300])


@pytest.mark.parametrize("dtype", [np.bool_, np.int32, np.uint8])
def test_pmean_of_integers_is_the_float_mean(dtype):
    x = np.array([1, 0, 1, 1], dtype)
    got = mapped(lambda v: lax.pmean(v, "i"))(x)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, np.full(4, np.mean(x)))
    # Python scalars, invariant over the axis: their own mean.
    got = sg.vmap(lambda v: lax.pmean(3, "i"), axis_name="i", out_axes=None)(np.zeros(2))
    assert float(got) == 3.0 and np.asarray(got).dtype == np.float64


def test_pmean_of_float32_stays_float32():
    got = mapped(lambda v: lax.pmean(v, "i"))(np.array([1.0, 2.0], np.float32))
    assert got.dtype == np.float32


@pytest.mark.parametrize("order", [[-0.0, 0.0], [0.0, -0.0]])
def test_pmax_pmin_zeros_do_not_depend_on_order(order):
    x = np.array(order)
    mx = mapped(lambda v: lax.pmax(v, "i"))(x)
    mn = mapped(lambda v: lax.pmin(v, "i"))(x)
    # IEEE 754-2019: maximum(-0, +0) = +0, minimum(-0, +0) = -0 (JAX gives the same).
    assert not np.signbit(mx).any() and np.signbit(mn).all()
    assert np.signbit(jnp.max(np.array([-0.0, -0.0])))   # all -0: stays -0


def test_pmax_propagates_nan():
    got = mapped(lambda v: lax.pmax(v, "i"))(np.array([1.0, np.nan, 3.0]))
    assert np.isnan(got).all()


def test_pmax_of_bool():
    np.testing.assert_array_equal(mapped(lambda v: lax.pmax(v, "i"))(np.array([True, False])),
                                  [True, True])
    np.testing.assert_array_equal(mapped(lambda v: lax.pmin(v, "i"))(np.array([True, False])),
                                  [False, False])


@pytest.mark.parametrize("op", [lax.psum, lax.pmean, lax.pmax, lax.pmin, lax.all_gather,
                                lambda x, a: lax.axis_index(a), lambda x, a: lax.axis_size(a)])
def test_axis_name_none_is_an_unbound_axis_everywhere(op):
    with pytest.raises(UnboundAxisError, match="unbound axis name: None"):
        op(np.ones(3), None)
    with pytest.raises(UnboundAxisError, match="unbound axis name: None"):
        sg.vmap(lambda v: op(v, None))(np.ones(3))          # an unnamed map is not axis None
    with pytest.raises(UnboundAxisError, match="unbound axis name: None"):
        sg.jit(lambda v: op(v, None))(np.ones(3))


def test_non_array_operands_are_named():
    with pytest.raises(TypeError, match="psum: got 's' of type str"):
        mapped(lambda v: lax.psum("s", "i"))(np.ones(2))
    with pytest.raises(TypeError, match="pmax: got 's' of type str"):
        mapped(lambda v: lax.pmax("s", "i"))(np.ones(2))
    with pytest.raises(TypeError, match="jit: the function returned 's' of type"):
        sg.jit(lambda x: "s")(1.0)
    with pytest.raises(TypeError, match="jit: the function returned 'a' of type"):
        sg.jit(lambda x: (x, "a"))(np.ones(2))


# --------------------------------------------------------------------------- section 3

W, X = 0.7, np.array([1.0, 2.0, 4.0])


@pytest.mark.parametrize("f", [lambda w, x: x * lax.psum(x * w * lax.psum(x * w, "b"), "b"),
                               lambda w, x: x * lax.psum(x * w, "b") ** 2],
                         ids=["nested-psum", "psum-squared"])
def test_equal_functions_give_equal_per_example_gradients(f):
    """Both programs compute z_i = x_i * (w * sum x)^2; instance i gets dL/dw_i with
    L = sum_j z_j, which is 2 x_i S sum(x) for S = w * sum(x): [68.6, 137.2, 274.4]."""
    per = sg.vmap(sg.grad(f), in_axes=(None, 0), axis_name="b")(W, X)
    np.testing.assert_allclose(per, [68.6, 137.2, 274.4], rtol=1e-12)
    total = sg.vmap(sg.grad(f, reduce_axes=("b",)), in_axes=(None, 0), out_axes=None,
                    axis_name="b")(W, X)
    np.testing.assert_allclose(total, per.sum(), rtol=1e-12)
    # Finite differences of L in the per-copy inputs w_i.
    L = lambda ws: float(np.sum(sg.vmap(f, axis_name="b")(ws, X)))
    eps = 1e-6
    fd = [(L(W + eps * np.eye(3)[i]) - L(W - eps * np.eye(3)[i])) / (2 * eps) for i in range(3)]
    np.testing.assert_allclose(per, fd, rtol=1e-6)


def test_invariant_output_counts_once_and_regulariser_once_per_example():
    w = np.array([0.5, -1.0])
    reg = lambda w, x: 0.1 * jnp.sum(w ** 2)                 # depends on no mapped value
    per = sg.vmap(sg.grad(reg), in_axes=(None, 0), axis_name="b")(w, X)
    np.testing.assert_allclose(per, np.broadcast_to(0.2 * w, (3, 2)))   # each gets it whole
    total = sg.vmap(sg.grad(reg, reduce_axes=("b",)), in_axes=(None, 0), out_axes=None,
                    axis_name="b")(w, X)
    np.testing.assert_allclose(total, 0.2 * w)                # one invariant value: counted once
    data = lambda w, x: x * jnp.sum(w) + 0.1 * jnp.sum(w ** 2)   # varying: once per example
    total = sg.vmap(sg.grad(data, reduce_axes=("b",)), in_axes=(None, 0), out_axes=None,
                    axis_name="b")(w, X)
    np.testing.assert_allclose(total, X.sum() + 3 * 0.2 * w)
