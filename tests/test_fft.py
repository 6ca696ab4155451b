"""spmdgrad.numpy.fft: values against NumPy, derivatives against finite differences and
stored JAX numbers, vmap against a loop, jit against eager."""
import numpy as np
import pytest

import spmdgrad
import spmdgrad.numpy as jnp
from spmdgrad.test_util import check_grads, loop_vmap

rng = np.random.default_rng(0)


def _real(*shape):
    return rng.standard_normal(shape)


def _cplx(*shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


NORMS = [None, "ortho", "forward"]

# (name, input maker, kwargs) covering n/s padding and cropping, axes and norms.
ONE_D = [
    ("fft", _cplx, {}), ("fft", _real, {"n": 7}), ("fft", _cplx, {"n": 3, "axis": 0}),
    ("ifft", _cplx, {}), ("ifft", _cplx, {"n": 8, "axis": 1}),
    ("rfft", _real, {}), ("rfft", _real, {"n": 6}), ("rfft", _real, {"n": 3, "axis": 0}),
    ("irfft", _cplx, {}), ("irfft", _cplx, {"n": 5}), ("irfft", _cplx, {"n": 9, "axis": 0}),
    ("hfft", _cplx, {}), ("hfft", _cplx, {"n": 5}),
    ("ihfft", _real, {}), ("ihfft", _real, {"n": 7}),
]
N_D = [
    ("fft2", _cplx, {}), ("ifft2", _cplx, {"s": (3, 6)}), ("rfft2", _real, {}),
    ("irfft2", _cplx, {}), ("irfft2", _cplx, {"s": (4, 5)}),
    ("fftn", _cplx, {}), ("fftn", _real, {"axes": (0, 2)}), ("ifftn", _cplx, {"s": (2, 5), "axes": (1, 2)}),
    ("rfftn", _real, {}), ("rfftn", _real, {"axes": (2, 0), "s": (5, 3)}),
    ("irfftn", _cplx, {}), ("irfftn", _cplx, {"axes": (1, 0)}),
    ("irfftn", _cplx, {"s": (3, 3, 7), "axes": (0, 1, 2)}),
]


def _shape(name):
    return (4, 5) if name[-1] not in "2n" else (3, 4, 5)


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("name,make,kw", ONE_D + N_D)
def test_values_match_numpy(name, make, kw, norm):
    x = make(*_shape(name))
    want = getattr(np.fft, name)(x, norm=norm, **kw)
    got = getattr(jnp.fft, name)(x, norm=norm, **kw)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("name,make,kw", ONE_D + N_D)
def test_grads_match_finite_differences(name, make, kw, norm):
    x = make(*_shape(name))
    f = getattr(jnp.fft, name)
    check_grads(lambda a: f(a, norm=norm, **kw), (x,), order=2)


def test_real_input_to_complex_transform_differentiates():
    x = _real(6)
    check_grads(lambda a: jnp.fft.fft(a), (x,))
    check_grads(lambda a: jnp.fft.irfft(a, n=5), (x[:3],))   # real bins, complex transform


def test_dtypes_follow_jax_x64():
    f32, i64 = np.ones(4, np.float32), np.arange(4)
    assert jnp.fft.fft(f32).dtype == np.complex64
    assert jnp.fft.rfft(f32).dtype == np.complex64
    assert jnp.fft.irfft(jnp.fft.rfft(f32)).dtype == np.float32
    assert jnp.fft.fft(i64).dtype == np.complex128
    assert jnp.fft.rfft(np.ones(4, np.float16)).dtype == np.complex64
    assert jnp.fft.hfft(np.ones(3, np.complex64)).dtype == np.float32
    np.testing.assert_allclose(jnp.fft.fft(f32), np.fft.fft(f32), rtol=1e-6)


# Stored numbers from JAX 0.10.2 with jax_enable_x64 (jax.vjp / jax.grad).
X4 = np.array([1 + 1j, 2 - 1j, 0.5 + 2j, 1.5 - 0.5j])


def test_rfft_vjp_matches_jax():
    _, f = spmdgrad.vjp(jnp.fft.rfft, np.arange(5.0))
    np.testing.assert_allclose(f(np.array([1 + 2j, 3 - 1j, 0.5 + 0.5j]))[0],
                               [4.5, 0.8653785957884518, -2.3358559963774184, -0.20922897549731867,
                                2.1797063760862856], rtol=1e-12, atol=1e-14)
    _, f = spmdgrad.vjp(jnp.fft.rfft, np.arange(6.0))
    np.testing.assert_allclose(f(np.array([1 + 2j, 3 - 1j, 0.5 + 0.5j, -1 + 1j]))[0],
                               [3.5, 2.816987298107781, -3.049038105676658, -0.5, -0.450961894323342,
                                3.6830127018922187], rtol=1e-12, atol=1e-14)


def test_irfft_vjp_matches_jax():
    _, f = spmdgrad.vjp(jnp.fft.irfft, X4)
    np.testing.assert_allclose(f(np.arange(6.0))[0],
                               [2.5, -1 - 1.7320508075688772j, -1 - 0.5773502691896257j, -0.5],
                               rtol=1e-12, atol=1e-14)
    _, f = spmdgrad.vjp(lambda z: jnp.fft.irfft(z, n=5), X4[:3])
    np.testing.assert_allclose(f(np.arange(5.0))[0], [2, -1 - 1.3763819204711734j,
                                                      -1 - 0.3249196962329064j], rtol=1e-12, atol=1e-14)
    _, f = spmdgrad.vjp(lambda z: jnp.fft.irfft(z, norm="ortho"), X4)
    np.testing.assert_allclose(f(np.arange(6.0))[0],
                               [6.123724356957944, -2.4494897427831774 - 4.242640687119285j,
                                -2.449489742783178 - 1.414213562373095j, -1.224744871391589],
                               rtol=1e-12, atol=1e-14)
    _, f = spmdgrad.vjp(jnp.fft.hfft, X4[:3])
    np.testing.assert_allclose(f(np.arange(4.0))[0], [6, -4 + 4j, -2], rtol=1e-12, atol=1e-14)


def test_2d_real_vjps_match_jax():
    a = np.arange(12.0).reshape(3, 4) / 7
    c = (np.arange(9.0) + 1j * np.arange(9.0)[::-1]).reshape(3, 3)
    _, f = spmdgrad.vjp(jnp.fft.rfft2, a)
    np.testing.assert_allclose(f(c)[0], [
        [36.0, 6.0, 12.0, -18.0],
        [-5.705771365940052, 7.098076211353315, -1.901923788646684, -7.098076211353315],
        [-21.294228634059948, 1.901923788646684, -7.098076211353315, -1.901923788646684]],
        rtol=1e-12, atol=1e-12)
    _, f = spmdgrad.vjp(lambda z: jnp.fft.irfft2(z, s=(3, 4)), c)
    np.testing.assert_allclose(f(a)[0], [
        [0.7857142857142857, -0.14285714285714285 - 0.14285714285714282j, -0.07142857142857148],
        [-0.2857142857142857 - 0.1649572197684645j, 0, 0],
        [-0.2857142857142857 + 0.1649572197684645j, 0, 0]], rtol=1e-12, atol=1e-14)


def test_grad_of_a_composite_matches_jax():
    g = spmdgrad.grad(lambda x: jnp.sum(jnp.abs(jnp.fft.fft(jnp.sin(x), n=7, norm="forward")) ** 3))
    np.testing.assert_allclose(g(np.arange(5.0)), [0.00886651227199296, 0.04935031727165558,
                                                   -0.0432468153048915, -0.00184792003663435,
                                                   0.05281389581219056], rtol=1e-10)


@pytest.mark.parametrize("in_axis", [0, 1, 2])
@pytest.mark.parametrize("name,make,kw", [
    ("fft", _cplx, {}), ("rfft", _real, {"n": 6}), ("irfft", _cplx, {"axis": 0}),
    ("rfft2", _real, {}), ("irfftn", _cplx, {"s": (3, 4)}), ("hfft", _cplx, {}), ("ihfft", _real, {}),
])
def test_vmap_matches_loop(name, make, kw, in_axis):
    x = make(3, 4, 5)
    f = getattr(jnp.fft, name)
    fk = lambda a: f(a, **kw)  # noqa: E731
    np.testing.assert_allclose(spmdgrad.vmap(fk, in_axes=in_axis)(x), loop_vmap(fk, in_axis, x),
                               rtol=1e-12, atol=1e-12)
    loss = lambda a: jnp.sum(jnp.abs(fk(a)) ** 2)  # noqa: E731
    np.testing.assert_allclose(spmdgrad.vmap(spmdgrad.grad(loss), in_axes=in_axis)(x),
                               loop_vmap(spmdgrad.grad(loss), in_axis, x), rtol=1e-10, atol=1e-12)


def test_vmap_is_one_primitive_call():
    prog = spmdgrad.make_jaxpr(spmdgrad.vmap(lambda a: jnp.fft.rfft(a, axis=0), in_axes=1))(_real(6, 5))
    assert str(prog).count("= fft[") == 1   # the batch becomes a leading axis, not a loop


def test_jit_matches_eager():
    x = _real(4, 6)
    f = lambda a: jnp.fft.irfft2(jnp.fft.rfft2(a) * jnp.fft.rfft2(a), s=(4, 6))  # noqa: E731
    np.testing.assert_allclose(spmdgrad.jit(f)(x), f(x), rtol=1e-13)
    g = spmdgrad.grad(lambda a: jnp.sum(f(a) ** 2))
    np.testing.assert_allclose(spmdgrad.jit(g)(x), g(x), rtol=1e-12)


def test_freqs_and_shifts():
    for n in (1, 4, 5):
        np.testing.assert_allclose(jnp.fft.fftfreq(n, 0.3), np.fft.fftfreq(n, 0.3))
        np.testing.assert_allclose(jnp.fft.rfftfreq(n, 0.3), np.fft.rfftfreq(n, 0.3))
    assert jnp.fft.fftfreq(4, dtype=np.float32).dtype == np.float32
    g = spmdgrad.grad(lambda d: jnp.sum(jnp.fft.fftfreq(5, d) ** 2))(0.5)
    np.testing.assert_allclose(g, -2 * np.sum(np.fft.fftfreq(5, 0.5) ** 2) / 0.5)
    x = _real(4, 5)
    for axes in (None, 0, (1,), (0, 1)):
        np.testing.assert_array_equal(jnp.fft.fftshift(x, axes), np.fft.fftshift(x, axes))
        np.testing.assert_array_equal(jnp.fft.ifftshift(x, axes), np.fft.ifftshift(x, axes))
    check_grads(lambda a: jnp.fft.fftshift(a, axes=1), (x,))


def test_errors_name_the_op():
    with pytest.raises(ValueError, match=r"irfft: invalid number of FFT data points \(0\)"):
        jnp.fft.irfft(np.ones(1, complex))
    with pytest.raises(ValueError, match="fft: invalid number of FFT data points"):
        jnp.fft.fft(np.ones(3), n=0)
    with pytest.raises(TypeError, match="rfft: needs a real input"):
        jnp.fft.rfft(np.ones(3, complex))
    with pytest.raises(ValueError, match="fftn: repeated ax"):
        jnp.fft.fftn(np.ones((2, 2)), axes=(0, 0))
    with pytest.raises(ValueError, match="fft2: s=.*same length"):
        jnp.fft.fft2(np.ones((2, 2)), s=(2,))
    with pytest.raises(ValueError, match="out of bounds"):
        jnp.fft.fft(np.ones(3), axis=2)
    with pytest.raises(ValueError, match="invalid norm"):
        jnp.fft.fft(np.ones(3), norm="bogus")


def test_reduce_axes_total_equals_summed_loop():
    w, x = _real(6), _real(4, 6)

    def loss(w, x):
        spectrum = jnp.fft.fft(w * x)[:4]
        return jnp.sum(jnp.abs(jnp.fft.rfft(x * w, n=8)) ** 2) + jnp.sum(jnp.fft.irfft(spectrum))
    total = spmdgrad.vmap(spmdgrad.grad(loss, reduce_axes=("b",)), in_axes=(None, 0), out_axes=None,
                          axis_name="b")(w, x)
    np.testing.assert_allclose(total, loop_vmap(spmdgrad.grad(loss), (None, 0), w, x).sum(0), rtol=1e-10)
    per_example = spmdgrad.vmap(spmdgrad.grad(loss), in_axes=(None, 0), axis_name="b")(w, x)
    np.testing.assert_allclose(per_example, loop_vmap(spmdgrad.grad(loss), (None, 0), w, x), rtol=1e-10)
