"""FFT and decompositions under pmap over MPI ranks: per-shard values and the total gradient
under reduce_axes equal the single-process loop, and replicas hold identical totals.
Rank-count agnostic."""
import numpy as np
import pytest

import spmdgrad
import spmdgrad.numpy as jnp

from mpi_helpers import block, global_data, world

pytestmark = pytest.mark.mpi


def _loss(w, x):
    s = jnp.linalg.svd(x @ w, compute_uv=False)
    ev = jnp.linalg.eigvalsh(x @ x.T + w @ w.T)
    return jnp.sum(s) + jnp.sum(jnp.abs(jnp.fft.rfft(ev, n=5)) ** 2) + jnp.sum(jnp.linalg.pinv(w + x))


@pytest.mark.parametrize("k", [1, 2])
def test_total_gradient_matches_loop(k):
    comm, _, n = world()
    w = global_data((3, 3), seed=1)
    xs = global_data((n * k, 3, 3), seed=2)
    g = spmdgrad.pmap(spmdgrad.grad(_loss, reduce_axes=("d",)), axis_name="d", in_axes=(None, 0),
                      out_axes=None)(w, block(xs, k))
    ref = sum(spmdgrad.grad(_loss)(w, x) for x in xs)
    np.testing.assert_allclose(g, ref, rtol=1e-10, atol=1e-12)
    everyone = np.empty((n,) + g.shape)
    comm.Allgather(np.ascontiguousarray(g), everyone)
    assert all(e.tobytes() == g.tobytes() for e in everyone)


def test_per_shard_values():
    _, _, n = world()
    xs = global_data((n * 2, 4, 6), seed=3)
    f = lambda x: (jnp.fft.irfft2(jnp.fft.rfft2(x) ** 2, s=(4, 6)), jnp.linalg.qr(x.T)[1])  # noqa: E731
    got = spmdgrad.pmap(f, axis_name="d")(block(xs, 2))
    want = spmdgrad.vmap(f)(block(xs, 2))
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
