"""First-order optimizers with the API of ``jax.example_libraries.optimizers``.

An optimizer is an ``(init_fun, update_fun, get_params)`` triple:

- ``init_fun(params)`` takes a pytree of arrays and returns an :class:`OptimizerState`;
- ``update_fun(step, grads, opt_state)`` returns the next state, ``grads`` having the
  structure of the parameters;
- ``get_params(opt_state)`` returns the parameters.

The :func:`optimizer` decorator lifts a triple written for one array to pytrees. The
update rules (and their arithmetic order) are JAX's, so the same gradients give the
same trajectory. Everything is built from ``spmdgrad.numpy``, so an update step can run
under ``jit``, ``vmap`` or ``pmap``.

>>> import numpy as np
>>> opt_init, opt_update, get_params = sgd(0.1)
>>> state = opt_init({"w": np.array([1.0, 2.0])})
>>> state = opt_update(0, {"w": np.array([1.0, -1.0])}, state)
>>> get_params(state)
{'w': array([0.9, 2.1])}
"""
from __future__ import annotations

import functools
from collections import namedtuple
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from .. import numpy as jnp
from ..tree_util import register_pytree_node, tree_flatten, tree_map, tree_unflatten

__all__ = ["JoinPoint", "Optimizer", "OptimizerState", "adagrad", "adam", "adamax", "clip_grads",
           "constant", "exponential_decay", "inverse_time_decay", "l2_norm", "make_schedule",
           "momentum", "nesterov", "optimizer", "pack_optimizer_state", "piecewise_constant",
           "polynomial_decay", "rmsprop", "rmsprop_momentum", "sgd", "sm3", "unpack_optimizer_state"]

# The state of a pytree of parameters: the flat list of per-leaf states (each itself a
# flattened pytree), the parameters' structure, and the structure of each leaf's state.
# Only ``packed_state`` holds arrays; the structures are static data of the pytree node.
OptimizerState = namedtuple("OptimizerState", ["packed_state", "tree_def", "subtree_defs"])
register_pytree_node(OptimizerState,
                     lambda s: ((s.packed_state,), (s.tree_def, s.subtree_defs)),
                     lambda aux, children: OptimizerState(children[0], aux[0], aux[1]))

Array = Any
Params = Any
State = Any
Updates = Params
InitFn = Callable[[Params], OptimizerState]
Step = int
UpdateFn = Callable[[Step, Updates, OptimizerState], OptimizerState]
ParamsFn = Callable[[OptimizerState], Params]
Schedule = Callable[[Step], float]


class Optimizer(NamedTuple):
    init_fn: InitFn
    update_fn: UpdateFn
    params_fn: ParamsFn


def _unzip2(pairs):
    firsts, seconds = [], []
    for a, b in pairs:
        firsts.append(a)
        seconds.append(b)
    return tuple(firsts), tuple(seconds)


def optimizer(opt_maker):
    """Decorator: turn a maker of ``(init, update, get_params)`` for single arrays into a
    maker of an :class:`Optimizer` over pytrees of arrays.

    >>> @optimizer
    ... def halve():
    ...     return (lambda x: x), (lambda i, g, x: x / 2), (lambda x: x)
    >>> init, update, get = halve()
    >>> get(update(0, [1.0, 1.0], init([2.0, 4.0])))
    [1.0, 2.0]
    """
    @functools.wraps(opt_maker)
    def tree_opt_maker(*args, **kwargs):
        init, update, get_params = opt_maker(*args, **kwargs)

        @functools.wraps(init)
        def tree_init(x0_tree):
            x0_flat, tree = tree_flatten(x0_tree)
            states_flat, subtrees = _unzip2(tree_flatten(init(x0)) for x0 in x0_flat)
            return OptimizerState(states_flat, tree, subtrees)

        @functools.wraps(update)
        def tree_update(i, grad_tree, opt_state):
            states_flat, tree, subtrees = _check_state(opt_state, "update_fun")
            grad_flat, tree2 = tree_flatten(grad_tree)
            if tree2 != tree:
                raise TypeError("optimizer update_fun: the gradient tree does not match the parameter "
                                f"tree the optimizer was initialised with: parameters {tree}, "
                                f"gradients {tree2}")
            states = [tree_unflatten(s, f) for s, f in zip(subtrees, states_flat, strict=True)]
            new_flat, subtrees2 = _unzip2(tree_flatten(update(i, g, s))
                                          for g, s in zip(grad_flat, states, strict=True))
            for s1, s2 in zip(subtrees, subtrees2, strict=True):
                if s1 != s2:
                    raise TypeError("optimizer update_fun: the per-array update returned a state of "
                                    f"structure {s2}, but its input state had structure {s1}")
            return OptimizerState(new_flat, tree, subtrees)

        @functools.wraps(get_params)
        def tree_get_params(opt_state):
            states_flat, tree, subtrees = _check_state(opt_state, "get_params")
            states = [tree_unflatten(s, f) for s, f in zip(subtrees, states_flat, strict=True)]
            return tree_unflatten(tree, [get_params(s) for s in states])

        return Optimizer(tree_init, tree_update, tree_get_params)
    return tree_opt_maker


