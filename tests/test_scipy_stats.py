"""spmdgrad.scipy.stats: values against scipy.stats, derivatives against finite differences
(orders 1 and 2), vmap against a Python loop, jit against eager, and values and gradients
against numbers computed with jax.scipy.stats (JAX 0.10.2, x64), including points outside
the support."""
import numpy as np
import pytest
import scipy.stats as ss

from spmdgrad import grad, jit, vmap
from spmdgrad.scipy import stats
from spmdgrad.test_util import check_grads, loop_vmap

inf, nan = np.inf, np.nan

JAX_CASES = [  # (distribution, function, args, argnums, JAX value, JAX gradient in argnums)
    ('norm', 'logpdf', (0.3, -0.2, 1.7), (0, 1, 2), -1.4928193794225524,
     [-0.17301038062283738, 0.17301038062283738, -0.5373498880521067]),
    ('norm', 'pdf', (0.3, -0.2, 1.7), (0, 1, 2), 0.2247381394031825,
     [-0.038882031038612895, 0.038882031038612895, -0.12076301404933887]),
    ('norm', 'cdf', (0.3, -0.2, 1.7), (0, 1, 2), 0.6156659967195957,
     [0.22473813940318252, -0.22473813940318252, -0.06609945276564191]),
    ('norm', 'logcdf', (-3.3, -0.2, 1.7), (0, 1, 2), -3.378117092867364,
     [1.3046314026676926, -1.3046314026676926, 2.3790337342763808]),
    ('norm', 'sf', (0.3, -0.2, 1.7), (0, 1, 2), 0.38433400328040435,
     [-0.22473813940318252, 0.22473813940318252, 0.06609945276564191]),
    ('norm', 'logsf', (4.3, -0.2, 1.7), (0, 1, 2), -5.506631076707426,
     [-1.7395110792904571, 1.7395110792904571, 4.604588151062975]),
    ('norm', 'ppf', (0.3, -0.2, 1.7), (0, 1, 2), -1.0914808716036692,
     [4.889376220749297, 1.0, -0.5244005127080408]),
    ('norm', 'isf', (0.3, -0.2, 1.7), (0, 1, 2), 0.6914808716036689,
     [-4.889376220749297, 1.0, 0.5244005127080406]),
    ('uniform', 'logpdf', (0.3, -0.2, 1.7), (0, 1, 2), -0.5306282510621704, [0.0, 0.0, -0.5882352941176471]),
    ('uniform', 'pdf', (0.3, -0.2, 1.7), (0, 1, 2), 0.5882352941176471, [0.0, 0.0, -0.34602076124567477]),
    ('uniform', 'cdf', (0.3, -0.2, 1.7), (0, 1, 2), 0.29411764705882354,
     [0.5882352941176471, -0.5882352941176471, -0.17301038062283738]),
    ('uniform', 'ppf', (0.3, -0.2, 1.7), (0, 1, 2), 0.31, [1.7, 1.0, 0.3]),
    ('uniform', 'logpdf', (2.0, -0.2, 1.7), (0, 1, 2), -inf, [0.0, 0.0, -0.0]),
    ('uniform', 'cdf', (2.0, -0.2, 1.7), (0, 1, 2), 1.0, [0.0, -0.0, -0.0]),
    ('laplace', 'logpdf', (0.3, -0.2, 1.7), (0, 1, 2), -1.5178930786809393,
     [-0.5882352941176471, 0.5882352941176471, -0.4152249134948097]),
    ('laplace', 'pdf', (0.3, -0.2, 1.7), (0, 1, 2), 0.21917318147455309,
     [-0.12892540086738416, 0.12892540086738416, -0.09100616531815352]),
    ('laplace', 'cdf', (0.3, -0.2, 1.7), (0, 1, 2), 0.6274055914932597,
     [0.2191731814745531, -0.2191731814745531, -0.0644627004336921]),
    ('laplace', 'cdf', (-0.9, -0.2, 1.7), (0, 1, 2), 0.3312400676969631,
     [0.19484709864527244, -0.19484709864527244, 0.08023115826570042]),
    ('laplace', 'logpdf', (-0.2, -0.2, 1.7), (0, 1, 2), -1.2237754316221157,
     [-0.5882352941176471, 0.5882352941176471, -0.5882352941176471]),
    ('cauchy', 'logpdf', (0.3, -0.2, 1.7), (0, 1, 2), -1.7583244347073916,
     [-0.3184713375796178, 0.3184713375796178, -0.4945672536530536]),
    ('cauchy', 'pdf', (0.3, -0.2, 1.7), (0, 1, 2), 0.17233337787020517,
     [-0.05488324135993796, 0.05488324135993796, -0.08523044540602129]),
    ('cauchy', 'cdf', (0.3, -0.2, 1.7), (0, 1, 2), 0.5910530018557488,
     [0.17233337787020517, -0.17233337787020517, -0.05068628760888388]),
    ('cauchy', 'logcdf', (0.3, -0.2, 1.7), (0, 1, 2), -0.5258495839461844,
     [0.29157009156391106, -0.29157009156391106, -0.08575590928350325]),
    ('cauchy', 'sf', (0.3, -0.2, 1.7), (0, 1, 2), 0.4089469981442512,
     [-0.17233337787020517, 0.17233337787020517, 0.05068628760888388]),
    ('cauchy', 'logsf', (0.3, -0.2, 1.7), (0, 1, 2), -0.8941697202260623,
     [-0.4214076118720319, 0.4214076118720319, 0.12394341525647999]),
    ('cauchy', 'ppf', (0.3, -0.2, 1.7), (0, 1, 2), -1.4351222976091134,
     [8.15987498107742, 1.0, -0.7265425280053609]),
    ('cauchy', 'isf', (0.3, -0.2, 1.7), (0, 1, 2), 1.0351222976091135,
     [-8.15987498107742, 1.0, 0.7265425280053609]),
    ('logistic', 'logpdf', (0.3, -0.2, 1.7), (0, 1, 2), -1.9384714069068907,
     [-0.08588694226510338, 0.08588694226510338, -0.5629744287455578]),
    ('logistic', 'pdf', (0.3, -0.2, 1.7), (0, 1, 2), 0.14392378261746083,
     [-0.012361173608241143, 0.012361173608241143, -0.08102540930196486]),
    ('logistic', 'cdf', (0.3, -0.2, 1.7), (0, 1, 2), 0.5730039009253378,
     [0.14392378261746086, -0.14392378261746086, -0.04233052429925319]),
    ('logistic', 'sf', (0.3, -0.2, 1.7), (0, 1, 2), 0.4269960990746621,
     [-0.14392378261746083, 0.14392378261746083, 0.04233052429925319]),
    ('logistic', 'ppf', (0.3, -0.2, 1.7), (0, 1, 2), -1.640406362658246,
     [8.095238095238095, 1.0, -0.8472978603872036]),
    ('logistic', 'isf', (0.3, -0.2, 1.7), (0, 1, 2), 1.240406362658246,
     [-8.095238095238095, 1.0, 0.8472978603872036]),
    ('logistic', 'logpdf', (800.0, 0.0, 1.0), (0, 1, 2), -800.0, [-1.0, 1.0, 799.0]),
    ('t', 'logpdf', (0.3, 3.5, -0.2, 1.7), (0, 1, 2, 3), -1.575036211674747,
     [-0.21707670043415342, 0.02297770464971663, 0.21707670043415342, -0.5243892057546609]),
    ('t', 'pdf', (0.3, 3.5, -0.2, 1.7), (0, 1, 2, 3), 0.20700005672670613,
     [-0.04493488930391594, 0.004756386165940835, 0.04493488930391594, -0.10854859533808718]),
    ('gamma', 'logpdf', (1.3, 2.5, 0.2, 1.7), (0, 1, 2, 3), -2.11534705195127,
     [0.7754010695187167, -1.1384747119030894, -0.7754010695187167, -1.0899653979238755]),
    ('gamma', 'pdf', (1.3, 2.5, 0.2, 1.7), (0, 1, 2, 3), 0.12059143079863213,
     [0.09350672441605164, -0.13729029443645405, -0.09350672441605164, -0.13144048685664056]),
    ('gamma', 'cdf', (1.3, 2.5, 0.2, 1.7), (0, 2, 3), 0.0644641965226462,
     [0.12059143079863212, -0.12059143079863212, -0.07802974934029137]),
    ('gamma', 'logcdf', (1.3, 2.5, 0.2, 1.7), (0, 2, 3), -2.7416453019735365,
     [1.870672982890099, -1.870672982890099, -1.2104354595171232]),
    ('gamma', 'sf', (1.3, 2.5, 0.2, 1.7), (0, 2, 3), 0.9355358034773538,
     [-0.12059143079863212, 0.12059143079863212, 0.07802974934029137]),
    ('gamma', 'logsf', (1.3, 2.5, 0.2, 1.7), (0, 2, 3), -0.06663586197752187,
     [-0.1289009253845743, 0.1289009253845743, 0.08340648113119514]),
    ('gamma', 'logpdf', (0.1, 2.5, 0.2, 1.7), (0, 1, 2, 3), -inf, [0.0, 0.0, -0.0, 0.0]),
    ('beta', 'logpdf', (0.3, 2.5, 1.5, 0.1, 0.8), (0, 1, 2, 3, 4), -0.3722801902011359,
     [6.666666666666668, -0.8333333333333338, 0.9319456220014427, -6.666666666666668, -2.916666666666667]),
    ('beta', 'pdf', (0.3, 2.5, 1.5, 0.1, 0.8), (0, 1, 2, 3, 4), 0.6891611192772398,
     [4.594407461848265, -0.5743009327310336, 0.6422606879640376, -4.594407461848265, -2.010053264558616]),
    ('beta', 'cdf', (0.3, 2.5, 1.5, 0.1, 0.8), (0, 3, 4), 0.0576688856224373,
     [0.6891611192772398, -0.6891611192772398, -0.17229027981930992]),
    ('beta', 'logcdf', (0.3, 2.5, 1.5, 0.1, 0.8), (0, 3, 4), -2.853037494890963,
     [11.950311018479384, -11.950311018479384, -2.987577754619845]),
    ('beta', 'sf', (0.3, 2.5, 1.5, 0.1, 0.8), (0, 3, 4), 0.9423311143775627,
     [-0.6891611192772401, 0.6891611192772401, 0.17229027981930997]),
    ('beta', 'logsf', (0.3, 2.5, 1.5, 0.1, 0.8), (0, 3, 4), -0.059398564705559695,
     [-0.731336479038423, 0.731336479038423, 0.1828341197596057]),
    ('beta', 'logpdf', (1.3, 2.5, 1.5, 0.1, 0.8), (0, 1, 2, 3, 4), -inf, [0.0, 0.0, nan, -0.0, -0.0]),
    ('bernoulli', 'logpmf', (1.0, 0.3, 0.0), (1,), -1.2039728043259361, [3.3333333333333335]),
    ('bernoulli', 'logpmf', (0.0, 0.3, 0.0), (1,), -0.3566749439387324, [-1.4285714285714286]),
    ('bernoulli', 'pmf', (1.0, 0.3, 0.0), (1,), 0.3, [1.0]),
    ('bernoulli', 'cdf', (0.5, 0.3), (1,), 0.7, [-1.0]),
    ('bernoulli', 'ppf', (0.5, 0.3), (1,), 0.0, [0.0]),
    ('bernoulli', 'logpmf', (2.0, 0.3, 0.0), (1,), -inf, [0.0]),
    ('poisson', 'logpmf', (3.0, 2.5, 0.0), (1,), -1.5428872736055903, [0.20000000000000018]),
    ('poisson', 'pmf', (3.0, 2.5, 0.0), (1,), 0.21376301724973634, [0.042752603449947246]),
    ('poisson', 'cdf', (3.0, 2.5, 0.0), (1,), 0.757576133133066, [-0.21376301724973634]),
    ('poisson', 'logpmf', (0.0, 2.5, 0.0), (1,), -2.5, [-1.0]),
    ('poisson', 'logpmf', (1.5, 2.5, 0.0), (1,), -inf, [0.0]),
    ('poisson', 'entropy', (2.5, 0.0), (0,), 1.8307266079268039, [0.22313353076867748]),
    ('poisson', 'entropy', (40.0, 0.0), (0,), 3.2612680129377174, [0.012553452136868426]),
    ('poisson', 'entropy', (250.0, 0.0), (0,), 4.179335658802462, [0.0020013333333333333]),
]


