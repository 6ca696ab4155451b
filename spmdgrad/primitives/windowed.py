"""Sliding windows: ``patches`` (im2col) and its transpose ``unpatches`` (col2im).

``patches(x)`` gathers every window of ``x`` into an array of shape
``out_shape + window_dimensions``: ``out[p, k] = xp[p * stride + k * window_dilation]``
where ``xp`` is ``x`` dilated by ``base_dilation`` (zeros between elements) and
padded with zeros by ``padding`` (negative padding crops). It is linear, so it
carries the derivatives of everything built on it: ``reduce_window`` is a
reduction of the patches over the window axes (the max's ties then split as
``reduce_max``'s do), and the convolution's transposes are contractions with them.

The implementation of ``patches`` is a read-only strided view (no copy unless
there is padding or dilation); ``unpatches`` scatter-adds window slices, looping
over whichever of the window offsets and the output positions are fewer.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .. import ad, batching
from ..core import Primitive, abstract_rules, get_aval, impl_rules
from .structural import reshape

patches_p = Primitive("patches")
unpatches_p = Primitive("unpatches")


def dilate_dim(n, d):
    return 0 if n == 0 else (n - 1) * d + 1


def window_geometry(name, shape, window_dimensions, window_strides, padding, base_dilation,
                    window_dilation):
    """Check the window parameters against ``shape``; return the output positions' shape."""
    nd = len(shape)
    for what, v in (("window_dimensions", window_dimensions), ("window_strides", window_strides),
                    ("padding", padding), ("base_dilation", base_dilation),
                    ("window_dilation", window_dilation)):
        if len(v) != nd:
            raise ValueError(f"{name}: {what} {tuple(v)} has {len(v)} entries, but the operand "
                             f"has rank {nd} (shape {tuple(shape)})")
    for what, v, low in (("window_dimensions", window_dimensions, 0), ("window_strides",
                         window_strides, 1), ("base_dilation", base_dilation, 1),
                         ("window_dilation", window_dilation, 1)):
        if any(int(a) < low for a in v):
            raise ValueError(f"{name}: {what} must be integers >= {low}, got {tuple(v)}")
    out = []
    for n, k, s, (lo, hi), bd, wd in zip(shape, window_dimensions, window_strides, padding,
                                         base_dilation, window_dilation):
        padded = dilate_dim(n, bd) + lo + hi
        if padded < 0:
            raise ValueError(f"{name}: padding {tuple(padding)} crops more than the (dilated) "
                             f"operand of shape {tuple(shape)} holds")
        eff = dilate_dim(k, wd)
        out.append(max(0, (padded - eff) // s + 1) if padded >= eff else 0)
    return tuple(out)


def _full(shape, padding, base_dilation):
    """Shape of the zero-padded, dilated operand before negative padding crops it."""
    return tuple(dilate_dim(n, d) + max(lo, 0) + max(hi, 0)
                 for n, (lo, hi), d in zip(shape, padding, base_dilation))


def _inner(shape, padding, base_dilation):
    """Where the operand's elements sit inside the uncropped padded array."""
    return tuple(slice(max(lo, 0), max(lo, 0) + dilate_dim(n, d), d)
                 for n, (lo, hi), d in zip(shape, padding, base_dilation))


def _crop(full_shape, padding):
    return tuple(slice(max(-lo, 0), n - max(-hi, 0)) for n, (lo, hi) in zip(full_shape, padding))


def padded_view(x, padding, base_dilation):
    """``x`` dilated and padded with zeros (negative padding crops); ``x`` itself if
    there is nothing to do."""
    if all(d == 1 for d in base_dilation) and all(lo == 0 and hi == 0 for lo, hi in padding):
        return x
    full = np.zeros(_full(x.shape, padding, base_dilation), x.dtype)
    full[_inner(x.shape, padding, base_dilation)] = x
    return full[_crop(full.shape, padding)]


def windows(xp, out_shape, window_dimensions, window_strides, window_dilation):
    """Read-only view ``out[p, k] = xp[p * stride + k * dilation]``."""
    st = xp.strides
    strides = (tuple(a * s for a, s in zip(st, window_strides))
               + tuple(a * d for a, d in zip(st, window_dilation)))
    return as_strided(xp, tuple(out_shape) + tuple(window_dimensions), strides, writeable=False)


def _patches_impl(x, window_dimensions, window_strides, padding, base_dilation, window_dilation):
    x = np.asarray(x)
    out = window_geometry("patches", x.shape, window_dimensions, window_strides, padding,
                          base_dilation, window_dilation)
    return windows(padded_view(x, padding, base_dilation), out, window_dimensions,
                   window_strides, window_dilation)


def _patches_abstract(x, **params):
    out = window_geometry("patches", x.shape, **params)
    return out + tuple(params["window_dimensions"]), x.dtype


def _unpatches_impl(ct, operand_shape, window_dimensions, window_strides, padding,
                    base_dilation, window_dilation):
    ct = np.asarray(ct)
    nd = len(operand_shape)
    if (window_strides == window_dimensions and all(d == 1 for d in window_dilation + base_dilation)
            and all(p == (0, 0) for p in padding)):
        return _untile(ct, operand_shape, nd)
    full = np.zeros(_full(operand_shape, padding, base_dilation), ct.dtype)
    if ct.size:
        out = ct.shape[:nd]
        start = [max(-lo, 0) for lo, _ in padding]  # the cropped origin in the full array
        if np.prod(window_dimensions) <= np.prod(out):
            for k in np.ndindex(*window_dimensions):  # one strided slice-add per window offset
                idx = tuple(slice(c + i * d, c + i * d + (p - 1) * s + 1, s) for c, i, d, p, s in
                            zip(start, k, window_dilation, out, window_strides))
                full[idx] += ct[(Ellipsis,) + k]
        else:
            for p in np.ndindex(*out):  # one window-shaped slice-add per output position
                idx = tuple(slice(c + i * s, c + i * s + (k - 1) * d + 1, d) for c, i, s, k, d in
                            zip(start, p, window_strides, window_dimensions, window_dilation))
                full[idx] += ct[p]
    return np.ascontiguousarray(full[_inner(operand_shape, padding, base_dilation)])


def _untile(ct, operand_shape, nd):
    """``unpatches`` of windows that tile the operand (stride = window, no padding or
    dilation): each element is in at most one window, so it is one interleaving copy."""
    out, win = ct.shape[:nd], ct.shape[nd:]
    perm = tuple(i for d in range(nd) for i in (d, nd + d))  # (P0, K0, P1, K1, ...)
    tiled = ct.transpose(perm).reshape(tuple(p * k for p, k in zip(out, win)))
    if tiled.shape == tuple(operand_shape):
        return tiled
    full = np.zeros(operand_shape, ct.dtype)  # elements past the last full window get nothing
    full[tuple(slice(0, n) for n in tiled.shape)] = tiled
    return full


def _unpatches_abstract(ct, operand_shape, **params):
    out = window_geometry("unpatches", operand_shape, **params)
    expect = out + tuple(params["window_dimensions"])
    if ct.shape != expect:
        raise ValueError(f"unpatches: cotangent of shape {ct.shape} does not match the windows "
                         f"{expect} of an operand of shape {tuple(operand_shape)}")
    return tuple(operand_shape), ct.dtype


impl_rules[patches_p] = _patches_impl
abstract_rules[patches_p] = _patches_abstract
impl_rules[unpatches_p] = _unpatches_impl
abstract_rules[unpatches_p] = _unpatches_abstract


def _params(window_dimensions, window_strides, padding, base_dilation, window_dilation):
    return {"window_dimensions": tuple(int(a) for a in window_dimensions),
                "window_strides": tuple(int(a) for a in window_strides),
                "padding": tuple((int(lo), int(hi)) for lo, hi in padding),
                "base_dilation": tuple(int(a) for a in base_dilation),
                "window_dilation": tuple(int(a) for a in window_dilation)}


def patches(x, window_dimensions, window_strides, padding, base_dilation, window_dilation):
    """Every window of ``x``: shape ``output positions + window_dimensions`` (see module doc).

    >>> import numpy as np
    >>> patches(np.arange(4.0), (2,), (1,), ((0, 0),), (1,), (1,))
    array([[0., 1.],
           [1., 2.],
           [2., 3.]])
    """
    params = _params(window_dimensions, window_strides, padding, base_dilation, window_dilation)
    return patches_p.bind(x, **params)


def unpatches(ct, operand_shape, window_dimensions, window_strides, padding, base_dilation,
              window_dilation):
    """Transpose of :func:`patches`: every window of ``ct`` added back where it came from.

    >>> import numpy as np
    >>> unpatches(np.ones((3, 2)), (4,), (2,), (1,), ((0, 0),), (1,), (1,))
    array([1., 2., 2., 1.])
    """
    params = _params(window_dimensions, window_strides, padding, base_dilation, window_dilation)
    return unpatches_p.bind(ct, operand_shape=tuple(int(n) for n in operand_shape), **params)


def _leading(params):
    """The same windows with one more leading axis (window 1, stride 1): the batch."""
    return {"window_dimensions": (1,) + params["window_dimensions"],
                "window_strides": (1,) + params["window_strides"],
                "padding": ((0, 0),) + params["padding"],
                "base_dilation": (1,) + params["base_dilation"],
                "window_dilation": (1,) + params["window_dilation"]}


def _patches_batch(size, vals, batched, **params):
    x, = vals
    out = patches_p.bind(x, **_leading(params))  # (B, P..., 1, K...)
    shape = get_aval(out).shape
    nd = len(params["window_dimensions"])
    return reshape(out, shape[:nd + 1] + shape[nd + 2:]), True


def _unpatches_batch(size, vals, batched, operand_shape, **params):
    ct, = vals
    shape = get_aval(ct).shape
    nd = len(operand_shape)
    ct = reshape(ct, shape[:nd + 1] + (1,) + shape[nd + 1:])
    return unpatches_p.bind(ct, operand_shape=(size,) + operand_shape, **_leading(params)), True


batching.batch_rules[patches_p] = _patches_batch
batching.batch_rules[unpatches_p] = _unpatches_batch
ad.deflinear(patches_p, lambda ct, x, **params: [
    unpatches_p.bind(ct, operand_shape=x.aval.shape, **params)])
ad.deflinear(unpatches_p, lambda ct, u, operand_shape, **params: [patches_p.bind(ct, **params)])
