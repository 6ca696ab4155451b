"""Decompositions in spmdgrad.numpy.linalg: values against NumPy, derivatives against finite
differences (on sign/phase-invariant functions where the decomposition is not unique) and
stored JAX numbers, vmap against a loop, jit against eager."""
import numpy as np
import pytest

import spmdgrad
import spmdgrad.numpy as jnp
from spmdgrad.test_util import check_grads, loop_vmap
from spmdgrad.tree_util import tree_leaves

rng = np.random.default_rng(1)
la = jnp.linalg


def _rand(*shape, cplx=False):
    x = rng.standard_normal(shape)
    return x + 1j * rng.standard_normal(shape) if cplx else x


def _herm(n, cplx=False, lead=()):
    x = _rand(*lead, n, n, cplx=cplx)
    return x + np.conj(np.swapaxes(x, -1, -2))


def _sq_abs(x):
    return jnp.real(x * jnp.conj(x))


# --------------------------------------------------------------------------- stored JAX numbers
# JAX 0.10.2, jax_enable_x64 (script: jax.grad of the same functions on these matrices).
A = np.array([[2.0, 1.0, 0.5], [1.0, 3.0, -0.3], [0.5, -0.3, 1.5]])
B = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.25]])
C = np.array([[1.0, 2.0, 0.0], [0.5, -1.0, 3.0], [2.0, 0.1, 1.0]])
R1 = np.array([[1.0, 2.0], [2.0, 4.0], [0.0, 0.0]])   # rank 1
AC = A + 1j * np.array([[0, 0.5, -0.2], [-0.5, 0, 0.3], [0.2, -0.3, 0]])
CC = C + 1j * np.array([[0.3, -0.2, 0.1], [0.0, 0.5, -0.4], [0.2, 0.1, 0.0]])
JAX_EIGVALSH_TOP = [[0.2772993082307557, 0.44766078809273807, 0.002054431719144628], [0.44766078809273807,
    0.7226854710688551, 0.0033165914777893374], [0.002054431719144628, 0.0033165914777893374,
    1.5220700388892745e-05]]
JAX_EIGVALSH_SUMSQ = [[5.323523523275961, 5.659113698672186, 1.7395530907180128], [5.659113698672186,
    10.971457696218724, -1.0213728029719797], [1.7395530907180128, -1.0213728029719797, 2.2312478192985856]]
JAX_EIGH_VEC = [[0.6061726758920718, -0.2853291963574845, 0.02149267676407457], [-0.2853291963574845,
    0.12176006764054563, -0.10573212757340023], [0.02149267676407457, -0.10573212757340023,
    -0.7279327435326173]]
JAX_SVD_S = [[[0.20289543784932393, -0.0333013875816645], [0.9557108442049915, -0.1568615715376779],
    [0.13862891863791404, -0.022753273304334146]], [[0.15595366313970482, 0.9501792286985179],
    [-0.036579707654050914, -0.22286926581267577], [0.02392961402629897, 0.14579601235909145]]]
JAX_SVD_U = [[-0.053114220981463525, -0.09128352891242875], [-0.031868532588877334, -0.05477011734745819],
    [0.2974396374961888, 0.511187761909601]]
JAX_PINV = [[-0.8433025866655514, -0.5374370071914925], [0.13191575851411655, 0.06433486169977451],
    [0.12004949755202338, 0.7524345263359256]]
JAX_PINV_RANKDEF = [[-0.05119999999999997, -0.04639999999999995], [-0.12639999999999993,
    -0.1407999999999999], [0.09599999999999996, 0.19199999999999992]]
JAX_EIGVALS = [[1.9999999999999998, 0.0, 5.551115123125783e-17], [-7.861643684047085e-17,
    2.0000000000000004, -4.353611798123725e-17], [2.220446049250313e-16, -4.440892098500626e-16,
    1.9999999999999998]]
JAX_QR = [[1.0756334391539215, 3.655148183498395], [6.495199109525458, -2.206911089900962],
    [-0.12246153546059269, 2.4311701724089896]]
JAX_QR_COMPLETE = [[-0.8127199087481092, -0.39202592618662246], [0.8909985300939706, -0.23521555571197353],
    [-3.720551363067603, 2.195345186645078]]
JAX_NORM2 = [[0.20289543784932393, -0.0333013875816645], [0.9557108442049915, -0.1568615715376779],
    [0.13862891863791404, -0.022753273304334146]]
