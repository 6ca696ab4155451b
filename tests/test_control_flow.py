"""lax.scan, fori_loop, while_loop, cond, switch and map: values, derivatives, batching, jit."""
import numpy as np
import pytest

import spmdgrad
import spmdgrad.numpy as jnp
from spmdgrad import lax
from spmdgrad.test_util import check_grads, loop_vmap

rng = np.random.default_rng(0)


def rnn_step(W, U, b=0.0):
    def step(h, x):
        h = jnp.tanh(h @ W + x @ U + b)
        return h, jnp.sum(h ** 2)
    return step


def rnn(W, U, h0, xs):
    h, ys = lax.scan(rnn_step(W, U), h0, xs)
    return jnp.sum(h) + jnp.sum(ys)


def rnn_unrolled(W, U, h0, xs):
    h, total = h0, 0.0
    for x in xs:
        h = np.tanh(h @ W + x @ U)
        total = total + np.sum(h ** 2)
    return np.sum(h) + total


W = rng.normal(size=(3, 3)) * 0.5
U = rng.normal(size=(2, 3))
H0 = rng.normal(size=3)
XS = rng.normal(size=(5, 2))


# ---------------------------------------------------------------- forward values

def test_scan_matches_python_loop():
    assert np.allclose(rnn(W, U, H0, XS), rnn_unrolled(W, U, H0, XS))
    carry, ys = lax.scan(lambda c, x: (c + x, c * x), 0.0, np.arange(1.0, 5.0))
    assert carry == 10.0 and np.array_equal(ys, [0.0, 2.0, 9.0, 24.0])


def test_scan_pytrees_reverse_length_unroll():
    def step(c, x):
        a, b = c["a"], c["b"]
        return {"a": a + x[0], "b": b * 2.0}, (a, x[1] * b)
    xs = (np.arange(4.0), np.ones(4))
    for reverse in (False, True):
        c, (ya, yb) = lax.scan(step, {"a": 0.0, "b": np.ones(2)}, xs, reverse=reverse, unroll=2)
        a, b, ra, rb = 0.0, np.ones(2), [None] * 4, [None] * 4
        for i in (range(3, -1, -1) if reverse else range(4)):
            ra[i], rb[i] = a, xs[1][i] * b
            a, b = a + xs[0][i], b * 2.0
        assert c["a"] == a and np.array_equal(c["b"], b)
        assert np.array_equal(ya, ra) and np.array_equal(yb, np.stack(rb))
    c, ys = lax.scan(lambda c, _: (c + 1.0, c), 0.0, length=3)
    assert c == 3.0 and np.array_equal(ys, [0.0, 1.0, 2.0])
    c, ys = lax.scan(lambda c, _: (c + 1.0, c), 0.0, length=0)
    assert c == 0.0 and ys.shape == (0,)


def test_fori_while_cond_switch_map_values():
    assert lax.fori_loop(0, 5, lambda i, x: x + i, 0) == 10
    assert lax.fori_loop(3, 1, lambda i, x: x + i, 7) == 7
    assert lax.while_loop(lambda x: x < 100, lambda x: 2 * x, 1) == 128
    assert lax.cond(True, lambda x: x + 1.0, lambda x: x - 1.0, 1.0) == 2.0
    assert lax.cond(0, lambda x: x + 1.0, lambda x: x - 1.0, 1.0) == 0.0
    assert lax.cond(np.float64(0.5), lambda: 1.0, lambda: 2.0) == 1.0
    assert lax.cond(True, lambda x: x * 3.0, lambda x: x, operand=2.0) == 6.0
    branches = [lambda x: x + 1.0, lambda x: x * 10.0, lambda x: -x]
    # Out-of-range indices clamp, as in JAX (numbers checked with jax 0.10).
    assert [lax.switch(i, branches, 2.0) for i in (-3, 0, 1, 2, 7)] == [3.0, 3.0, 20.0, -2.0, -2.0]
    assert np.array_equal(lax.map(lambda x: x ** 2, np.arange(5.0)), np.arange(5.0) ** 2)
    assert np.array_equal(lax.map(lambda x: x ** 2, np.arange(5.0), batch_size=2), np.arange(5.0) ** 2)
    out = lax.map(lambda x: {"a": x, "b": 2 * x}, np.arange(3.0))
    assert np.array_equal(out["b"], [0.0, 2.0, 4.0])


