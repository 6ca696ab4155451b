"""Statistics: NaN-ignoring reductions, quantiles, averages, covariances.

The ``nan*`` reductions replace NaNs by the reduction's identity (a ``where``), so the
derivative at NaN entries is zero and elsewhere that of the plain reduction. Quantiles
sort along the axis and interpolate between neighbours (NumPy's default 'linear'
method, and 'lower', 'higher', 'nearest', 'midpoint'); the derivative follows the sort.

>>> import numpy as np, spmdgrad.numpy as jnp
>>> jnp.nanmean(np.array([1.0, np.nan, 3.0]))
np.float64(2.0)
>>> jnp.quantile(np.array([1.0, 2.0, 4.0, 8.0]), 0.5)
array(3.)
"""
from __future__ import annotations

import numpy as np

from ..core import Tracer, get_aval
from . import _math as m
from . import _math as _m  # for functions whose NumPy parameter is named m
from . import _shape as sh
from ._contract import matmul
from ._core import asarray, doc_example, normalize_axes, normalize_axis, promote
from ._indexing import take, take_along_axis

__all__ = ["nansum", "nanprod", "nanmean", "nanvar", "nanstd", "nanmax", "nanmin", "nanargmax",
           "nanargmin", "nancumsum", "nancumprod", "quantile", "percentile", "median",
           "nanquantile", "nanpercentile", "nanmedian", "average", "ptp", "cov", "corrcoef",
           "count_nonzero", "cumulative_sum", "cumulative_prod"]


def _shape(x):
    return get_aval(x).shape


def _nan_fill(a, fill):
    x = asarray(a)
    if get_aval(x).dtype.kind not in "fc":
        return x, None
    isnan = m.isnan(x)
    return m.where(isnan, np.asarray(fill, get_aval(x).dtype), x), isnan


def nansum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    """Sum treating NaNs as zero.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.nansum(np.array([1.0, np.nan]))
    np.float64(1.0)
    """
    return m.sum(_nan_fill(a, 0)[0], axis, dtype, out, keepdims, initial, where)


def nanprod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    """Product treating NaNs as one.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.nanprod(np.array([2.0, np.nan, 3.0]))
    np.float64(6.0)
    """
    return m.prod(_nan_fill(a, 1)[0], axis, dtype, out, keepdims, initial, where)


def nanmean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None):
    """Mean of the non-NaN entries.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.nanmean(np.array([1.0, np.nan, 3.0]))
    np.float64(2.0)
    """
    x, = promote(a, to_float=True)
    ok = m.logical_not(m.isnan(x))
    if where is not None and where is not True:
        ok = m.logical_and(ok, where)
    return m.mean(x, axis, dtype, out, keepdims, where=ok)


def nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None, mean=None,
           correction=None):
    """Variance of the non-NaN entries.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.nanvar(np.array([1.0, np.nan, 3.0]))
    np.float64(1.0)
    """
    x, = promote(a, to_float=True)
    ok = m.logical_not(m.isnan(x))
    if where is not None and where is not True:
        ok = m.logical_and(ok, where)
    return m.var(m.where(ok, x, 0.0), axis, dtype, out, ddof, keepdims, where=ok, mean=mean,
                 correction=correction)


def nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None, mean=None,
           correction=None):
    """Standard deviation of the non-NaN entries.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.nanstd(np.array([1.0, np.nan, 3.0]))
    np.float64(1.0)
    """
    return m.sqrt(nanvar(a, axis, dtype, out, ddof, keepdims, where=where, mean=mean,
                         correction=correction))


def _nan_extremum(f, fill, name):
    def g(a, axis=None, out=None, keepdims=False, initial=None, where=None):
        x = asarray(a)
        filled, isnan = _nan_fill(x, fill)
        r = f(filled, axis, out, keepdims, initial, where)
        if isnan is None:
            return r
        all_nan = m.all(isnan, axis, None, keepdims)
        return m.where(all_nan, np.nan, r)
    g.__name__ = g.__qualname__ = name
    g.__doc__ = doc_example(f"``{name[3:]}`` ignoring NaNs (NaN where a slice is all NaN).",
                            f"jnp.{name}(np.array([1.0, np.nan, 3.0]))",
                            "array(3.)" if name == "nanmax" else "array(1.)")
    return g


nanmax = _nan_extremum(m.max, np.inf * -1, "nanmax")
nanmin = _nan_extremum(m.min, np.inf, "nanmin")


