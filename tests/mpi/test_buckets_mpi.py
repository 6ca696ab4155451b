"""Gradient buckets (spmdgrad.collectives.buckets): the reduce_axes Allreduce of a
pmap'd gradient leaves in buckets during the backward pass. Bitwise equal to the
single fused Allreduce, replicas identical, the expected number of calls, and a
mismatch still raises on every rank. Rank-count agnostic (1, 2, 3 ranks)."""
import numpy as np
import pytest

import spmdgrad.numpy as jnp
from spmdgrad import ad, grad, pmap
from spmdgrad.collectives import buckets
from spmdgrad.collectives.psum import allreduce_p
from spmdgrad.core import impl_rules
from spmdgrad.mpi import MismatchError

from mpi_helpers import block, world

pytestmark = pytest.mark.mpi

N_LAYERS = 6


def params(dtype_mix):
    """A linear MLP with 2 * N_LAYERS leaves; values are small dyadic numbers (few
    bits), so every sum across ranks is exact whatever order MPI adds them in."""
    rng = np.random.default_rng(0)
    p = {}
    for i in range(N_LAYERS):
        dt = np.float32 if dtype_mix and i % 3 == 1 else np.float64
        p[f"w{i:02d}"] = (rng.integers(-4, 5, (8, 8)) / 8).astype(dt)
        p[f"b{i:02d}"] = (rng.integers(-4, 5, (8,)) / 8).astype(dt)
    return p


def loss(p, x):
    h = x
    for i in range(N_LAYERS):
        w, b = p[f"w{i:02d}"], p[f"b{i:02d}"]
        h = h @ w.astype(h.dtype) + b.astype(h.dtype)
    return jnp.sum(h * x)   # the output cotangent depends on the data: every leaf varies


def data(k, n):
    x = (np.random.default_rng(1).integers(-2, 3, (n * k, 3, 8)) / 4).astype(np.float64)
    return block(x, k)


@pytest.fixture
def counts(monkeypatch):
    calls = {"fused": 0, "bucket": 0}
    impl = impl_rules[allreduce_p]
    start = buckets._iallreduce

    def fused(*xs, **params):
        calls["fused"] += 1
        return impl(*xs, **params)

    def bucket(*args):
        calls["bucket"] += 1
        return start(*args)
    monkeypatch.setitem(impl_rules, allreduce_p, fused)
    monkeypatch.setattr(buckets, "_iallreduce", bucket)
    return calls


def run(p, x, first, size, f=loss):
    """The total gradient of ``f`` over the MPI axis, with these bucket sizes."""
    old = buckets.set_bucket_sizes(first, size)
    try:
        return pmap(grad(f, reduce_axes=("i",)), axis_name="i", in_axes=(None, 0),
                    out_axes=None)(p, x)
    finally:
        buckets.set_bucket_sizes(*old)


def gathered(g):
    comm, _, _ = world()
    return comm.allgather({name: v.tobytes() for name, v in g.items()})


@pytest.mark.parametrize("dtype_mix", [False, True], ids=["f64", "mixed"])
def test_buckets_bitwise_equal_to_fused(k, dtype_mix, counts):
    _, _, n = world()
    p, x = params(dtype_mix), data(k, n)
    fused = run(p, x, 0, 1)                   # bucketing off: one fused call per dtype
    n_fused = counts["fused"]
    assert counts["bucket"] == 0
    # 8x8 float64 weights are 512 bytes, biases 64: three buckets of 600 / 1200 bytes.
    bucketed = run(p, x, 600, 1200)
    if n > 1:
        assert n_fused == 1 and counts["fused"] == 1, counts
        assert counts["bucket"] > 2, counts       # several buckets, one call per dtype each
    for name in p:
        assert bucketed[name].dtype == fused[name].dtype == p[name].dtype, name
        assert bucketed[name].tobytes() == fused[name].tobytes(), name
    # replicas bitwise identical
    views = gathered(bucketed)
    assert all(v == views[0] for v in views)


def test_bucket_count_follows_sizes(counts):
    _, _, n = world()
    p, x = params(False), data(1, n)
    # every leaf is its own bucket once the first bucket (1 byte) is full
    run(p, x, 1, 1)
    if n > 1:
        assert counts["bucket"] == 2 * N_LAYERS and counts["fused"] == 0, counts
    counts["bucket"] = 0
    big = run(p, x, 1, 1 << 30)               # first leaf alone, then one bucket
    if n > 1:
        assert counts["bucket"] == 2, counts
    # small models keep the fused call: the whole gradient fits the first bucket
    counts["bucket"] = counts["fused"] = 0
    small = run(p, x, 1 << 30, 1 << 30)
    if n > 1:
        assert counts == {"fused": 1, "bucket": 0}, counts
    for name in p:
        assert big[name].tobytes() == small[name].tobytes(), name