def test_closure_over_traced_values():
    # The body closes over a value of an enclosing grad: it becomes an operand.
    def f(a, xs):
        return lax.scan(lambda c, x: (jnp.sin(c * a) + x, c), 0.3, xs)[0]
    xs = rng.normal(size=6)
    check_grads(f, (0.7, xs), order=2)
    eps = 1e-5
    fd = (spmdgrad.grad(f)(0.7 + eps, xs) - spmdgrad.grad(f)(0.7 - eps, xs)) / (2 * eps)
    assert np.allclose(spmdgrad.hessian(f)(0.7, xs), fd, atol=1e-6)


# ---------------------------------------------------------------- derivatives

def test_scan_rnn_grads():
    check_grads(rnn, (W, U, H0, XS), order=2)


def test_scan_reverse_grads():
    def f(W, U, h0, xs):
        h, ys = lax.scan(lambda h, x: (jnp.tanh(h @ W + x @ U), h), h0, xs, reverse=True)
        return jnp.sum(h * ys[1]) + jnp.sum(ys[0])
    check_grads(f, (W, U, H0, XS), order=2)


def test_fori_loop_grads():
    def gd(a, b):  # gradient descent on 0.5 a x^2 - b x
        return lax.fori_loop(0, 20, lambda i, x: x - 0.1 * (a * x - b), jnp.zeros_like(b))
    check_grads(gd, (np.array([1.0, 2.0]), np.array([0.5, -1.0])), order=2)
    # The loop index is a traced value in the body.
    check_grads(lambda x: lax.fori_loop(1, 4, lambda i, v: v * x + i, x), (1.3,), order=2)


@pytest.mark.parametrize("x", [np.array([1.0, 2.0]), np.array([-1.0, -2.0])])
def test_cond_grads(x):
    def f(x, y):
        return lax.cond(jnp.sum(x) > 0, lambda a, b: jnp.sin(a) * b, lambda a, b: a * 3.0 + b, x, y)
    check_grads(f, (x, np.array([0.3, 0.4])), order=2)


@pytest.mark.parametrize("i", [-1, 0, 1, 2, 5])
def test_switch_grads(i):
    branches = [lambda x, y: jnp.sin(x) * y, lambda x, y: x ** 3, lambda x, y: jnp.exp(x) * 2.0]
    check_grads(lambda x, y: lax.switch(i, branches, x, y), (np.array([0.3, 0.4]), 1.5), order=2)


def test_nested_loops_and_branches_grads():
    def f(a, xs):
        def outer(c, x):
            inner = lax.scan(lambda d, y: (d * a + jnp.sin(y), d), c, x)[0]
            c2 = lax.cond(inner > 0, lambda u: u * 2.0, lambda u: jnp.cos(u), inner)
            return c2, inner
        c, ys = lax.scan(outer, 0.1, xs)
        return c + jnp.sum(ys ** 2)
    check_grads(f, (0.8, rng.normal(size=(4, 3))), order=2)


def test_while_loop_forward_mode():
    def f(x):
        return lax.while_loop(lambda c: c[0] < 5, lambda c: (c[0] + 1, jnp.sin(c[1]) * x), (0, x))[1]
    check_grads(f, (np.array([0.5, 1.0]),), modes=("fwd",), order=2)
    _, t = spmdgrad.jvp(lambda x: lax.while_loop(lambda v: v < 10.0, lambda v: v * x, 1.0), (1.1,), (1.0,))
    assert np.isclose(t, 25 * 1.1 ** 24)  # 1.1**25 is the first power past 10


