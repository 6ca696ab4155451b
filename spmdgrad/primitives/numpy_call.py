"""One primitive for NumPy functions that have no useful derivative: integer or boolean
results (searchsorted, isin, bitwise ops, lexsort, ...) and piecewise-constant float
results (trunc, rint, heaviside, ...), whose output shape depends only on input shapes.

``numpy_call(fn, *args)`` runs ``fn`` (a NumPy function with its static keywords bound)
on concrete arrays. Its rules:

- shape and dtype: ``fn`` evaluated once on zeros of the operand shapes (cached);
- JVP: the result carries no tangent. For integer/boolean results that is the only
  tangent there is; for float results the op is declared piecewise constant
  (``zero_derivative=True``), so zero is its derivative almost everywhere. Any other
  float result under differentiation raises an error naming the op and the transformation;
- batching: ``fn`` mapped over the batch axis (``elementwise=True``: one call on
  operands broadcast along a leading axis; otherwise a loop over the examples), which
  is exactly the vmap-versus-loop reference;
- jit: the equation records ``fn``, and the replay calls it.

>>> import numpy as np, spmdgrad
>>> f = NumpyFn(np.searchsorted, "searchsorted")
>>> spmdgrad.vmap(lambda a: numpy_call(f, a, np.array(2.5)))(np.array([[1., 2, 3], [3, 4, 5]]))
array([2, 0])
"""
from __future__ import annotations

import functools

import numpy as np

from .. import ad, batching
from ..core import Primitive, SpmdgradError, abstract_rules, get_aval, impl_rules
from .structural import broadcast_batch

numpy_call_p = Primitive("numpy_call")


class NumpyFn:
    """A NumPy function with static keywords bound; hashable, so jit can key on it."""
    __slots__ = ("fun", "name", "kwargs", "elementwise", "zero_derivative")

    def __init__(self, fun, name, kwargs=(), elementwise=False, zero_derivative=False):
        self.fun, self.name = fun, name
        self.kwargs = tuple(sorted(dict(kwargs).items()))
        self.elementwise, self.zero_derivative = elementwise, zero_derivative

    def __call__(self, *args):
        with np.errstate(all="ignore"):
            return np.asarray(self.fun(*args, **dict(self.kwargs)))

    def _key(self):
        return (self.fun, self.name, self.kwargs, self.elementwise, self.zero_derivative)

    def __eq__(self, other):
        return type(other) is type(self) and other._key() == self._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return self.name


class _Looped:
    """``fn`` mapped over the leading axis of every operand (all operands batched)."""
    __slots__ = ("fn", "size")

    def __init__(self, fn, size):
        self.fn, self.size = fn, size

    @property
    def name(self):
        return self.fn.name

    @property
    def zero_derivative(self):
        return self.fn.zero_derivative

    def __call__(self, *args):
        if isinstance(self.fn, NumpyFn) and self.fn.elementwise:
            # Per example, operands have one shape or are 0-d: align the 0-d ones.
            nd = max(np.ndim(a) for a in args)
            return self.fn(*[np.reshape(a, np.shape(a) + (1,) * (nd - np.ndim(a))) for a in args])
        return np.stack([np.asarray(self.fn(*[a[i] for a in args])) for i in range(self.size)])

    def __eq__(self, other):
        return type(other) is type(self) and (other.fn, other.size) == (self.fn, self.size)

    def __hash__(self):
        return hash((self.fn, self.size))

    def __repr__(self):
        return f"vmap({self.fn!r})"


def numpy_call(fn, *args):
    """Bind ``fn`` (a :class:`NumpyFn`) on ``args``: arrays or tracers."""
    return numpy_call_p.bind(*args, fn=fn)


impl_rules[numpy_call_p] = lambda *args, fn: fn(*args)


@functools.lru_cache(maxsize=4096)
def _out_aval(fn, in_avals):
    try:
        out = fn(*[np.zeros(s, d) for s, d in in_avals])
    except Exception as e:  # noqa: BLE001 - reported with the op's name
        raise ValueError(f"{fn.name}: invalid arguments for operand shapes "
                         f"{[s for s, _ in in_avals]}: {e}") from None
    return out.shape, out.dtype


abstract_rules[numpy_call_p] = lambda *avals, fn: _out_aval(fn, tuple((a.shape, a.dtype) for a in avals))


class NoDerivativeError(TypeError, SpmdgradError):
    pass


def _jvp(primals, tangents, fn):
    out = numpy_call_p.bind(*primals, fn=fn)
    dt = get_aval(out).dtype
    if dt.kind in "fc" and not fn.zero_derivative and any(t is not None for t in tangents):
        raise NoDerivativeError(
            f"{fn.name} has no derivative (jvp/grad): its float result is not differentiable "
            "in spmdgrad. Apply spmdgrad.lax.stop_gradient to its inputs if a zero derivative "
            "is what you mean.")
    return out, None


ad.jvp_rules[numpy_call_p] = _jvp


def _batch(size, vals, batched, fn):
    vals = [v if b else broadcast_batch(v, size) for v, b in zip(vals, batched, strict=True)]
    return numpy_call_p.bind(*vals, fn=_Looped(fn, size)), True


batching.batch_rules[numpy_call_p] = _batch