def _nan_arg(f, fill, name):
    def g(a, axis=None, out=None, *, keepdims=False):
        x = asarray(a)
        filled, isnan = _nan_fill(x, fill)
        if isnan is not None and not isinstance(isnan, Tracer) and m.all(isnan, axis).any():
            raise ValueError(f"{name}: All-NaN slice encountered")
        return f(filled, axis, out, keepdims=keepdims)
    g.__name__ = g.__qualname__ = name
    g.__doc__ = doc_example(f"``{name[3:]}`` ignoring NaNs (an all-NaN slice is an error when concrete).",
                            f"jnp.{name}(np.array([1.0, np.nan, 3.0]))",
                            "array(2)" if name == "nanargmax" else "array(0)")
    return g


nanargmax = _nan_arg(m.argmax, -np.inf, "nanargmax")
nanargmin = _nan_arg(m.argmin, np.inf, "nanargmin")


def nancumsum(a, axis=None, dtype=None, out=None):
    """Running sum treating NaNs as zero.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.nancumsum(np.array([1.0, np.nan, 3.0]))
    array([1., 1., 4.])
    """
    return m.cumsum(_nan_fill(a, 0)[0], axis, dtype, out)


def nancumprod(a, axis=None, dtype=None, out=None):
    """Running product treating NaNs as one.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.nancumprod(np.array([2.0, np.nan, 3.0]))
    array([2., 2., 6.])
    """
    return m.cumprod(_nan_fill(a, 1)[0], axis, dtype, out)


def cumulative_sum(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
    """Array-API running sum; ``include_initial`` prepends a zero.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.cumulative_sum(np.array([1, 2, 3]), include_initial=True)
    array([0, 1, 3, 6])
    """
    m.check_out(out, "cumulative_sum")
    return _cumulative(m.cumsum, 0, x, axis, dtype, include_initial, "cumulative_sum")


def cumulative_prod(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
    """Array-API running product; ``include_initial`` prepends a one.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.cumulative_prod(np.array([1.0, 2.0, 3.0]))
    array([1., 2., 6.])
    """
    m.check_out(out, "cumulative_prod")
    return _cumulative(m.cumprod, 1, x, axis, dtype, include_initial, "cumulative_prod")


def _cumulative(f, init, x, axis, dtype, include_initial, name):
    x = asarray(x)
    nd = len(_shape(x))
    if axis is None:
        if nd > 1:
            raise ValueError(f"{name}: axis must be given for arrays of more than one dimension")
        axis = 0
    out = f(x, axis, dtype)
    if not include_initial:
        return out
    ax = normalize_axis(axis, max(nd, 1), name)
    s = list(_shape(out))
    s[ax] = 1
    return sh.concatenate([np.full(s, init, get_aval(out).dtype), out], ax)


# ---------------------------------------------------------------- quantiles

_METHODS = ("linear", "lower", "higher", "nearest", "midpoint")


def _quantile(a, q, axis, method, keepdims, name, nan_aware):
    if method not in _METHODS:
        raise NotImplementedError(f"{name}: method {method!r} is not supported; use one of "
                                  f"{', '.join(_METHODS)}")
    x, = promote(a, to_float=True)
    if axis is None:
        x, axes = sh.ravel(x), (0,)
        kshape = (1,) * len(_shape(asarray(a)))
    else:
        axes = normalize_axes(axis, len(_shape(x)), name)
        s = _shape(x)
        kshape = tuple(1 if i in axes else d for i, d in enumerate(s))
        rest = [i for i in range(len(s)) if i not in axes]
        x = sh.reshape(sh.transpose(x, rest + list(axes)),
                       tuple(s[i] for i in rest) + (-1,))
    qa = asarray(q)
    if not isinstance(qa, Tracer) and ((qa < 0).any() or (qa > 1).any()):
        raise ValueError(f"{name}: quantiles must be in the range [0, 1]")
    qa, = promote(qa, to_float=True)
    n = _shape(x)[-1]
    if n == 0:
        raise ValueError(f"{name}: cannot take a quantile of an empty axis")
    xs = m.sort(x, -1)  # NaNs sort last
    if nan_aware:
        count = m.sum(m.logical_not(m.isnan(x)), -1, keepdims=True)
        last = m.astype(m.subtract(count, 1), get_aval(qa).dtype)
    else:
        last = np.asarray(n - 1, get_aval(qa).dtype)
    # positions: q's shape first (NumPy's layout), then the kept axes
    qshape = _shape(qa)
    xs_b = sh.reshape(xs, (1,) * len(qshape) + _shape(xs))
    last_b = last if not nan_aware else sh.reshape(last, (1,) * len(qshape) + _shape(last))
    pos = m.multiply(sh.reshape(qa, qshape + (1,) * len(_shape(xs))), last_b)
    lo = m.floor(pos)
    hi = m.ceil(pos)
    idx_shape = np.broadcast_shapes(_shape(pos), qshape + _shape(xs)[:-1] + (1,))
    xs_full = sh.broadcast_to(xs_b, qshape + _shape(xs))

    def at(p):
        i = m.astype(sh.broadcast_to(m.clip(p, 0, n - 1), idx_shape), np.int64)
        return take_along_axis(xs_full, i, axis=-1)
    if method == "lower":
        out = at(lo)
    elif method == "higher":
        out = at(hi)
    elif method == "nearest":
        out = at(m.round(pos))
    elif method == "midpoint":
        out = m.multiply(m.add(at(lo), at(hi)), 0.5)
    else:
        w = sh.broadcast_to(m.subtract(pos, lo), idx_shape)
        a_lo, a_hi = at(lo), at(hi)
        out = m.add(a_lo, m.multiply(w, m.subtract(a_hi, a_lo)))
    out = sh.reshape(out, _shape(out)[:-1])
    if nan_aware:
        empty = sh.broadcast_to(sh.reshape(m.equal(count, 0), (1,) * len(qshape) + _shape(count)[:-1]),
                                _shape(out))
        out = m.where(empty, np.nan, out)
    if keepdims:
        out = sh.reshape(out, qshape + kshape)
    return out


def quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
             keepdims=False, *, weights=None, interpolation=None):
    """The ``q``-th quantiles (``q`` in [0, 1], possibly traced) along ``axis``.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.quantile(np.array([1.0, 2.0, 4.0]), 0.25)
    array(1.5)
    """
    m.check_out(out, "quantile")
    if weights is not None:
        raise NotImplementedError("quantile: weights= is not supported")
    return _quantile(a, q, axis, interpolation or method, keepdims, "quantile", False)


def percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
               keepdims=False, *, weights=None, interpolation=None):
    """The ``q``-th percentiles (``q`` in [0, 100]).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.percentile(np.array([1.0, 2.0, 3.0, 4.0]), [25, 50])
    array([1.75, 2.5 ])
    """
    return quantile(a, m.divide(q, 100.0), axis, out, overwrite_input, method, keepdims,
                    weights=weights, interpolation=interpolation)


