"""Sequences: differences, gradients, integration, interpolation, phase unwrapping and
polynomials (products by :func:`._convolve.convolve`), all composed from slices, gathers
and contractions.

>>> import numpy as np
>>> diff(np.array([1.0, 4.0, 9.0, 16.0]), n=2)
array([2., 2.])
>>> polymul(np.array([1.0, 2.0]), np.array([1.0, 1.0, 1.0]))
array([1., 3., 3., 2.])
"""
from __future__ import annotations

import numpy as np

from ..core import Tracer, get_aval
from ..primitives import structural as st
from . import _math as m
from . import _math as _m  # for functions whose NumPy parameter is named m
from . import _shape as sh
from ._convolve import convolve
from ._core import asarray, normalize_axis, promote
from ._indexing import take
from ..primitives.numpy_call import NumpyFn, numpy_call

__all__ = ["diff", "ediff1d", "gradient", "trapezoid", "interp",
           "unwrap", "polyval", "polyadd", "polysub", "polymul", "polyder", "polyint", "poly",
           "polydiv"]


def _shape(x):
    return get_aval(x).shape


def _slice(x, ax, lo, hi):
    s = _shape(x)
    return st.slice(x, tuple(lo if i == ax else 0 for i in range(len(s))),
                    tuple(hi if i == ax else d for i, d in enumerate(s)))


def diff(a, n=1, axis=-1, prepend=None, append=None):
    """``n``-th discrete difference along ``axis``, optionally after joining
    ``prepend``/``append`` (scalars are broadcast).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.diff(np.array([1, 4, 9]))
    array([3, 5])
    """
    x = asarray(a)
    nd = len(_shape(x))
    if nd == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    ax = normalize_axis(axis, nd, "diff")
    if n < 0:
        raise ValueError(f"diff: order must be non-negative but got {n}")
    parts = []
    for extra in (prepend, None, append):
        if extra is None and parts and parts[-1] is x:
            continue
        if extra is None:
            parts.append(x)
            continue
        e = asarray(extra)
        if len(_shape(e)) == 0:
            s = list(_shape(x))
            s[ax] = 1
            e = sh.broadcast_to(e, tuple(s))
        parts.append(e)
    if len(parts) > 1:
        x = sh.concatenate(parts, ax)
    is_bool = get_aval(x).dtype == np.bool_
    for _ in range(n):
        k = _shape(x)[ax]
        hi, lo = _slice(x, ax, 1, k), _slice(x, ax, 0, max(k - 1, 0))
        x = m.not_equal(hi, lo) if is_bool else m.subtract(hi, lo)
    return x


def ediff1d(ary, to_end=None, to_begin=None):
    """Differences of the flattened array, with optional values at either end.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.ediff1d(np.array([1, 4, 9]), to_end=[0])
    array([3, 5, 0])
    """
    d = diff(sh.ravel(ary))
    parts = ([sh.ravel(to_begin)] if to_begin is not None else []) + [d] + \
        ([sh.ravel(to_end)] if to_end is not None else [])
    return sh.concatenate(parts, 0) if len(parts) > 1 else d


def gradient(f, *varargs, axis=None, edge_order=1):
    """Second-order central differences inside, one-sided differences of order
    ``edge_order`` (1 or 2) at the ends. Spacings: one scalar for all axes, one per
    axis, or coordinate arrays (uniform or not). A list for several axes, as NumPy.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.gradient(np.array([1.0, 4.0, 9.0, 16.0]))
    array([3., 4., 6., 7.])
    """
    x, = promote(f, to_float=True)
    nd = len(_shape(x))
    ax_list = axis if isinstance(axis, tuple | list) else (axis,)
    axes = tuple(range(nd)) if axis is None else tuple(normalize_axis(a, nd, "gradient") for a in ax_list)
    if edge_order not in (1, 2):
        raise ValueError("gradient: edge_order must be 1 or 2")
    if not varargs:
        dxs = [1.0] * len(axes)
    elif len(varargs) == 1 and np.ndim(varargs[0]) == 0:
        dxs = [varargs[0]] * len(axes)
    elif len(varargs) == len(axes):
        dxs = list(varargs)
    else:
        raise TypeError(f"gradient: expected 0, 1 or {len(axes)} spacing arguments, got {len(varargs)}")
    outs = [_gradient_axis(x, ax, dx, edge_order) for ax, dx in zip(axes, dxs, strict=True)]
    return outs[0] if len(outs) == 1 else outs