def test_while_loop_reverse_mode_error():
    f = lambda x: lax.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, c[1] * x), (0, 1.0))[1]
    with pytest.raises(NotImplementedError, match="while_loop.*scan.*fori_loop"):
        spmdgrad.grad(f)(1.5)
    # fori_loop with traced bounds is a while loop: same error.
    g = lambda x, n: lax.fori_loop(0, n, lambda i, v: v * x, 1.0)
    with pytest.raises(NotImplementedError, match="fori_loop"):
        spmdgrad.vmap(spmdgrad.grad(g), (None, 0))(1.5, np.array([1, 2]))
    # Not differentiated through: fine.
    assert spmdgrad.grad(lambda x: x * lax.while_loop(lambda v: v < 3, lambda v: v + 1, 0))(2.0) == 3.0


# ---------------------------------------------------------------- vmap

def test_vmap_scan_every_in_axes():
    xb, Wb, hb = rng.normal(size=(4, 5, 2)), rng.normal(size=(4, 3, 3)) * 0.5, rng.normal(size=(4, 3))
    for axes, args in [((None, None, None, 0), (W, U, H0, xb)), ((0, None, None, None), (Wb, U, H0, XS)),
                       ((None, None, 0, None), (W, U, hb, XS)), ((0, None, 0, 0), (Wb, U, hb, xb))]:
        assert np.allclose(spmdgrad.vmap(rnn, axes)(*args), loop_vmap(rnn, axes, *args))
        g = spmdgrad.grad(rnn, argnums=(0, 1))
        for a, b in zip(spmdgrad.vmap(g, axes)(*args), loop_vmap(g, axes, *args)):
            assert np.allclose(a, b)
    # ys batched with the batch axis first; reverse scan.
    f = lambda x: lax.scan(lambda c, x: (c + x, c * x), 0.0, x, reverse=True)
    xs = rng.normal(size=(3, 4))
    for a, b in zip(spmdgrad.vmap(f)(xs), loop_vmap(f, 0, xs)):
        assert np.allclose(a, b)


def test_vmap_batched_predicate_cond_switch():
    def f(x, y):
        return lax.cond(jnp.sum(x) > 0, lambda a, b: jnp.sin(a) * b, lambda a, b: a * 3.0 + b, x, y)
    xs = rng.normal(size=(6, 2))
    assert np.allclose(spmdgrad.vmap(f, (0, None))(xs, np.ones(2)), loop_vmap(f, (0, None), xs, np.ones(2)))
    g = spmdgrad.grad(lambda x, y: jnp.sum(f(x, y)))
    assert np.allclose(spmdgrad.vmap(g, (0, None))(xs, np.ones(2)), loop_vmap(g, (0, None), xs, np.ones(2)))

    branches = [lambda x: jnp.sin(x), lambda x: x ** 3, lambda x: jnp.exp(x) * 2.0]
    s = lambda i, x: lax.switch(i, branches, x)
    idx, xx = np.array([0, 1, 2, 7, -3]), rng.normal(size=(5, 2))
    assert np.allclose(spmdgrad.vmap(s)(idx, xx), loop_vmap(s, (0, 0), idx, xx))
    assert np.allclose(spmdgrad.vmap(s, (0, None))(idx, xx[0]), loop_vmap(s, (0, None), idx, xx[0]))
    gs = spmdgrad.grad(lambda i, x: jnp.sum(s(i, x)), argnums=1)
    assert np.allclose(spmdgrad.vmap(gs)(idx, xx), loop_vmap(gs, (0, 0), idx, xx))
    # Values checked against jax.vmap(lax.switch) with jax 0.10: [1, 1, 2, 3, 3].
    three = [lambda: 1.0, lambda: 2.0, lambda: 3.0]
    assert np.array_equal(spmdgrad.vmap(lambda i: lax.switch(i, three))(np.array([-3, 0, 1, 2, 9])),
                          [1.0, 1.0, 2.0, 3.0, 3.0])


