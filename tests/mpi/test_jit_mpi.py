"""jit's compiled programs over MPI: bitwise equal to the interpreter and to eager runs,
replicas bitwise identical, and collectives never dropped, merged or reordered by the
optimizer (a collective whose result is unused still runs on every rank). Rank-count
agnostic."""
import importlib

import numpy as np
import pytest

import spmdgrad.numpy as jnp
from spmdgrad import grad, jit, lax, pmap
from spmdgrad.collectives.psum import allreduce_p
from spmdgrad.core import impl_rules

from mpi_helpers import block, global_data, world

pytestmark = pytest.mark.mpi
jit_module = importlib.import_module("spmdgrad.jit")


def mlp_loss(p, x, y):
    h = jnp.maximum(x @ p["w1"] + p["b1"], 0.0)
    z = h @ p["w2"] + p["b2"]
    return jnp.sum((z - y) ** 2)


def params():
    return {"w1": global_data((5, 4), 1), "b1": global_data((4,), 2),
            "w2": global_data((4, 3), 3), "b2": global_data((3,), 4)}


@pytest.mark.parametrize("mode", ["compile", "check"])
def test_jit_dp_gradient_bitwise(k, mode):
    comm, _, n = world()
    p = params()
    xs, ys = global_data((n * k, 6, 5), 5), global_data((n * k, 6, 3), 6)
    step = pmap(grad(mlp_loss, reduce_axes=("i",)), axis_name="i", in_axes=(None, 0, 0), out_axes=None)
    expected = step(p, block(xs, k), block(ys, k))
    with jit_module.jit_mode(mode):
        jstep = jit(step)
        for _ in range(2):
            got = jstep(p, block(xs, k), block(ys, k))
            for name in p:
                assert got[name].tobytes() == expected[name].tobytes(), name
    for name in p:  # replicas bitwise identical
        gathered = comm.allgather(got[name].tobytes())
        assert all(g == gathered[0] for g in gathered), name


def test_unused_and_repeated_collectives_still_run(k, monkeypatch):
    _, _, n = world()
    calls = []
    impl = impl_rules[allreduce_p]

    def counting(*xs, **kw):
        calls.append(len(xs))
        return impl(*xs, **kw)
    monkeypatch.setitem(impl_rules, allreduce_p, counting)

    def f(x):
        lax.psum(jnp.sin(x), "i")          # unused: still runs
        a = lax.psum(x * 2.0, "i")
        b = lax.psum(x * 2.0, "i")         # identical: not merged
        return a + b
    pf = pmap(f, axis_name="i")
    xs = global_data((n * k, 3), 11)
    eager = pf(block(xs, k))
    calls.clear()
    got = jit(pf)(block(xs, k))
    np.testing.assert_array_equal(got, eager)
    np.testing.assert_allclose(got[0], 4.0 * xs.sum(0), rtol=1e-12)
    if n > 1:
        assert len(calls) == 3, calls
    # the pmap entry check (no outputs, a communicator param) survives the optimizer
    jf = jit(pf)
    traced = [e.prim.name for e in jf.trace(block(xs, k)).eqns]
    optimized = [e.prim.name for e in jf.lower(block(xs, k)).jaxpr.eqns]
    assert traced.count("pmap_entry") == optimized.count("pmap_entry")
    assert optimized.count("allreduce") == traced.count("allreduce")


def test_jit_on_some_ranks_and_eager_on_others_agree(k):
    """The compiled gradient writes into the Allreduce's buffer and starts its check
    early; the schedule every rank checks is still the eager one, so ranks that jit
    and ranks that don't run together, with the same bits."""
    comm, r, n = world()
    p = params()
    xs, ys = global_data((n * k, 6, 5), 5), global_data((n * k, 6, 3), 6)
    step = pmap(grad(mlp_loss, reduce_axes=("i",)), axis_name="i", in_axes=(None, 0, 0), out_axes=None)
    f = jit(step) if r % 2 == 0 else step
    for _ in range(2):
        got = f(p, block(xs, k), block(ys, k))   # (jit checks the site where it traced)
    if r % 2 == 0 and n > 1:
        assert "packed_" in f.lower(p, block(xs, k), block(ys, k)).as_text()
    for name in p:
        gathered = comm.allgather(got[name].tobytes())
        assert all(g == gathered[0] for g in gathered), name


def test_compiled_gradient_has_no_runtime_identities(k):
    """mpi_pbroadcast (the identity when run) vanishes from the compiled program, so a
    bias broadcast feeding an add is NumPy's own broadcasting again."""
    _, _, n = world()
    p = params()
    xs, ys = global_data((n * k, 6, 5), 5), global_data((n * k, 6, 3), 6)
    step = jit(pmap(grad(mlp_loss, reduce_axes=("i",)), axis_name="i", in_axes=(None, 0, 0),
                    out_axes=None))
    src = step.lower(p, block(xs, k), block(ys, k)).source
    assert "mpi_pbroadcast" not in src
    forward = src.split("max_")[0]   # up to the first ReLU: x @ w1 + b1
    assert "broadcast_in_dim" not in forward, forward
