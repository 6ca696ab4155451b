"""pmap equals vmap, bitwise and on every rank, where dtypes and IEEE special values
used to make replicas differ (issue 7): narrow integers and bools in psum/pmean,
NaN and signed zeros in pmax/pmin, bool extrema. Rank-count agnostic."""
import numpy as np
import pytest

from spmdgrad import pmap, vmap
from spmdgrad.lax import pmax, pmean, pmin, psum

from mpi_helpers import block, world

pytestmark = pytest.mark.mpi

OPS = {"psum": psum, "pmean": pmean, "pmax": pmax, "pmin": pmin}


def _same_on_every_rank(x):
    comm, _, n = world()
    x = np.ascontiguousarray(x)
    everyone = np.empty((n,) + x.shape, x.dtype)
    comm.Allgather(x, everyone)
    for r in range(n):
        assert everyone[r].tobytes() == x.tobytes(), f"rank {r} holds {everyone[r]!r}, not {x!r}"


def _check(name, g, k):
    op = OPS[name]
    ref = vmap(lambda v: op(v, "i"), axis_name="i", out_axes=None)(g)
    got = pmap(lambda v: op(v, "i"), axis_name="i", out_axes=None)(block(g, k))
    assert np.asarray(got).dtype == np.asarray(ref).dtype
    assert np.asarray(got).tobytes() == np.asarray(ref).tobytes(), (got, ref)
    _same_on_every_rank(np.asarray(got))


@pytest.mark.parametrize("k", [1, 2])
@pytest.mark.parametrize("name", ["psum", "pmean"])
@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.int32])
def test_integer_sums_and_means(name, dtype, k):
    _, _, n = world()
    g = np.array([200, 100, 1, 0, 255, 7][: n * k] * 2, np.int64)[: n * k]
    g = (g % 2 == 0) if dtype is np.bool_ else g.astype(dtype)
    _check(name, g, k)


@pytest.mark.parametrize("k", [1, 2])
@pytest.mark.parametrize("name", ["pmax", "pmin"])
@pytest.mark.parametrize("case", ["signed-zeros", "nan", "bool"])
def test_extrema_are_replicated_bitwise(name, case, k):
    _, _, n = world()
    N = n * k
    if case == "signed-zeros":
        g = np.where(np.arange(N) % 2 == 0, -0.0, 0.0)[:, None] * np.ones((1, 3))
    elif case == "nan":
        g = np.arange(N * 3, dtype=float).reshape(N, 3)
        g[N - 1, 1] = np.nan          # on the last rank only
    else:
        g = (np.arange(N * 3).reshape(N, 3) % 3) == 0
    _check(name, g, k)