JAX_NORMNUC = [[0.3588491009890288, 0.9168778411168534], [0.9191311365509406, -0.3797308373503537],
    [0.16255853266421302, 0.12304273905475731]]
JAX_NORMM2 = [[0.15595366313970482, 0.9501792286985179], [-0.036579707654050914, -0.22286926581267577],
    [0.02392961402629897, 0.14579601235909145]]
JAX_EIGH_DEGENERATE_DW = [0.0, 0.0]
JAX_EIGH_DEGENERATE_DV = [[np.nan, np.inf], [np.inf, np.nan]]
JAX_LSTSQ_A = [[-0.4860279386708716, -0.20654352165497483], [-0.3814566135142738, -0.15502946603367695],
    [0.3399557738732489, 0.3320431987936963]]
JAX_LSTSQ_B = [0.47511373078831454, 0.3902027128006171, 0.12664917115512225]
JAX_EIGH_SUM_EYE = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
JAX_EIGVALS_ABS3 = [[5.613609767276166, 18.018627588182497, 12.60440711105366], [0.5315290093599974,
    5.97636802470829, 11.950406674362982], [17.885745335842504, 0.7972935140399819, 3.52693947809453]]
JAX_EIG_VEC = [[-0.06693816048582646, 0.46428239172729274, 0.9619652573333656], [-0.656176838641485,
    2.163237398227466, 0.024246393332795404], [1.8735888152136648, 0.8504895134761206, 1.0731671830759353]]
JAX_EIG_VEC_COMPLEX = [[(-0.00645100576655544-0.8222616002626671j),
    (-0.17019384428543427-0.3090088339980521j), (0.13391060082464-1.7727166370373668j)],
    [(-0.07771975565094502-0.22151387683141735j), (-0.05577927459073665-3.3006158207634497j),
    (0.15604444342336904-1.7798483646167051j)], [(0.05126357345347227-0.3888586194595629j),
    (0.15898957546689876+0.6527307116550378j), (-0.2517840289683193+0.9382963217101041j)]]
JAX_EIGVALSH_COMPLEX = [[(0.3995423108567208+0j), (-0.242128432966878+0.11748439881789793j),
    (-0.38239090606794024-0.1457967270960939j)], [(-0.242128432966878-0.11748439881789793j),
    (0.18127932899345017+0j), (0.1888632767646315+0.2007960023164353j)],
    [(-0.38239090606794024+0.1457967270960939j), (0.1888632767646315-0.2007960023164353j),
    (0.41917836014982834+0j)]]
JAX_SVD_COMPLEX_S = [[(0.3126921509317653-1.3457229765417609e-17j),
    (-0.1612934094533858+0.08722687020044975j), (0.39970537485755314+0.14672181899550757j)],
    [(-0.1612934094533858-0.08722687020044971j), (0.10753097165333395-1.3877787807814457e-17j),
    (-0.16524801621195478-0.1871819011244774j)], [(0.39970537485755325-0.14672181899550765j),
    (-0.16524801621195484+0.18718190112447752j), (0.5797768774149005+0j)]]


def _eig_weighted(a):
    # Permutation-invariant in the eigenpairs, but it sees the eigenvectors' normalisation.
    w, v = la.eig(a)
    return w * jnp.sum(v ** 2 * np.arange(1.0, 4.0)[:, None], 0)


