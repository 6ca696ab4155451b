"""Random SPMD programs for the property tests (tests/test_properties.py and
tests/mpi/test_properties_mpi.py).

A program is a short list of steps on a per-instance state ``h`` of shape (D,), started
as ``w * x`` (``w``: the differentiated parameter, invariant; ``x``: the mapped data).
Steps are smooth elementwise ops, mixes with ``w`` or ``x``, and collectives (psum, pmean,
pmax, all_gather, ppermute) over one of the bound axes. The output of an instance is
``sum(h * x)``: it varies and depends on a mapped value, which is the case where
"per-example gradients sum to the total" holds (docs/semantics.md, section 3).

Programs are plain tuples, so hypothesis prints a failing one readably, and every rank of an
MPI job builds the same one from the same draw.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import spmdgrad as sg
import spmdgrad.numpy as jnp
from spmdgrad import lax

D = 2
UNARY = ("sin", "tanh", "cos", "half_square")
COLLECTIVES = ("psum", "pmean", "pmax", "all_gather", "ppermute")


def _unary(name, h):
    if name == "half_square":
        return 0.5 * h * h
    return getattr(jnp, name)(h)


def _collective(step, h, sizes):
    kind, axis = step[0], step[1]
    if kind == "psum":
        return lax.psum(h, axis)
    if kind == "pmean":
        return lax.pmean(h, axis)
    if kind == "pmax":
        return lax.pmax(h, axis)
    n = sizes[axis]
    if kind == "all_gather":  # a fixed, non-symmetric weighting of the gathered copies
        weights = np.arange(1.0, n + 1.0) / n
        return jnp.tensordot(weights, lax.all_gather(h, axis), axes=1)
    shift = step[2] % n
    return lax.ppermute(h, axis, [(i, (i + shift) % n) for i in range(n)])


def body(program, sizes):
    """The per-instance function ``f(w, x_i) -> scalar`` of ``program``."""
    def f(w, x):
        h = w * x
        for step in program:
            if step[0] == "unary":
                h = _unary(step[1], h)
            elif step[0] == "mix":
                src = w if step[1] == "w" else x
                h = h * src if step[2] == "mul" else h + src
            else:
                h = _collective(step, h, sizes)
        return jnp.sum(h * x)
    return f


def has_collective(program):
    return any(s[0] in COLLECTIVES for s in program)


@st.composite
def programs(draw, names, collectives=None, max_len=4):
    """A program over the axis ``names`` (outermost first). ``collectives``: True forces at
    least one collective, False forbids them, None allows either."""
    local = [st.tuples(st.just("unary"), st.sampled_from(UNARY)),
             st.tuples(st.just("mix"), st.sampled_from(("w", "x")), st.sampled_from(("mul", "add")))]
    coll = [st.tuples(st.sampled_from(("psum", "pmean", "pmax")), st.sampled_from(tuple(names))),
            st.tuples(st.just("all_gather"), st.sampled_from(tuple(names))),
            st.tuples(st.just("ppermute"), st.sampled_from(tuple(names)), st.integers(1, 2))]
    if len(names) == 2:
        coll.append(st.tuples(st.sampled_from(("psum", "pmean")), st.just(tuple(names))))
    steps = st.one_of(*local) if collectives is False else st.one_of(*local, *coll)
    prog = tuple(draw(st.lists(steps, min_size=0 if collectives is False else 1, max_size=max_len)))
    if collectives and not has_collective(prog):
        at = draw(st.integers(0, len(prog)))
        prog = prog[:at] + (draw(st.one_of(*coll)),) + prog[at:]
    return prog


def data(seed, shape):
    """``(w, x)``: parameter of shape (D,) and data of shape ``shape + (D,)``."""
    rng = np.random.default_rng(seed)
    return 0.8 * rng.standard_normal(D), 0.8 * rng.standard_normal(tuple(shape) + (D,))


def mapped(fun, names, in_axes, out_axes=0, inner=sg.vmap, outer=None):
    """``fun`` mapped over ``names`` (outermost first), each level with ``in_axes`` and
    ``out_axes``; the outermost level uses ``outer`` (e.g. pmap) if given."""
    for i, name in enumerate(reversed(names)):
        is_outer = i == len(names) - 1
        mapper = outer if (is_outer and outer is not None) else inner
        fun = mapper(fun, in_axes=in_axes, out_axes=out_axes, axis_name=name)
    return fun


def per_example(program, names, sizes, outer=None):
    """Per-example gradients, shape ``sizes + (D,)``."""
    return mapped(sg.grad(body(program, sizes)), names, (None, 0), outer=outer)


def total(program, names, sizes, reduce_axes, outer=None):
    """Gradients reduced over ``reduce_axes``; levels of other axes stay mapped."""
    f = sg.grad(body(program, sizes), reduce_axes=tuple(reduce_axes))
    for i, name in enumerate(reversed(names)):
        mapper = outer if (i == len(names) - 1 and outer is not None) else sg.vmap
        f = mapper(f, in_axes=(None, 0), out_axes=None if name in reduce_axes else 0, axis_name=name)
    return f


def total_output(program, names, sizes):
    """``L(W, x)``: the sum over instances of the output, each instance with its own copy of
    ``w`` (``W`` has shape ``sizes + (D,)``)."""
    f = mapped(body(program, sizes), names, (0, 0))
    return lambda W, x: jnp.sum(f(W, x))


def shared_output(program, names, sizes):
    """``L(w, x)`` with one shared ``w`` (in_axes None): what grad outside the map sees."""
    f = mapped(body(program, sizes), names, (None, 0))
    return lambda w, x: jnp.sum(f(w, x))