def _check_state(opt_state, where):
    if not isinstance(opt_state, OptimizerState):
        raise TypeError(f"optimizer {where}: expected the OptimizerState returned by init_fun or "
                        f"update_fun, got {type(opt_state).__name__}")
    return opt_state


# ---------------------------------------------------------------- optimizers

@optimizer
def sgd(step_size):
    """Stochastic gradient descent: ``x - step_size(i) * g``.

    >>> init, update, get = sgd(0.5)
    >>> float(get(update(0, 2.0, init(1.0))))
    0.0
    """
    step_size = make_schedule(step_size)

    def init(x0):
        return x0

    def update(i, g, x):
        return x - step_size(i) * g

    def get_params(x):
        return x
    return Optimizer(init, update, get_params)


def _first(state):
    return state[0]


@optimizer
def momentum(step_size, mass):
    """SGD with (heavy-ball) momentum: ``v = mass * v + g; x = x - step_size(i) * v``.

    >>> init, update, get = momentum(0.1, 0.9)
    >>> round(float(get(update(1, 1.0, update(0, 1.0, init(0.0))))), 12)
    -0.29
    """
    step_size = make_schedule(step_size)

    def init(x0):
        return x0, jnp.zeros_like(x0)

    def update(i, g, state):
        x, velocity = state
        velocity = mass * velocity + g
        return x - step_size(i) * velocity, velocity
    return init, update, _first


@optimizer
def nesterov(step_size, mass):
    """SGD with Nesterov momentum: ``v = mass * v + g; x = x - step_size(i) * (mass * v + g)``.

    >>> init, update, get = nesterov(0.1, 0.9)
    >>> round(float(get(update(0, 1.0, init(0.0)))), 12)
    -0.19
    """
    step_size = make_schedule(step_size)

    def init(x0):
        return x0, jnp.zeros_like(x0)

    def update(i, g, state):
        x, velocity = state
        velocity = mass * velocity + g
        return x - step_size(i) * (mass * velocity + g), velocity
    return init, update, _first


@optimizer
def adagrad(step_size, momentum=0.9):
    """Adagrad (Duchi et al. 2011) with momentum on the normalised gradient.

    >>> init, update, get = adagrad(1.0, momentum=0.0)
    >>> float(get(update(0, 4.0, init(0.0))))
    -1.0
    """
    step_size = make_schedule(step_size)

    def init(x0):
        return x0, jnp.zeros_like(x0), jnp.zeros_like(x0)

    def update(i, g, state):
        x, g_sq, m = state
        g_sq = g_sq + jnp.square(g)
        g_sq_inv_sqrt = jnp.where(g_sq > 0, 1. / jnp.sqrt(g_sq), 0.0)
        m = (1. - momentum) * (g * g_sq_inv_sqrt) + momentum * m
        return x - step_size(i) * m, g_sq, m
    return init, update, _first


@optimizer
def rmsprop(step_size, gamma=0.9, eps=1e-8):
    """RMSProp: divide by the root of a running mean of squared gradients.

    >>> init, update, get = rmsprop(0.1, gamma=0.0, eps=0.0)
    >>> round(float(get(update(0, 3.0, init(0.0)))), 12)
    -0.1
    """
    step_size = make_schedule(step_size)

    def init(x0):
        return x0, jnp.zeros_like(x0)

    def update(i, g, state):
        x, avg_sq_grad = state
        avg_sq_grad = avg_sq_grad * gamma + jnp.square(g) * (1. - gamma)
        return x - step_size(i) * g / jnp.sqrt(avg_sq_grad + eps), avg_sq_grad
    return init, update, _first


@optimizer
def rmsprop_momentum(step_size, gamma=0.9, eps=1e-8, momentum=0.9):
    """RMSProp with momentum on the normalised step.

    >>> init, update, get = rmsprop_momentum(0.1, gamma=0.0, eps=0.0)
    >>> round(float(get(update(0, 3.0, init(0.0)))), 12)
    -0.1
    """
    step_size = make_schedule(step_size)

    def init(x0):
        return x0, jnp.zeros_like(x0), jnp.zeros_like(x0)

    def update(i, g, state):
        x, avg_sq_grad, mom = state
        avg_sq_grad = avg_sq_grad * gamma + jnp.square(g) * (1. - gamma)
        mom = momentum * mom + step_size(i) * g / jnp.sqrt(avg_sq_grad + eps)
        return x - mom, avg_sq_grad, mom
    return init, update, _first


