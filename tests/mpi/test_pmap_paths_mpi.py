"""pmap over MPI: the direct path of the usual eager call (spmdgrad.pmap._direct_call)
computes exactly what the general map_call path computes, falls back to it for the
outputs it does not handle, and the reduction's pack buffers are reused while the
caller rebinds its results. Rank-count agnostic."""
import importlib

import numpy as np
import pytest

import spmdgrad.numpy as jnp
from spmdgrad import grad, pmap
from spmdgrad.collectives import psum as psum_module
from spmdgrad.lax import psum
from spmdgrad.mpi import MismatchError
from spmdgrad.tree_util import tree_flatten

from mpi_helpers import block, global_data, world

pmap_module = importlib.import_module("spmdgrad.pmap")   # the module (spmdgrad.pmap is the function)
pytestmark = pytest.mark.mpi


@pytest.fixture
def general_only(monkeypatch):
    """Every call takes map_call's general path."""
    monkeypatch.setattr(pmap_module, "_direct_call", lambda *a, **k: pmap_module._GENERAL)


CASES = {
    "psum of a dict, out_axes=None": (
        lambda t: psum(t, "i"), 0, None, lambda x, w: ({"a": x, "b": (x * 2, x[:, :1])},)),
    "identity of a tuple, out_axes=0": (
        lambda a, b: (a, b), 0, 0, lambda x, w: (x, x.astype(np.float32))),
    "invariant output, out_axes=0": (
        lambda a, w: w * 3.0, (0, None), 0, lambda x, w: (x, w)),
    "Python scalar output, out_axes=None": (
        lambda a: 2.5, 0, None, lambda x, w: (x,)),
    "mixed mapped and invariant inputs": (
        lambda a, w: psum(a * w, "i") + w, (0, None), None, lambda x, w: (x, w)),
    "grad with reduce_axes": (
        grad(lambda w, a: jnp.sum(jnp.sin(w * a)), reduce_axes=("i",)), (None, 0), None,
        lambda x, w: (w, x)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_direct_path_equals_general_path(name, k, monkeypatch):
    _, _, n = world()
    fun, in_axes, out_axes, make = CASES[name]
    x = block(global_data((n * k, 3), seed=5), k)
    w = global_data((3,), seed=6)
    args = make(x, w)
    f = pmap(fun, axis_name="i", in_axes=in_axes, out_axes=out_axes)
    direct = f(*args)
    monkeypatch.setattr(pmap_module, "_direct_call", lambda *a, **kw: pmap_module._GENERAL)
    general = f(*args)
    (dl, dt), (gl, gt) = tree_flatten(direct), tree_flatten(general)
    assert dt == gt
    for a, b in zip(dl, gl, strict=True):
        assert type(a) is type(b)
        np.testing.assert_array_equal(a, b)
        assert np.asarray(a).dtype == np.asarray(b).dtype


def test_direct_path_is_taken_for_arrays(k, monkeypatch):
    _, _, n = world()
    calls = []
    real = pmap_module._direct_call

    def spy(*a, **kw):
        out = real(*a, **kw)
        calls.append(out is not pmap_module._GENERAL)
        return out
    monkeypatch.setattr(pmap_module, "_direct_call", spy)
    x = block(global_data((n * k, 2), seed=7), k)
    f = pmap(lambda v: psum(v, "i"), axis_name="i", out_axes=None)
    f(x)                  # arrays on axis 0: direct
    f(v=x)                # keyword arguments: general
    pmap(lambda v: v, axis_name="i", in_axes=1, out_axes=1)(x.T)   # another axis: general
    assert calls == ([True, False] if n > 1 else [])   # one process: single-host pmap


@pytest.mark.parametrize("path", ["direct", "general"])
def test_mapped_output_with_out_axes_none_raises(path, k, request):
    if path == "general":
        request.getfixturevalue("general_only")
    _, _, n = world()
    x = block(global_data((n * k, 2), seed=8), k)
    with pytest.raises(ValueError, match="varies over axis 'i', so it cannot be returned with "
                                         "out_axes=None"):
        pmap(lambda v: v * 2, axis_name="i", out_axes=None)(x)


def test_exception_in_the_function_propagates(k):
    _, _, n = world()
    x = block(global_data((n * k, 2), seed=9), k)

    def boom(v):
        raise KeyError("inside pmap")
    with pytest.raises(KeyError, match="inside pmap"):
        pmap(boom, axis_name="i")(x)
    # the next call still runs (no pending state left behind)
    out = pmap(lambda v: psum(v, "i"), axis_name="i", out_axes=None)(x)
    np.testing.assert_allclose(out, global_data((n * k, 2), seed=9).sum(0), rtol=1e-10, atol=1e-12)


def test_rebound_results_reuse_the_pack_buffers(k):
    """``g = f(x)`` holds the previous call's results (views of a pack buffer) while the
    next call runs: the pool keeps two generations, so the third call reuses the first
    call's buffer instead of allocating (and page-faulting) a new one."""
    _, _, n = world()
    if n == 1:
        pytest.skip("one process: single-host pmap packs nothing")
    g = global_data((n * k, 3000), seed=10)
    x = block(g, k)
    f = pmap(lambda v: psum({"a": v, "b": v * 2.0}, "i"), axis_name="i", out_axes=None)
    bases = []
    out = None
    for _ in range(6):
        out = f(x)
        assert out["a"].base is out["b"].base            # both views of one buffer
        bases.append(id(out["a"].base))                    # (a reference would keep it busy)
        np.testing.assert_allclose(out["b"], 2 * g.sum(0), rtol=1e-10, atol=1e-12)
    # after the first two calls, every buffer is one seen two calls earlier
    assert all(bases[i] == bases[i - 2] for i in range(2, 6))
    assert bases[-1] != bases[-2]
    assert len(psum_module._pools[np.dtype(np.float64)]) <= psum_module._POOL_SIZE


# ---------------------------------------------------------------- the entry check, folded
# The pmap entry's record is compared by the body's first collective (or at the end of
# the call): a mismatch still raises in that call, on every rank, naming the pmap call,
# whether the rank runs the call eagerly or jitted.

def _mismatched_args():
    _, r, n = world()
    if n == 1:
        pytest.skip("needs two ranks")
    return np.ones((1, 3)) if r == 0 else np.ones((1, 4))


@pytest.mark.parametrize("jit_rank0", [False, True], ids=["eager", "jit on rank 0"])
@pytest.mark.parametrize("body", ["no collective", "psum", "fails locally"])
def test_entry_mismatch_raises_in_the_call_on_every_rank(body, jit_rank0):
    from spmdgrad import jit
    comm, r, _ = world()
    x = _mismatched_args()
    fun = {"no collective": lambda v: v * 2,
           "psum": lambda v: psum(v.sum(), "i"),
           # the rank with 4 columns fails in the body before any collective
           "fails locally": lambda v: psum(v.reshape(3), "i")}[body]
    f = pmap(fun, axis_name="i")
    with pytest.raises(MismatchError, match=r"pmap\(axis_name='i'\)") as info:
        (jit(f) if jit_rank0 and r == 0 else f)(x)
    assert "f64[1,3]" in str(info.value) and "f64[1,4]" in str(info.value)
    comm.Barrier()
    # the ranks agree again afterwards
    out = pmap(lambda v: psum(v, "i"), axis_name="i", out_axes=None)(np.ones((1, 2)))
    np.testing.assert_array_equal(out, np.full(2, float(world()[2])))


# ---------------------------------------------------------------- one exchange per call
# The entry is folded into the schedule fingerprint: a call whose body makes a checked
# collective exchanges one check (the collective's), a call without any exchanges one
# at its end; eager, general path and jit alike, so that ranks can mix them.

BODIES = {"no collective": lambda v: v * 2.0, "psum": lambda v: psum(v, "i"),
          "grad reduce_axes": grad(lambda w, v: jnp.sum(jnp.sin(w * v)), reduce_axes=("i",))}


def _call(body, k):
    _, _, n = world()
    x = block(global_data((n * k, 3), 7), k)
    if body == "grad reduce_axes":
        return pmap(BODIES[body], axis_name="i", in_axes=(None, 0), out_axes=None), (np.ones(3), x)
    return pmap(BODIES[body], axis_name="i"), (x,)


@pytest.mark.parametrize("mode", ["direct", "general", "jit"])
@pytest.mark.parametrize("body", list(BODIES))
def test_one_check_exchange_per_call(body, mode, k, monkeypatch, request):
    from spmdgrad import jit
    from spmdgrad.mpi import consistency
    _, _, n = world()
    if n == 1:
        pytest.skip("needs two ranks")
    if mode == "general":
        request.getfixturevalue("general_only")
    f, args = _call(body, k)
    expected = f(*args)
    if mode == "jit":
        f = jit(f)
        f(*args)
    posts = []
    real = consistency._post
    monkeypatch.setattr(consistency, "_post", lambda *a: posts.append(a[1][0]) or real(*a))
    for _ in range(2):
        got = f(*args)
    assert len(posts) == 2, posts
    for g, e in zip(tree_flatten(got)[0], tree_flatten(expected)[0], strict=True):
        assert g.tobytes() == e.tobytes()


@pytest.mark.parametrize("body", list(BODIES))
def test_jit_and_eager_ranks_agree_on_every_body(body, k):
    from spmdgrad import jit
    comm, r, n = world()
    f, args = _call(body, k)
    f = jit(f) if r % 2 == 0 else f
    for _ in range(3):
        out = f(*args)
    gathered = comm.allgather(b"".join(o.tobytes() for o in tree_flatten(out)[0]))
    if body != "no collective":   # replicated results
        assert all(g == gathered[0] for g in gathered)
    g = pmap(lambda v: psum(v, "i"), axis_name="i", out_axes=None)   # still in step
    np.testing.assert_array_equal(g(np.ones((1, 2))), np.full(2, float(n)))
