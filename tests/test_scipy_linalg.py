"""spmdgrad.scipy.linalg: values against SciPy, derivatives against finite differences
(orders 1 and 2), vmap against a Python loop, jit against eager, and gradients against
numbers computed with jax.scipy.linalg (JAX 0.10.2, x64) at the matrices below, with the
weighted-sum losses written next to each check."""
import numpy as np
import pytest
import scipy.linalg as sl

from spmdgrad import grad, hessian, jit, vmap
from spmdgrad.scipy import linalg as L
from spmdgrad.test_util import check_grads, loop_vmap

A = np.array([[4.0, 1.0, 0.5], [2.0, 5.0, 1.0], [0.3, 1.0, 3.0]])
W = np.arange(9.0).reshape(3, 3) / 7 - 0.4
B = np.array([[1.0, -1.0], [0.5, 2.0], [-0.2, 0.3]])

JAX = {
    'chol_up': [[-0.00347781681441, -0.06954173907599, -0.08126310178149], [-0.02292042072182,
            0.02057081530231, 0.03180304077571], [0.00204663280412, -0.03948797410307,
            0.13453600932983]],
    'chol_lo': [[-0.04009792593899, -0.02937809778205, 0.00204663280412], [0.00669377817638,
            0.01105954709803, -0.03948797410307], [0.00559985016562, 0.09661305430188,
            0.13453600932983]],
    'tri_0_True_False_a': [[0.00565476190476, 0.0, 0.0], [0.0047619047619, 0.00285714285714, 0.0],
            [0.01190476190476, -0.1, 0.02230158730159]],
    'tri_0_True_False_b': [[-0.09904761904762, -0.07642857142857], [-0.0247619047619,
            -0.00571428571429], [0.15238095238095, 0.2]],
    'tri_0_True_True_a': [[0.0, 0.0, 0.0], [-0.0, 0.0, 0.0], [0.14285714285714, -1.71428571428571,
            0.0]],
    'tri_0_True_True_b': [[0.32, 0.42], [-0.42857142857143, -0.42857142857143], [0.45714285714286,
            0.6]],
    'tri_0_False_False_a': [[1.785714286e-05, 0.0357619047619, -0.0002380952381], [0.0,
            -0.02082857142857, -0.003], [0.0, 0.0, -0.00880158730159]],
    'tri_0_False_False_b': [[-0.1, -0.06428571428571], [0.02571428571429, 0.04714285714286],
            [0.16047619047619, 0.195]],
    'tri_0_False_True_a': [[0.0, 0.71714285714286, -0.00285714285714], [0.0, 0.0, -0.04285714285714],
            [0.0, 0.0, 0.0]],
    'tri_0_False_True_b': [[-0.4, -0.25714285714286], [0.42857142857143, 0.42857142857143],
            [0.22857142857143, 0.3]],
    'tri_1_True_False_a': [[-0.00893452380952, 0.0, 0.0], [0.0357619047619, -0.02798095238095, 0.0],
            [-0.0002380952381, -0.00295238095238, -0.00883333333333]],
    'tri_1_True_False_b': [[-0.1, -0.06428571428571], [0.04571428571429, 0.06], [0.14714285714286,
            0.18642857142857]],
    'tri_1_True_True_a': [[0.0, 0.0, 0.0], [0.71714285714286, 0.0, 0.0], [-0.00285714285714, -0.04,
            0.0]],
    'tri_1_True_True_b': [[-0.4, -0.25714285714286], [0.82857142857143, 0.68571428571429],
            [-0.25142857142857, -0.00857142857143]],
    'tri_1_False_False_a': [[0.00625, 0.0047619047619, 0.01190476190476], [0.0, 0.00380952380952,
            -0.09761904761905], [0.0, 0.0, 0.02071428571429]],
    'tri_1_False_False_b': [[-0.11285714285714, -0.08785714285714], [-0.0247619047619,
            -0.00571428571429], [0.15238095238095, 0.2]],
    'tri_1_False_True_a': [[0.0, -0.0, 0.14285714285714], [0.0, 0.0, -1.57142857142857], [0.0, 0.0,
            0.0]],
    'tri_1_False_True_b': [[-0.2, -0.12857142857143], [-0.42857142857143, -0.42857142857143],
            [0.45714285714286, 0.6]],
    'tri_2_True_False_a': [[-0.00893452380952, 0.0, 0.0], [0.0357619047619, -0.02798095238095, 0.0],
            [-0.0002380952381, -0.00295238095238, -0.00883333333333]],
    'tri_2_True_False_b': [[-0.1, -0.06428571428571], [0.04571428571429, 0.06], [0.14714285714286,
            0.18642857142857]],
    'tri_2_True_True_a': [[0.0, 0.0, 0.0], [0.71714285714286, 0.0, 0.0], [-0.00285714285714, -0.04,
            0.0]],
    'tri_2_True_True_b': [[-0.4, -0.25714285714286], [0.82857142857143, 0.68571428571429],
            [-0.25142857142857, -0.00857142857143]],
    'tri_2_False_False_a': [[0.00625, 0.0047619047619, 0.01190476190476], [0.0, 0.00380952380952,
            -0.09761904761905], [0.0, 0.0, 0.02071428571429]],
    'tri_2_False_False_b': [[-0.11285714285714, -0.08785714285714], [-0.0247619047619,
            -0.00571428571429], [0.15238095238095, 0.2]],
    'tri_2_False_True_a': [[0.0, -0.0, 0.14285714285714], [0.0, 0.0, -1.57142857142857], [0.0, 0.0,
            0.0]],
    'tri_2_False_True_b': [[-0.2, -0.12857142857143], [-0.42857142857143, -0.42857142857143],
            [0.45714285714286, 0.6]],
    'cho_solve_a': [[-0.00244115894518, 0.00224311950017, 0.00543498704078], [0.00180472883298,
            0.00028599022796, -0.00945741633688], [8.162355945e-05, -0.00157485455884,
            0.00536554868752]],
    'cho_solve_b': [[-0.03606120438355, -0.02882443188513], [0.00053102463267, -0.00184121337605],
            [0.05807755218246, 0.07160404687899]],
    'cho_solve_lo_a': [[-0.00244115894518, 0.00180472883298, 8.162355945e-05], [0.00224311950017,
            0.00028599022796, -0.00157485455884], [0.00543498704078, -0.00945741633688,
            0.00536554868752]],
    'cho_solve_lo_b': [[-0.03606120438355, -0.02882443188513], [0.00053102463267, -0.00184121337605],
            [0.05807755218246, 0.07160404687899]],
    'solve_pos_a': [[-0.00244115894518, 0.00439848228082, -0.00271155310496], [-0.00035063394766,
            0.00028599022796, -4.991094299e-05], [0.0082281637052, -0.01098235995273,
            0.00536554868752]],
    'solve_pos_b': [[-0.03606120438355, -0.02882443188513], [0.00053102463267, -0.00184121337605],
            [0.05807755218246, 0.07160404687899]],
    'lu_p': [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
    'lu_0': [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]],
    'lu_1': [[-0.01306878306878, 0.0037037037037, 0.0], [0.01399470899471, -0.02740740740741, 0.0],
            [0.08095238095238, 0.13333333333333, 0.0]],
    'lu_2': [[-0.36064814814815, -0.3462962962963, -0.25079365079365], [-0.06941798941799,
            0.19687830687831, 0.1615873015873], [-0.06190476190476, -0.12380952380952,
            0.74285714285714]],
    'lu_tall_1': [[-0.12844693072702, 0.00253772290809], [0.25469478737997, -0.01877914951989],
            [0.01466049382716, 0.09135802469136]],
    'lu_wide_1': [[-0.03125, 0.0, 0.0], [0.125, 0.0, 0.0]],
    'lu_tall_2': [[9.125, -2.5], [-2.25, 9.0], [0.0, 0.0]],
    'lu_wide_2': [[9.1596875, 1.75, 0.1375], [-4.63875, 9.0, 1.85]],
    'expm': [[-1.61563085342015, -1.33145039946739, -0.00627300373205], [0.48018914555208,
            1.61214463677008, 1.86711509798479], [2.14019736443339, 3.65596396200392,
            2.80715241291701]],
    'expm_hess': [[[[-1.6900047776883, -0.87473132671806], [-0.09043264508605, -0.07001846445512]],
            [[-0.87473132671806, -0.30048803845141], [-0.58194154146769, -0.66760696560207]]],
            [[[-0.09043264508605, -0.58194154146769], [0.00510354515773, 0.05324231285724]],
            [[-0.07001846445512, -0.66760696560207], [0.05324231285724, 0.80836806548176]]]],
    'det': [[14.0, -5.7, 0.5], [-2.5, 11.85, -3.7], [-1.5, -3.0, 18.0]],
    'inv': [[0.0243639032393, 0.00394423528553, 0.01616314087499], [0.00311816590907, -0.00141286040079,
            -0.00815888865269], [-0.03006353594983, -0.0151927777072, -0.07501544058175]],
    'block_diag': [[1.0, 2.0, 0.0, 0.0, 0.0], [0.0, 0.0, 3.0, 0.0, 0.0], [0.0, 0.0, 0.0, 4.0, 5.0]],
}


