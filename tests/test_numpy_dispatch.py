"""NumPy functions, ufuncs and methods on traced values (issue 7 section 3, issue 14
item 6): they dispatch to spmdgrad.numpy with NumPy's signatures, or raise a TypeError
that names the NumPy function."""

import inspect

import numpy as np
import pytest

import spmdgrad as sg
import spmdgrad.numpy as jnp
from spmdgrad.numpy._methods import _FORWARDED
from spmdgrad.test_util import check_grads

X = np.random.default_rng(1).uniform(-1, 1, (3, 4))


def test_numpy_sum_and_mean_inside_grad():
    def f(x):
        return np.sum(x**2) + np.mean(x) + np.sum(x, axis=0, keepdims=True).sum() + np.mean(x, 1).sum()

    g = sg.grad(f)(X)
    np.testing.assert_allclose(g, 2 * X + 1 / 12 + 1 + 1 / 4)
    check_grads(f, [X], order=2)


@pytest.mark.parametrize(
    "call",
    [
        lambda x: np.sum(x, axis=1, dtype=np.float64, keepdims=True, where=x > 0),
        lambda x: np.mean(x, axis=(0, 1), keepdims=True),
        lambda x: np.max(x, axis=0, initial=0.5),
        lambda x: np.min(x, axis=1, initial=-0.2, where=x > -0.5),
        lambda x: np.prod(x + 2, axis=0, initial=2.0),
        lambda x: np.var(x, 0, ddof=1, keepdims=True),
        lambda x: np.std(x, axis=1, correction=1),
        lambda x: np.cumsum(x, axis=1),
        lambda x: np.clip(x, -0.3, 0.4),
        lambda x: np.round(x, 1),
        lambda x: np.linalg.det(x[:, :3]),
        lambda x: np.linspace(x[0, 0], x[1, 1], 5),
        lambda x: np.add.reduce(x, axis=1),
        lambda x: np.multiply.accumulate(x, axis=0),
        lambda x: np.subtract.outer(x[0], x[1]),
        lambda x: np.concatenate([x, np.sin(x)], axis=1),
        lambda x: np.where(x > 0, x, 0.0),
    ],
)
def test_numpy_functions_dispatch_under_grad_vmap_jit(call):
    want = call(X)
    np.testing.assert_allclose(sg.jit(call)(X), want)
    np.testing.assert_allclose(sg.vmap(call)(np.stack([X, 2 * X])), np.stack([want, call(2 * X)]))
    check_grads(lambda x: call(x), [X], order=1)


@pytest.mark.parametrize(
    "method, args, kwargs",
    [
        ("mean", (0,), {"keepdims": True}),
        ("sum", (1, None, None, True), {}),
        ("max", (), {"axis": 0}),
        ("min", (None, None, True), {}),
        ("var", (), {"ddof": 1, "axis": 1}),
        ("std", (0,), {}),
        ("prod", (0,), {"keepdims": True}),
        ("cumsum", (1,), {}),
        ("cumprod", (), {"axis": 0}),
        ("clip", (-0.1, 0.2), {}),
        ("round", (2,), {}),
        ("take", ([0, 2],), {"axis": 1}),
        ("repeat", (2,), {"axis": 0}),
        ("swapaxes", (0, 1), {}),
        ("trace", (1,), {}),
        ("diagonal", (), {"offset": -1}),
        ("sort", (0,), {}),
        ("reshape", (4, 3), {}),
        ("reshape", ((2, 6),), {"order": "C"}),
        ("transpose", ((1, 0),), {}),
        ("flatten", (), {}),
        ("ravel", (), {}),
        ("dot", (X.T,), {}),
        ("any", (0,), {}),
        ("all", (), {"axis": 1}),
        ("argmax", (1,), {"keepdims": True}),
        ("astype", (np.float32,), {}),
        ("compress", ([True, False, True],), {"axis": 0}),
    ],
)
def test_methods_have_numpy_signatures(method, args, kwargs):
    call = lambda x: getattr(x, method)(*args, **kwargs)  # noqa: E731
    want = np.sort(X, *args) if method == "sort" else call(X)  # ndarray.sort sorts in place
    for transform in (sg.vmap, sg.jit):
        if transform is sg.jit and method == "var":
            continue  # test_var_method_under_jit
        xs = np.stack([X, X]) if transform is sg.vmap else X
        got = transform(call)(xs)
        got = got[0] if transform is sg.vmap else got
        np.testing.assert_allclose(got, want, rtol=1e-6)
        assert np.asarray(got).dtype == want.dtype


@pytest.mark.xfail(strict=True, reason="core: JaxprTracer's slot named 'var' shadows the method")
def test_var_method_under_jit():
    np.testing.assert_allclose(sg.jit(lambda x: x.var(0))(X), X.var(0))


# The signature audits compare with the NumPy installed; spmdgrad follows NumPy 2.4's names
# (CI's oldest job runs NumPy 2.0, whose signatures differ in places).
CURRENT_NUMPY = pytest.mark.skipif(np.lib.NumpyVersion(np.__version__) < "2.4.0",
                                   reason="signature audit against NumPy >= 2.4")


