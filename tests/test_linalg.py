"""spmdgrad.numpy.linalg: values against numpy.linalg, derivatives against finite
differences, vmap against a Python loop, per-example VJPs under vmap against the
summed loop, and error messages."""
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import spmdgrad
import spmdgrad.numpy as jnp
from spmdgrad import grad, jvp, make_jaxpr, vjp, vmap
from spmdgrad.test_util import check_grads, loop_vmap

la = jnp.linalg
HYP = settings(max_examples=15, deadline=None)


def well_conditioned(rng, shape, dtype=np.float64):
    """Matrices near 2*I: singular values well inside [1, 3] for n <= 5."""
    n = shape[-1]
    m = rng.standard_normal(shape)
    if np.issubdtype(dtype, np.complexfloating):
        m = m + 1j * rng.standard_normal(shape)
    return (2 * np.eye(n) + 0.4 * m / np.sqrt(n)).astype(dtype)


def spd(rng, shape, dtype=np.float64):
    """Hermitian positive-definite matrices with eigenvalues >= 1."""
    m = well_conditioned(rng, shape, dtype)
    return (m @ np.conj(np.swapaxes(m, -1, -2)) / 4 + np.eye(shape[-1])).astype(dtype)


def rand(rng, shape, dtype=np.float64):
    x = rng.standard_normal(shape)
    if np.issubdtype(dtype, np.complexfloating):
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


def close(a, b, **kw):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-10, atol=1e-12, **kw)


# --------------------------------------------------------------------------- forward values

@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4), (2, 1, 2, 2)])
def test_values_match_numpy(rng, shape, dtype):
    a = well_conditioned(rng, shape, dtype)
    close(la.inv(a), np.linalg.inv(a))
    close(la.det(a), np.linalg.det(a))
    sign, logdet = la.slogdet(a)
    ref = np.linalg.slogdet(a)
    close(sign, ref.sign)
    close(logdet, ref.logabsdet)
    p = spd(rng, shape, dtype)
    close(la.cholesky(p), np.linalg.cholesky(p))
    close(la.cholesky(p, upper=True), np.linalg.cholesky(p, upper=True))


def test_value_dtypes(rng):
    a32 = well_conditioned(rng, (3, 3), np.float32)
    assert la.inv(a32).dtype == np.float32
    assert la.slogdet(a32.astype(np.complex64)).logabsdet.dtype == np.float32
    ai = np.array([[2, 1], [1, 3]])
    assert la.inv(ai).dtype == np.float64
    close(la.det(ai), np.linalg.det(ai))


@pytest.mark.parametrize("ashape,bshape", [
    ((3, 3), (3,)), ((3, 3), (3, 2)), ((2, 3, 3), (3,)), ((2, 3, 3), (2, 3, 4)),
    ((2, 3, 3), (3, 1)), ((1, 3, 3), (4, 3, 2)), ((2, 1, 3, 3), (5, 3, 2))])
def test_solve_values_match_numpy(rng, ashape, bshape):
    a, b = well_conditioned(rng, ashape), rand(rng, bshape)
    x = la.solve(a, b)
    ref = np.linalg.solve(a, b)
    assert np.shape(x) == ref.shape
    close(x, ref)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("ord,axis", [
    (None, None), (None, 1), (2, 0), (1, -1), (np.inf, 1), (-np.inf, 0), (0, 1), (3, 1),
    (0.5, 0), ("fro", (0, 1)), (None, (1, 2)), (1, (0, 2)), (-1, (2, 0)), (np.inf, (1, 2)),
    (-np.inf, (0, 1))])
@pytest.mark.parametrize("keepdims", [False, True])
def test_norm_values_match_numpy(rng, ord, axis, keepdims, dtype):
    x = rand(rng, (3, 4, 2), dtype)
    x[0, 1, 0] = 0
    got = la.norm(x, ord=ord, axis=axis, keepdims=keepdims)
    ref = np.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)
    assert np.shape(got) == ref.shape and np.asarray(got).dtype == ref.dtype
    close(got, ref)


