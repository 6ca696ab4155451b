"""spmdgrad.scipy.special: values against SciPy, derivatives against finite differences
(orders 1 and 2), vmap against a Python loop, jit against eager, and derivative
conventions at edge points against numbers computed with JAX 0.10.2 (x64)."""
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.special as ss

import spmdgrad
from spmdgrad import grad, jit, jvp, vmap
from spmdgrad.scipy import special as sp
from spmdgrad.test_util import check_grads, loop_vmap

# name -> (spmdgrad function, SciPy reference, interior domain for derivative checks)
UNARY = {
    "erf": (sp.erf, ss.erf, (-2, 2)),
    "erfc": (sp.erfc, ss.erfc, (-2, 2)),
    "erfinv": (sp.erfinv, ss.erfinv, (-0.9, 0.9)),
    "expit": (sp.expit, ss.expit, (-4, 4)),
    "logit": (sp.logit, ss.logit, (0.1, 0.9)),
    "gammaln": (sp.gammaln, ss.gammaln, (0.5, 5)),
    "digamma": (sp.digamma, ss.digamma, (0.5, 5)),
    "entr": (sp.entr, ss.entr, (0.2, 2)),
    "ndtr": (sp.ndtr, ss.ndtr, (-3, 3)),
    "ndtri": (sp.ndtri, ss.ndtri, (0.1, 0.9)),
    "log_ndtr": (sp.log_ndtr, ss.log_ndtr, (-6, 4)),
}
BINARY = {  # name -> (fn, reference, domain of x, domain of y)
    "betaln": (sp.betaln, ss.betaln, (0.5, 4), (0.5, 4)),
    "xlogy": (sp.xlogy, ss.xlogy, (-2, 2), (0.5, 3)),
    "xlog1py": (sp.xlog1py, ss.xlog1py, (-2, 2), (-0.5, 2)),
}


def uniform(rng, lo_hi, shape):
    return rng.uniform(*lo_hi, size=shape)


def close(a, b, rtol=1e-12, atol=1e-14):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol)


# --------------------------------------------------------------------------- values

