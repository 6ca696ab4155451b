"""Property tests: random programs of elementwise ops and collectives over one or two named
axes (nested vmaps), checked against docs/semantics.md, section 3:

(a) per-example gradients sum to the total (and, with two axes, to the partial totals);
(b) per-example gradients equal finite differences of the total output L in the per-copy
    inputs (and grad of L with one copy of w per instance): instance i gets dL/dw_i;
(c) totals (reduce_axes) equal grad outside the map;
(d) jit equals eager.

The generator is in property_programs.py; programs print readably when one fails.
"""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from property_programs import D, data, per_example, programs, shared_output, total, total_output

import spmdgrad as sg

SETTINGS = settings(deadline=None, max_examples=25, derandomize=True)


@st.composite
def cases(draw, collectives):
    """``(program, names, sizes, seed)``: one axis of size 1-3, or two (outer, inner)."""
    names = draw(st.sampled_from((("a",), ("a", "b"))))
    sizes = {n: draw(st.integers(1, 3)) for n in names}
    program = draw(programs(names, collectives=collectives))
    return program, names, sizes, draw(st.integers(0, 2**16))


def _shape(names, sizes):
    return tuple(sizes[n] for n in names)


def _close(got, want, what):
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * (1 + np.abs(want).max()), err_msg=what)


def check_sums_to_total(case):
    program, names, sizes, seed = case
    w, x = data(seed, _shape(names, sizes))
    per = per_example(program, names, sizes)(w, x)
    assert per.shape == _shape(names, sizes) + (D,)
    tot = total(program, names, sizes, names)(w, x)
    _close(per.sum(axis=tuple(range(len(names)))), tot, "per-example gradients do not sum to the total")
    if len(names) == 2:  # reduce the inner axis only: one total per outer instance
        inner = total(program, names, sizes, names[1:])(w, x)
        _close(per.sum(axis=1), inner, "per-example gradients do not sum to the inner totals")


def check_finite_differences(case, eps=1e-6):
    program, names, sizes, seed = case
    shape = _shape(names, sizes)
    w, x = data(seed, shape)
    per = per_example(program, names, sizes)(w, x)
    L = total_output(program, names, sizes)
    W = np.broadcast_to(w, shape + (D,))
    # dL/dW with every copy its own input: no invariant input, so no reduce rule involved
    _close(per, sg.grad(L)(np.array(W), x), "per-example gradients are not dL/dw_i")
    rng = np.random.default_rng(seed + 1)
    for _ in range(2):  # random directions in the per-copy inputs
        v = rng.standard_normal(W.shape)
        fd = (L(W + eps * v, x) - L(W - eps * v, x)) / (2 * eps)
        np.testing.assert_allclose(np.sum(per * v), fd, rtol=1e-5, atol=1e-6 * (1 + abs(fd)),
                                   err_msg="per-example gradients are not dL/dw_i")


# ---------------------------------------------------------------- (a) sums to the total

@SETTINGS
@given(cases(collectives=False))
def test_per_example_sums_to_total_without_collectives(case):
    check_sums_to_total(case)


@SETTINGS
@given(cases(collectives=True))
def test_per_example_sums_to_total_with_collectives(case):
    check_sums_to_total(case)


# ---------------------------------------------------------------- (b) finite differences of L

@SETTINGS
@given(cases(collectives=False))
def test_per_example_is_finite_differences_of_L_without_collectives(case):
    check_finite_differences(case)


@SETTINGS
@given(cases(collectives=True))
def test_per_example_is_finite_differences_of_L_with_collectives(case):
    check_finite_differences(case)


# ---------------------------------------------------------------- (c) totals equal grad outside

@SETTINGS
@given(cases(collectives=None))
def test_total_equals_grad_outside_the_map(case):
    program, names, sizes, seed = case
    w, x = data(seed, _shape(names, sizes))
    tot = total(program, names, sizes, names)(w, x)
    L = total_output(program, names, sizes)
    outside = sg.grad(shared_output(program, names, sizes))(w, x)
    _close(tot, outside, "reduce_axes total differs from grad outside the map")
    # the same, by finite differences of L along w (every copy moved together)
    eps, v = 1e-6, np.random.default_rng(seed).standard_normal(D)
    fd = (L(np.broadcast_to(w + eps * v, x.shape), x) - L(np.broadcast_to(w - eps * v, x.shape), x)) / (2 * eps)
    np.testing.assert_allclose(tot @ v, fd, rtol=1e-5, atol=1e-6 * (1 + abs(fd)))


# ---------------------------------------------------------------- (d) jit equals eager

@SETTINGS
@given(cases(collectives=None))
def test_jit_equals_eager(case):
    program, names, sizes, seed = case
    w, x = data(seed, _shape(names, sizes))
    for f in (per_example(program, names, sizes), total(program, names, sizes, names),
              total(program, names, sizes, names[-1:])):
        np.testing.assert_allclose(sg.jit(f)(w, x), f(w, x), rtol=1e-13, atol=1e-13)


def test_generator_draws_every_collective():
    """The strategy reaches every step kind (a guard against a generator that silently
    stopped producing collectives)."""
    seen = set()

    @settings(max_examples=200, derandomize=True, deadline=None)
    @given(programs(("a", "b"), collectives=True))
    def collect(program):
        seen.update(s[0] for s in program)
    collect()
    assert {"psum", "pmean", "pmax", "all_gather", "ppermute", "unary", "mix"} <= seen