def _gradient_axis(x, ax, dx, edge_order):
    n = _shape(x)[ax]
    if n < edge_order + 1:
        raise ValueError(f"gradient: shape of the array along axis {ax} is too small to "
                         f"calculate a numerical gradient; at least {edge_order + 1} elements "
                         "are needed")
    nd = len(_shape(x))

    def along(v):  # a 1-d array of per-position coefficients, broadcast along ax
        return sh.reshape(v, tuple(-1 if i == ax else 1 for i in range(nd)))

    def sl(lo, hi):
        return _slice(x, ax, lo, hi)
    if np.ndim(dx) == 0 and not isinstance(dx, Tracer):
        h = float(dx)
        inner = m.divide(m.subtract(sl(2, n), sl(0, n - 2)), 2 * h)
        if edge_order == 1:
            first = m.divide(m.subtract(sl(1, 2), sl(0, 1)), h)
            last = m.divide(m.subtract(sl(n - 1, n), sl(n - 2, n - 1)), h)
        else:
            first = m.divide(m.add(m.add(m.multiply(sl(0, 1), -1.5), m.multiply(sl(1, 2), 2.0)),
                                   m.multiply(sl(2, 3), -0.5)), h)
            last = m.divide(m.add(m.add(m.multiply(sl(n - 3, n - 2), 0.5),
                                        m.multiply(sl(n - 2, n - 1), -2.0)),
                                  m.multiply(sl(n - 1, n), 1.5)), h)
        return sh.concatenate([first, inner, last], ax)
    d = asarray(dx)
    if len(_shape(d)) == 0:
        return m.multiply(_gradient_axis(x, ax, 1.0, edge_order), m.reciprocal(d))
    if _shape(d) != (n,):
        raise ValueError(f"gradient: coordinates along axis {ax} must have length {n}")
    h = diff(d)
    h1, h2 = take(h, np.arange(0, n - 2)), take(h, np.arange(1, n - 1))
    a = m.divide(m.negative(h2), m.multiply(h1, m.add(h1, h2)))
    b = m.divide(m.subtract(h2, h1), m.multiply(h1, h2))
    c = m.divide(h1, m.multiply(h2, m.add(h1, h2)))
    inner = m.add(m.add(m.multiply(along(a), sl(0, n - 2)), m.multiply(along(b), sl(1, n - 1))),
                  m.multiply(along(c), sl(2, n)))
    if edge_order == 1:
        first = m.divide(m.subtract(sl(1, 2), sl(0, 1)), take(h, 0))
        last = m.divide(m.subtract(sl(n - 1, n), sl(n - 2, n - 1)), take(h, n - 2))
    else:
        p, q = take(h, 0), take(h, 1)
        a0 = m.negative(m.divide(m.add(m.multiply(2.0, p), q), m.multiply(p, m.add(p, q))))
        b0 = m.divide(m.add(p, q), m.multiply(p, q))
        c0 = m.negative(m.divide(p, m.multiply(q, m.add(p, q))))
        first = m.add(m.add(m.multiply(a0, sl(0, 1)), m.multiply(b0, sl(1, 2))), m.multiply(c0, sl(2, 3)))
        p, q = take(h, n - 3), take(h, n - 2)
        a1 = m.divide(q, m.multiply(p, m.add(p, q)))
        b1 = m.negative(m.divide(m.add(q, p), m.multiply(p, q)))
        c1 = m.divide(m.add(m.multiply(2.0, q), p), m.multiply(q, m.add(p, q)))
        last = m.add(m.add(m.multiply(a1, sl(n - 3, n - 2)), m.multiply(b1, sl(n - 2, n - 1))),
                     m.multiply(c1, sl(n - 1, n)))
    return sh.concatenate([first, inner, last], ax)


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """Integral of ``y`` along ``axis`` by the trapezoidal rule (sample points ``x`` or
    spacing ``dx``).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.trapezoid(np.array([1.0, 2.0, 3.0]))
    np.float64(4.0)
    """
    yv, = promote(y, to_float=True)
    ax = normalize_axis(axis, len(_shape(yv)), "trapezoid")
    n = _shape(yv)[ax]
    mid = m.add(_slice(yv, ax, 1, n), _slice(yv, ax, 0, n - 1))
    if x is None:
        d = dx
    else:
        xv = asarray(x)
        d = diff(xv, axis=ax if len(_shape(xv)) > 1 else -1)
        if len(_shape(xv)) == 1:
            d = sh.reshape(d, tuple(-1 if i == ax else 1 for i in range(len(_shape(yv)))))
    return m.multiply(m.sum(m.multiply(d, mid), ax), 0.5)