def close(a, b, rtol=1e-10, atol=1e-12):
    if isinstance(a, tuple | list):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            close(x, y, rtol, atol)
        return
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol)


def check_vjp_real_pairing(f, args, seed=0, eps=1e-6):
    """VJP check for functions that are not holomorphic (they contain a conjugate): only the
    real part of the bilinear pairing is preserved, ``Re<ct, J t> == Re<J^T ct, t>``."""
    from spmdgrad import vjp
    rng = np.random.default_rng(seed)
    out, f_vjp = vjp(f, *args)
    ct = rand(rng, np.shape(out), np.complex128)
    ts = [rand(rng, np.shape(a), np.complex128) for a in args]
    plus, minus = (f(*[a + s * eps * t for a, t in zip(args, ts)]) for s in (1, -1))
    num = (plus - minus) / (2 * eps)
    lhs = np.sum(ct * num).real
    rhs = sum(np.sum(c * t) for c, t in zip(f_vjp(ct), ts)).real
    np.testing.assert_allclose(lhs, rhs, rtol=1e-6, atol=1e-6)


def jax_close(got, key):
    np.testing.assert_allclose(np.asarray(got), np.asarray(JAX[key]), rtol=1e-9, atol=1e-12)


def rand(rng, shape, dtype=np.float64):
    x = rng.standard_normal(shape)
    if np.issubdtype(dtype, np.complexfloating):
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


