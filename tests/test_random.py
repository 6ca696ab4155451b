"""spmdgrad.random under the transformations (vmap against a Python loop, jit against
eager, grad against finite differences), typed keys, and the error cases. Values
against JAX itself are in test_random_jax_reference.py."""
import numpy as np
import pytest

import spmdgrad
import spmdgrad.numpy as jnp
from spmdgrad import random
from spmdgrad.test_util import check_grads, loop_vmap

DRAWS = {
    "bits": lambda k: random.bits(k, (3,), np.uint32),
    "uniform": lambda k: random.uniform(k, (3,), minval=-1.0, maxval=2.0),
    "normal": lambda k: random.normal(k, (2, 2)),
    "normal_f32": lambda k: random.normal(k, (3,), np.float32),
    "randint": lambda k: random.randint(k, (4,), -3, 7),
    "bernoulli": lambda k: random.bernoulli(k, 0.3, (5,)),
    "rademacher": lambda k: random.rademacher(k, (4,)),
    "categorical": lambda k: random.categorical(k, np.array([0.0, 1.0, -1.0]), shape=(4,)),
    "choice": lambda k: random.choice(k, 7, (3,), replace=False),
    "choice_p": lambda k: random.choice(k, 4, (3,), p=np.array([0.1, 0.2, 0.3, 0.4])),
    "permutation": lambda k: random.permutation(k, np.arange(6.0)),
    "permutation_indep": lambda k: random.permutation(k, np.arange(6.0).reshape(2, 3), 1, True),
    "truncated_normal": lambda k: random.truncated_normal(k, -1.0, 0.5, (3,)),
    "multivariate_normal": lambda k: random.multivariate_normal(
        k, np.zeros(2), np.array([[1.0, 0.3], [0.3, 2.0]])),
    "exponential": lambda k: random.exponential(k, (3,)),
    "gamma": lambda k: random.gamma(k, np.array([0.4, 3.0])),
    "beta": lambda k: random.beta(k, 2.0, 0.5, (2,)),
    "dirichlet": lambda k: random.dirichlet(k, np.array([1.0, 2.0, 0.5])),
    "laplace": lambda k: random.laplace(k, (3,)),
    "logistic": lambda k: random.logistic(k, (3,)),
    "gumbel": lambda k: random.gumbel(k, (3,)),
    "ball": lambda k: random.ball(k, 3),
    "orthogonal": lambda k: random.orthogonal(k, 3),
    "t": lambda k: random.t(k, 4.0, (2,)),
    "geometric": lambda k: random.geometric(k, 0.2, (3,)),
    "wald": lambda k: random.wald(k, 2.0, (2,)),
    "triangular": lambda k: random.triangular(k, 0.0, 0.2, 1.0, (2,)),
    "poisson": lambda k: random.poisson(k, np.array([0.5, 4.0, 40.0])),
    "binomial": lambda k: random.binomial(k, np.array([4.0, 60.0]), 0.3),
    "multinomial": lambda k: random.multinomial(k, 12.0, np.array([0.2, 0.5, 0.3])),
    "split": lambda k: random.split(k, 3),
    "fold_in": lambda k: random.fold_in(k, 11),
}