@pytest.mark.parametrize("ord", [None, 1, 2, np.inf, -np.inf, "fro", -1])
def test_norm_axis_none_matches_numpy(rng, ord):
    for shape in [(5,), (3, 4)]:
        if ord in ("fro", -1) and len(shape) == 1:
            continue
        if ord == 2 and len(shape) == 2:
            continue
        x = rand(rng, shape)
        close(la.norm(x, ord), np.linalg.norm(x, ord))
        close(la.norm(x, ord, keepdims=True), np.linalg.norm(x, ord, keepdims=True))


# --------------------------------------------------------------------------- derivatives

@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_grads_inv_det(rng, dtype):
    for shape in [(3, 3), (2, 2, 2)]:
        a = well_conditioned(rng, shape, dtype)
        check_grads(la.inv, (a,), order=2)
        check_grads(la.det, (a,), order=2)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_grads_solve(rng, dtype):
    for ashape, bshape in [((3, 3), (3,)), ((3, 3), (3, 2)), ((2, 3, 3), (2, 3, 2)),
                           ((2, 3, 3), (3,)), ((1, 2, 2), (3, 2, 1))]:
        a, b = well_conditioned(rng, ashape, dtype), rand(rng, bshape, dtype)
        check_grads(la.solve, (a, b), order=2)


def test_grads_slogdet(rng):
    a = well_conditioned(rng, (2, 3, 3))
    a[0] = a[0][::-1]  # one negative determinant
    check_grads(lambda a: la.slogdet(a).logabsdet, (a,), order=2)
    check_grads(lambda a: la.slogdet(a), (a,), order=2)  # the sign has zero derivative
    g = grad(lambda a: jnp.sum(la.slogdet(a).logabsdet))(a)
    close(g, np.swapaxes(np.linalg.inv(a), -1, -2))


def test_grads_slogdet_complex_forward(rng):
    # slogdet is not holomorphic: check its (R-linear) JVP against finite differences.
    a = well_conditioned(rng, (2, 3, 3), np.complex128)
    check_grads(lambda a: la.slogdet(a), (a,), order=2, modes=("fwd",))
    sign, logdet = la.slogdet(a)
    close(sign * np.exp(logdet), np.linalg.det(a))


@pytest.mark.parametrize("upper", [False, True])
def test_grads_cholesky(rng, upper):
    for shape in [(3, 3), (2, 4, 4)]:
        p = spd(rng, shape)
        check_grads(lambda p: la.cholesky(p, upper=upper), (p,), order=2)


def test_grads_cholesky_complex_forward(rng):
    p = spd(rng, (3, 3), np.complex128)
    check_grads(la.cholesky, (p,), order=1, modes=("fwd",))


def test_cholesky_gradient_is_symmetric(rng):
    p = spd(rng, (4, 4))
    g = grad(lambda p: jnp.sum(jnp.sin(la.cholesky(p))))(p)
    close(g, g.T)


@pytest.mark.parametrize("ord,axis", [(None, None), (2, 1), (1, 1), (np.inf, 0), (-np.inf, 1),
                                      (3, 0), ("fro", (0, 1)), (1, (0, 1)), (np.inf, (1, 0)),
                                      (-1, (0, 1))])
def test_grads_norm(rng, ord, axis):
    x = rand(rng, (3, 4))
    check_grads(lambda x: la.norm(x, ord, axis), (x,), order=2)


def test_grads_norm_complex_forward(rng):
    x = rand(rng, (3, 4), np.complex128)
    check_grads(lambda x: la.norm(x, axis=1), (x,), order=2, modes=("fwd",))
    # the contract's conjugate convention (grad |z|**2 == 2 conj(z)): grad |z| == conj(z) / |z|
    close(grad(la.norm)(x[0]), np.conj(x[0]) / np.linalg.norm(x[0]))


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_norm_derivative_at_zero_is_zero(dtype):
    z = np.zeros(3, dtype)
    assert np.all(np.asarray(grad(la.norm)(z)) == 0)
    h = spmdgrad.jacfwd(spmdgrad.jacrev(la.norm))(np.zeros(3))
    assert np.all(np.asarray(h) == 0)
    assert np.all(np.asarray(grad(lambda x: la.norm(x, 3))(np.zeros(3))) == 0)
    m = np.zeros((2, 2))
    assert np.all(np.asarray(grad(lambda m: la.norm(m, "fro"))(m)) == 0)
    # a zero row among non-zero rows: that row's gradient is 0, the others are exact
    x = np.array([[0.0, 0.0], [3.0, 4.0]])
    g = grad(lambda x: jnp.sum(la.norm(x, axis=1)))(x)
    close(g, [[0, 0], [0.6, 0.8]])