def test_vmap_while_loop():
    w = lambda x: lax.while_loop(lambda v: v < 10.0, lambda v: v * 2.0, x)
    xw = np.array([1.0, 3.0, 0.5, 20.0])
    # Batched predicate: run until every instance is done (jax 0.10 gives [16, 12, 16, 20]).
    assert np.array_equal(spmdgrad.vmap(w)(xw), [16.0, 12.0, 16.0, 20.0])
    jw = lambda x: spmdgrad.jvp(w, (x,), (1.0,))[1]
    assert np.array_equal(spmdgrad.vmap(jw)(xw), loop_vmap(jw, 0, xw))
    # Unbatched predicate, batched carry; batched bounds of a fori_loop.
    p = lambda a, n: lax.while_loop(lambda c: c[0] < n, lambda c: (c[0] + 1, c[1] * a), (0, 1.0))[1]
    assert np.array_equal(spmdgrad.vmap(p, (0, None))(np.array([1.0, 2.0, 3.0]), 3), [1.0, 8.0, 27.0])
    assert np.array_equal(spmdgrad.vmap(p, (None, 0))(2.0, np.array([1, 2, 5])), [2.0, 4.0, 32.0])
    fv = lambda n, x: lax.fori_loop(0, n, lambda i, v: v + i * x, 0.0)
    n, x = np.array([1, 3, 5]), np.array([1.0, 2.0, 3.0])
    assert np.array_equal(spmdgrad.vmap(fv)(n, x), loop_vmap(fv, (0, 0), n, x))


def test_grad_of_vmap_and_pmap_single_process():
    def f(a, xs):
        return lax.scan(lambda c, x: (jnp.tanh(c * a + x), c), 0.1, xs)[0]
    xs = rng.normal(size=(3, 4))
    check_grads(lambda a: jnp.sum(spmdgrad.vmap(f, (None, 0))(a, xs)), (0.8,), order=1)
    ab = rng.normal(size=3)
    assert np.allclose(spmdgrad.pmap(f)(ab, xs), loop_vmap(f, (0, 0), ab, xs))


def test_collective_in_scan_body_under_vmap_reduce_axes():
    xb = rng.normal(size=(4, 5, 3))

    def step(W):
        def s(h, x):
            h = jnp.tanh(h @ W + x)
            m = lax.pmean(h, "b")
            return h - 0.5 * m, jnp.sum(h * m)
        return s

    def loss(W, xs):
        h, ys = lax.scan(step(W), jnp.zeros(3), xs)
        return jnp.sum(h ** 2) + jnp.sum(ys)

    def loss_unrolled(W, xs):
        h, total = jnp.zeros(3), 0.0
        for t in range(xs.shape[0]):
            h, y = step(W)(h, xs[t])
            total = total + y
        return jnp.sum(h ** 2) + total

    def loss_all(W, xb):  # NumPy: the whole batch at once
        h, tot = np.zeros((4, 3)), np.zeros(4)
        for t in range(5):
            h = np.tanh(h @ W + xb[:, t])
            m = h.mean(0)
            tot += (h * m).sum(1)
            h = h - 0.5 * m
        return (h ** 2).sum(1) + tot

    Wr = rng.normal(size=(3, 3)) * 0.5
    assert np.allclose(spmdgrad.vmap(loss, (None, 0), axis_name="b")(Wr, xb), loss_all(Wr, xb))
    total = spmdgrad.vmap(spmdgrad.grad(loss, reduce_axes=("b",)), (None, 0), out_axes=None,
                          axis_name="b")(Wr, xb)
    eps, fd = 1e-6, np.zeros((3, 3))
    for i in range(3):
        for j in range(3):
            d = np.zeros((3, 3))
            d[i, j] = eps
            fd[i, j] = (loss_all(Wr + d, xb).sum() - loss_all(Wr - d, xb).sum()) / (2 * eps)
    assert np.allclose(total, fd, atol=1e-7)
    # Per-example and total gradients agree with the unrolled program, op by op.
    for red, out_axes in (((), 0), (("b",), None)):
        a = spmdgrad.vmap(spmdgrad.grad(loss, reduce_axes=red), (None, 0), out_axes=out_axes,
                          axis_name="b")(Wr, xb)
        b = spmdgrad.vmap(spmdgrad.grad(loss_unrolled, reduce_axes=red), (None, 0),
                          out_axes=out_axes, axis_name="b")(Wr, xb)
        assert np.allclose(a, b, rtol=1e-12, atol=1e-12)
    jitted = spmdgrad.jit(spmdgrad.vmap(spmdgrad.grad(loss, reduce_axes=("b",)), (None, 0),
                                        out_axes=None, axis_name="b"))
    assert np.allclose(jitted(Wr, xb), total)