def test_derivatives_match_jax():
    ar = np.arange(3.0)
    cases = [
        (lambda a: la.eigvalsh(a)[-1], A, JAX_EIGVALSH_TOP),
        (lambda a: jnp.sum(la.eigvalsh(a) ** 2 * ar), A, JAX_EIGVALSH_SUMSQ),
        (lambda a: jnp.sum(la.eigh(a)[1][:, 0] ** 2 * ar), A, JAX_EIGH_VEC),
        (lambda a: jnp.sum(la.eigvalsh(a)), np.eye(3), JAX_EIGH_SUM_EYE),
        (lambda a: jnp.sum(_sq_abs(la.svd(a, full_matrices=False)[0]) * np.arange(6.0).reshape(3, 2)),
         B, JAX_SVD_U),
        (lambda a: jnp.sum(la.pinv(a) * np.arange(6.0).reshape(2, 3)), B, JAX_PINV),
        (lambda a: jnp.sum(la.pinv(a) * np.arange(6.0).reshape(2, 3)), R1, JAX_PINV_RANKDEF),
        (lambda a: jnp.sum(la.qr(a)[0] * np.arange(6.0).reshape(3, 2)) + jnp.sum(la.qr(a)[1] ** 2),
         B, JAX_QR),
        (lambda a: jnp.sum(la.qr(a, "complete")[0] * np.arange(9.0).reshape(3, 3)), B, JAX_QR_COMPLETE),
        (lambda a: la.norm(a, 2), B, JAX_NORM2),
        (lambda a: la.norm(a, -2), B, JAX_NORMM2),
        (lambda a: la.norm(a, "nuc"), B, JAX_NORMNUC),
        (lambda a: jnp.sum(jnp.abs(la.eigvals(a)) ** 3), C, JAX_EIGVALS_ABS3),
        (lambda a: jnp.sum(jnp.real(_eig_weighted(a))), C, JAX_EIG_VEC),
        (lambda a: jnp.sum(jnp.imag(_eig_weighted(a))), CC, JAX_EIG_VEC_COMPLEX),
        (lambda a: la.eigvalsh(a)[0], AC, JAX_EIGVALSH_COMPLEX),
        (lambda a: la.svd(a, compute_uv=False)[1], AC, JAX_SVD_COMPLEX_S),
    ]
    for f, x, want in cases:
        np.testing.assert_allclose(spmdgrad.grad(f)(x), np.array(want), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(spmdgrad.jacrev(lambda a: la.svd(a, compute_uv=False))(B), JAX_SVD_S,
                               rtol=1e-10, atol=1e-12)
    ga, gb = spmdgrad.grad(lambda a, b: jnp.sum(la.lstsq(a, b)[0] ** 2), argnums=(0, 1))(
        B, np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(ga, JAX_LSTSQ_A, rtol=1e-10)
    np.testing.assert_allclose(gb, JAX_LSTSQ_B, rtol=1e-10)


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_eigh_degenerate_matches_jax():
    # Equal eigenvalues: the eigenvalues' tangent is finite, the eigenvectors' is inf/nan as in JAX.
    t = np.array([[0.0, 1.0], [1.0, 0.0]])
    (w, v), (dw, dv) = spmdgrad.jvp(la.eigh, (np.eye(2),), (t,))
    np.testing.assert_array_equal(dw, JAX_EIGH_DEGENERATE_DW)
    assert not np.isfinite(dv).any()
    np.testing.assert_array_equal(np.isnan(dv), np.isnan(np.array(JAX_EIGH_DEGENERATE_DV)))


# --------------------------------------------------------------------------- values against NumPy

@pytest.mark.parametrize("cplx", [False, True])
def test_values_match_numpy(cplx):
    h = _herm(4, cplx, (2,))
    for uplo in ("L", "U"):
        np.testing.assert_allclose(la.eigvalsh(h, uplo), np.linalg.eigvalsh(h, uplo), atol=1e-12)
        w, v = la.eigh(h, uplo)
        wn, vn = np.linalg.eigh(h, uplo)
        np.testing.assert_allclose(w, wn, atol=1e-12)
        np.testing.assert_allclose(np.abs(v), np.abs(vn), atol=1e-10)
    x = _rand(2, 4, 4, cplx=cplx)         # not Hermitian: symmetrize_input=False reads one triangle
    for uplo in ("L", "U"):
        np.testing.assert_allclose(la.eigh(x, uplo, symmetrize_input=False)[0],
                                   np.linalg.eigh(x, uplo)[0], atol=1e-12)
    for shape in [(5, 3), (3, 5), (2, 4, 4)]:
        a = _rand(*shape, cplx=cplx)
        for fm in (True, False):
            u, s, vh = la.svd(a, full_matrices=fm)
            un, sn, vhn = np.linalg.svd(a, full_matrices=fm)
            assert u.shape == un.shape and vh.shape == vhn.shape
            np.testing.assert_allclose(s, sn, atol=1e-12)
            np.testing.assert_allclose((u[..., :s.shape[-1]] * s[..., None, :]) @ vh[..., :s.shape[-1], :], a,
                                       atol=1e-12)
        np.testing.assert_allclose(la.svd(a, compute_uv=False), np.linalg.svd(a, compute_uv=False),
                                   atol=1e-12)
        for mode in ("reduced", "complete"):
            q, r = la.qr(a, mode)
            qn, rn = np.linalg.qr(a, mode)
            np.testing.assert_allclose(q, qn, atol=1e-12)
            np.testing.assert_allclose(r, rn, atol=1e-12)
        np.testing.assert_allclose(la.qr(a, "r"), np.linalg.qr(a, "r"), atol=1e-12)
        np.testing.assert_allclose(la.pinv(a), np.linalg.pinv(a), atol=1e-12)
        for order in (2, -2, "nuc"):
            np.testing.assert_allclose(la.norm(a, order, axis=(-2, -1)),
                                       np.linalg.norm(a, order, axis=(-2, -1)), atol=1e-12)
    hs = _herm(4, cplx)
    u, s, vh = la.svd(hs, hermitian=True)
    np.testing.assert_allclose(s, np.linalg.svd(hs, compute_uv=False), atol=1e-12)
    np.testing.assert_allclose((u * s) @ vh, hs, atol=1e-12)
    np.testing.assert_allclose(la.svd(hs, compute_uv=False, hermitian=True), s, atol=1e-12)
    np.testing.assert_allclose(la.pinv(hs, hermitian=True), np.linalg.pinv(hs, hermitian=True), atol=1e-12)
    g = _rand(2, 4, 4, cplx=cplx)
    w, v = la.eig(g)
    wn, vn = np.linalg.eig(g)
    assert w.dtype == np.complex128 and v.dtype == np.complex128
    np.testing.assert_allclose(w, wn, atol=1e-12)
    np.testing.assert_allclose(v, vn, atol=1e-12)
    np.testing.assert_allclose(la.eigvals(g), np.linalg.eigvals(g), atol=1e-12)


def test_lstsq_matrix_power_rank_match_numpy():
    a, b = _rand(6, 3), _rand(6, 2)
    for bb in (b, b[:, 0]):
        x, res, rank, s = la.lstsq(a, bb)
        xn, resn, rankn, sn = np.linalg.lstsq(a, bb)
        np.testing.assert_allclose(x, xn, atol=1e-12)
        np.testing.assert_allclose(res, resn, atol=1e-12)
        assert int(rank) == rankn
        np.testing.assert_allclose(s, sn, atol=1e-12)
    wide = _rand(2, 4)
    assert la.lstsq(wide, _rand(2), numpy_resid=True)[1].shape == (0,)
    np.testing.assert_allclose(la.lstsq(wide, b[:2])[0], np.linalg.lstsq(wide, b[:2])[0], atol=1e-12)
    m = _rand(2, 3, 3)
    for n in (0, 1, 2, 3, 5, -1, -3):
        np.testing.assert_allclose(la.matrix_power(m, n), np.linalg.matrix_power(m, n),
                                   rtol=1e-10, atol=1e-12)
    assert la.matrix_power(np.array([[1, 1], [0, 1]]), 4).dtype == np.int64
    r = np.outer(_rand(4), _rand(3))
    assert int(la.matrix_rank(r)) == 1 and int(la.matrix_rank(_rand(4, 3))) == 3
    np.testing.assert_array_equal(la.matrix_rank(np.stack([r, _rand(4, 3)])), [1, 3])
    assert int(la.matrix_rank(np.zeros(3))) == 0 and int(la.matrix_rank(np.ones(3))) == 1
    assert int(la.matrix_rank(np.diag([1.0, 1e-3]), tol=1e-2)) == 1
    assert int(la.matrix_rank(np.diag([1.0, 1e-3]), rtol=1e-4)) == 2
    stack = np.stack([np.diag([1.0, 1e-3]), np.diag([1.0, 0.5])])
    np.testing.assert_array_equal(la.matrix_rank(stack, tol=np.array([1e-2, 0.6])), [1, 1])
    np.testing.assert_array_equal(spmdgrad.jit(lambda x: la.matrix_rank(x, tol=0.1))(stack), [1, 2])


def test_float32_dtypes():
    a = _rand(3, 3).astype(np.float32)
    assert la.svd(a)[1].dtype == np.float32
    assert la.eigh(a + a.T)[0].dtype == np.float32
    assert la.eig(a)[0].dtype == np.complex64
    assert la.eigvals(a).dtype == np.complex64
    assert la.pinv(a).dtype == np.float32
    assert la.qr(a)[0].dtype == np.float32


# --------------------------------------------------------------------------- finite differences

@pytest.mark.parametrize("cplx", [False, True])
def test_eigh_grads(cplx):
    h = _herm(4, cplx)
    check_grads(lambda a: la.eigvalsh(a), (h,), order=2)
    check_grads(lambda a: la.eigh(a)[0], (h,), order=2)
    check_grads(lambda a: _sq_abs(la.eigh(a)[1]), (h,), order=2)                   # sign/phase-free
    check_grads(lambda a: _sq_abs(la.eigh(a, "U", symmetrize_input=False)[1]), (_rand(4, 4, cplx=cplx),))
    check_grads(lambda a: la.eigvalsh(a, "U", symmetrize_input=False), (_rand(4, 4, cplx=cplx),))


@pytest.mark.parametrize("cplx", [False, True])
@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5)])
def test_svd_grads(shape, cplx):
    a = _rand(*shape, cplx=cplx)
    check_grads(lambda x: la.svd(x, compute_uv=False), (a,), order=2)

    def invariant(x):  # U diag(s) V^H column by column, and the projectors U U^H, V V^H
        u, s, vh = la.svd(x, full_matrices=False)
        return (u * jnp.sin(s)) @ vh, u @ jnp.conj(u.T), jnp.conj(vh.T) @ vh, _sq_abs(u), _sq_abs(vh)
    check_grads(invariant, (a,), order=2 if not cplx else 1)
    if shape[0] == shape[1]:
        check_grads(lambda x: _sq_abs(la.svd(x)[0]), (a,))       # full_matrices=True, square


