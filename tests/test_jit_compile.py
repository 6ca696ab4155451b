"""jit's compiler: the optimized program, the generated source, options and weak scalars.

Every test runs in 'compile' and in 'check' mode (compiled and interpreted replays
compared bit for bit), and the results are compared with eager ones.
"""
import importlib
import tracemalloc

import numpy as np
import pytest

import spmdgrad as sg
import spmdgrad.numpy as jnp
from spmdgrad import compile as sgc
from spmdgrad import core
from spmdgrad import lax

jit_module = importlib.import_module("spmdgrad.jit")  # the module (spmdgrad.jit is the function)


@pytest.fixture(autouse=True, params=["compile", "check"])
def mode(request):
    with jit_module.jit_mode(request.param):
        yield request.param


def prims(jaxpr):
    return [e.prim.name for e in jaxpr.eqns]


def loss(w, x):
    return jnp.sum(jnp.tanh(x @ w) ** 2)


def bitwise_equal(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def test_dead_code_is_removed_and_results_match_eager():
    def f(x):
        unused = jnp.exp(x) * 3.0  # noqa: F841 - dead on purpose
        return jnp.sin(x) * 2.0
    x = np.linspace(0, 1, 5)
    jf = sg.jit(f)
    assert "exp" in prims(jf.trace(x)) and "exp" not in prims(jf.lower(x).jaxpr)
    assert bitwise_equal(jf(x), f(x))


def test_loss_value_is_dead_in_jit_of_grad():
    w, x = np.ones((3, 2)) * 0.1, np.linspace(-1, 1, 12).reshape(4, 3)
    jf = sg.jit(sg.grad(loss))
    traced, optimized = jf.trace(w, x), jf.lower(w, x).jaxpr
    assert len(optimized.eqns) < len(traced.eqns)
    assert bitwise_equal(jf(w, x), sg.grad(loss)(w, x))


def test_common_subexpressions_are_computed_once():
    f = lambda x: jnp.sin(x) + jnp.sin(x)  # noqa: E731
    x = np.linspace(0, 1, 4)
    jf = sg.jit(f)
    assert prims(jf.trace(x)).count("sin") == 2
    assert prims(jf.lower(x).jaxpr).count("sin") == 1
    assert bitwise_equal(jf(x), f(x))


def test_identities_and_numpy_broadcasts_vanish():
    f = lambda x, b: x * b[None, :] + 1.0  # noqa: E731
    x, b = np.ones((4, 3)), np.arange(3.0)
    jf = sg.jit(f)
    assert "broadcast_in_dim" in prims(jf.trace(x, b))
    assert "broadcast_in_dim" not in prims(jf.lower(x, b).jaxpr)
    assert bitwise_equal(jf(x, b), x * b + 1.0)
    g = sg.vmap(sg.grad(loss, reduce_axes=("b",)), in_axes=(None, 0), out_axes=None, axis_name="b")
    w, xs = np.ones((3, 2)) * 0.1, np.linspace(-1, 1, 15).reshape(5, 3)
    jg = sg.jit(g)
    assert len(jg.lower(w, xs).jaxpr.eqns) < len(jg.trace(w, xs).eqns)
    assert bitwise_equal(jg(w, xs), g(w, xs))


def test_a_broadcast_of_a_broadcast_is_read_from_its_source():
    # (3,) -> (4, 3) -> (2, 4, 3), both NumPy-compatible: the add reads b itself.
    f = sg.jit(lambda x, b: x + jnp.broadcast_to(jnp.broadcast_to(b, (4, 3)), (2, 4, 3)))
    x, b = np.random.default_rng(0).standard_normal((2, 4, 3)), np.arange(3.0)
    traced = [e.prim.name for e in f.trace(x, b).eqns]
    assert traced.count("broadcast_in_dim") == 2, traced
    assert "broadcast_in_dim" not in f.lower(x, b).source
    assert bitwise_equal(f(x, b), x + b)


def test_inner_broadcasts_become_keepdims_views():
    # (B,) -> (B, 10) along axis 0 is not NumPy's trailing broadcast: the elementwise
    # consumer reads a (B, 1) view instead of a materialised (B, 10) array.
    f = sg.vmap(lambda z: z - jnp.max(z), axis_name="b")
    z = np.random.default_rng(0).standard_normal((6, 10))
    jf = sg.jit(f)
    shapes = [e.params["shape"] for e in jf.lower(z).jaxpr.eqns if e.prim.name == "broadcast_in_dim"]
    assert shapes == [(6, 1)]
    assert bitwise_equal(jf(z), z - z.max(axis=1, keepdims=True))
    g = sg.jit(sg.grad(lambda z: jnp.sum(f(z) ** 2)))
    assert bitwise_equal(g(z), sg.grad(lambda z: jnp.sum(f(z) ** 2))(z))


@pytest.mark.parametrize("spec, xshape, yshape", [
    ("Zk,kn->Zn", (5, 7), (7, 3)), ("Zn,Zk->kn", (5, 3), (5, 7)), ("Zn,kn->Zk", (5, 3), (7, 3)),
    ("bij,bjk->bik", (2, 3, 4), (2, 4, 5)), ("bij,bjk->bki", (2, 3, 4), (2, 4, 5)),
    ("ij,kj->ik", (3, 4), (5, 4)), ("ji,jk->ik", (4, 3), (4, 5)), ("abc,cd->dab", (2, 3, 4), (4, 5)),
    ("bn,bk->bkn", (3, 4), (3, 5)), ("i,i->", (6,), (6,)), ("ij,jk->ki", (3, 4), (4, 5)),
])
def test_contraction_lowering_returns_the_impls_bits(spec, xshape, yshape):
    from spmdgrad.primitives.contraction import einsum2_p
    rng = np.random.default_rng(1)
    for dtype in (np.float32, np.float64):
        x, y = rng.standard_normal(xshape).astype(dtype), rng.standard_normal(yshape).astype(dtype)
        want = core.impl_rules[einsum2_p](x, y, spec=spec)
        low = core.lowering_rules[einsum2_p]([core.get_aval(x), core.get_aval(y)], spec=spec)
        if low is not None:
            assert bitwise_equal(low(x, y), want)
        assert np.allclose(want, np.einsum(spec, x, y), rtol=1e-5)


def test_constant_folding_on_a_handmade_program():
    from spmdgrad.primitives.elementwise import mul_p, sin_p
    c, x, s, out = (core.Var(core.ShapedArray((3,), np.float64)) for _ in range(4))
    jaxpr = core.Jaxpr([x], [c], [np.arange(3.0)], [core.Eqn(sin_p, [c], [s], {}),
                                                      core.Eqn(mul_p, [x, s], [out], {})], [out])
    opt = sgc.optimize(jaxpr)
    assert prims(opt) == ["mul"]
    lowered = sgc.lower(opt)
    np.testing.assert_array_equal(lowered.fn(np.ones(3))[0], np.sin(np.arange(3.0)))


class _FakePacking:
    """A stand-in reduction's packing rule (core.pack_rules): one float64 buffer."""

    def __init__(self, avals):
        self.spans, off = [], 0
        for a in avals:
            n = int(np.prod(a.shape))
            self.spans.append((0, off, off + n) if a.dtype == np.float64 else None)
            off += n
        self.size, self.in_place = off, []

    def alloc(self):
        self.buf = np.full(self.size, np.nan)
        return [self.buf]

    def run(self, bufs, placed, *xs):
        outs = []
        for k, (x, span) in enumerate(zip(xs, self.spans)):
            here = span is not None and np.shares_memory(x, bufs[0][span[1]:span[2]])
            assert here == (k in placed), (k, placed)   # what the program says it placed
            self.in_place.append(here)
            outs.append(x * 2.0)
        return outs


def test_operands_produced_into_a_reduction_buffer(monkeypatch):
    # A single-use ufunc result, directly or through a single-use reshape, is produced in
    # the reduction's buffer; a value read twice, a program output, and another dtype
    # are not. The bits are those of the interpreter either way.
    from spmdgrad.primitives.elementwise import cos_p, exp_p, sin_p
    from spmdgrad.primitives.structural import reshape_p
    red_p = core.Primitive("fake_reduce", multiple_results=True, effectful=True)
    monkeypatch.setitem(core.impl_rules, red_p, lambda *xs: [x * 2.0 for x in xs])
    packings = []
    monkeypatch.setitem(core.pack_rules, red_p, lambda avals: packings.append(_FakePacking(avals))
                        or packings[-1])
    V = lambda shape, dt=np.float64: core.Var(core.ShapedArray(shape, np.dtype(dt)))  # noqa: E731
    x, y, z = V((3,)), V((2, 2)), V((3,), np.float32)
    a, b, r, d, e, o1, o2, o3, o4 = V((3,)), V((2, 2)), V((4,)), V((3,)), V((3,), np.float32), \
        V((3,)), V((4,)), V((3,)), V((3,), np.float32)
    eqns = [core.Eqn(sin_p, [x], [a], {}), core.Eqn(cos_p, [y], [b], {}),
            core.Eqn(reshape_p, [b], [r], {"new_sizes": (4,)}), core.Eqn(exp_p, [x], [d], {}),
            core.Eqn(sin_p, [z], [e], {}), core.Eqn(red_p, [a, r, d, e], [o1, o2, o3, o4], {})]
    jaxpr = core.Jaxpr([x, y, z], [], [], eqns, [o1, o2, o3, o4, d])
    lowered = sgc.lower(jaxpr)
    assert lowered.source.count("out=P0[0]") == 2, lowered.source
    args = (np.linspace(0, 1, 3), np.linspace(1, 2, 4).reshape(2, 2), np.ones(3, np.float32))
    got = lowered.fn(*args)
    assert packings[-1].in_place == [True, True, False, False]
    want = [np.sin(args[0]) * 2, np.cos(args[1]).reshape(4) * 2, np.exp(args[0]) * 2,
            np.sin(args[2]) * 2, np.exp(args[0])]
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype and g.tobytes() == w.tobytes()


def test_no_operand_produced_into_a_buffer_across_a_collective(monkeypatch):
    # Taking the buffers starts the reduction's consistency check, so a producer that
    # runs before another communicating equation is not given the buffer.
    from spmdgrad.primitives.elementwise import cos_p, sin_p
    red_p = core.Primitive("fake_reduce", multiple_results=True, effectful=True)
    comm_p = core.Primitive("fake_collective", effectful=True)
    monkeypatch.setitem(core.impl_rules, red_p, lambda *xs: [x * 2.0 for x in xs])
    monkeypatch.setitem(core.impl_rules, comm_p, lambda x: x + 1.0)
    packings = []
    monkeypatch.setitem(core.pack_rules, red_p, lambda avals: packings.append(_FakePacking(avals))
                        or packings[-1])
    x, a, c, b, o1, o2 = (core.Var(core.ShapedArray((3,), np.dtype(np.float64))) for _ in range(6))
    eqns = [core.Eqn(sin_p, [x], [a], {}), core.Eqn(comm_p, [x], [c], {}), core.Eqn(cos_p, [c], [b], {}),
            core.Eqn(red_p, [a, b], [o1, o2], {})]
    lowered = sgc.lower(core.Jaxpr([x], [], [], eqns, [o1, o2]))
    assert lowered.source.count("out=P0[0]") == 1, lowered.source
    got = lowered.fn(np.linspace(0, 1, 3))
    assert packings[-1].in_place == [False, True]
    xs = np.linspace(0, 1, 3)
    for g, w in zip(got, [np.sin(xs) * 2, np.cos(xs + 1.0) * 2], strict=True):
        assert g.tobytes() == w.tobytes()


def test_source_frees_values_and_reuses_buffers():
    x = np.linspace(0, 1, 1000)
    jf = sg.jit(lambda x: jnp.exp(jnp.sin(x) * 2.0) + 1.0)
    src = jf.lower(x).source
    assert "del " in src and "out=" in src
    x0 = x.copy()
    assert bitwise_equal(jf(x), np.exp(np.sin(x0) * 2.0) + 1.0)
    assert bitwise_equal(x, x0)  # inputs are never written into


def test_peak_memory_follows_the_program_not_its_length():
    x = np.ones((500, 500))

    def chain(x):
        for _ in range(12):
            x = jnp.sin(x) * 1.0001
        return x
    jf = sg.jit(chain)
    jf(x)

    def peak(mode):
        with jit_module.jit_mode(mode):
            tracemalloc.start()
            jf(x)
            p = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        return p
    assert peak("compile") < 4 * x.nbytes < peak("interpret")


def test_results_never_alias_inputs_or_constants():
    x = np.arange(3.0)
    c = np.ones(3)
    jf = sg.jit(lambda x: (x.astype(x.dtype), c, jnp.reshape(x, (3,))))
    a, b, r = jf(x)
    assert a is not x and b is not c and not np.shares_memory(r, x)
    a[:] = -1
    b[:] = -1
    assert bitwise_equal(x, np.arange(3.0)) and bitwise_equal(jf(x)[1], np.ones(3))


_log = []
_effect_p = core.Primitive("test_effect", effectful=True)
core.impl_rules[_effect_p] = lambda x: (_log.append(float(np.sum(x))), x.copy())[1]
core.abstract_rules[_effect_p] = lambda x: (x.shape, x.dtype)


def test_effectful_equations_are_never_removed_merged_or_reordered():
    def f(x):
        _effect_p.bind(x)          # result unused
        y = _effect_p.bind(x * 2.0)
        _effect_p.bind(x)          # same as the first one: not merged
        return y
    jf = sg.jit(f)
    x = np.ones(2)
    assert prims(jf.lower(x).jaxpr).count("test_effect") == 3
    _log.clear()
    jf(x)
    assert _log[:3] == [2.0, 4.0, 2.0]


def test_structured_primitives_compile():
    def f(x):
        return lax.scan(lambda c, xi: (c * xi + 1.0, jnp.sin(c)), x[0], x)
    x = np.linspace(0.1, 1.0, 6)
    jf = sg.jit(f)
    got, want = jf(x), f(x)
    assert bitwise_equal(got[0], want[0]) and bitwise_equal(got[1], want[1])
    g = sg.jit(sg.grad(lambda x: jnp.sum(f(x)[1])))
    np.testing.assert_array_equal(g(x), sg.grad(lambda x: jnp.sum(f(x)[1]))(x))
    # the bodies are compiled too
    assert any(isinstance(v, sgc.CompiledJaxpr) for v in jf.lower(x).fn.__globals__.values())
    w = sg.jit(lambda x: lax.while_loop(lambda c: c[0] < 5, lambda c: (c[0] + 1, jnp.sin(c[1])), (0, x)))
    np.testing.assert_array_equal(w(x)[1], np.sin(np.sin(np.sin(np.sin(np.sin(x))))))
    c = sg.jit(lambda i, x: lax.switch(i, [jnp.sin, jnp.cos, lambda x: x * 2.0], x))
    for i in range(3):
        np.testing.assert_array_equal(c(i, x), [np.sin, np.cos, lambda x: x * 2.0][i](x))


def test_make_jaxpr_shows_the_optimized_program():
    def f(x):
        return jnp.sin(x) + jnp.sin(x)
    x = np.ones(3)
    assert prims(sg.make_jaxpr(f)(x)).count("sin") == 2
    assert prims(sg.make_jaxpr(f, optimize=True)(x)).count("sin") == 1


def test_debug_switch_prints_the_generated_source(capsys):
    prev = jit_module.config.debug
    jit_module.config.debug = True
    try:
        sg.jit(lambda x: jnp.cos(x))(np.ones(2))
    finally:
        jit_module.config.debug = prev
    err = capsys.readouterr().err
    assert "generated source" in err and "cos" in err and "def _compiled" in err


# ------------------------------------------------------------------ options


def test_static_argnums_and_argnames():
    calls = []

    def f(x, n, *, flag=False):
        calls.append(1)
        y = x ** n
        return -y if flag else y
    x = np.arange(3.0)
    jf = sg.jit(f, static_argnums=1, static_argnames="flag")
    assert bitwise_equal(jf(x, 2), x ** 2)
    assert bitwise_equal(jf(x, 3, flag=True), -(x ** 3))
    assert bitwise_equal(jf(x, 2), x ** 2)
    assert len(calls) == 2
    # a static parameter named or numbered: the other form is inferred (as in JAX)
    jn = sg.jit(f, static_argnames="n")
    assert bitwise_equal(jn(x, 2), x ** 2) and bitwise_equal(jn(x, n=3), x ** 3)
    assert bitwise_equal(sg.jit(f, static_argnums=-1)(x, 2), x ** 2)


def test_partial_and_decorator_forms():
    from functools import partial

    @partial(sg.jit, static_argnums=(1,))
    def f(x, shape):
        return jnp.reshape(x, shape)

    @sg.jit
    def g(x):
        return x + 1.0

    @sg.jit(static_argnames=("axis",))
    def h(x, axis):
        return jnp.sum(x, axis=axis)
    x = np.arange(6.0)
    assert f(x, (2, 3)).shape == (2, 3)
    assert bitwise_equal(g(x), x + 1.0)
    assert bitwise_equal(h(x.reshape(2, 3), axis=1), x.reshape(2, 3).sum(1))


def test_donation_is_accepted_and_harmless():
    jf = sg.jit(lambda p, g: p - 0.1 * g, donate_argnums=0)
    p, g = np.ones(3), np.arange(3.0)
    out = jf(p, g)
    assert bitwise_equal(out, np.ones(3) - 0.1 * np.arange(3.0))
    assert bitwise_equal(p, np.ones(3))  # donation is a no-op: p is intact
    assert bitwise_equal(sg.jit(lambda p: p * 2, donate_argnames="p")(p), p * 2)


def test_option_errors_are_clear():
    with pytest.raises(ValueError, match="static_argnames names 'nope'"):
        sg.jit(lambda x: x, static_argnames="nope")
    with pytest.raises(ValueError, match="static_argnums contains 3"):
        sg.jit(lambda x: x, static_argnums=3)
    with pytest.raises(TypeError, match="static_argnums must be ints"):
        sg.jit(lambda x: x, static_argnums="x")
    with pytest.raises(ValueError, match="donate_argnums contains 2"):
        sg.jit(lambda x: x, donate_argnums=2)
    with pytest.raises(TypeError, match="neither an array nor hashable"):
        sg.jit(lambda x, o: x, static_argnums=1)(np.ones(2), [1])


# ------------------------------------------------------------------ weak scalars


def test_python_scalars_are_traced_once_and_promote_weakly():
    calls = []

    def f(x, lr):
        return x - lr * x, -lr * x, x * (lr * 2.0)

    def counted(x, lr):
        calls.append(1)
        return f(x, lr)
    x = np.ones(3, np.float32)
    jf = sg.jit(counted)
    for lr in (0.1, 0.05, 0.025):
        outs = jf(x, lr)
        want = f(x, lr)
        for o, w in zip(outs, want, strict=True):
            assert o.dtype == np.float32
            assert bitwise_equal(o, w)
    assert len(calls) == 1
    xi = np.arange(3, dtype=np.int32)
    assert sg.jit(lambda x, k: x * k)(xi, 3).dtype == np.int32
    assert sg.jit(lambda x, k: x * k)(xi, 0.5).dtype == np.float64  # as NumPy: int * float


def test_traced_scalar_under_python_control_flow_asks_for_static():
    f = lambda x, n: x ** 2 if n > 0 else x  # noqa: E731
    with pytest.raises(core.ConcretizationError, match="static_argnums"):
        sg.jit(f)(np.ones(2), 1)
    big = 2 ** 70  # beyond int64: static, as before
    assert sg.jit(lambda x, n: x + (n > 2 ** 64))(np.ones(2), big)[0] == 2.0
    assert bitwise_equal(sg.jit(f, static_argnums=1)(np.ones(2), 1), np.ones(2))


def test_grad_through_weak_scalar_argument():
    f = lambda w, lr: w - lr * sg.grad(lambda w: jnp.sum(jnp.sin(w)))(w)  # noqa: E731
    w = np.linspace(0, 1, 3).astype(np.float32)
    jf = sg.jit(f)
    out = jf(w, 0.5)
    assert out.dtype == np.float32
    assert bitwise_equal(out, f(w, 0.5))
    assert bitwise_equal(jf(w, 0.25), f(w, 0.25))


def test_replay_hooks_see_every_top_level_call():
    seen = []

    def hook(entry, args):
        seen.append((len(entry.jaxpr.eqns) > 0, [np.shape(a) for a in args]))
    jit_module.replay_hooks.append(hook)
    try:
        jf = sg.jit(lambda x, c: jnp.sin(x) * c)
        jf(np.ones(2), 2.0)
        jf(np.ones(2), 3.0)
        sg.grad(lambda x: jnp.sum(jf(x, 1.0)))(np.ones(2))  # traced through: no replay
    finally:
        jit_module.replay_hooks.remove(hook)
    assert seen == [(True, [(2,), ()])] * 2