def test_grads_composed(rng):
    # A function mixing every op, through reverse-over-reverse and forward-over-reverse.
    a, b = well_conditioned(rng, (3, 3)), rand(rng, (3,))

    def f(a, b):
        x = la.solve(a, b)
        p = a @ a.T + jnp.eye(3)
        return (la.det(a) * la.norm(x) + jnp.sum(la.inv(a) @ x)
                + la.slogdet(p).logabsdet + jnp.sum(la.cholesky(p)))
    check_grads(f, (a, b), order=2)
    h = spmdgrad.hessian(f)(a, b)
    assert np.shape(h) == (3, 3, 3, 3) and np.all(np.isfinite(h))


# --------------------------------------------------------------------------- vmap

def _stack_at(x, axis):
    return np.moveaxis(x, 0, axis)


UNARY = {
    "inv": (la.inv, well_conditioned),
    "det": (la.det, well_conditioned),
    "slogdet": (lambda a: tuple(la.slogdet(a)), well_conditioned),
    "cholesky": (la.cholesky, spd),
    "norm": (lambda a: la.norm(a, axis=-1), rand),
    "norm_fro": (lambda a: la.norm(a, "fro", axis=(-2, -1)), rand),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@HYP
@given(batch=st.integers(1, 4), n=st.integers(1, 4), lead=st.integers(0, 1),
       pos=st.integers(0, 3), seed=st.integers(0, 2**31))
def test_vmap_unary_matches_loop(name, batch, n, lead, pos, seed):
    f, make = UNARY[name]
    rng = np.random.default_rng(seed)
    a = make(rng, (batch,) + (2,) * lead + (n, n))
    ax = pos % (a.ndim)
    a = _stack_at(a, ax)
    got = vmap(f, in_axes=ax)(a)
    ref = loop_vmap(f, ax, a)
    np.testing.assert_allclose(np.asarray(got), np.asarray(ref), rtol=1e-10, atol=1e-12)
    # and the batched JVP (tangent program batched too)
    t = rand(rng, a.shape)
    def f_jvp(a, t):
        return jvp(f, (a,), (t,))[1]
    np.testing.assert_allclose(np.asarray(vmap(f_jvp, in_axes=ax)(a, t)),
                               np.asarray(loop_vmap(f_jvp, (ax, ax), a, t)), rtol=1e-9, atol=1e-10)


@HYP
@given(batch=st.integers(1, 4), n=st.integers(1, 4), k=st.integers(0, 3), lead=st.integers(0, 1),
       a_ax=st.integers(-1, 3), b_ax=st.integers(-1, 3), seed=st.integers(0, 2**31))
def test_vmap_solve_matches_loop(batch, n, k, lead, a_ax, b_ax, seed):
    rng = np.random.default_rng(seed)
    L = (2,) * lead
    a = well_conditioned(rng, (batch,) + L + (n, n))
    b = rand(rng, (batch,) + ((n,) if k == 0 else L + (n, k)))  # k == 0: vector b
    if a_ax < 0 and b_ax < 0:
        b_ax = 0
    axes = []
    args = []
    for x, ax in ((a, a_ax), (b, b_ax)):
        if ax < 0:
            args.append(x[0])
            axes.append(None)
        else:
            ax = ax % x.ndim
            args.append(_stack_at(x, ax))
            axes.append(ax)
    got = vmap(la.solve, in_axes=tuple(axes))(*args)
    ref = loop_vmap(la.solve, tuple(axes), *args)
    np.testing.assert_allclose(np.asarray(got), np.asarray(ref), rtol=1e-10, atol=1e-12)
    # the JVP in both operands, batched
    ts = [rand(rng, np.shape(x)) for x in args]
    def f_jvp(a, b, ta, tb):
        return jvp(la.solve, (a, b), (ta, tb))[1]
    np.testing.assert_allclose(np.asarray(vmap(f_jvp, in_axes=tuple(axes) * 2)(*args, *ts)),
                               np.asarray(loop_vmap(f_jvp, tuple(axes) * 2, *args, *ts)),
                               rtol=1e-9, atol=1e-10)


def test_vmap_solve_shared_matrix_is_one_solve(rng):
    # A shared matrix with batched right-hand sides is factorised once, not per example.
    a, b = well_conditioned(rng, (3, 3)), rand(rng, (5, 3))
    jaxpr = make_jaxpr(vmap(la.solve, in_axes=(None, 0)))(a, b)
    assert [e.prim.name for e in jaxpr.eqns].count("solve") == 1
    close(vmap(la.solve, in_axes=(None, 0))(a, b), np.linalg.solve(a, b.T).T)


def test_vmap_of_grad_matches_loop(rng):
    a = _stack_at(well_conditioned(rng, (3, 2, 2)), 1)
    f = grad(lambda a: la.det(a) + la.slogdet(a).logabsdet)
    np.testing.assert_allclose(vmap(f, in_axes=1)(a), loop_vmap(f, 1, a), rtol=1e-10)


# --------------------------------------------------------------------------- per-example VJP

REDUCE = {
    "inv": (lambda w, x: la.inv(w + x), well_conditioned, lambda r, n: 0.1 * rand(r, (n, n))),
    "solve": (lambda w, x: la.solve(w, x), well_conditioned, lambda r, n: rand(r, (n,))),
    "solve_a": (lambda w, x: la.solve(w + jnp.reshape(x, (-1, 1)) * x, x), well_conditioned,
                lambda r, n: 0.2 * rand(r, (n,))),
    "det": (lambda w, x: la.det(w @ x), well_conditioned, lambda r, n: well_conditioned(r, (n, n))),
    "slogdet": (lambda w, x: la.slogdet(w + x).logabsdet, well_conditioned,
                lambda r, n: 0.1 * rand(r, (n, n))),
    "cholesky": (lambda w, x: la.cholesky(w + jnp.reshape(x, (-1, 1)) * x), spd, lambda r, n: rand(r, (n,))),
    "norm": (lambda w, x: la.norm(w @ x), rand, lambda r, n: rand(r, (n,))),
    "norm_inf": (lambda w, x: la.norm(w * x, np.inf, axis=(0, 1)), rand, lambda r, n: rand(r, (n,))),
}


@pytest.mark.parametrize("name", sorted(REDUCE))
@HYP
@given(batch=st.integers(1, 4), n=st.integers(1, 4), seed=st.integers(0, 2**31))
def test_per_example_vjp_reduced_equals_summed_loop(name, batch, n, seed):
    f, make_w, make_x = REDUCE[name]
    rng = np.random.default_rng(seed)
    w = make_w(rng, (n, n))
    xs = np.stack([make_x(rng, n) for _ in range(batch)])
    out0 = f(w, xs[0])
    cts = rand(rng, (batch,) + np.shape(out0))

    total = vmap(lambda x, ct: vjp(f, w, x, reduce_axes=("b",))[1](ct)[0],
                 in_axes=(0, 0), out_axes=None, axis_name="b")(xs, cts)
    ref = sum(np.asarray(vjp(f, w, x)[1](ct)[0]) for x, ct in zip(xs, cts))
    np.testing.assert_allclose(np.asarray(total), ref, rtol=1e-9, atol=1e-10)

    # without reduce_axes: per-example gradients for w, and x's cotangents either way
    per = vmap(lambda x, ct: vjp(f, w, x)[1](ct), in_axes=(0, 0), axis_name="b")(xs, cts)
    ref_per = loop_vmap(lambda x, ct: vjp(f, w, x)[1](ct), (0, 0), xs, cts)
    for g, r in zip(per, ref_per):
        np.testing.assert_allclose(np.asarray(g), np.asarray(r), rtol=1e-9, atol=1e-10)


# --------------------------------------------------------------------------- errors

@pytest.mark.parametrize("op", ["inv", "det", "slogdet", "cholesky"])
@pytest.mark.parametrize("shape", [(3, 4), (3,), (2, 3, 2), ()])
def test_non_square_errors_name_op_and_shape(op, shape):
    with pytest.raises(ValueError, match=rf"{op}: .*square.*{re.escape(str(shape))}"):
        getattr(la, op)(np.ones(shape))


def test_non_square_error_under_transformations():
    with pytest.raises(ValueError, match=r"inv: .*\(3, 2\)"):
        grad(lambda a: jnp.sum(la.inv(a)))(np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"det: .*\(2, 3\)"):
        vmap(la.det)(np.ones((4, 2, 3)))


@pytest.mark.parametrize("ashape,bshape,pattern", [
    ((3, 3), (4,), r"solve: a has shape \(3, 3\) and b has shape \(4,\)"),
    ((3, 3), (2, 2), r"solve: a has shape \(3, 3\) and b has shape \(2, 2\)"),
    ((2, 3, 3), (4, 3, 1), r"solve: .*\(2, 3, 3\).*\(4, 3, 1\).*broadcast"),
    ((3, 4), (3,), r"solve: .*square.*\(3, 4\)"),
    ((3, 3), (), r"solve: a has shape \(3, 3\) and b has shape \(\)"),
])
def test_solve_shape_errors(ashape, bshape, pattern):
    with pytest.raises(ValueError, match=pattern):
        la.solve(np.ones(ashape), np.ones(bshape))


def test_primitive_level_shape_errors():
    # The strict primitive's shape rule (checked whenever it is traced).
    from spmdgrad.primitives import linalg as prim
    with pytest.raises(ValueError, match=r"solve: .*\(2, 3, 3\).*\(3, 1\)"):
        make_jaxpr(prim.solve)(np.eye(3)[None].repeat(2, 0), np.ones((3, 1)))
    with pytest.raises(TypeError, match=r"solve: .*float64, complex128"):
        make_jaxpr(prim.solve)(np.eye(2), np.ones((2, 1), np.complex128))
    with pytest.raises(ValueError, match=r"cholesky: .*square.*\(2, 3\)"):
        make_jaxpr(prim.cholesky)(np.ones((2, 3)))
    with pytest.raises(TypeError, match=r"inv: .*float or complex.*int64"):
        make_jaxpr(prim.inv)(np.eye(2, dtype=np.int64))


def test_numerical_failures_name_the_op():
    with pytest.raises(la.LinAlgError, match=r"cholesky: .*positive definite.*\(2, 2\)"):
        la.cholesky(np.array([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(la.LinAlgError, match=r"inv: .*[Ss]ingular"):
        la.inv(np.zeros((2, 2)))
    with pytest.raises(la.LinAlgError, match=r"solve: .*[Ss]ingular"):
        la.solve(np.zeros((2, 2)), np.ones(2))


@pytest.mark.parametrize("shape,ord,axis,error,pattern", [
    ((2, 3), "fro", 0, ValueError, r"norm: invalid order 'fro' for a vector"),
    ((3,), "nuc", None, ValueError, r"norm: invalid order 'nuc' for a vector norm"),
    ((2, 3), 3, (0, 1), ValueError, r"norm: invalid order 3 for a matrix"),
    ((2, 3, 4), None, (0, 1, 2), ValueError, r"norm: axis must be an int or a pair"),
    ((2, 3, 4), 1, None, ValueError,
     r"norm: ord=1 with axis=None needs a 1-D or 2-D array, got shape \(2, 3, 4\)"),
    ((2, 3), None, 2, ValueError, r"norm: axis 2 is out of bounds"),
])
def test_norm_errors(shape, ord, axis, error, pattern):
    with pytest.raises(error, match=pattern):
        la.norm(np.ones(shape), ord, axis)



# --------------------------------------------------------------------------- det at singular matrices

RANK2 = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])   # rank n-1
RANK1 = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [3.0, 6.0, 9.0]])   # rank n-2


