"""jit: the replayed program equals the interpreted one; caching and retracing.

Every test runs in the three replay modes: compiled, interpreted (the reference) and
'check' (both, compared bit for bit)."""
import importlib

import numpy as np
import pytest

import spmdgrad as sg
import spmdgrad.numpy as jnp
from spmdgrad import lax

jit_module = importlib.import_module("spmdgrad.jit")


@pytest.fixture(autouse=True, params=["compile", "interpret", "check"])
def mode(request):
    with jit_module.jit_mode(request.param):
        yield request.param


def loss(w, x):
    return jnp.sum(jnp.tanh(x @ w) ** 2)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((3, 2)), rng.standard_normal((5, 3))


def test_jit_matches_interpreted_grad_vmap_and_reduce_axes(data):
    w, xs = data
    fs = [sg.grad(loss),
          sg.vmap(sg.grad(loss), in_axes=(None, 0), axis_name="b"),
          sg.vmap(sg.grad(loss, reduce_axes=("b",)), in_axes=(None, 0), out_axes=None,
                  axis_name="b"),
          sg.vmap(lambda w, x: lax.psum(loss(w, x), "b"), in_axes=(None, 0), axis_name="b")]
    for f in fs:
        expected = f(w, xs)
        got = sg.jit(f)(w, xs)
        np.testing.assert_allclose(got, expected, rtol=1e-13)
        assert type(got) is type(expected) or isinstance(got, np.ndarray | np.generic)


def test_jit_traces_once_per_signature(data):
    w, xs = data
    calls = []

    def f(w, x):
        calls.append(1)
        return loss(w, x)
    jf = sg.jit(f)
    a = jf(w, xs)
    b = jf(w + 1.0, xs)
    assert len(calls) == 1
    np.testing.assert_allclose(b, loss(w + 1.0, xs), rtol=1e-13)
    np.testing.assert_allclose(a, loss(w, xs), rtol=1e-13)
    jf(w, xs[:2])  # a new shape retraces
    jf(w.astype(np.float32), xs.astype(np.float32))  # a new dtype retraces
    assert len(calls) == 3


def test_python_scalars_are_static_and_keep_weak_promotion():
    x = np.ones(3, np.float32)
    jf = sg.jit(lambda x, c: x * c)
    out = jf(x, 2.0)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(jf(x, 3.0), x * 3.0)


def test_pytrees_kwargs_and_constant_outputs():
    jf = sg.jit(lambda p, scale=1.0: {"s": jnp.sum(p["a"] * scale), "c": np.arange(2)})
    out = jf({"a": np.arange(3.0)}, scale=2.0)
    assert float(out["s"]) == 6.0
    np.testing.assert_array_equal(out["c"], np.arange(2))


def test_grad_of_jit_traces_through(data):
    w, xs = data
    np.testing.assert_allclose(sg.grad(sg.jit(loss))(w, xs), sg.grad(loss)(w, xs), rtol=1e-13)


def test_unhashable_static_argument_is_a_clear_error():
    with pytest.raises(TypeError, match="neither an array nor hashable"):
        sg.jit(lambda x, opts: x)(np.ones(2), {1, 2})


def test_results_are_freed_without_the_garbage_collector():
    """No reference cycles: a result is released as soon as the caller drops it (large
    gradients must not wait for a GC pass; MPI pack buffers are reused on that basis)."""
    import gc
    import weakref

    class Box(np.ndarray):
        pass
    w = np.ones((3, 2))
    xs = np.ones((4, 3)).view(Box)
    gc.disable()
    try:
        for f in (sg.grad(loss), sg.vmap(sg.grad(loss), in_axes=(None, 0)),
                  sg.jit(sg.vmap(sg.grad(loss), in_axes=(None, 0)))):
            out = f(w, xs)
            ref = weakref.ref(out)
            del out
            assert ref() is None, f
    finally:
        gc.enable()


def test_static_signed_zero_gets_its_own_trace():
    # (type, value) keys made -0.0 reuse the 0.0 trace: arctan2(0, -0.0) came out 0.0, not pi.
    jf = sg.jit(lambda x, y: jnp.arctan2(x, y))
    assert jf(np.float64(0.0), 0.0) == 0.0
    assert jf(np.float64(0.0), -0.0) == np.arctan2(0.0, -0.0) == np.pi
    assert jf(np.float64(0.0), 0.0) == 0.0
    jc = sg.jit(lambda x, z: jnp.arctan2(x, jnp.real(z)))
    assert jc(np.float64(0.0), complex(-0.0, 1.0)) == np.pi
    assert jc(np.float64(0.0), complex(0.0, 1.0)) == 0.0


def test_static_nan_reuses_its_trace():
    calls = []

    def f(x, c):
        calls.append(1)
        return x + c
    jf = sg.jit(f)
    for _ in range(3):
        assert np.isnan(jf(np.ones(2), float("nan"))).all()
    assert len(calls) == 1


def test_closed_over_array_is_snapshot_at_trace_time():
    # JAX semantics: the program is what fun computed when traced. Before, the array was
    # read live while work on it alone (jnp.sum(c)) was baked in: 13 instead of 3,4,5 or 40.
    c = np.arange(3.0)
    view = c[::-1]
    jf = sg.jit(lambda x: x * c + jnp.sum(c) + view)
    expected = np.ones(3) * np.arange(3.0) + 3.0 + np.arange(3.0)[::-1]
    np.testing.assert_array_equal(jf(np.ones(3)), expected)
    c[:] = 10.0
    np.testing.assert_array_equal(jf(np.ones(3)), expected)
    jf.clear_cache()  # a retrace sees the new values
    np.testing.assert_array_equal(jf(np.ones(3)), np.ones(3) * 10 + 30 + 10)


def test_constant_output_is_not_shared_between_calls():
    c = np.arange(3.0)
    jf = sg.jit(lambda x: (x + 1, c))
    _, out = jf(np.ones(2))
    out[:] = -1.0
    np.testing.assert_array_equal(jf(np.ones(2))[1], np.arange(3.0))