def well_conditioned(rng, shape, dtype=np.float64):
    n = shape[-1]
    return (2 * np.eye(n) + 0.4 * rand(rng, shape, dtype) / np.sqrt(n)).astype(dtype)


def spd(rng, shape, dtype=np.float64):
    m = well_conditioned(rng, shape, dtype)
    return m @ np.conj(np.swapaxes(m, -1, -2)) / 4 + np.eye(shape[-1])


def sym(f):
    """``f`` of the Hermitian part: the function finite differences can check for cholesky."""
    return lambda a: f((a + np.conj(np.swapaxes(a, -1, -2)) if isinstance(a, np.ndarray)
                        else a + a.conj().swapaxes(-1, -2)) / 2)


# --------------------------------------------------------------------------- values

@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_values_match_scipy(rng, dtype):
    a, p, b = well_conditioned(rng, (4, 4), dtype), spd(rng, (4, 4), dtype), rand(rng, (4, 2), dtype)
    close(L.cholesky(p), sl.cholesky(p))
    close(L.cholesky(p, lower=True), sl.cholesky(p, lower=True))
    for lower in (True, False):
        close(L.cho_solve(L.cho_factor(p, lower=lower), b), sl.cho_solve(sl.cho_factor(p, lower=lower), b))
        for trans in (0, 1, 2, "N", "T", "C"):
            for unit in (False, True):
                close(L.solve_triangular(a, b, trans=trans, lower=lower, unit_diagonal=unit),
                      sl.solve_triangular(a, b, trans=trans, lower=lower, unit_diagonal=unit))
    close(L.solve_triangular(a, b[:, 0], lower=True), sl.solve_triangular(a, b[:, 0], lower=True))
    # p is Hermitian: complex symmetric ('sym') describes it only when it is real
    for assume_a in ("gen", "her", "pos") + (("sym",) if dtype == np.float64 else ()):
        close(L.solve(p, b, assume_a=assume_a), sl.solve(p, b, assume_a=assume_a))
    close(L.inv(a), sl.inv(a))
    close(L.det(a), sl.det(a))
    close(L.expm(a / 2), sl.expm(a / 2))
    for shape in [(4, 4), (5, 3), (3, 5)]:
        m = rand(rng, shape, dtype)
        for got, ref in zip(L.lu(m), sl.lu(m)):
            close(got, ref)
        for got, ref in zip(L.lu(m, permute_l=True), sl.lu(m, permute_l=True)):
            close(got, ref)