# ---------------------------------------------------------------- jit and program size

def test_jit_matches_eager():
    fns = [
        (rnn, (W, U, H0, XS)),
        (spmdgrad.grad(rnn, argnums=(0, 1)), (W, U, H0, XS)),
        (lambda x: lax.while_loop(lambda v: v < 10.0, lambda v: v * 1.5, x), (np.float64(0.3),)),
        (lambda x: lax.cond(x > 0, jnp.sin, jnp.cos, x), (np.float64(-0.3),)),
        (lambda x: lax.cond(x > 0, jnp.sin, jnp.cos, x), (np.float64(0.3),)),
        (spmdgrad.vmap(lambda x: lax.while_loop(lambda v: v < 10.0, lambda v: v * 2.0, x)),
         (np.array([1.0, 3.0, 0.5, 20.0]),)),
    ]
    for f, args in fns:
        a, b = spmdgrad.jit(f)(*args), f(*args)
        for u, v in zip(np.atleast_1d(a) if not isinstance(a, tuple) else a,
                        np.atleast_1d(b) if not isinstance(b, tuple) else b):
            assert np.allclose(u, v)


def test_jit_snapshots_arrays_closed_over_by_bodies():
    # As for jit's own constants: mutating a closed-over array later does not change
    # the compiled program (arrays in bodies are lifted to operands, then snapshotted).
    data = np.ones(3)
    xs = np.ones((2, 3))
    f = spmdgrad.jit(lambda c: lax.scan(lambda c, x: (c + jnp.sum(x * data), None), c, xs)[0])
    g = spmdgrad.jit(lambda p: lax.cond(p, lambda: data * 2.0, lambda: data))
    before = f(np.float64(0.0)), g(np.bool_(True))
    data[:] = 5.0
    assert f(np.float64(0.0)) == before[0] == 6.0
    assert np.array_equal(g(np.bool_(True)), before[1])


def test_program_size_independent_of_trip_count():
    def size(f, *args):
        return len(spmdgrad.make_jaxpr(f)(*args).eqns)
    g = spmdgrad.grad(rnn, argnums=(0, 1))
    assert size(rnn, W, U, H0, XS[:2]) == size(rnn, W, U, H0, rng.normal(size=(50, 2)))
    assert size(g, W, U, H0, XS[:2]) == size(g, W, U, H0, rng.normal(size=(50, 2)))
    fl = lambda n: lambda x: lax.fori_loop(0, n, lambda i, v: jnp.sin(v) * x, x)
    assert size(spmdgrad.grad(fl(2)), 0.5) == size(spmdgrad.grad(fl(100)), 0.5)
    jaxpr = spmdgrad.make_jaxpr(g)(W, U, H0, XS)
    scans = [e for e in jaxpr.eqns if e.prim.name == "scan"]
    assert len(scans) == 2 and [e.params["reverse"] for e in scans] == [False, True]
    # The primal scan stacks its residuals, one per step, beyond the forward outputs
    # (final carry and ys); the transposed scan reads them as xs.
    forward = next(e for e in spmdgrad.make_jaxpr(rnn)(W, U, H0, XS).eqns if e.prim.name == "scan")
    residuals = scans[0].outvars[len(forward.outvars):]
    assert residuals and all(v.aval.shape[0] == len(XS) for v in residuals)
    assert all(any(v is r for r in scans[1].invars) for v in residuals)