def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """The median along ``axis`` (the mean of the two middle values for even counts).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.median(np.array([3.0, 1.0, 2.0, 10.0]))
    array(2.5)
    """
    return quantile(a, 0.5, axis, out, keepdims=keepdims)


def nanquantile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                keepdims=False, *, weights=None, interpolation=None):
    """:func:`quantile` of the non-NaN entries (NaN for an all-NaN slice).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.nanquantile(np.array([1.0, np.nan, 3.0]), 0.5)
    array(2.)
    """
    m.check_out(out, "nanquantile")
    if weights is not None:
        raise NotImplementedError("nanquantile: weights= is not supported")
    return _quantile(a, q, axis, interpolation or method, keepdims, "nanquantile", True)


def nanpercentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                  keepdims=False, *, weights=None, interpolation=None):
    """:func:`percentile` of the non-NaN entries.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.nanpercentile(np.array([1.0, np.nan, 3.0]), 50)
    array(2.)
    """
    return nanquantile(a, m.divide(q, 100.0), axis, out, overwrite_input, method, keepdims,
                       weights=weights, interpolation=interpolation)


def nanmedian(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """:func:`median` of the non-NaN entries.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.nanmedian(np.array([1.0, np.nan, 3.0]))
    array(2.)
    """
    return nanquantile(a, 0.5, axis, out, keepdims=keepdims)


# ---------------------------------------------------------------- averages and moments

def average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    """Weighted mean along ``axis``; with ``returned``, also the sum of the weights.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.average(np.array([1.0, 3.0]), weights=np.array([3.0, 1.0]))
    np.float64(1.5)
    """
    x = asarray(a)
    if weights is None:
        avg = m.mean(x, axis, keepdims=keepdims)
        if not returned:
            return avg
        axes = normalize_axes(axis, len(_shape(x)), "average")
        cnt = int(np.prod([_shape(x)[i] for i in axes], dtype=np.int64))
        return avg, m.astype(sh.broadcast_to(np.asarray(cnt), _shape(avg)), get_aval(avg).dtype)
    w = asarray(weights)
    x, w = promote(x, w, to_float=True, broadcast=False)
    if _shape(w) != _shape(x):
        if axis is None or len(_shape(w)) != 1:
            raise ValueError(f"average: weights of shape {_shape(w)} differ from a's shape "
                             f"{_shape(x)}; 1-d weights need an int axis")
        ax = normalize_axis(axis, len(_shape(x)), "average")
        if _shape(w)[0] != _shape(x)[ax]:
            raise ValueError("average: length of weights differs from the axis length")
        w = sh.broadcast_to(sh.reshape(w, tuple(-1 if i == ax else 1 for i in range(len(_shape(x))))),
                            _shape(x))
    scl = m.sum(w, axis, keepdims=keepdims)
    avg = m.divide(m.sum(m.multiply(x, w), axis, keepdims=keepdims), scl)
    return (avg, sh.broadcast_to(scl, _shape(avg))) if returned else avg


def ptp(a, axis=None, out=None, keepdims=False):
    """``max - min`` along ``axis``.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.ptp(np.array([[1.0, 5.0], [2.0, 2.5]]), axis=1)
    array([4. , 0.5])
    """
    return m.subtract(m.max(a, axis, out, keepdims), m.min(a, axis, None, keepdims))


def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *,
        dtype=None):
    """Covariance matrix of the variables in the rows (``rowvar``) or columns of ``m``.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.cov(np.array([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]]))
    array([[ 1., -1.],
           [-1.,  1.]])
    """
    x, = promote(sh.atleast_2d(m), to_float=True)
    if not rowvar and _shape(x)[0] != 1:
        x = sh.transpose(x)
    if y is not None:
        yy, = promote(sh.atleast_2d(y), to_float=True)
        if not rowvar and _shape(yy)[0] != 1:
            yy = sh.transpose(yy)
        x = sh.concatenate(promote(x, yy, broadcast=False), 0)
    if dtype is not None:
        x = _m.astype(x, dtype)
    if ddof is None:
        ddof = 0 if bias else 1
    n = _shape(x)[1]
    w = None
    if fweights is not None:
        w = asarray(fweights)
    if aweights is not None:
        w = asarray(aweights) if w is None else _m.multiply(w, aweights)
    if w is None:
        avg = _m.mean(x, 1, keepdims=True)
        fact = n - ddof
        xc = _m.subtract(x, avg)
        c = matmul(xc, sh.transpose(_m.conj(xc)))
        return _squeeze_cov(_m.divide(c, fact))
    w = _m.astype(w, get_aval(x).dtype.type(0).real.dtype)
    w_sum = _m.sum(w)
    avg = _m.divide(_m.sum(_m.multiply(x, w), 1, keepdims=True), w_sum)
    if ddof == 0:
        fact = w_sum
    elif aweights is None:
        fact = _m.subtract(w_sum, ddof)
    else:
        fact = _m.subtract(w_sum, _m.divide(_m.multiply(ddof, _m.sum(_m.multiply(w, aweights))), w_sum))
    xc = _m.subtract(x, avg)
    c = matmul(_m.multiply(xc, w), sh.transpose(_m.conj(xc)))
    return _squeeze_cov(_m.divide(c, fact))