def test_svd_hermitian_and_norm_grads():
    h = _herm(4)
    check_grads(lambda x: la.svd(x, hermitian=True, compute_uv=False), (h,))
    check_grads(lambda x: (lambda u, s, vh: (u * s) @ vh)(*la.svd(x, hermitian=True)), (h,))
    a = _rand(2, 3, 4)
    for order in (2, -2, "nuc"):
        check_grads(lambda x: la.norm(x, order, axis=(2, 1)), (a,), order=2)
        check_grads(lambda x: la.norm(x, order, axis=(0, 2), keepdims=True), (a,))


@pytest.mark.parametrize("cplx", [False, True])
def test_eig_grads(cplx):
    g = _rand(4, 4, cplx=cplx)
    check_grads(la.eigvals, (g,), order=2)
    check_grads(lambda x: la.eig(x)[0], (g,))
    check_grads(lambda x: la.eig(x)[1], (g,), order=2 if not cplx else 1)   # LAPACK's normalisation


@pytest.mark.parametrize("cplx", [False, True])
@pytest.mark.parametrize("shape,mode", [((5, 3), "reduced"), ((4, 4), "reduced"), ((3, 5), "reduced"),
                                        ((4, 4), "complete"), ((3, 5), "complete"), ((5, 3), "complete"),
                                        ((5, 3), "r")])