# ---------------------------------------------------------------- programs

def test_scan_rnn_trained_under_grad():
    # Many-to-one regression: predict the sum of a sequence from the final state.
    data_rng = np.random.default_rng(3)
    xs = data_rng.normal(size=(16, 6, 1))
    ys = xs.sum(axis=(1, 2))
    params = [np.eye(4) * 0.5, data_rng.normal(size=(1, 4)) * 0.5, np.ones(4) * 0.1]

    def predict(W, U, v, x):
        h, _ = lax.scan(lambda h, xt: (jnp.tanh(h @ W + xt @ U), None), jnp.zeros(4), x)
        return h @ v

    def loss(W, U, v):
        return jnp.mean((spmdgrad.vmap(predict, (None, None, None, 0))(W, U, v, xs) - ys) ** 2)

    check_grads(loss, params, order=1, modes=("rev",))
    first = loss(*params)
    step = spmdgrad.jit(spmdgrad.value_and_grad(loss, argnums=(0, 1, 2)))
    for _ in range(150):
        _, g = step(*params)
        params = [p - 0.05 * d for p, d in zip(params, g)]
    assert loss(*params) < 0.2 * first


def test_fori_loop_newton_solver_differentiated():
    # sqrt(a) by Newton iterations; its derivative is 1 / (2 sqrt(a)).
    def newton_sqrt(a):
        return lax.fori_loop(0, 30, lambda i, x: 0.5 * (x + a / x), jnp.ones_like(a))
    a = np.array([2.0, 9.0, 0.3])
    assert np.allclose(newton_sqrt(a), np.sqrt(a))
    g = spmdgrad.grad(lambda a: jnp.sum(newton_sqrt(a)))(a)
    assert np.allclose(g, 0.5 / np.sqrt(a))
    check_grads(newton_sqrt, (a,), order=2)
    eps = 1e-6
    fd = np.array([(newton_sqrt(a + eps * e) - newton_sqrt(a - eps * e)).sum() / (2 * eps)
                   for e in np.eye(3)])
    assert np.allclose(g, fd, atol=1e-8)


# Stored with jax 0.10.2 (x64): jax.value_and_grad of the same scan RNN, argnums (W, U, b, h0).
JAX_W = np.arange(9.0).reshape(3, 3) / 10.0 - 0.4
JAX_U = np.sin(np.arange(6.0)).reshape(2, 3)
JAX_B = np.array([0.1, -0.2, 0.3])
JAX_XS = np.cos(np.arange(10.0)).reshape(5, 2)
JAX_H0 = np.array([0.5, -0.5, 0.25])
JAX_RNN = (3.6438411655758776, [
    [[-0.11778047332097075, 0.337494701303468, 1.0247959642802233],
     [0.6307065924279758, -0.3276892149091686, -1.4357705064318897],
     [0.8268587539680823, 0.30425501730027105, 0.42625332443624875]],
    [[-1.374702373721272, 0.12524151770676864, 2.0802800811256095],
     [-1.404284257862841, -2.0463233843239546, 0.22602077399790657]],
    [0.6557758220034163, 1.5630482009378892, 3.839235018899183],
    [-0.2595659645322845, 0.11617427535758731, 0.4919145152474591]])