def _squeeze_cov(c):
    return sh.squeeze(c) if _shape(c) == (1, 1) else c


def corrcoef(x, y=None, rowvar=True, *, dtype=None):
    """Pearson correlation coefficients (clipped to [-1, 1], as NumPy does).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.corrcoef(np.array([[0.0, 1.0, 2.0], [2.0, 1.0, 0.5]])).round(4)
    array([[ 1.   , -0.982],
           [-0.982,  1.   ]])
    """
    c = cov(x, y, rowvar, dtype=dtype)
    if len(_shape(c)) == 0:
        return m.divide(c, c)
    d = sh.reshape(m.sqrt(m.real(take(sh.ravel(c), np.arange(_shape(c)[0]) * (_shape(c)[0] + 1)))), (-1,))
    c = m.divide(m.divide(c, sh.reshape(d, (-1, 1))), sh.reshape(d, (1, -1)))
    return m.clip(c, -1, 1) if get_aval(c).dtype.kind == "f" else c


def count_nonzero(a, axis=None, *, keepdims=False):
    """Number of non-zero entries along ``axis`` (an integer).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.count_nonzero(np.array([0, 1, 2]))
    np.int64(2)
    """
    x = asarray(a)
    return m.sum(m.not_equal(x, 0), axis, np.int64, keepdims=keepdims)
