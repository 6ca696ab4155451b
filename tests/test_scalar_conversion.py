"""Python scalar conversions of traced values: never a silently cut derivative.

Matches JAX 0.10.2 (checked by running it): under grad/jvp, float(), complex(), math.exp()
and .item() of an inexact value raise ConcretizationTypeError, while int(), bool() and
operator.index() use the concrete primal (they are piecewise constant, so a zero derivative
is exact). Under vmap and jit every conversion raises: the value is abstract.
"""
import math
import operator

import numpy as np
import pytest

import spmdgrad as sg
import spmdgrad.numpy as jnp
from spmdgrad.core import ConcretizationError, ConcretizationTypeError

CUTTING = {
    "float": lambda x: float(x) * x,
    "complex": lambda x: complex(x).real * x,
    "math.exp": lambda x: math.exp(x),
    "item": lambda x: x.item() * x,
}
PIECEWISE_CONSTANT = {
    "int": lambda x: int(x) * x,
    "bool": lambda x: bool(x) * x,
    "if": lambda x: x if x > 0 else -x,
    "index": lambda x: jnp.ones(3)[operator.index(jnp.astype(x, np.int64))] * x,
}


def test_error_is_a_type_error_with_jax_name():
    assert issubclass(ConcretizationTypeError, TypeError)
    assert ConcretizationTypeError is ConcretizationError


@pytest.mark.parametrize("name", CUTTING)
def test_derivative_cutting_conversions_raise_under_grad_and_jvp(name):
    # Before: math.exp(x) under grad gave 0.0 instead of e (float() used the primal).
    f = CUTTING[name]
    with pytest.raises(ConcretizationTypeError, match=r"derivative.*spmdgrad\.numpy"):
        sg.grad(f)(1.0)
    with pytest.raises(ConcretizationTypeError, match="spmdgrad.numpy"):
        sg.jvp(f, (1.0,), (1.0,))


@pytest.mark.parametrize("name", PIECEWISE_CONSTANT)
def test_piecewise_constant_conversions_use_the_primal_under_grad(name):
    # JAX: grad(lambda x: int(x) * x)(1.0) == 1.0 and the same for bool, if, index.
    f = PIECEWISE_CONSTANT[name]
    assert sg.grad(f)(1.0) == 1.0
    assert sg.jvp(f, (1.0,), (1.0,))[1] == 1.0


@pytest.mark.parametrize("name", list(CUTTING) + list(PIECEWISE_CONSTANT))
def test_every_conversion_raises_under_vmap_and_jit(name):
    f = {**CUTTING, **PIECEWISE_CONSTANT}[name]
    with pytest.raises(ConcretizationTypeError):
        sg.vmap(f)(np.ones(2))
    with pytest.raises(ConcretizationTypeError):
        sg.jit(f)(np.float64(1.0))
    with pytest.raises(ConcretizationTypeError):
        sg.jit(sg.grad(f))(np.float64(1.0))


def test_item_of_an_integer_value_under_grad_is_allowed():
    def f(x, i):
        return x * jnp.ones(3)[i.item()]
    assert sg.grad(f)(2.0, np.int64(1)) == 1.0
    assert sg.grad(lambda x: x * (x > 0).item())(2.0) == 1.0


def test_outside_transformations_conversions_are_plain_numpy():
    x = jnp.exp(np.float64(0.0))
    assert float(x) == 1.0 and math.exp(x) == math.e and x.item() == 1.0
