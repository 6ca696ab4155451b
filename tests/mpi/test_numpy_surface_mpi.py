"""New NumPy surface under pmap over MPI ranks (rank-count agnostic): the
non-differentiable primitive (searchsorted, isin), data-dependent ops with size=,
quantiles and .at[].min/max, against vmap over the global data, with and without grad
and reduce_axes."""
import numpy as np
import pytest

import spmdgrad.numpy as jnp
from spmdgrad import grad, pmap, vmap

from mpi_helpers import block, global_data, world

pytestmark = pytest.mark.mpi

EDGES = np.linspace(-2.0, 2.0, 7)


def per_example(w, x):
    bins = jnp.searchsorted(EDGES, x)  # integer, no tangent
    hit = jnp.isin(bins, np.array([2, 3]))
    q = jnp.quantile(x * w[0], np.array([0.25, 0.75]))
    y = jnp.zeros(7).at[bins].max(x * w[1]).at[bins].min(x * w[2])
    nz = jnp.nonzero(hit, size=3, fill_value=0)[0]
    return jnp.sum(q) + jnp.sum(y ** 2) + jnp.sum(jnp.take(x, nz)) * w[0]


def test_values_match_vmap(k):
    _, _, n = world()
    w = np.array([0.7, 1.3, -0.4])
    xs = global_data((n * k, 5), 11)
    got = pmap(per_example, in_axes=(None, 0))(w, block(xs, k))
    want = vmap(per_example, in_axes=(None, 0))(w, xs)
    np.testing.assert_allclose(got, block(want, k), rtol=1e-12)


def test_total_gradient_matches_vmap(k):
    _, _, n = world()
    w = np.array([0.7, 1.3, -0.4])
    xs = global_data((n * k, 5), 12)
    g = grad(per_example, reduce_axes=("b",))
    got = pmap(g, in_axes=(None, 0), out_axes=None, axis_name="b")(w, block(xs, k))
    want = vmap(g, in_axes=(None, 0), out_axes=None, axis_name="b")(w, xs)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
