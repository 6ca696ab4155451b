"""jit: the replayed program equals the interpreted one; caching and retracing."""
import numpy as np
import pytest

import spmdgrad as sg
import spmdgrad.numpy as jnp
from spmdgrad import lax


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