def _low_rank(rng, n, rank, dtype=np.float64):
    return (rand(rng, (n, rank), dtype) @ rand(rng, (rank, n), dtype)).astype(dtype)


def test_det_gradient_at_singular_matrices_is_the_adjugate():
    # Raised LinAlgError (inv of a singular matrix). Numbers from jax.grad(jnp.linalg.det).
    np.testing.assert_allclose(grad(la.det)(RANK2), [[-3.0, 6.0, -3.0], [6.0, -12.0, 6.0],
                                                    [-3.0, 6.0, -3.0]], rtol=1e-13)
    np.testing.assert_allclose(grad(la.det)(RANK1), np.zeros((3, 3)), atol=1e-13)
    np.testing.assert_allclose(grad(la.det)(np.zeros((3, 3))), np.zeros((3, 3)), atol=0)
    # jvp along the matrix itself: d det = tr(adj(A) A) = 3 det(A) = 0 (JAX: 0).
    _, t = jvp(la.det, (RANK2,), (RANK2,))
    assert abs(t) < 1e-12


def test_det_hessian_at_singular_matrices_matches_jax():
    # jax.hessian(jnp.linalg.det) at RANK2 / RANK1, entries [0, 0] and [1, 2].
    h2 = spmdgrad.hessian(la.det)(RANK2)
    np.testing.assert_allclose(h2[0, 0], [[0, 0, 0], [0, 9, -8], [0, -6, 5]], atol=1e-13)
    np.testing.assert_allclose(h2[1, 2], [[-8, 7, 0], [0, 0, 0], [2, -1, 0]], atol=1e-13)
    h1 = spmdgrad.hessian(la.det)(RANK1)
    np.testing.assert_allclose(h1[0, 0], [[0, 0, 0], [0, 9, -6], [0, -6, 4]], atol=1e-13)
    np.testing.assert_allclose(h1[1, 2], [[-6, 3, 0], [0, 0, 0], [2, -1, 0]], atol=1e-13)
    # 2x2 zero matrix: det = ad - bc, so the Hessian is the constant [[0,0,0,1],...].
    h0 = spmdgrad.hessian(la.det)(np.zeros((2, 2))).reshape(4, 4)
    np.testing.assert_array_equal(h0, [[0, 0, 0, 1], [0, 0, -1, 0], [0, -1, 0, 0], [1, 0, 0, 0]])


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("n, rank", [(3, 2), (4, 2), (4, 3), (2, 0), (1, 0)])
def test_det_derivatives_at_low_rank_by_finite_differences(rng, n, rank, dtype):
    a = _low_rank(rng, n, rank, dtype) if rank else np.zeros((n, n), dtype)
    check_grads(la.det, (a,), order=2)
    adj = spmdgrad.primitives.linalg.adjugate(a)
    close(adj @ a, np.linalg.det(a) * np.eye(n))
    close(a @ adj, np.linalg.det(a) * np.eye(n))