def test_buckets_match_numpy_total():
    _, _, n = world()
    k = 2
    p, x = params(False), data(k, n)
    g = run(p, x, 600, 1200)
    # reference: the gradient of the global program, by hand (linear network)
    xs = (np.random.default_rng(1).integers(-2, 3, (n * k, 3, 8)) / 4)
    acts = [xs]
    for i in range(N_LAYERS):
        acts.append(acts[-1] @ p[f"w{i:02d}"] + p[f"b{i:02d}"])
    ct = xs
    for i in reversed(range(N_LAYERS)):
        np.testing.assert_array_equal(g[f"b{i:02d}"], ct.sum(axis=(0, 1)))
        np.testing.assert_array_equal(g[f"w{i:02d}"], np.einsum("nbi,nbj->ij", acts[i], ct))
        ct = ct @ p[f"w{i:02d}"].T


def test_mismatch_raises_on_every_rank():
    comm, r, n = world()
    if n == 1:
        pytest.skip("needs two ranks")
    p, x = params(False), data(1, n)
    odd = r == n - 1

    def f(p, x):   # rank-dependent control flow: one rank skips the last layer
        h = x
        for i in range(N_LAYERS - 1 if odd else N_LAYERS):
            h = h @ p[f"w{i:02d}"] + p[f"b{i:02d}"]
        return jnp.sum(h * x)
    with pytest.raises(MismatchError, match="bucket 1"):
        run(p, x, 1, 1 << 30, f)
    comm.Barrier()


def test_unused_shared_and_invariant_inputs(k, counts):
    """An input no equation reads, one read twice, and one whose cotangent is invariant
    (scaled locally, no wire): bucketed equals fused, bitwise."""
    _, _, n = world()
    p = params(False)
    p["unused"] = np.ones((8, 8))
    p["scale"] = np.asarray(0.5)
    x = data(k, n)

    def f(p, x):
        h = x @ p["w00"] + p["b00"]
        h = h @ p["w00"] + p["b01"]           # w00 used twice
        return jnp.sum(h * x) + p["scale"] * 3.0  # scale's cotangent does not vary

    fused = run(p, x, 0, 1, f)
    n_fused = counts["fused"]
    bucketed = run(p, x, 1, 1, f)
    if n > 1:   # every deferred psum went into a bucket: no fused call after the pass
        assert counts["bucket"] >= 2 and counts["fused"] == n_fused, counts
    for name in p:
        assert bucketed[name].tobytes() == fused[name].tobytes(), name
    np.testing.assert_array_equal(bucketed["unused"], np.zeros((8, 8)))
    assert float(bucketed["scale"]) == 3.0 * n * k


def test_reused_input_random_data_bitwise_at_two_ranks(counts):
    """Random (inexact) data: at 1 or 2 ranks every element's sum is the same single
    addition in both paths, so bucketed == fused bitwise, also for an input read by
    several equations (its cotangent is final only after its first reader)."""
    _, r, n = world()
    if n > 2:
        pytest.skip("at 3+ ranks MPI's addition order may depend on the message size")
    rng = np.random.default_rng(5)
    p = {"w": rng.standard_normal((8, 8)), "v": rng.standard_normal((8, 8)).astype(np.float32)}
    x = np.random.default_rng(10 + r).standard_normal((2, 3, 8))

    def f(p, x):
        h = jnp.tanh(x @ p["w"])
        h = jnp.tanh(h @ p["v"].astype(h.dtype) + h @ p["w"])
        return jnp.sum(jnp.sin(h @ p["w"]))

    fused = run(p, x, 0, 1, f)
    n_fused = counts["fused"]
    bucketed = run(p, x, 1, 1, f)
    if n > 1:
        assert counts["bucket"] == 2 and counts["fused"] == n_fused, counts
    for name in p:
        assert bucketed[name].tobytes() == fused[name].tobytes(), name