JAX_RNN_REV = (1.4964751976030555, [
    [[1.9543942279615052, -0.11181722614378461, 0.13356551475356593],
     [-0.7811276322508925, 0.0785606627508695, -0.19038903433915635],
     [3.601590123762432, 0.23559277419568234, 0.6333516656788242]],
    [[0.6703499244081063, 0.5619792528279677, 0.5688868816883064],
     [-1.0391276404343763, 0.39261583528475674, 0.045856568149576574]],
    [7.836955044041839, 0.38805579594478234, 1.7191436037870904],
    [-1.252066030505232, -0.2963262309797422, 0.6594135685457478]])


def test_scan_rnn_gradient_matches_jax():
    def f(W, U, b, h0, xs):
        h, ys = lax.scan(rnn_step(W, U, b), h0, xs)
        return jnp.sum(h) + jnp.sum(ys)

    def f_rev(W, U, b, h0, xs):
        def step(h, x):
            h = jnp.tanh(h @ W + x @ U + b)
            return h, h[0]
        h, ys = lax.scan(step, h0, xs, reverse=True)
        return jnp.sum(h * h) + jnp.sum(ys * jnp.arange(5.0))

    for fn, (value, grads) in ((f, JAX_RNN), (f_rev, JAX_RNN_REV)):
        v, g = spmdgrad.value_and_grad(fn, argnums=(0, 1, 2, 3))(JAX_W, JAX_U, JAX_B, JAX_H0, JAX_XS)
        assert np.isclose(v, value, rtol=1e-13)
        for a, b in zip(g, grads):
            assert np.allclose(a, b, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------- errors

def test_errors():
    with pytest.raises(TypeError, match="carry output has types .*f64.* carry input has types .*i64"):
        lax.scan(lambda c, x: (c + x, None), 0, np.ones(3))
    with pytest.raises(TypeError, match="pair"):
        lax.scan(lambda c, x: c, 0.0, np.ones(3))
    with pytest.raises(TypeError, match="same structure"):
        lax.scan(lambda c, x: ((c, c), None), 0.0, np.ones(3))
    with pytest.raises(ValueError, match="different leading axis sizes"):
        lax.scan(lambda c, x: (c, None), 0.0, [np.ones(3), np.ones(4)])
    with pytest.raises(ValueError, match="length"):
        lax.scan(lambda c, x: (c, None), 0.0)
    with pytest.raises(ValueError, match="length=2"):
        lax.scan(lambda c, x: (c, None), 0.0, np.ones(3), length=2)
    with pytest.raises(TypeError, match="branch 1 returns"):
        lax.cond(True, lambda x: x, lambda x: x * np.ones(2), 1.0)
    with pytest.raises(TypeError, match="boolean scalar"):
        lax.while_loop(lambda x: x, lambda x: x, 1.0)
    with pytest.raises(TypeError, match="integer scalar"):
        lax.switch(1.5, [lambda: 1.0], )
    with pytest.raises(TypeError, match="not both"):
        lax.cond(True, lambda x: x, lambda x: x, 1.0, operand=2.0)


# ---------------------------------------------------------------- named-axis types at the boundaries

def _unrolled_scan(step, h, xs):
    ys = []
    for t in range(xs.shape[0]):
        h, y = step(h, xs[t])
        ys.append(y)
    return h, jnp.stack(ys)


def _python_cond(pred, true_fun, false_fun, *ops):
    return jnp.where(pred, true_fun(*ops), false_fun(*ops))


@pytest.mark.parametrize("reduce_axes, out_axes", [((), 0), (("b",), None)])
def test_reduce_axes_at_loop_and_branch_boundaries(reduce_axes, out_axes):
    xb, cb = rng.normal(size=(4, 3, 2)), rng.normal(size=(4, 2))
    a0, h0p = rng.normal(size=2), rng.normal(size=2)

    def scan_loss(scan_fn):
        # An invariant carry made varying by the body, and a non-differentiated varying
        # term, so the carried cotangent may be the same in every instance.
        def loss(a, h0p, x, c):
            def step(h, xt):
                h = h * a + c + xt * 0.0
                return h, h[0] * 2.0
            h, ys = scan_fn(step, jnp.tanh(h0p), x)
            return jnp.sum(h) + jnp.sum(ys)
        return loss

    def cond_loss(cond_fn):
        # A batched predicate and a closed-over invariant weight.
        def loss(a, h0p, x, c):
            return jnp.sum(cond_fn(x[0, 0] > 0, lambda u: u * a, lambda u: jnp.sin(u) + a * h0p, c))
        return loss

    for make, ref in ((scan_loss(lax.scan), scan_loss(_unrolled_scan)),
                      (cond_loss(lax.cond), cond_loss(_python_cond))):
        for argnums in (0, 1):
            def run(f, jit=False, argnums=argnums):
                g = spmdgrad.vmap(spmdgrad.grad(f, argnums=argnums, reduce_axes=reduce_axes),
                                  (None, None, 0, 0), out_axes=out_axes, axis_name="b")
                return (spmdgrad.jit(g) if jit else g)(a0, h0p, xb, cb)
            want = run(ref)
            assert np.allclose(run(make), want, rtol=1e-12, atol=1e-14)
            assert np.allclose(run(make, jit=True), want, rtol=1e-12, atol=1e-14)


def test_types_under_named_axes():
    from spmdgrad.core import ShapedArray
    x = ShapedArray((), "float64", frozenset({"b"}))
    env = [("b", 3)]
    # A varying predicate makes the loop's carries vary.
    j = spmdgrad.make_jaxpr(lambda x: lax.while_loop(lambda c: c[1] < x, lambda c: (c[0] * 2.0, c[1] + 1.0),
                                                     (1.0, 0.0)), axis_env=env)(x)
    assert all(v.aval.vma == {"b"} for v in j.outvars)
    # So does a varying index, even with invariant branches.
    j = spmdgrad.make_jaxpr(lambda x: lax.cond(x > 0, lambda: 1.0, lambda: 2.0), axis_env=env)(x)
    assert j.outvars[0].aval.vma == {"b"}
    # A carry initialised with an invariant value that the body makes varying.
    j = spmdgrad.make_jaxpr(lambda x: lax.scan(lambda c, t: (c + x, c), 0.0, np.ones(3)), axis_env=env)(x)
    assert [v.aval.vma for v in j.outvars] == [{"b"}, {"b"}]


@pytest.mark.parametrize("reduce_axes, out_axes", [((), 0), (("b",), None)])
def test_post_collective_operands_match_unrolled(reduce_axes, out_axes):
    # Values made invariant by a collective enter a scan (as its initial carry and as
    # closed-over constants) and a cond: their cotangents follow the reduce_axes rule
    # exactly as in the unrolled program.
    xb, w = rng.normal(size=(4, 3, 2)), rng.normal(size=2)

    def make(scan_fn, cond_fn):
        def loss(w, x):
            m = lax.pmean(x[0] * w, "b")
            s = lax.psum(jnp.sum(w), "b")

            def step(h, xt):
                h = jnp.tanh(h * w + xt * m) + s * 0.1
                return h, jnp.sum(h * m)
            h, ys = scan_fn(step, m * 2.0, x)
            z = cond_fn(x[1, 0] > 0, lambda u: u * m, lambda u: u + s, h)
            return jnp.sum(z) + jnp.sum(ys)
        return loss

    def run(f, jit=False):
        g = spmdgrad.vmap(spmdgrad.grad(f, reduce_axes=reduce_axes), (None, 0), out_axes=out_axes,
                          axis_name="b")
        return (spmdgrad.jit(g) if jit else g)(w, xb)
    want = run(make(_unrolled_scan, _python_cond))
    assert np.allclose(run(make(lax.scan, lax.cond)), want, rtol=1e-12, atol=1e-14)
    assert np.allclose(run(make(lax.scan, lax.cond), jit=True), want, rtol=1e-12, atol=1e-14)