def _same(got, want):
    """Bits, integers and elementwise draws agree exactly; draws through a batched
    contraction (multivariate_normal, orthogonal) may differ in the last bit."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape
    if got.dtype.kind == "f":
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-15)
    else:
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", sorted(DRAWS))
def test_vmap_over_keys_matches_loop(name):
    f = DRAWS[name]
    keys = random.split(random.PRNGKey(3), 4)
    got = spmdgrad.vmap(f)(keys)
    _same(got, loop_vmap(f, 0, keys))


@pytest.mark.parametrize("name", sorted(DRAWS))
def test_jit_matches_eager(name):
    f = DRAWS[name]
    k = random.PRNGKey(5)
    _same(spmdgrad.jit(f)(k), f(k))


@pytest.mark.parametrize("name", ["normal", "gamma", "permutation", "randint", "split"])
def test_typed_keys_give_the_raw_keys_numbers(name):
    f = DRAWS[name]
    raw = f(random.PRNGKey(9))
    typed = f(random.key(9))
    if isinstance(typed, random.PRNGKeyArray):
        typed = random.key_data(typed)
    np.testing.assert_array_equal(typed, raw)


def test_vmap_typed_keys_and_jit_typed_keys():
    keys = random.split(random.key(0), 4)
    got = spmdgrad.vmap(lambda k: random.normal(k, (3,)))(keys)
    want = np.stack([random.normal(keys[i], (3,)) for i in range(4)])
    np.testing.assert_array_equal(got, want)
    out = spmdgrad.jit(lambda k: random.split(k))(random.key(1))
    assert isinstance(out, random.PRNGKeyArray) and out.shape == (2,)
    np.testing.assert_array_equal(random.key_data(out), random.key_data(random.split(random.key(1))))
    # keys returned from vmap stay typed
    ks = spmdgrad.vmap(random.split)(random.split(random.key(2), 3))
    assert isinstance(ks, random.PRNGKeyArray) and ks.shape == (3, 2)


def test_vmap_mapped_params_and_seeds():
    a = np.array([0.5, 2.0, 7.0])
    keys = random.split(random.PRNGKey(1), 3)
    got = spmdgrad.vmap(lambda k, a: random.gamma(k, a, (2,)))(keys, a)
    want = loop_vmap(lambda k, a: random.gamma(k, a, (2,)), 0, keys, a)
    np.testing.assert_array_equal(got, want)
    seeds = np.arange(4)
    np.testing.assert_array_equal(spmdgrad.vmap(random.PRNGKey)(seeds),
                                  np.stack([random.PRNGKey(int(s)) for s in seeds]))
    got = spmdgrad.vmap(random.fold_in, in_axes=(None, 0))(random.PRNGKey(0), seeds)
    np.testing.assert_array_equal(got, np.stack([random.fold_in(random.PRNGKey(0), int(s))
                                                 for s in seeds]))
    # unmapped key, mapped bounds
    got = spmdgrad.vmap(lambda lo: random.uniform(random.PRNGKey(2), (3,), minval=lo))(
        np.array([-1.0, 0.0, 0.5]))
    want = loop_vmap(lambda lo: random.uniform(random.PRNGKey(2), (3,), minval=lo), 0,
                     np.array([-1.0, 0.0, 0.5]))
    np.testing.assert_array_equal(got, want)


def test_traced_seeds_under_jit_and_vmap():
    f = spmdgrad.jit(lambda s: random.normal(random.PRNGKey(s), (3,)))
    np.testing.assert_array_equal(f(np.int64(7)), random.normal(random.PRNGKey(7), (3,)))
    g = spmdgrad.vmap(lambda s: random.uniform(random.key(s), (2,)))
    np.testing.assert_array_equal(g(np.arange(3)), np.stack([random.uniform(random.key(i), (2,))
                                                            for i in range(3)]))


def test_typed_keys_mapped_over_their_data_axis_is_an_error():
    keys = random.split(random.key(0), 4)
    with pytest.raises(TypeError, match="non-negative in_axes"):
        spmdgrad.vmap(lambda k: random.normal(k), in_axes=-1)(keys)


def test_nested_vmap_and_jit_of_vmap():
    keys = random.split(random.PRNGKey(0), 6).reshape(2, 3, 2)
    f = lambda k: random.normal(k, (2,))
    got = spmdgrad.vmap(spmdgrad.vmap(f))(keys)
    want = np.stack([np.stack([f(keys[i, j]) for j in range(3)]) for i in range(2)])
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(spmdgrad.jit(spmdgrad.vmap(spmdgrad.vmap(f)))(keys), want)


def test_grad_through_location_scale():
    k = random.PRNGKey(0)

    def loss(mu, sigma):
        return jnp.sum((mu + sigma * random.normal(k, (4,))) ** 2)

    check_grads(loss, (np.float64(0.3), np.float64(1.7)), order=2)
    z = random.normal(k, (4,))
    gmu, gs = spmdgrad.grad(loss, argnums=(0, 1))(0.3, 1.7)
    np.testing.assert_allclose(gmu, np.sum(2 * (0.3 + 1.7 * z)))
    np.testing.assert_allclose(gs, np.sum(2 * (0.3 + 1.7 * z) * z))
    # the key can be an argument of the differentiated function; it is not differentiated
    g = spmdgrad.grad(lambda s, k: jnp.sum(s * random.normal(k, (3,))))(2.0, random.key(1))
    np.testing.assert_allclose(g, np.sum(random.normal(random.key(1), (3,))))


def test_grad_of_uniform_bounds_and_truncated_normal_bounds():
    k = random.PRNGKey(4)
    check_grads(lambda lo, hi: jnp.sum(random.uniform(k, (5,), minval=lo, maxval=hi) ** 2),
                (np.float64(-1.0), np.float64(2.0)), order=1)
    check_grads(lambda lo, hi: jnp.sum(random.truncated_normal(k, lo, hi, (5,))),
                (np.float64(-0.7), np.float64(1.3)), order=1)
    mean = np.array([0.5, -1.0])
    cov = np.array([[2.0, 0.3], [0.3, 1.0]])
    check_grads(lambda m, c: jnp.sum(random.multivariate_normal(k, m, c, (3,)) ** 2),
                (mean, cov), order=1)


def test_vmap_of_grad_with_mapped_keys():
    keys = random.split(random.PRNGKey(7), 3)
    f = spmdgrad.grad(lambda s, k: jnp.sum(jnp.sin(s * random.normal(k, (2,)))))
    got = spmdgrad.vmap(f, in_axes=(None, 0))(0.8, keys)
    want = np.stack([f(0.8, keys[i]) for i in range(3)])
    np.testing.assert_allclose(got, want, rtol=1e-14)


def test_statistics_are_sane():
    k = random.PRNGKey(0)
    x = random.normal(k, (20000,))
    assert abs(x.mean()) < 0.03 and abs(x.std() - 1) < 0.03
    g = random.gamma(k, 3.0, (20000,))
    assert abs(g.mean() - 3) < 0.1
    assert sorted(random.permutation(k, 50).tolist()) == list(range(50))
    q = random.orthogonal(k, 4, (2,))
    np.testing.assert_allclose(q @ np.swapaxes(q, -1, -2), np.broadcast_to(np.eye(4), (2, 4, 4)),
                               atol=1e-12)
    r = random.randint(k, (1000,), -2, 3)
    assert r.min() == -2 and r.max() == 2
    assert np.all(np.linalg.norm(random.ball(k, 3, shape=(100,)), axis=-1) < 1)


# --------------------------------------------------------------------------- typed keys

def test_typed_key_surface():
    k = random.key(42)
    assert k.shape == () and str(k.dtype) == "key<fry>" and k.ndim == 0
    np.testing.assert_array_equal(random.key_data(k), random.PRNGKey(42))
    ks = random.split(k, (2, 3))
    assert ks.shape == (2, 3) and ks[1].shape == (3,) and ks[1, 2].shape == ()
    assert len(list(random.split(k, 4))) == 4
    w = random.wrap_key_data(random.key_data(ks))
    np.testing.assert_array_equal(random.key_data(w), random.key_data(ks))
    assert bool(random.split(k)[0] == random.split(k)[0])
    assert random.key_impl(k) == "threefry2x32"
    assert "key<fry>" in repr(k)
    assert random.PRNGKey(2**40 + 7).tolist() == [256, 7]
    assert random.PRNGKey(-1).tolist() == [2**32 - 1, 2**32 - 1]
    assert random.PRNGKey(np.int32(-1)).tolist() == [0, 2**32 - 1]


# --------------------------------------------------------------------------- errors

def test_typed_key_used_as_number_is_an_error():
    k = random.key(0)
    with pytest.raises(TypeError, match="typed PRNG key.*key_data"):
        jnp.sin(k)
    with pytest.raises(TypeError, match="typed PRNG key"):
        k + 1
    with pytest.raises(TypeError, match="typed PRNG key"):
        np.asarray(k)
    with pytest.raises(TypeError, match="typed PRNG key"):
        spmdgrad.vmap(lambda k: jnp.cos(k))(random.split(k, 2))


@pytest.mark.parametrize("bad", [np.zeros(2), np.zeros(3, np.uint32), np.array([1, 2]), 3,
                                 np.zeros((2, 2), np.int32)])
def test_array_where_a_key_is_expected_is_an_error(bad):
    with pytest.raises(TypeError, match=r"random\.normal: expected a PRNG key.*PRNGKey"):
        random.normal(bad, (2,))


def test_key_array_where_one_key_is_expected():
    with pytest.raises(ValueError, match=r"random\.uniform: expects a single key.*vmap"):
        random.uniform(random.split(random.PRNGKey(0), 3))
    with pytest.raises(ValueError, match=r"random\.split: expects a single key"):
        random.split(random.split(random.key(0), 3))


def test_bad_arguments():
    k = random.PRNGKey(0)
    with pytest.raises(TypeError, match="seed must be an integer"):
        random.PRNGKey(1.5)
    with pytest.raises(TypeError, match="scalar seed"):
        random.key(np.arange(3))
    with pytest.raises(TypeError, match="already a typed key"):
        random.wrap_key_data(random.key(0))
    with pytest.raises(ValueError, match="dtype must be a float"):
        random.normal(k, (2,), np.int32)
    with pytest.raises(TypeError, match="integer dtype"):
        random.randint(k, (2,), 0, 3, np.float32)
    with pytest.raises(ValueError, match="unsigned"):
        random.bits(k, (2,), np.int32)
    with pytest.raises(TypeError, match="p must have a float dtype"):
        random.bernoulli(k, 1, (2,))
    with pytest.raises(ValueError, match="must broadcast to the requested shape"):
        random.uniform(k, (3,), minval=np.zeros(4))
    with pytest.raises(ValueError, match="cannot take a larger sample"):
        random.choice(k, 3, (5,), replace=False)
    with pytest.raises(ValueError, match="cov of shape"):
        random.multivariate_normal(k, np.zeros(2), np.eye(3))
    with pytest.raises(NotImplementedError, match="highest"):
        random.gumbel(k, (2,), np.float32, mode="highest")
    with pytest.raises(TypeError, match="data must be a scalar"):
        random.fold_in(k, np.arange(2))


def test_gamma_gradient_is_the_implicit_reparameterisation():
    """d x / d a at a fixed CDF level: -(dP/da) / p(x), with P (SciPy's regularized
    incomplete gamma) differentiated by central differences in a."""
    special = pytest.importorskip("scipy.special")
    k = random.PRNGKey(3)
    a = np.array([0.05, 0.7, 1.0, 3.0, 40.0])
    x = random.gamma(k, a)
    got = np.diag(spmdgrad.jacfwd(lambda a: random.gamma(k, a))(a))
    h = 1e-6 * a
    dp_da = (special.gammainc(a + h, x) - special.gammainc(a - h, x)) / (2 * h)
    pdf = np.exp((a - 1) * np.log(x) - x - special.gammaln(a))
    np.testing.assert_allclose(got, -dp_da / pdf, rtol=1e-6)
    # reverse mode agrees, and loggamma's gradient is d log(x) / d a
    np.testing.assert_allclose(spmdgrad.grad(lambda a: jnp.sum(random.gamma(k, a)))(a), got,
                               rtol=1e-13)
    np.testing.assert_allclose(np.diag(spmdgrad.jacfwd(lambda a: random.loggamma(k, a))(a)),
                               got / x, rtol=1e-10)


def test_gamma_gradient_under_vmap_matches_loop():
    keys = random.split(random.PRNGKey(0), 3)
    f = spmdgrad.grad(lambda a, k: jnp.sum(random.beta(k, a, 2.0, (2,))))
    got = spmdgrad.vmap(f, in_axes=(None, 0))(1.5, keys)
    np.testing.assert_allclose(got, np.stack([f(1.5, keys[i]) for i in range(3)]), rtol=1e-14)


def test_gamma_second_derivative_is_an_error():
    k = random.PRNGKey(0)
    with pytest.raises(NotImplementedError, match="random_gamma_grad"):
        spmdgrad.grad(spmdgrad.grad(lambda a: jnp.sum(random.gamma(k, a, (2,)))))(2.0)