@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_values_match_scipy(rng, name):
    f, ref, dom = UNARY[name]
    x = uniform(rng, (dom[0] - 1, dom[1] + 1), (3, 4))
    with np.errstate(all="ignore"):
        close(f(x), ref(x))
    x32 = x.astype(np.float32)
    out = f(x32)
    assert out.dtype == np.float32
    with np.errstate(all="ignore"):
        close(out, ref(x32).astype(np.float32), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_values_match_scipy(rng, name):
    f, ref, dx, dy = BINARY[name]
    x, y = uniform(rng, dx, (3, 1)), uniform(rng, dy, (4,))
    close(f(x, y), ref(x, y))              # broadcasting as NumPy
    close(f(2, y), ref(2.0, y))            # integers become float64


def test_incomplete_gamma_beta_values(rng):
    a, b, x = uniform(rng, (0.5, 4), (5,)), uniform(rng, (0.5, 4), (5,)), uniform(rng, (0.05, 0.95), (5,))
    close(sp.gammainc(a, 3 * x), ss.gammainc(a, 3 * x))
    close(sp.gammaincc(a, 3 * x), ss.gammaincc(a, 3 * x))
    close(sp.betainc(a, b, x), ss.betainc(a, b, x))
    close(sp.polygamma(2, a), ss.polygamma(2, a))


def test_scalars_stay_numpy_scalars():
    out = sp.erf(0.5)
    assert isinstance(out, np.floating) and out == ss.erf(0.5)
    assert isinstance(sp.gammaln(np.arange(1, 4)), np.ndarray)


# --------------------------------------------------------------------------- derivatives

@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_grads(rng, name):
    f, _, dom = UNARY[name]
    check_grads(f, (uniform(rng, dom, (5,)),), order=2)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_grads(rng, name):
    f, _, dx, dy = BINARY[name]
    check_grads(f, (uniform(rng, dx, (4,)), uniform(rng, dy, (4,))), order=2)
    check_grads(f, (uniform(rng, dx, ()), uniform(rng, dy, (3,))), order=1)   # 0-d operand


def test_polygamma_and_incomplete_grads(rng):
    a, b = uniform(rng, (0.8, 3), (4,)), uniform(rng, (0.8, 3), (4,))
    check_grads(lambda x: sp.polygamma(1, x), (a,), order=2)
    check_grads(lambda x: sp.gammainc(a, x), (uniform(rng, (0.3, 3), (4,)),), order=2)
    check_grads(lambda x: sp.gammaincc(a, x), (uniform(rng, (0.3, 3), (4,)),), order=2)
    check_grads(lambda x: sp.betainc(a, b, x), (uniform(rng, (0.1, 0.9), (4,)),), order=2)


def test_incomplete_functions_refuse_shape_derivatives():
    with pytest.raises(NotImplementedError, match="gammainc: the derivative with respect to a"):
        grad(sp.gammainc)(1.5, 0.5)
    with pytest.raises(NotImplementedError, match="betainc: the derivative with respect to b"):
        grad(sp.betainc, 1)(1.5, 2.0, 0.5)


# Derivatives from jax.grad / jax.grad(jax.grad) at x = 0.37 (JAX 0.10.2, x64).
JAX_D1_D2 = {
    "erf": (0.9840114337185141, -0.7281684609517004),
    "erfc": (-0.9840114337185141, 0.7281684609517004),
    "erfinv": (0.9952594133896054, 0.6748207661129371),
    "expit": (0.24163525526403226, -0.04419942719958486),
    "logit": (4.29000429000429, -4.785075570146355),
    "gammaln": (-2.7953014108905645, 8.3604738277991),
    "digamma": (8.3604738277991, -40.53032699757734),
    "entr": (-0.005747726656133101, -2.7027027027027026),
    "ndtr": (0.37254831934793337, -0.1378428781587354),
    "ndtri": (2.648522281852415, -2.3278418057288643),
    "log_ndtr": (0.5782139643023476, -0.5482705553061051),
}


@pytest.mark.parametrize("name", sorted(JAX_D1_D2))
def test_derivatives_match_jax(name):
    f = UNARY[name][0]
    d1, d2 = JAX_D1_D2[name]
    close(grad(f)(0.37), d1, rtol=1e-10)
    close(grad(grad(f))(0.37), d2, rtol=1e-9)


def test_binary_derivatives_match_jax():
    close(grad(sp.betaln, (0, 1))(0.7, 1.9), (-1.971071006471413, -0.39486329160941713))
    close(grad(sp.xlogy, (0, 1))(0.7, 1.9), (0.6418538861723947, 0.3684210526315789))
    close(grad(sp.xlog1py, (0, 1))(0.7, 1.9), (1.0647107369924282, 0.2413793103448276))
    close(grad(sp.gammainc, 1)(1.7, 0.9), 0.41563630682402725, rtol=1e-10)
    close(grad(sp.gammaincc, 1)(1.7, 0.9), -0.41563630682402725, rtol=1e-10)
    close(grad(sp.betainc, 2)(1.7, 2.4, 0.3), 1.5771188743243996, rtol=1e-10)


# (function, argument(s), JAX value, JAX gradient) at edge points; NaN compares equal.
EDGES = [
    (sp.xlogy, (0.0, 0.0), 0.0, (-np.inf, np.nan)),
    (sp.xlogy, (0.0, 1.0), 0.0, (0.0, 0.0)),
    (sp.xlogy, (1.0, 0.0), -np.inf, (-np.inf, np.inf)),
    (sp.xlogy, (0.0, -1.0), 0.0, (np.nan, -0.0)),
    (sp.xlog1py, (0.0, -1.0), 0.0, (-np.inf, np.nan)),
    (sp.entr, (0.0,), 0.0, (np.inf,)),
    (sp.entr, (-1.0,), -np.inf, (np.nan,)),
    (sp.logit, (0.0,), -np.inf, (np.inf,)),
    (sp.logit, (1.0,), np.inf, (np.inf,)),
    (sp.erfinv, (-1.0,), -np.inf, (np.inf,)),
    (sp.erfinv, (1.0,), np.inf, (np.inf,)),
    (sp.ndtri, (0.0,), -np.inf, (0.0,)),
    (sp.ndtri, (1.0,), np.inf, (0.0,)),
    (sp.log_ndtr, (-40.0,), -804.6084420137697, (40.02496884784338,)),
    (sp.log_ndtr, (40.0,), -0.0, (0.0,)),
    (sp.log_ndtr, (-np.inf,), -np.inf, (np.nan,)),
    (sp.log_ndtr, (np.inf,), -0.0, (0.0,)),
    (sp.gammaln, (-1.5,), 0.8600470153764805, (0.703156640645244,)),
    (sp.digamma, (0.0,), np.nan, (np.inf,)),
    (sp.digamma, (-1.0,), np.nan, (np.inf,)),
    (sp.gammaln, (0.0,), np.inf, (np.nan,)),
    (sp.expit, (-800.0,), 0.0, (0.0,)),
    (sp.expit, (800.0,), 1.0, (0.0,)),
    (sp.erf, (30.0,), 1.0, (0.0,)),
    (sp.ndtr, (-40.0,), 0.0, (0.0,)),
]


@pytest.mark.parametrize("f,args,value,g", EDGES, ids=lambda v: getattr(v, "__name__", None))
def test_edge_points_follow_jax(f, args, value, g):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = f(*args)
        got = grad(f, tuple(range(len(args))))(*args)
    # Infinities and NaN must match exactly. rtol: at -40 SciPy's log_ndtr is closer to the
    # exact value (-804.60844201375379, derivative 40.0249688472073) than JAX's.
    np.testing.assert_allclose(out, value, rtol=1e-10)
    np.testing.assert_allclose(np.array(got, dtype=float), np.array(g), rtol=1e-10)


# --------------------------------------------------------------------------- vmap, jit

@pytest.mark.parametrize("in_axes", [0, 1])
@pytest.mark.parametrize("name", ["erf", "gammaln", "ndtri", "log_ndtr"])
def test_unary_vmap_matches_loop(rng, name, in_axes):
    f, _, dom = UNARY[name]
    x = uniform(rng, dom, (3, 4))
    close(vmap(f, in_axes)(x), loop_vmap(f, in_axes, x))
    close(vmap(grad(lambda v: f(v).sum()), in_axes)(x),
          loop_vmap(grad(lambda v: f(v).sum()), in_axes, x))


@pytest.mark.parametrize("in_axes", [(0, 0), (0, None), (None, 1), (1, 0)])
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_vmap_matches_loop(rng, name, in_axes):
    f, _, dx, dy = BINARY[name]
    x = uniform(rng, dx, (3, 3) if in_axes[0] is not None else (3,))
    y = uniform(rng, dy, (3, 3) if in_axes[1] is not None else (3,))
    close(vmap(f, in_axes)(x, y), loop_vmap(f, in_axes, x, y))
    g = grad(lambda a, b: f(a, b).sum(), (0, 1))
    close(vmap(g, in_axes)(x, y), loop_vmap(g, in_axes, x, y))


def test_total_gradient_under_vmap_with_reduce_axes(rng):
    a, x = uniform(rng, (0.5, 3), (3,)), uniform(rng, (0.5, 3), (5, 3))
    f = lambda a, x: sp.xlogy(a, x).sum() + sp.gammaln(a * x).sum()
    total = vmap(grad(f, reduce_axes=("b",)), in_axes=(None, 0), out_axes=None, axis_name="b")(a, x)
    close(total, sum(grad(f)(a, xi) for xi in x), rtol=1e-12)


def test_jit_matches_eager(rng):
    x = uniform(rng, (0.2, 0.8), (4,))

    def f(x):
        return (sp.erfinv(x) + sp.ndtri(x) * sp.gammaln(x + 1) + sp.xlogy(x, 1 - x)
                + sp.logsumexp(x) + sp.log_softmax(x)).sum()
    close(jit(f)(x), f(x))
    close(jit(grad(f))(x), grad(f)(x))


def test_forward_mode_matches_reverse(rng):
    x = uniform(rng, (0.5, 3), (3,))
    t = np.eye(3)
    f = lambda v: sp.digamma(v) * sp.betaln(v, 2.0)
    fwd = np.stack([jvp(f, (x,), (ti,))[1] for ti in t])
    close(fwd.T, spmdgrad.jacrev(f)(x))


# --------------------------------------------------------------------------- logsumexp, softmax

def test_logsumexp_matches_scipy(rng):
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    for axis in (None, 0, 1, (0, 1), -1):
        for keepdims in (False, True):
            close(sp.logsumexp(a, axis=axis, keepdims=keepdims),
                  ss.logsumexp(a, axis=axis, keepdims=keepdims))
            out, sign = sp.logsumexp(a, axis=axis, b=b, keepdims=keepdims, return_sign=True)
            ref, rsign = ss.logsumexp(a, axis=axis, b=b, keepdims=keepdims, return_sign=True)
            close(out, ref)
            close(sign, rsign)
    with np.errstate(invalid="ignore"):
        plain = sp.logsumexp(a, axis=1, b=b)
    np.testing.assert_array_equal(np.isnan(plain), ss.logsumexp(a, axis=1, b=b, return_sign=True)[1] < 0)


def test_logsumexp_grads(rng):
    a, b = rng.standard_normal((3, 4)), rng.uniform(0.5, 2, (3, 4))
    check_grads(lambda a: sp.logsumexp(a, axis=1), (a,), order=2)
    check_grads(lambda a, b: sp.logsumexp(a, axis=0, b=b, keepdims=True), (a, b), order=2)
    b2 = rng.standard_normal((3, 4))
    check_grads(lambda a, b: sp.logsumexp(a, axis=1, b=b, return_sign=True)[0], (a, b2), order=1)


def test_logsumexp_matches_jax_numbers():
    a = np.array([[0.5, -1.0, 2.0], [0.1, 0.2, -0.3]])
    b = np.array([[1.0, -2.0, 0.5], [2.0, 0.0, 1.0]])
    ga, gb = grad(lambda a, b: sp.logsumexp(a, axis=1, b=b, return_sign=True)[0].sum(), (0, 1))(a, b)
    close(ga, [[0.35783498, -0.15968755, 0.80185257], [0.74897389, 0.0, 0.25102611]], rtol=1e-7)
    close(gb, [[0.35783498, 0.07984378, 1.60370514], [0.37448695, 0.0, 0.25102611]], rtol=1e-7)
    close(grad(lambda a: (sp.logsumexp(a, axis=0, keepdims=True) ** 2).sum())(a),
          [[1.21295946, 0.21447682, 3.80918631], [0.81307104, 0.71208812, 0.38190462]], rtol=1e-7)
    w = np.array([[True, False, True], [False, False, False]])
    with np.errstate(divide="ignore", invalid="ignore"):   # the all-masked row
        close(sp.logsumexp(a, axis=1, where=w), [2.20141328, -np.inf], rtol=1e-8)
        gw = grad(lambda a: sp.logsumexp(a, axis=1, where=w)[0])(a)
    close(gw,
          [[0.18242552, 0.0, 0.81757448], [0.0, 0.0, 0.0]], rtol=1e-7)


LSE_EDGES = [  # (a, b, JAX value, JAX gradient in a, JAX gradient in b or None)
    ([-np.inf, -np.inf], None, -np.inf, [np.nan, np.nan], None),
    ([-np.inf, 1.0], None, 1.0, [0.0, 1.0], None),
    ([np.inf, 1.0], None, np.inf, [np.nan, 0.0], None),
    ([1.0, np.inf, 3.0], [1.0, 0.0, 2.0], 3.7586236756795133,
     [0.06337894, 0.0, 0.93662106], [0.06337894, 0.0, 0.46831053]),
    ([1.0, 2.0, 3.0], [0.0, 0.0, 0.0], -np.inf, [0.0, 0.0, 0.0], [np.nan, np.nan, np.nan]),
]


@pytest.mark.parametrize("a,b,value,ga,gb", LSE_EDGES)
def test_logsumexp_edges_follow_jax(a, b, value, ga, gb):
    a = np.array(a)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if b is None:
            out, got_a = sp.logsumexp(a), grad(sp.logsumexp)(a)
        else:
            b = np.array(b)
            f = lambda a, b: sp.logsumexp(a, b=b)
            out = f(a, b)
            got_a, got_b = grad(f, (0, 1))(a, b)
            np.testing.assert_allclose(got_b, gb, rtol=1e-7)
    np.testing.assert_array_equal(out, value) if not np.isfinite(value) else close(out, value)
    np.testing.assert_allclose(got_a, ga, rtol=1e-7)


def test_softmax_matches_scipy_and_jax(rng):
    x = rng.standard_normal((2, 3, 4))
    for axis in (None, 0, -1, (1, 2)):
        close(sp.softmax(x, axis=axis), ss.softmax(x, axis=axis))
        close(sp.log_softmax(x, axis=axis), ss.log_softmax(x, axis=axis))
    check_grads(lambda v: sp.softmax(v, axis=1), (x,), order=2)
    check_grads(lambda v: sp.log_softmax(v), (x,), order=2)
    a = np.array([[0.5, -1.0, 2.0], [0.1, 0.2, -0.3]])
    w = np.arange(6.0).reshape(2, 3)
    close(grad(lambda a: (sp.softmax(a) * w).sum())(a),
          [[-0.28667422, -0.03447172, -0.0999812], [0.07365066, 0.17931993, 0.16815655]], rtol=1e-7)
    close(grad(lambda a: (sp.log_softmax(a, axis=0) * w).sum())(a),
          [[-1.79606298, -0.15737608, -4.36213927], [1.79606298, 0.15737608, 4.36213927]], rtol=1e-7)
    close(vmap(lambda v: sp.softmax(v, axis=0), 1)(x), loop_vmap(lambda v: sp.softmax(v, axis=0), 1, x))


# --------------------------------------------------------------------------- errors, optional SciPy

def test_clear_errors():
    with pytest.raises(TypeError, match="erf: complex inputs are not supported"):
        sp.erf(np.array([1j]))
    with pytest.raises(TypeError, match="polygamma: n must be a concrete non-negative integer"):
        sp.polygamma(-1, 1.0)
    with pytest.raises(ValueError, match=r"xlogy: operands with shapes \(2,\) \(3,\)"):
        sp.xlogy(np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match="log_ndtr: series_order"):
        sp.log_ndtr(1.0, series_order=-1)


def test_import_without_scipy_gives_install_hint():
    code = ("import sys; sys.modules['scipy'] = None\n"
            "import spmdgrad, spmdgrad.numpy\n"
            "try:\n    import spmdgrad.scipy\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install spmdgrad[scipy]" in out.stdout


def test_scipy_namespace_is_an_attribute_of_spmdgrad():
    # As `jax.scipy` after `import jax`: loaded on first attribute access.
    code = ("import spmdgrad as jax\n"
            "print(float(jax.scipy.special.expit(0.0)), float(jax.scipy.stats.norm.cdf(0.0)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0.5", "0.5"]
    code = ("import sys; sys.modules['scipy'] = None\nimport spmdgrad\n"
            "try:\n    spmdgrad.scipy\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install spmdgrad[scipy]" in out.stdout


def test_pmap_matches_vmap(rng):
    # Single-process pmap runs the same batching rules as vmap (MPI ranks add only collectives).
    x = uniform(rng, (0.2, 0.8), (4, 3))
    f = lambda v: sp.log_ndtr(v) * sp.erfinv(v) + sp.xlogy(v, 1 - v)  # noqa: E731
    close(spmdgrad.pmap(f)(x), vmap(f)(x))
    g = grad(lambda v: f(v).sum())
    close(spmdgrad.pmap(g)(x), vmap(g)(x))