@optimizer
def adam(step_size, b1=0.9, b2=0.999, eps=1e-8):
    """Adam (Kingma and Ba 2015) with bias-corrected moment estimates.

    >>> init, update, get = adam(0.1, eps=0.0)
    >>> round(float(get(update(0, 5.0, init(0.0)))), 12)
    -0.1
    """
    step_size = make_schedule(step_size)

    def init(x0):
        return x0, jnp.zeros_like(x0), jnp.zeros_like(x0)

    def update(i, g, state):
        x, m, v = state
        m = (1 - b1) * g + b1 * m
        v = (1 - b2) * jnp.square(g) + b2 * v
        dt = jnp.result_type(m)
        mhat = m / (1 - jnp.asarray(b1, dt) ** (i + 1))
        vhat = v / (1 - jnp.asarray(b2, dt) ** (i + 1))
        return x - step_size(i) * mhat / (jnp.sqrt(vhat) + eps), m, v
    return init, update, _first


@optimizer
def adamax(step_size, b1=0.9, b2=0.999, eps=1e-8):
    """AdaMax: Adam with the infinity norm of past gradients in place of their RMS.

    >>> init, update, get = adamax(0.1, eps=0.0)
    >>> round(float(get(update(0, 5.0, init(0.0)))), 12)
    -0.1
    """
    step_size = make_schedule(step_size)

    def init(x0):
        return x0, jnp.zeros_like(x0), jnp.zeros_like(x0)

    def update(i, g, state):
        x, m, u = state
        m = (1 - b1) * g + b1 * m
        u = jnp.maximum(b2 * u, jnp.abs(g))
        dt = jnp.result_type(m)
        x = x - (step_size(i) / (1 - jnp.asarray(b1, dt) ** (i + 1))) * m / (u + eps)
        return x, m, u
    return init, update, _first


@optimizer
def sm3(step_size, momentum=0.9):
    """SM3 (Anil et al. 2019): one accumulator per axis slice instead of one per entry.

    >>> init, update, get = sm3(1.0, momentum=0.0)
    >>> get(update(0, np.array([3.0, -4.0]), init(np.zeros(2))))
    array([-1.,  1.])
    """
    step_size = make_schedule(step_size)

    def init(x0):
        x_shape = tuple(np.shape(x0))
        x0 = jnp.atleast_1d(x0)
        dt = jnp.result_type(x0)
        vs = [jnp.zeros(n, dtype=dt) for n in np.shape(x0)]
        return x0, jnp.zeros_like(x0), vs, x_shape

    def update(i, g, state):
        x, m, vs, x_shape = state
        nd = np.ndim(x)
        g = jnp.reshape(g, np.shape(x))  # a 0-d parameter is stored as 1-d
        # accumulator j, shaped to broadcast along axis j
        vs = [jnp.reshape(v, tuple(-1 if k == j else 1 for k in range(nd))) for j, v in enumerate(vs)]
        accum = functools.reduce(jnp.minimum, vs) + jnp.square(g)
        accum_inv_sqrt = jnp.where(accum > 0, 1. / jnp.sqrt(accum), 0)
        m = (1. - momentum) * (g * accum_inv_sqrt) + momentum * m
        x = x - step_size(i) * m
        vs = [jnp.max(accum, axis=tuple(k for k in range(nd) if k != j)) for j in range(nd)]
        return x, m, vs, x_shape

    def get_params(state):
        x, _, _, x_shape = state
        return jnp.reshape(x, x_shape)
    return init, update, get_params


# ---------------------------------------------------------------- schedules

def constant(step_size) -> Schedule:
    """The schedule ``i -> step_size``.

    >>> constant(0.1)(100)
    0.1
    """
    def schedule(i):
        return step_size
    return schedule


def exponential_decay(step_size, decay_steps, decay_rate):
    """``step_size * decay_rate ** (i / decay_steps)``.

    >>> exponential_decay(1.0, 10, 0.5)(20)
    0.25
    """
    def schedule(i):
        return step_size * decay_rate ** (i / decay_steps)
    return schedule


def inverse_time_decay(step_size, decay_steps, decay_rate, staircase=False):
    """``step_size / (1 + decay_rate * i / decay_steps)``; with ``staircase`` the ratio is
    floored.

    >>> float(inverse_time_decay(1.0, 10, 1.0, staircase=True)(15))
    0.5
    """
    if staircase:
        def schedule(i):
            return step_size / (1 + decay_rate * jnp.floor(i / decay_steps))
    else:
        def schedule(i):
            return step_size / (1 + decay_rate * i / decay_steps)
    return schedule


