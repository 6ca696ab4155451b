"""linalg.eigh / eigvalsh: values against NumPy (symmetric input) and JAX (stored numbers,
non-symmetric input is symmetrised as in JAX), derivatives against finite differences,
vmap against a loop, jit against eager."""
import numpy as np
import pytest

import spmdgrad as sg
import spmdgrad.numpy as jnp
from spmdgrad.test_util import check_grads, loop_vmap

R = np.random.default_rng(0)
A = R.normal(size=(4, 4))
A = A + A.T
B = np.array([[2.0, 0.5, 0.1], [1.5, 1.0, 0.3], [0.2, -0.4, 3.0]])


def test_values_match_numpy_on_symmetric_input():
    w, v = jnp.linalg.eigh(A)
    np.testing.assert_allclose(w, np.linalg.eigh(A)[0])
    np.testing.assert_allclose(v, np.linalg.eigh(A)[1])
    np.testing.assert_allclose(jnp.linalg.eigvalsh(A, symmetrize_input=False), np.linalg.eigvalsh(A))
    np.testing.assert_allclose(jnp.linalg.eigh(B, "U", symmetrize_input=False)[0], np.linalg.eigh(B, "U")[0])
    h = A + 1j * (R.normal(size=(4, 4)) - R.normal(size=(4, 4)).T)
    h = (h + h.conj().T) / 2
    np.testing.assert_allclose(jnp.linalg.eigvalsh(h), np.linalg.eigvalsh(h))


def test_jax_symmetrises_non_symmetric_input():
    # jax.numpy.linalg (0.10.2, x64)
    np.testing.assert_allclose(jnp.linalg.eigvalsh(B), [0.37633959, 2.5932092, 3.03045121], rtol=1e-7)
    g = sg.grad(lambda a: jnp.linalg.eigvalsh(a)[2])(B)
    np.testing.assert_allclose(g, [[0.05112474, 0.01977719, 0.2193624], [0.01977719, 0.00765065, 0.08485856],
                                   [0.2193624, 0.08485856, 0.94122461]], rtol=1e-6)


@pytest.mark.parametrize("symmetrize", [True, False])
def test_derivatives(symmetrize):
    check_grads(lambda a: jnp.linalg.eigvalsh(a, symmetrize_input=symmetrize), [A], order=2)
    check_grads(lambda a: jnp.linalg.eigh(a, symmetrize_input=symmetrize)[1] ** 2, [A])  # sign-free
    # Hermitian input built from real parameters (check_grads pairs complex values bilinearly)
    check_grads(lambda x, y: jnp.linalg.eigvalsh(x + 1j * (y - y.T)), [A, R.normal(size=(4, 4))])


def test_vmap_and_jit():
    As = np.stack([A, 0.5 * A + np.eye(4), A @ A])
    f = lambda a: jnp.linalg.eigh(a)[1] ** 2  # noqa: E731
    np.testing.assert_allclose(sg.vmap(jnp.linalg.eigvalsh)(As), loop_vmap(jnp.linalg.eigvalsh, 0, As))
    np.testing.assert_allclose(sg.vmap(f)(As), loop_vmap(f, 0, As))
    np.testing.assert_allclose(sg.jit(f)(A), f(A))
    wts = R.normal(size=(4, 4))
    loss = lambda a: jnp.sum(f(a) * wts + jnp.linalg.eigvalsh(a))  # noqa: E731
    np.testing.assert_allclose(sg.jit(sg.grad(loss))(A), sg.grad(loss)(A))


def test_errors():
    with pytest.raises(ValueError, match="eigh: expected a square matrix"):
        jnp.linalg.eigh(np.ones((2, 3)))
    with pytest.raises(ValueError, match="UPLO must be 'L' or 'U'"):
        jnp.linalg.eigvalsh(A, "X", symmetrize_input=False)