def test_stacks_map_over_leading_axes(rng):
    a, b = well_conditioned(rng, (2, 3, 3)), rand(rng, (2, 3, 2))
    close(L.solve_triangular(a, b, lower=True), np.stack([sl.solve_triangular(x, y, lower=True)
                                                          for x, y in zip(a, b)]))
    close(L.solve_triangular(a, b[0], trans=1), np.stack([sl.solve_triangular(x, b[0], trans=1) for x in a]))
    close(L.expm(a / 3), np.stack([sl.expm(x / 3) for x in a]))
    for got, ref in zip(L.lu(a), zip(*[sl.lu(x) for x in a])):
        close(got, np.stack(ref))


def test_block_diag_matches_scipy(rng):
    args = (np.array([[1.0, 2.0]]), 3.0, np.array([4.0, 5.0]), rand(rng, (2, 2)))
    close(L.block_diag(*args), sl.block_diag(*args))
    assert L.block_diag(np.eye(2, dtype=np.int64), np.ones((1, 1), np.int64)).dtype == np.int64
    assert L.block_diag().shape == sl.block_diag().shape
    check_grads(lambda x, y: L.block_diag(x, y, 2.0), (rand(rng, (2, 3)), rand(rng, (3,))), order=2)


# --------------------------------------------------------------------------- derivatives

@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("trans", [0, 1, 2])
@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("unit", [False, True])
def test_solve_triangular_grads(rng, dtype, trans, lower, unit):
    a, b = well_conditioned(rng, (3, 3), dtype), rand(rng, (3, 2), dtype)
    f = lambda a, b: L.solve_triangular(a, b, trans=trans, lower=lower, unit_diagonal=unit)
    if trans == 2 and dtype == np.complex128:   # conj(a) appears: not holomorphic in a
        check_grads(f, (a, b), order=1, modes=("fwd",))
        check_grads(lambda b: f(a, b), (b,), order=2)
        check_vjp_real_pairing(f, (a, b))
    else:   # second order on a subset: each order-2 check costs four first-order ones
        check_grads(f, (a, b), order=2 if lower and not unit else 1)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_factorisation_grads(rng, dtype):
    p, b = spd(rng, (3, 3), dtype), rand(rng, (3, 2), dtype)
    hermitian_fns = [sym(L.cholesky), sym(lambda a: L.cholesky(a, lower=True))]
    for lower in (True, False):
        hermitian_fns.append(sym(lambda a, lo=lower: L.cho_solve(L.cho_factor(a, lower=lo), b)))
    for f in hermitian_fns:
        if dtype == np.complex128:   # the Hermitian part conjugates: not holomorphic
            check_grads(f, (p,), order=2, modes=("fwd",))
            check_vjp_real_pairing(f, (p,))
        else:
            check_grads(f, (p,), order=2)
    check_grads(lambda a, b: L.solve(a, b, assume_a="pos"), (p, b), order=2)
    check_grads(lambda a: L.expm(a / 2), (well_conditioned(rng, (3, 3), dtype),), order=2)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 4), (2, 3, 3)])