def test_det_gradient_of_a_batch_with_one_singular_matrix(rng):
    # One singular matrix failed the whole batch.
    a = np.stack([well_conditioned(rng, (3, 3)), RANK2, _low_rank(rng, 3, 1), well_conditioned(rng, (3, 3))])
    got = vmap(grad(la.det))(a)
    np.testing.assert_allclose(got, loop_vmap(grad(la.det), 0, a), rtol=1e-12, atol=1e-13)
    for i in (0, 3):  # non-singular: det(A) inv(A)^T
        close(got[i], np.linalg.det(a[i]) * np.linalg.inv(a[i]).T)
    close(got[1], grad(la.det)(RANK2))
    hess = vmap(spmdgrad.hessian(la.det))(a)
    np.testing.assert_allclose(hess, loop_vmap(spmdgrad.hessian(la.det), 0, a), rtol=1e-12, atol=1e-12)
    jitted = spmdgrad.jit(vmap(grad(la.det)))(a)
    np.testing.assert_allclose(jitted, got, rtol=1e-14, atol=1e-15)


def test_det_adjugate_agrees_with_det_times_inverse(rng):
    a = well_conditioned(rng, (2, 4, 4), np.complex128)
    close(spmdgrad.primitives.linalg.adjugate(a), np.linalg.det(a)[:, None, None] * np.linalg.inv(a))


def test_det_third_derivative_is_a_clear_error():
    with pytest.raises(NotImplementedError, match="order 3"):
        spmdgrad.jacfwd(spmdgrad.hessian(la.det))(RANK2)