def test_qr_grads(shape, mode, cplx):
    a = _rand(*shape, cplx=cplx)
    check_grads(lambda x: la.qr(x, mode), (a,), order=2)


@pytest.mark.parametrize("cplx", [False, True])
@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 4)])
def test_pinv_lstsq_matrix_power_grads(shape, cplx):
    a = _rand(*shape, cplx=cplx)
    check_grads(la.pinv, (a,), order=2)
    b = _rand(shape[0], 2, cplx=cplx)
    check_grads(lambda x, y: la.lstsq(x, y)[0], (a, b))
    check_grads(lambda x, y: la.lstsq(x, y)[1], (a, b))
    if shape[0] == shape[1]:
        check_grads(lambda x: la.pinv(x, hermitian=True), (_herm(4, cplx),))
        for n in (3, -2):
            check_grads(lambda x: la.matrix_power(x, n), (a,), order=2)


def test_pinv_rank_deficient_is_finite():
    g = spmdgrad.grad(lambda a: jnp.sum(la.pinv(a) ** 2))(R1)
    assert np.isfinite(g).all()
    # Along a rank-preserving direction the derivative matches finite differences.
    t = np.outer([1.0, 0.5, 0.2], [1.0, 2.0])
    _, d = spmdgrad.jvp(la.pinv, (R1,), (t,))
    num = (np.linalg.pinv(R1 + 1e-6 * t) - np.linalg.pinv(R1 - 1e-6 * t)) / 2e-6
    np.testing.assert_allclose(d, num, atol=1e-6)


# --------------------------------------------------------------------------- vmap, jit