def test_lu_grads(rng, shape, dtype):
    a = rand(rng, shape, dtype) + 2 * np.eye(*shape[-2:])
    check_grads(lambda a: L.lu(a)[1:], (a,), order=2)
    check_grads(lambda a: L.lu(a, permute_l=True), (a,), order=1)


def test_gradients_match_jax():
    P = A @ A.T
    jax_close(grad(lambda a: (L.cholesky(a) * W).sum())(P), "chol_up")
    jax_close(grad(lambda a: (L.cholesky(a, lower=True) * W).sum())(P), "chol_lo")
    for trans in (0, 1, 2):
        for lower in (True, False):
            for unit in (False, True):
                ga, gb = grad(lambda a, b, t=trans, lo=lower, u=unit: (L.solve_triangular(
                    a, b, trans=t, lower=lo, unit_diagonal=u) * W[:, :2]).sum(),
                              (0, 1))(A, B)
                jax_close(ga, f"tri_{trans}_{lower}_{unit}_a")
                jax_close(gb, f"tri_{trans}_{lower}_{unit}_b")
    for key, f in [("cho_solve", lambda m, b: L.cho_solve(L.cho_factor(m, lower=False), b)),
                   ("cho_solve_lo", lambda m, b: L.cho_solve(L.cho_factor(m, lower=True), b)),
                   ("solve_pos", lambda m, b: L.solve(m, b, assume_a="pos"))]:
        ga, gb = grad(lambda m, b, f=f: (f(m, b) * W[:, :2]).sum(), (0, 1))(P, B)
        jax_close(ga, key + "_a")
        jax_close(gb, key + "_b")
    jax_close(L.lu(A)[0], "lu_p")
    for i in range(3):
        jax_close(grad(lambda a, i=i: (L.lu(a)[i] * W).sum())(A), f"lu_{i}")
    for i in (1, 2):
        jax_close(grad(lambda a, i=i: (L.lu(a)[i] ** 2).sum())(A[:, :2]), f"lu_tall_{i}")
        jax_close(grad(lambda a, i=i: (L.lu(a)[i] ** 2).sum())(A[:, :2].T), f"lu_wide_{i}")
    jax_close(grad(lambda a: (L.expm(a) * W).sum())(A / 3), "expm")
    jax_close(hessian(lambda a: (L.expm(a) * W[:2, :2]).sum())(A[:2, :2] / 3), "expm_hess")
    jax_close(grad(L.det)(A), "det")
    jax_close(grad(lambda a: (L.inv(a) * W).sum())(A), "inv")
    jax_close(L.block_diag(np.array([[1.0, 2.0]]), 3.0, np.array([4.0, 5.0])), "block_diag")


# --------------------------------------------------------------------------- vmap, jit

@pytest.mark.parametrize("in_axes", [(0, 0), (None, 0), (0, None), (2, 1)])
def test_solve_triangular_vmap_matches_loop(rng, in_axes):
    a = well_conditioned(rng, (3, 3, 3))
    b = rand(rng, (3, 3, 2))
    a = a if in_axes[0] is not None else a[0]
    b = b if in_axes[1] is not None else b[0]
    if in_axes == (2, 1):
        b = rand(rng, (3, 3, 2))
    for trans in (0, 1):
        f = lambda a, b, t=trans: L.solve_triangular(a, b, trans=t, lower=True)
        close(vmap(f, in_axes)(a, b), loop_vmap(f, in_axes, a, b))
        g = grad(lambda a, b, f=f: (f(a, b) ** 2).sum(), (0, 1))
        close(vmap(g, in_axes)(a, b), loop_vmap(g, in_axes, a, b))