def close(a, b, rtol=1e-10, atol=1e-13):
    if isinstance(a, tuple):
        for x, y in zip(a, b, strict=True):
            close(x, y, rtol, atol)
        return
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=rtol, atol=atol)


@pytest.mark.parametrize("dist,fn,args,argnums,value,g", JAX_CASES,
                         ids=[f"{c[0]}.{c[1]}{c[2]}" for c in JAX_CASES])
def test_matches_jax(dist, fn, args, argnums, value, g):
    f = getattr(getattr(stats, dist), fn)
    # Large-mu Poisson entropy: spmdgrad sums more terms of the asymptotic series (closer to
    # SciPy's 4.179334988728 at mu = 250 than JAX's value).
    rtol = 1e-6 if (fn == "entropy" and args[0] >= 100) else 1e-10
    with np.errstate(all="ignore"):
        close(f(*args), value, rtol=rtol)
        close(grad(f, argnums)(*args), g, rtol=max(rtol, 1e-9) * 10)


# --------------------------------------------------------------------------- values against SciPy
# (distribution, function, SciPy reference, samplers for each argument)
X = lambda rng, s: rng.uniform(-3, 3, s)
POS = lambda rng, s: rng.uniform(0.5, 3, s)
UNIT = lambda rng, s: rng.uniform(0.05, 0.95, s)
LOC = lambda rng, s: rng.uniform(-1, 1, s)
# Samplers that keep x inside a bounded support for derivative checks.
IN = lambda rng, s: rng.uniform(0.3, 0.6, s)
LOC_IN = lambda rng, s: rng.uniform(-0.2, 0.0, s)
SCALE_IN = lambda rng, s: rng.uniform(1.0, 1.5, s)
CONT = [
    ("norm", ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"), (X, LOC, POS)),
    ("norm", ("ppf", "isf"), (UNIT, LOC, POS)),
    ("uniform", ("logpdf", "pdf", "cdf"), (IN, LOC_IN, SCALE_IN)),
    ("uniform", ("ppf",), (UNIT, LOC, POS)),
    ("laplace", ("logpdf", "pdf", "cdf"), (X, LOC, POS)),
    ("cauchy", ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"), (X, LOC, POS)),
    ("cauchy", ("ppf", "isf"), (UNIT, LOC, POS)),
    ("logistic", ("logpdf", "pdf", "cdf", "sf"), (X, LOC, POS)),
    ("logistic", ("ppf", "isf"), (UNIT, LOC, POS)),
    ("t", ("logpdf", "pdf"), (X, POS, LOC, POS)),
    ("gamma", ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"), (POS, POS, LOC_IN, POS)),
    ("beta", ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"), (IN, POS, POS, LOC_IN, SCALE_IN)),
]
EXPANDED = [(d, f, s) for d, fs, s in CONT for f in fs]


@pytest.mark.parametrize("dist,fn,samplers", EXPANDED, ids=[f"{d}.{f}" for d, f, _ in EXPANDED])
def test_continuous_values_match_scipy(rng, dist, fn, samplers):
    f, ref = getattr(getattr(stats, dist), fn), getattr(getattr(ss, dist), fn)
    args = [s(rng, (4, 3) if i == 0 else (3,)) for i, s in enumerate(samplers)]   # broadcasting
    with np.errstate(all="ignore"):
        close(f(*args), ref(*args), rtol=1e-9)
        close(f(*[a[0] for a in args]), ref(*[a[0] for a in args]), rtol=1e-9)    # scalars


@pytest.mark.filterwarnings("ignore::RuntimeWarning")   # -inf * 0 off the support, masked
def test_discrete_values_match_scipy(rng):
    k = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 1.5, 7.0])
    for p in (0.2, 0.7):
        close(stats.bernoulli.logpmf(k, p), ss.bernoulli.logpmf(k, p))
        close(stats.bernoulli.pmf(k, p), ss.bernoulli.pmf(k, p))
        close(stats.bernoulli.cdf(k, p), ss.bernoulli.cdf(k, p))
        q = np.array([0.1, 0.5, 0.8, 1.0])
        close(stats.bernoulli.ppf(q, p), ss.bernoulli.ppf(q, p))
        close(stats.bernoulli.ppf(0.0, p), 0.0)   # JAX's value; SciPy returns -1 at q = 0
    for mu in (0.5, 3.0, 12.0):
        close(stats.poisson.logpmf(k, mu), ss.poisson.logpmf(k, mu))
        close(stats.poisson.pmf(k, mu, 1.0), ss.poisson.pmf(k, mu, 1.0))
        close(stats.poisson.cdf(k, mu), ss.poisson.cdf(k, mu))
    mus = np.array([0.0, 0.3, 2.5, 40.0, 99.0, 150.0])
    close(stats.poisson.entropy(mus), ss.poisson.entropy(mus), rtol=1e-8)
    # Large mu (SciPy's own sum does not converge there): a direct sum over +-40 sigma.
    mu = 1e4
    k = np.arange(mu - 40 * np.sqrt(mu), mu + 40 * np.sqrt(mu))
    logp = ss.poisson.logpmf(k, mu)
    close(stats.poisson.entropy(mu), -np.sum(np.exp(logp) * logp), rtol=1e-10)


def test_edges_match_scipy():
    with np.errstate(all="ignore"):
        close(stats.uniform.logpdf([-1.0, 0.0, 1.0, 2.0]), ss.uniform.logpdf([-1.0, 0.0, 1.0, 2.0]))
        close(stats.gamma.logpdf([-1.0, 0.0], 2.0), ss.gamma.logpdf([-1.0, 0.0], 2.0))
        close(stats.gamma.cdf(-1.0, 2.0), 0.0)
        close(stats.gamma.sf(-1.0, 2.0), 1.0)
        close(stats.beta.logpdf([-0.5, 1.5], 2.0, 3.0), ss.beta.logpdf([-0.5, 1.5], 2.0, 3.0))
        assert np.isnan(stats.beta.logpdf(0.5, -1.0, 2.0))
        assert np.isnan(stats.uniform.ppf(1.5)) and np.isnan(stats.bernoulli.cdf(0.5, 1.5))
        close(stats.norm.logcdf(-40.0), ss.norm.logcdf(-40.0))
        close(stats.logistic.logpdf(800.0), ss.logistic.logpdf(800.0))


# --------------------------------------------------------------------------- derivatives

@pytest.mark.parametrize("dist,fn,samplers", EXPANDED, ids=[f"{d}.{f}" for d, f, _ in EXPANDED])
def test_continuous_grads(rng, dist, fn, samplers):
    f = getattr(getattr(stats, dist), fn)
    args = [s(rng, (3,)) for s in samplers]
    if dist in ("gamma", "beta") and fn not in ("logpdf", "pdf"):
        shapes = 2 if dist == "beta" else 1     # no derivative in the shape parameters
        fixed = args[1:1 + shapes]
        g = lambda x, *rest: f(x, *fixed, *rest)
        args = [args[0]] + args[1 + shapes:]
    else:
        g = f
    check_grads(g, args, order=2)


def test_discrete_grads(rng):
    k = np.array([0.0, 1.0, 1.0])
    check_grads(lambda p: stats.bernoulli.logpmf(k, p), (rng.uniform(0.2, 0.8, 3),), order=2)
    check_grads(lambda p: stats.bernoulli.cdf(0.5, p), (rng.uniform(0.2, 0.8, 3),), order=2)
    k = np.array([0.0, 2.0, 5.0])
    check_grads(lambda mu: stats.poisson.logpmf(k, mu), (rng.uniform(0.5, 4, 3),), order=2)
    check_grads(lambda mu: stats.poisson.cdf(k, mu), (rng.uniform(0.5, 4, 3),), order=2)
    check_grads(stats.poisson.entropy, (np.array([0.7, 5.0, 60.0, 300.0]),), order=1)


def test_shape_derivative_of_incomplete_functions_is_refused():
    with pytest.raises(NotImplementedError, match="gammainc: the derivative with respect to a"):
        grad(stats.gamma.cdf, 1)(1.0, 2.0)
    with pytest.raises(NotImplementedError, match="betainc: the derivative with respect to a"):
        grad(stats.beta.cdf, 1)(0.5, 2.0, 3.0)


# --------------------------------------------------------------------------- multivariate normal

MX = np.array([[0.3, -0.5, 1.0], [1.2, 0.1, -0.4]])
MM = np.array([0.1, 0.2, -0.3])
MC = np.array([[2.0, 0.3, 0.1], [0.3, 1.5, -0.2], [0.1, -0.2, 1.0]])


def test_multivariate_normal_matches_scipy_and_jax(rng):
    mvn = stats.multivariate_normal
    close(mvn.logpdf(MX, MM, MC), ss.multivariate_normal.logpdf(MX, MM, MC))
    close(mvn.pdf(MX, MM, MC), ss.multivariate_normal.pdf(MX, MM, MC))
    close(mvn.logpdf(MX, MM, 1.7), ss.multivariate_normal.logpdf(MX, MM, 1.7))
    close(mvn.logpdf(0.3, -0.2, 1.7), ss.multivariate_normal.logpdf(0.3, -0.2, 1.7))
    covs = np.stack([MC, 2 * MC])       # a stack of covariances broadcasts against x
    close(mvn.logpdf(MX, MM, covs), [ss.multivariate_normal.logpdf(MX[i], MM, covs[i]) for i in range(2)])
    f = lambda x, m, c: mvn.logpdf(x, m, c).sum()
    close(mvn.logpdf(MX, MM, MC), [-4.19067661155265, -3.618361235170202], rtol=1e-12)
    gx, gm, gc = grad(f, (0, 1, 2))(MX, MM, MC)
    close(gx, [[-0.086692829111666, 0.320371031038173, -1.227256510881199],
               [-0.591865858009276, 0.211915804495184, 0.201569746699964]], rtol=1e-9)
    close(gm, [0.678558687120942, -0.532286835533357, 1.025686764181234], rtol=1e-9)
    close(gc, [[-0.341960075649033, 0.037563596111348, 0.068465772809292],
               [0.037563596111348, -0.636180668258577, -0.328637873212904],
               [0.068465772809292, -0.328637873212904, -0.264778932515733]], rtol=1e-9)
    close(grad(f, 2)(MX, MM, 1.7), -1.167820069204152, rtol=1e-9)
    close(grad(mvn.logpdf, (0, 1, 2))(0.3, -0.2, 1.7),
          [-0.294117647058824, 0.294117647058824, -0.250865051903114], rtol=1e-9)
    sym = lambda c: (c + c.T) / 2
    check_grads(lambda x, m, c: mvn.logpdf(x, m, sym(c)), (MX, MM, MC), order=2)


def test_multivariate_normal_errors():
    with pytest.raises(NotImplementedError, match="allow_singular"):
        stats.multivariate_normal.logpdf(MX, MM, MC, allow_singular=True)
    with pytest.raises(ValueError, match=r"cov has shape \(2, 2\)"):
        stats.multivariate_normal.logpdf(MX, MM, np.eye(2))
    with pytest.raises(ValueError, match=r"x has shape \(2, 2\) and mean has shape \(3,\)"):
        stats.multivariate_normal.logpdf(MX[:, :2], MM, MC)


# --------------------------------------------------------------------------- vmap, jit

@pytest.mark.parametrize("in_axes", [(0, None, None), (None, 0, 0), (1, 0, None), (0, 0, 0)])
def test_vmap_matches_loop(rng, in_axes):
    shape = lambda ax: (4, 3) if ax == 0 else (3, 4) if ax == 1 else (3,)
    x, loc, scale = (rng.uniform(0.1, 2.0, shape(ax)) for ax in in_axes)
    for f in (stats.norm.logpdf, stats.cauchy.cdf, stats.logistic.logpdf, stats.laplace.cdf,
              lambda x, lc, s: stats.t.logpdf(x, s + 1, lc, s),
              lambda x, lc, s: stats.gamma.logpdf(x + 2, s, lc, s),
              lambda x, lc, s: stats.beta.logpdf(x / 4 + 0.1, s, lc + 2, 0.0, 1.0),
              lambda x, lc, s: stats.poisson.logpmf(np.arange(3.0), s)):
        close(vmap(f, in_axes)(x, loc, scale), loop_vmap(f, in_axes, x, loc, scale))
        g = grad(lambda *a, f=f: f(*a).sum(), (0, 1, 2))
        close(vmap(g, in_axes)(x, loc, scale), loop_vmap(g, in_axes, x, loc, scale))


def test_mvn_vmap_and_jit(rng):
    xs = rng.standard_normal((5, 3))
    f = lambda x, c: stats.multivariate_normal.logpdf(x, MM, c)
    close(vmap(f, (0, None))(xs, MC), loop_vmap(f, (0, None), xs, MC))
    g = grad(f, (0, 1))
    close(vmap(g, (0, None))(xs, MC), loop_vmap(g, (0, None), xs, MC))
    total = vmap(grad(f, 1, reduce_axes=("b",)), (0, None), out_axes=None, axis_name="b")(xs, MC)
    close(total, sum(grad(f, 1)(x, MC) for x in xs))
    close(jit(f)(xs, MC), f(xs, MC))


def test_jit_matches_eager(rng):
    x = rng.uniform(0.2, 0.8, 4)

    def f(x):
        return (stats.norm.logpdf(x, 0.1, 2.0) + stats.beta.logpdf(x, 2.0, 3.0) + stats.gamma.cdf(x, 2.0)
                + stats.t.logpdf(x, 3.0) + stats.cauchy.ppf(x) + stats.uniform.cdf(x, 0.0, 0.5)).sum()
    close(jit(f)(x), f(x))
    close(jit(grad(f))(x), grad(f)(x))


def test_float32_is_kept():
    x = np.float32(0.5)
    assert stats.norm.logpdf(x).dtype == np.float32
    assert stats.gamma.cdf(x, np.float32(2.0)).dtype == np.float32