VMAP_CASES = [
    ("eigh", lambda a: la.eigh(a + jnp.swapaxes(a, -1, -2))[0]),
    ("eigh_vec", lambda a: _sq_abs(la.eigh(a + jnp.swapaxes(a, -1, -2))[1])),
    ("svd", lambda a: la.svd(a, compute_uv=False)),
    ("svd_uv", lambda a: (lambda u, s, vh: (u * s) @ vh)(*la.svd(a, full_matrices=False))),
    ("qr", lambda a: la.qr(a)),
    ("eig", lambda a: la.eig(a)),
    ("eigvals", lambda a: la.eigvals(a)),
    ("pinv", la.pinv),
    ("norm", lambda a: la.norm(a, "nuc")),
    ("power", lambda a: la.matrix_power(a, 3)),
]


@pytest.mark.parametrize("in_axis", [0, 1, 2])
@pytest.mark.parametrize("name,f", VMAP_CASES)
def test_vmap_matches_loop(name, f, in_axis):
    x = _rand(3, 3, 3) + 3 * np.eye(3)
    batched, looped = spmdgrad.vmap(f, in_axes=in_axis)(x), loop_vmap(f, in_axis, x)
    for got, want in zip(tree_leaves(batched), tree_leaves(looped), strict=True):
        np.testing.assert_allclose(got, want, atol=1e-10)
    loss = lambda a: sum(jnp.sum(_sq_abs(y) * np.arange(y.size).reshape(y.shape))  # noqa: E731
                         for y in tree_leaves(f(a)))
    np.testing.assert_allclose(spmdgrad.vmap(spmdgrad.grad(loss), in_axes=in_axis)(x),
                               loop_vmap(spmdgrad.grad(loss), in_axis, x), atol=1e-9)


def test_vmap_lstsq_and_reduce_axes():
    a, b = _rand(4, 5, 3), _rand(4, 5)
    f = lambda x, y: la.lstsq(x, y)[0]  # noqa: E731
    np.testing.assert_allclose(spmdgrad.vmap(f)(a, b), loop_vmap(f, 0, a, b), atol=1e-12)
    np.testing.assert_allclose(spmdgrad.vmap(f, in_axes=(None, 0))(a[0], b), loop_vmap(f, (None, 0), a[0], b),
                               atol=1e-12)
    loss = lambda w, y: jnp.sum(la.lstsq(w, y)[0] ** 2)  # noqa: E731
    total = spmdgrad.vmap(spmdgrad.grad(loss, reduce_axes=("b",)), in_axes=(None, 0), out_axes=None,
                          axis_name="b")(a[0], b)
    np.testing.assert_allclose(total, loop_vmap(spmdgrad.grad(loss), (None, 0), a[0], b).sum(0), atol=1e-10)


def test_jit_matches_eager():
    x = _rand(4, 3)

    def f(a):
        u, s, vh = la.svd(a, full_matrices=False)
        q, r = la.qr(a)
        return jnp.sum(s ** 2) + jnp.sum(_sq_abs(u)) + jnp.sum(r ** 2) + jnp.sum(la.pinv(a)) \
            + jnp.sum(la.eigvalsh(a.T @ a)) + la.norm(a, 2) + jnp.sum(jnp.abs(la.eigvals(a.T @ a)))
    np.testing.assert_allclose(spmdgrad.jit(f)(x), f(x), rtol=1e-12)
    g = spmdgrad.grad(f)
    np.testing.assert_allclose(spmdgrad.jit(g)(x), g(x), rtol=1e-10)


# --------------------------------------------------------------------------- errors

def test_errors_name_the_op():
    with pytest.raises(NotImplementedError, match="svd: .*full_matrices=False"):
        spmdgrad.grad(lambda a: jnp.sum(la.svd(a)[0]))(_rand(4, 3))
    with pytest.raises(ValueError, match="eigh: expected a square matrix"):
        la.eigh(np.ones((2, 3)))
    with pytest.raises(ValueError, match="svd: expected a matrix"):
        la.svd(np.ones(3))
    with pytest.raises(ValueError, match="qr: mode must be .*'raw' is not supported"):
        la.qr(np.eye(2), "raw")
    with pytest.raises(ValueError, match="eigh: UPLO must be"):
        la.eigh(np.eye(2), "X")
    with pytest.raises(ValueError, match="lstsq: needs a of shape"):
        la.lstsq(np.eye(2), np.ones(3))
    with pytest.raises(TypeError, match="matrix_power: exponent must be an int"):
        la.matrix_power(np.eye(2), 1.5)
    with pytest.raises(np.linalg.LinAlgError, match="svd: SVD did not converge"):
        la.svd(np.full((2, 2), np.nan))
    with pytest.raises(np.linalg.LinAlgError, match="eig: "):
        la.eig(np.full((2, 2), np.inf))