_SEARCH = NumpyFn(np.searchsorted, "interp", {"side": "right"})


def interp(x, xp, fp, left=None, right=None, period=None):
    """Piecewise-linear interpolation of ``(xp, fp)`` at ``x`` (``xp`` increasing);
    differentiable in ``x``, ``xp`` and ``fp``.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.interp(np.array([0.5, 3.0]), np.array([0.0, 1.0, 2.0]), np.array([0.0, 10.0, 5.0]))
    array([5., 5.])
    """
    x, xp, fp = asarray(x), asarray(xp), asarray(fp)
    if len(_shape(xp)) != 1 or _shape(xp) != _shape(fp):
        raise ValueError(f"interp: xp and fp must be 1-d of the same length, got {_shape(xp)} "
                         f"and {_shape(fp)}")
    if period is not None:
        x = m.remainder(x, period)
        xp = m.remainder(xp, period)
        order = m.argsort(xp)
        xp, fp = take(xp, order), take(fp, order)
        xp = sh.concatenate([m.subtract(take(xp, [-1]), period), xp, m.add(take(xp, [0]), period)], 0)
        fp = sh.concatenate([take(fp, [-1]), fp, take(fp, [0])], 0)
    x, xp = promote(x, xp, to_float=True, broadcast=False)
    n = _shape(xp)[0]
    i = m.clip(numpy_call(_SEARCH, xp, x), 1, n - 1)
    x0, x1 = take(xp, m.subtract(i, 1)), take(xp, i)
    f0, f1 = take(fp, m.subtract(i, 1)), take(fp, i)
    dx = m.subtract(x1, x0)
    t = m.divide(m.subtract(x, x0), m.where(m.equal(dx, 0), 1.0, dx))
    out = m.add(f0, m.multiply(t, m.subtract(f1, f0)))
    out = m.where(m.equal(x, x1), f1, out)
    if period is None:
        lo = take(fp, 0) if left is None else left
        hi = take(fp, n - 1) if right is None else right
        out = m.where(m.less(x, take(xp, 0)), lo, out)
        out = m.where(m.greater(x, take(xp, n - 1)), hi, out)
    return out


def unwrap(p, discont=None, axis=-1, *, period=2 * np.pi):
    """Unwrap jumps larger than ``discont`` (default ``period/2``) along ``axis`` by
    adding multiples of ``period``; the derivative is that of ``p``.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.unwrap(np.array([0.0, 3.0, 6.5])).round(4)
    array([0.    , 3.    , 0.2168])
    """
    x, = promote(p, to_float=True)
    ax = normalize_axis(axis, len(_shape(x)), "unwrap")
    half = period / 2
    if discont is None:
        discont = half
    dd = diff(x, axis=ax)
    ddmod = m.subtract(m.remainder(m.add(dd, half), period), half)
    ddmod = m.where(m.logical_and(m.equal(ddmod, -half), m.greater(dd, 0)), half, ddmod)
    corr = m.where(m.less(m.abs(dd), discont), 0.0, m.subtract(ddmod, dd))
    s = list(_shape(x))
    s[ax] = 1
    return m.add(x, sh.concatenate([np.zeros(s, get_aval(corr).dtype), m.cumsum(corr, ax)], ax))


# ---------------------------------------------------------------- polynomials (highest power first)

def polyval(p, x):
    """``p[0] * x**(n-1) + ... + p[n-1]`` by Horner's rule.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.polyval(np.array([1.0, 0.0, -1.0]), 3.0)
    np.float64(8.0)
    """
    p = asarray(p)
    if len(_shape(p)) != 1:
        raise ValueError(f"polyval: p must be 1-d, got shape {_shape(p)}")
    x = asarray(x)
    y = np.zeros((), np.result_type(get_aval(p).dtype, get_aval(x).dtype))
    for i in range(_shape(p)[0]):
        y = m.add(m.multiply(y, x), take(p, i))
    return y