@pytest.fixture
def into_calls(monkeypatch):
    """Counts the cotangents written straight into a bucket, per primitive."""
    hits = {}
    for prim, rule in list(ad.transpose_into_rules.items()):
        def counted(out, *args, _rule=rule, _name=prim.name, **params):
            done = _rule(out, *args, **params)
            hits[_name] = hits.get(_name, 0) + bool(done)
            return done
        monkeypatch.setitem(ad.transpose_into_rules, prim, counted)
    return hits


def test_cotangents_written_in_place_equal_fused(k, into_calls):
    """With one instance per rank every weight (matmul) and bias (broadcast sum)
    gradient is produced in its bucket, with no packing copy; with two, none is
    (the local sum comes first). Either way bitwise equal to the fused call."""
    _, _, n = world()
    p, x = params(False), data(k, n)
    fused = run(p, x, 0, 1)
    assert into_calls == {}
    bucketed = run(p, x, 600, 1200)
    want = {"einsum2": N_LAYERS, "broadcast_in_dim": N_LAYERS} if k == 1 else {}
    assert into_calls == (want if n > 1 else {})   # one rank: no wire, no buckets
    for name in p:
        assert bucketed[name].tobytes() == fused[name].tobytes(), name


def test_in_place_products_and_declined_cases_at_two_ranks(into_calls):
    """Elementwise products with batched and replicated (unbatched) factors are written
    in place; a 0-d weight (its product needs a sum first) and a float16 weight (the
    wire is wider) are copied in. Random data: bitwise equal at 1 or 2 ranks."""
    _, r, n = world()
    if n > 2:
        pytest.skip("at 3+ ranks MPI's addition order may depend on the message size")
    rng = np.random.default_rng(3)
    p = {"a": rng.standard_normal((4, 8)), "c": rng.standard_normal((4, 8)),
         "s": np.asarray(0.7), "h": rng.standard_normal((4, 8)).astype(np.float16),
         "w": rng.standard_normal((8, 8))}
    const = rng.standard_normal((4, 8))          # replicated: unbatched in the frame
    x = np.random.default_rng(20 + r).standard_normal((1, 4, 8))

    def f(p, x):
        y = jnp.tanh(p["a"] * x) + p["c"] * const + p["s"] * x
        y = y + jnp.sin(p["h"].astype(np.float64) * x)
        return jnp.sum(jnp.cos(y @ p["w"]))

    fused = run(p, x, 0, 1, f)
    assert into_calls == {}
    bucketed = run(p, x, 1, 1, f)
    assert into_calls == ({"mul": 2, "einsum2": 1} if n > 1 else {}), into_calls
    for name in p:
        assert bucketed[name].dtype == fused[name].dtype == p[name].dtype, name
        assert bucketed[name].tobytes() == fused[name].tobytes(), name
    # and the total is right: finite differences of the global loss in float64
    comm, _, _ = world()
    xs = comm.allgather(x)
    gl = lambda q: sum(float(f(q, xi)) for xi in xs)   # noqa: E731
    eps = 1e-6
    for name in ("a", "c", "s", "w"):
        e = np.zeros_like(p[name]).reshape(-1)
        e[0] = eps
        up = dict(p, **{name: p[name] + e.reshape(p[name].shape)})
        dn = dict(p, **{name: p[name] - e.reshape(p[name].shape)})
        fd = (gl(up) - gl(dn)) / (2 * eps)
        np.testing.assert_allclose(bucketed[name].reshape(-1)[0], fd, rtol=1e-6, atol=1e-8)


def test_bucketed_eager_rank_and_fused_jit_rank_raise_on_both():
    """A step jitted on one rank is reduced in one fused call; the same step eager on
    another is bucketed. The transfers differ, so both ranks raise (docs/mpi.md, jit)
    instead of mixing them, and agree again afterwards."""
    from spmdgrad import jit
    comm, r, n = world()
    if n == 1:
        pytest.skip("needs two ranks")
    p, x = params(False), data(1, n)
    old = buckets.set_bucket_sizes(256, 1024)
    try:
        step = pmap(grad(loss, reduce_axes=("i",)), axis_name="i", in_axes=(None, 0), out_axes=None)
        f = jit(step) if r == 0 else step
        with pytest.raises(MismatchError, match="bucket 1") as info:
            f(p, x)
        assert "allreduce[sum] over axis 'i'" in str(info.value)
    finally:
        buckets.set_bucket_sizes(*old)
    comm.Barrier()
    np.testing.assert_array_equal(run(p, x, 256, 1024)["b00"], run(p, x, 1 << 20, 1 << 25)["b00"])