@CURRENT_NUMPY
@pytest.mark.parametrize("name", _FORWARDED)
def test_forwarded_method_signatures_follow_numpy(name):
    """Each method forwards to a function whose parameters (after the array) start with
    NumPy's positional parameters and include every NumPy keyword."""
    ref = getattr(np, name)
    if isinstance(ref, np.ufunc):  # conj: ufunc keywords are handled by __array_ufunc__
        pytest.skip("a ufunc")
    np_params = list(inspect.signature(ref).parameters.values())[1:]
    ours = list(inspect.signature(getattr(jnp, name)).parameters.values())[1:]
    positional = [p.name for p in np_params if p.kind == p.POSITIONAL_OR_KEYWORD]
    assert [p.name for p in ours][: len(positional)] == positional, name
    keywords = {p.name for p in np_params if p.kind != p.VAR_KEYWORD}
    assert keywords <= {p.name for p in ours}, (name, keywords - {p.name for p in ours})


def test_out_and_unknown_keywords_are_clear_type_errors():
    with pytest.raises(TypeError, match="sum: out= is not supported"):
        sg.grad(lambda x: np.sum(x, out=np.zeros(())))(X)
    with pytest.raises(TypeError, match="numpy.exp: out= is not supported"):
        sg.grad(lambda x: np.exp(x, out=np.zeros_like(X)).sum())(X)
    with pytest.raises(TypeError, match="numpy.fft.fft was applied to a traced value"):
        sg.grad(lambda x: np.fft.fft(x).real.sum())(X)
    with pytest.raises(TypeError, match="numpy.heaviside.reduce"):
        sg.vmap(lambda x: np.heaviside.reduce(x))(X)
    with pytest.raises(TypeError, match="concatenate: cannot cast float64 to int32 with casting='same_kind'"):
        sg.grad(lambda x: np.concatenate([x, x], dtype=np.int32).sum())(X)
    with pytest.raises(NotImplementedError, match="quantile: weights= is not supported"):
        sg.grad(lambda x: np.quantile(x, 0.5, weights=x, method="inverted_cdf"))(X)


@CURRENT_NUMPY
def test_every_numpy_keyword_is_accepted():
    """Each covered function takes every keyword its NumPy counterpart takes (a
    keyword NumPy adds later reaches spmdgrad.numpy and is reported by name)."""
    import inspect
    import sys

    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1] / "tools"))
    import numpy_coverage

    # Deliberately JAX's signature (matrix_rank(M, rtol=None, *, tol=None)): NumPy calls
    # its first parameter A and takes tol second, JAX rtol (docs/fft_and_decompositions.md).
    jax_signature = {"numpy.linalg.matrix_rank": {"A"}}
    for name, covered in numpy_coverage.coverage():
        short = name.split(".")[-1]
        ref = getattr(np.linalg if ".linalg." in name else np, short)
        if not covered or isinstance(ref, np.ufunc):
            continue
        try:
            theirs = inspect.signature(ref).parameters.values()
        except (TypeError, ValueError):
            continue
        ours = inspect.signature(getattr(jnp.linalg if ".linalg." in name else jnp, short)).parameters
        if any(p.kind == p.VAR_KEYWORD for p in ours.values()):
            continue
        named = [p.name for p in theirs if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
                 and p.name not in jax_signature.get(name, ())]
        assert not [k for k in named if k not in ours], (name, [k for k in named if k not in ours])


def test_item_assignment_points_to_at():
    with pytest.raises(TypeError, match=r"x.at\[idx\].set"):

        def f(w):
            w[0, 0] = 0.0
            return w.sum()

        sg.grad(f)(X)


def test_linspace_and_scalar_types_of_traced_values():
    """issue 14 item 6: these used to say 'use spmdgrad.numpy' to a user of spmdgrad.numpy."""
    f = lambda a: jnp.linspace(a, 2 * a, 4).sum()  # noqa: E731
    assert float(sg.grad(f)(1.0)) == pytest.approx(6.0)
    check_grads(lambda a, b: jnp.linspace(a, b, 7, endpoint=False), [np.array(0.3), np.array(1.9)])
    np.testing.assert_array_equal(sg.vmap(jnp.int64)(np.array([1.7, -2.2])), np.array([1, -2]))
    assert sg.jit(jnp.float32)(np.arange(3.0)).dtype == np.float32
    assert sg.grad(lambda x: jnp.float32(x) * 2.0)(np.float32(1.0)) == 2.0
    assert np.dtype(jnp.float32) == np.float32 and np.zeros(2, jnp.int32).dtype == np.int32
    assert jnp.float64(2.5) == np.float64(2.5) and isinstance(jnp.float64(2.5), np.float64)
    with pytest.raises(TypeError, match="arange: this argument must be concrete"):
        sg.vmap(lambda n: jnp.arange(n))(np.arange(3))