@pytest.mark.parametrize("in_axes", [0, 1, 2])
def test_factorisations_vmap_match_loop(rng, in_axes):
    a = np.moveaxis(well_conditioned(rng, (4, 3, 3)), 0, in_axes)
    p = np.moveaxis(spd(rng, (4, 3, 3)), 0, in_axes)
    for f in (lambda a: L.lu(a), lambda a: L.expm(a / 2), lambda a: L.inv(a), lambda a: L.det(a),
              lambda a: L.block_diag(a, a[0])):
        close(vmap(f, in_axes)(a), loop_vmap(f, in_axes, a))
    for f in (lambda p: L.cholesky(p), lambda p: L.cho_solve(L.cho_factor(p), np.eye(3))):
        close(vmap(f, in_axes)(p), loop_vmap(f, in_axes, p))
    g = grad(lambda a: (L.expm(a / 2) * W).sum() + (L.lu(a)[2] ** 2).sum())
    close(vmap(g, in_axes)(a), loop_vmap(g, in_axes, a))


def test_total_gradient_with_reduce_axes(rng):
    a, bs = well_conditioned(rng, (3, 3)), rand(rng, (5, 3, 2))

    def loss(a, b):
        return (L.solve_triangular(a, b, lower=True) ** 2).sum() + (L.expm(a / 4) * b[:, :1]).sum()
    total = vmap(grad(loss, reduce_axes=("i",)), in_axes=(None, 0), out_axes=None, axis_name="i")(a, bs)
    close(total, sum(grad(loss)(a, b) for b in bs))
    per = vmap(grad(loss), in_axes=(None, 0), axis_name="i")(a, bs)
    close(per, np.stack([grad(loss)(a, b) for b in bs]))


def test_jit_matches_eager(rng):
    a, p, b = well_conditioned(rng, (3, 3)), spd(rng, (3, 3)), rand(rng, (3, 2))

    def f(a, p, b):
        x = L.cho_solve(L.cho_factor(p), L.solve_triangular(a, b, trans=1))
        return (x * L.expm(a / 3)[:, :2]).sum() + (L.lu(a)[1] ** 2).sum()
    close(jit(f)(a, p, b), f(a, p, b))
    close(jit(grad(f, (0, 1, 2)))(a, p, b), grad(f, (0, 1, 2))(a, p, b))


# --------------------------------------------------------------------------- errors

def test_clear_errors(rng):
    with pytest.raises(ValueError, match=r"cholesky: expected a square matrix .* got shape \(2, 3\)"):
        L.cholesky(np.ones((2, 3)))
    with pytest.raises(np.linalg.LinAlgError, match="cholesky"):
        L.cholesky(-np.eye(2))
    with pytest.raises(ValueError, match="solve_triangular: invalid trans 3"):
        L.solve_triangular(np.eye(2), np.ones(2), trans=3)
    with pytest.raises(ValueError, match=r"solve_triangular: a has shape \(2, 2\) and b has shape \(3,\)"):
        L.solve_triangular(np.eye(2), np.ones(3))
    with pytest.raises(ValueError, match="solve: assume_a must be one of"):
        L.solve(np.eye(2), np.ones(2), assume_a="banana")
    with pytest.raises(TypeError, match=r"cho_solve: the first argument must be the pair \(c, lower\)"):
        L.cho_solve(np.eye(2), np.ones(2))
    with pytest.raises(ValueError, match="block_diag: argument 0 has shape"):
        L.block_diag(np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="expm: expected a square matrix"):
        L.expm(np.ones(3))
