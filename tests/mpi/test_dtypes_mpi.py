"""Collectives over MPI for dtypes MPI has no arithmetic for (issue 13 item 8): bool,
float16 and ml_dtypes' bfloat16 (when installed). Each result is compared with vmap
over the same global data, value and dtype. Rank-count agnostic."""
import numpy as np
import pytest

from spmdgrad import make_jaxpr, pmap, vmap
from spmdgrad.lax import all_gather, all_to_all, pmax, pmin, ppermute, psum

from mpi_helpers import block, world

pytestmark = pytest.mark.mpi

try:
    import ml_dtypes
    BF16 = [np.dtype(ml_dtypes.bfloat16)]
except ImportError:   # optional: the bfloat16 cases skip without it
    BF16 = [pytest.param(None, id="bfloat16",
                         marks=pytest.mark.skip(reason="ml_dtypes is not installed"))]


def _data(dtype, N, k):
    g = np.random.default_rng(3).integers(-4, 5, size=(N * k, 3))
    return (g > 0) if dtype == np.bool_ else g.astype(dtype)


def _ring(N):
    return [(j, (j + 1) % N) for j in range(N)]


DTYPES = [np.dtype(np.bool_), np.dtype(np.float16), np.dtype(np.int8)] + BF16
OPS = {
    "pmax": lambda x: pmax(x, "i"),
    "pmin": lambda x: pmin(x, "i"),
    "all_gather": lambda x: all_gather(x, "i"),
    "all_gather_tiled": lambda x: all_gather(x, "i", tiled=True),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("op", list(OPS))
def test_dtype_matches_vmap(dtype, op, k):
    _, _, n = world()
    g = _data(dtype, n, k)
    got = pmap(OPS[op], axis_name="i")(block(g, k))
    want = vmap(OPS[op], axis_name="i")(g)
    assert got.dtype == want.dtype == dtype
    np.testing.assert_array_equal(got.astype(np.float64), block(want, k).astype(np.float64))


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_ppermute_and_all_to_all_are_bit_exact(dtype, k):
    _, _, n = world()
    N = n * k
    g = _data(dtype, n, k)
    g2 = np.stack([g] * N, axis=1)                     # (N, N, 3): one block per instance

    def f(x):
        return ppermute(x, "i", _ring(N))

    def h(x):
        return all_to_all(x, "i", 0, 0)
    for fn, arg in ((f, g), (h, g2)):
        got = pmap(fn, axis_name="i")(block(arg, k))
        want = block(vmap(fn, axis_name="i")(arg), k)
        assert got.dtype == dtype
        assert got.tobytes() == want.tobytes()


@pytest.mark.parametrize("dtype", [np.dtype(np.float16)] + BF16, ids=str)
def test_psum_of_small_floats(dtype, k):
    _, _, n = world()
    g = _data(dtype, n, k)
    got = pmap(lambda x: psum(x, "i"), axis_name="i")(block(g, k))
    assert got.dtype == dtype
    np.testing.assert_array_equal(got[0].astype(np.float64), g.astype(np.float64).sum(0))


def test_psum_of_bool_does_not_wrap(k):
    # The wire carries psum's declared result dtype (its abstract eval), never narrower
    # than the local sum: a bool sum is "any" in bool, or a count in a wider integer.
    _, _, n = world()
    g = np.ones((n * k, 3), bool)
    got = pmap(lambda x: psum(x, "i"), axis_name="i")(block(g, k))
    declared = make_jaxpr(lambda x: psum(x, "i"), axis_env=[("i", n * k)])(g[0]).eqns[-1]
    assert got.dtype == np.promote_types(declared.outvars[0].aval.dtype, got.dtype)
    expected = True if got.dtype == np.bool_ else n * k
    assert (got == expected).all(), got