def polynomial_decay(step_size, decay_steps, final_step_size, power=1.0):
    """From ``step_size`` to ``final_step_size`` over ``decay_steps`` steps as
    ``(1 - i / decay_steps) ** power``, then constant.

    >>> float(polynomial_decay(1.0, 10, 0.0)(5)), float(polynomial_decay(1.0, 10, 0.0)(50))
    (0.5, 0.0)
    """
    def schedule(step_num):
        step_num = jnp.minimum(step_num, decay_steps)
        step_mult = (1 - step_num / decay_steps) ** power
        return step_mult * (step_size - final_step_size) + final_step_size
    return schedule


def piecewise_constant(boundaries, values):
    """``values[k]`` where ``k`` is the number of ``boundaries`` that ``i`` exceeds.

    >>> s = piecewise_constant([10, 20], [1.0, 0.5, 0.1])
    >>> float(s(10)), float(s(11)), float(s(25))
    (1.0, 0.5, 0.1)
    """
    boundaries = np.asarray(boundaries)
    values = np.asarray(values)
    if not boundaries.ndim == values.ndim == 1:
        raise ValueError("piecewise_constant: boundaries and values must be 1-d sequences, got "
                         f"shapes {boundaries.shape} and {values.shape}")
    if boundaries.shape[0] != values.shape[0] - 1:
        raise ValueError(f"piecewise_constant: {len(boundaries)} boundaries need "
                         f"{len(boundaries) + 1} values, got {len(values)}")

    def schedule(i):
        return jnp.take(values, jnp.sum(jnp.greater(i, boundaries)))
    return schedule


def make_schedule(scalar_or_schedule) -> Schedule:
    """A schedule from a callable (returned as is) or a scalar (a constant schedule).

    >>> make_schedule(0.5)(3)
    0.5
    """
    if callable(scalar_or_schedule):
        return scalar_or_schedule
    if np.ndim(scalar_or_schedule) == 0:
        return constant(scalar_or_schedule)
    raise TypeError(f"make_schedule: expected a scalar step size or a callable schedule, got "
                    f"{type(scalar_or_schedule).__name__} of shape {np.shape(scalar_or_schedule)}")


# ---------------------------------------------------------------- utilities

def l2_norm(tree):
    """The l2 norm of a pytree of arrays (all leaves together).

    >>> float(l2_norm({"a": np.array([3.0]), "b": np.array([4.0])}))
    5.0
    """
    leaves, _ = tree_flatten(tree)
    return jnp.sqrt(sum(jnp.vdot(x, x) for x in leaves))


def clip_grads(grad_tree, max_norm):
    """Scale a pytree of gradients down so that its :func:`l2_norm` is at most ``max_norm``.

    >>> clip_grads({"a": np.array([3.0, 4.0])}, 1.0)
    {'a': array([0.6, 0.8])}
    """
    norm = l2_norm(grad_tree)
    return tree_map(lambda g: jnp.where(norm < max_norm, g, g * (max_norm / norm)), grad_tree)


class JoinPoint:
    """Marks where an optimizer state's per-leaf subtree joins the parameter tree."""

    def __init__(self, subtree):
        self.subtree = subtree

    def __iter__(self):  # looks like a container, as a pytree of arrays does
        yield self.subtree

    def __repr__(self):
        return f"JoinPoint({self.subtree!r})"


def unpack_optimizer_state(opt_state):
    """An :class:`OptimizerState` as the parameter pytree with a :class:`JoinPoint` (holding
    that leaf's state) at each leaf: plain containers, for serialisation.

    >>> init, update, get = momentum(0.1, 0.9)
    >>> unpack_optimizer_state(init({"w": 1.0}))
    {'w': JoinPoint((1.0, array(0.)))}
    """
    states_flat, tree_def, subtree_defs = _check_state(opt_state, "unpack_optimizer_state")
    subtrees = [tree_unflatten(s, f) for s, f in zip(subtree_defs, states_flat, strict=True)]
    return tree_unflatten(tree_def, [JoinPoint(s) for s in subtrees])


def pack_optimizer_state(marked_pytree):
    """The inverse of :func:`unpack_optimizer_state`.

    >>> init, update, get = momentum(0.1, 0.9)
    >>> state = init({"w": 1.0})
    >>> pack_optimizer_state(unpack_optimizer_state(state)) == state
    True
    """
    sentinels, tree_def = tree_flatten(marked_pytree, is_leaf=lambda x: isinstance(x, JoinPoint))
    bad = [type(s).__name__ for s in sentinels if not isinstance(s, JoinPoint)]
    if bad:
        raise TypeError("pack_optimizer_state: every leaf must be a JoinPoint (as made by "
                        f"unpack_optimizer_state); found {bad[:3]}")
    states_flat, subtree_defs = _unzip2(tree_flatten(s.subtree) for s in sentinels)
    return OptimizerState(states_flat, tree_def, subtree_defs)