def _as_poly(p, name):
    p = sh.atleast_1d(p)
    if len(_shape(p)) != 1:
        raise ValueError(f"{name}: polynomial coefficients must be 1-d, got shape {_shape(p)}")
    return p


def polyadd(a1, a2):
    """Sum of two polynomials.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.polyadd(np.array([1.0, 2.0]), np.array([1.0, 0.0, 0.0]))
    array([1., 1., 2.])
    """
    a, b = _as_poly(a1, "polyadd"), _as_poly(a2, "polyadd")
    na, nb = _shape(a)[0], _shape(b)[0]
    if na < nb:
        a = sh.pad(a, (nb - na, 0))
    elif nb < na:
        b = sh.pad(b, (na - nb, 0))
    return m.add(a, b)


def polysub(a1, a2):
    """Difference of two polynomials.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.polysub(np.array([1.0, 2.0]), np.array([1.0]))
    array([1., 1.])
    """
    return polyadd(a1, m.negative(_as_poly(a2, "polysub")))


def polymul(a1, a2):
    """Product of two polynomials.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.polymul(np.array([1.0, 1.0]), np.array([1.0, -1.0]))
    array([ 1.,  0., -1.])
    """
    return convolve(_as_poly(a1, "polymul"), _as_poly(a2, "polymul"))


def polyder(p, m=1):
    """The ``m``-th derivative of a polynomial.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.polyder(np.array([1.0, 2.0, 3.0]))
    array([2., 2.])
    """
    p, = promote(_as_poly(p, "polyder"))
    for _ in range(int(m)):
        n = _shape(p)[0] - 1
        if n <= 0:
            return np.zeros(1, get_aval(p).dtype)
        p = _m.multiply(take(p, np.arange(n)), np.arange(n, 0, -1))
    return p


def polyint(p, m=1, k=None):
    """The ``m``-th antiderivative of a polynomial, integration constants ``k``.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.polyint(np.array([3.0, 2.0]))
    array([1.5, 2. , 0. ])
    """
    p, = promote(_as_poly(p, "polyint"), to_float=True)
    ks = np.zeros(int(m)) if k is None else np.broadcast_to(np.asarray(k, float), (int(m),)) \
        if not isinstance(k, Tracer) else sh.broadcast_to(k, (int(m),))
    for j in range(int(m)):
        n = _shape(p)[0]
        p = sh.concatenate(promote(_m.divide(p, np.arange(n, 0, -1).astype(float)),
                                   sh.reshape(take(ks, j), (1,)), broadcast=False), 0)
    return p


def poly(seq_of_zeros):
    """Coefficients of the monic polynomial with the given roots (1-d input).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.poly(np.array([1.0, 2.0]))
    array([ 1., -3.,  2.])
    """
    r = asarray(seq_of_zeros)
    if len(_shape(r)) != 1:
        raise NotImplementedError("poly: only a 1-d sequence of roots is supported (the matrix "
                                  "form needs eigenvalues)")
    c = np.ones(1, np.result_type(get_aval(r).dtype, np.float64))
    for i in range(_shape(r)[0]):
        c = convolve(c, sh.stack(promote(1.0, m.negative(take(r, i)))))
    return c


def polydiv(u, v):
    """Quotient and remainder of polynomial division (leading coefficient of ``v``
    non-zero).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.polydiv(np.array([1.0, -3.0, 2.0]), np.array([1.0, -1.0]))
    (array([ 1., -2.]), array([0.]))
    """
    u, v = promote(_as_poly(u, "polydiv"), _as_poly(v, "polydiv"), to_float=True, broadcast=False)
    nu, nv = _shape(u)[0], _shape(v)[0]
    scale = m.divide(1.0, take(v, 0))
    q = []
    r = u
    for k in range(max(nu - nv + 1, 0)):
        d = m.multiply(scale, take(r, k))
        q.append(d)
        r = m.subtract(r, sh.pad(m.multiply(d, v), (k, nu - nv - k)))
    q = sh.stack(q) if q else np.zeros(1, get_aval(u).dtype)
    rem = _slice(r, 0, max(nu - nv + 1, 0), nu) if nu >= nv else r
    return q, rem
