"""spmdgrad.test_util.check_grads: no false failures, no missed wrong derivatives, pytrees."""
import numpy as np
import pytest

import spmdgrad as sg
import spmdgrad.numpy as jnp
from spmdgrad.test_util import check_grads, check_vjp

Z = np.array(1.1 + 1.2j)


def test_non_holomorphic_complex_functions_pass():
    # The bilinear pairing reported a false failure for abs at 1.1+1.2j. JAX's
    # check_grads passes these (run with jax 0.10.2).
    check_grads(jnp.abs, (Z,), order=2)
    check_grads(lambda z: jnp.abs(z) ** 2 + jnp.real(z) * jnp.imag(z),
                (np.array([1.1 + 1.2j, -0.3 + 2j]),), order=2)
    check_grads(lambda z: jnp.conj(z) * jnp.real(z), (Z,), order=2)
    check_grads(jnp.sin, (Z,), order=2)  # holomorphic still passes


def test_grad_of_abs_is_jax_s_convention():
    # jax.grad(jnp.abs)(1.1+1.2j), jax 0.10.2 with x64.
    np.testing.assert_allclose(sg.grad(jnp.abs)(complex(Z)),
                               0.6757246285173464 - 0.7371541402007414j, rtol=1e-14)


def _with_vjp(fun, bwd):
    f = sg.custom_vjp(fun)
    f.defvjp(lambda z: (fun(z), z), bwd)
    return f


def test_a_wrong_complex_vjp_is_caught():
    # The true VJP of |z| is ct * conj(z) / |z|; dropping the conjugate is wrong.
    right = _with_vjp(jnp.abs, lambda z, ct: (ct * jnp.conj(z) / jnp.abs(z),))
    wrong = _with_vjp(jnp.abs, lambda z, ct: (ct * z / jnp.abs(z),))
    check_vjp(right, (Z,))
    with pytest.raises(AssertionError, match="VJP disagrees"):
        check_vjp(wrong, (Z,))
    wrong_real = _with_vjp(jnp.sin, lambda x, ct: (ct * jnp.cos(x) * 1.01,))
    with pytest.raises(AssertionError, match="VJP disagrees"):
        check_vjp(wrong_real, (np.array([0.3, 1.0]),))


def test_dict_and_tuple_arguments():
    # check_grads crashed on these (np.asarray of a dict).
    def f(p, pair):
        return jnp.sum(jnp.tanh(p["w"] @ pair[0]) * p["b"]) + jnp.sin(pair[1])
    p = {"w": np.array([[0.3, -1.0], [0.5, 2.0]]), "b": np.array([1.0, -0.5])}
    pair = (np.array([0.2, 0.7]), np.array(0.4))
    check_grads(f, (p, pair), order=2)


def test_a_wrong_derivative_inside_a_pytree_is_caught():
    bad_sin = _with_vjp(jnp.sin, lambda x, ct: (ct * jnp.cos(x) * 1.01,))

    def f(p):
        return p["a"] * bad_sin(p["b"][0])
    args = ({"a": np.array(2.0), "b": (np.array(0.3),)},)
    with pytest.raises(AssertionError):
        check_grads(f, args, modes=("rev",))
