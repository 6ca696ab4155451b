"""``conv_general_dilated`` in the canonical layout, with its rules.

Operands: ``lhs`` of shape ``(N, C, *spatial)``, ``rhs`` of shape ``(O, I, *window)``,
result ``(N // batch_group_count, O, *positions)``; one dtype (the front end in
:mod:`spmdgrad.lax.conv` permutes other layouts and promotes dtypes). Params:
``window_strides``, ``padding`` (``(lo, hi)`` pairs, negative crops),
``lhs_dilation``, ``rhs_dilation``, ``feature_group_count``, ``batch_group_count``
(at most one of the two above 1), as in XLA.

- Implementation: im2col (a strided view of the windows, copied once into a
  matrix) and one matmul per group.
- JVP: bilinear. Transposes: the input gradient is col2im of ``ct @ w``
  (``unpatches``), the kernel gradient the contraction of ``ct`` with the
  patches of the input. Over reduced vmap axes the kernel gradient is one
  ``pdot``: the batch is contracted inside the matmul instead of B per-example
  kernel gradients being summed.
- Batching folds the vmapped axis into the convolution: a batched input into N,
  a batched kernel into the output features, both into feature groups (or
  batch groups), so per-example kernel gradients are one grouped contraction.
"""
from __future__ import annotations

import numpy as np

from .. import ad, batching, core
from ..core import Primitive, abstract_rules, get_aval, impl_rules
from .contraction import einsum2, pdot
from .structural import reshape, transpose
from .windowed import padded_view, patches, unpatches, window_geometry, windows

conv_p = Primitive("conv_general_dilated")

_SPATIAL = "pqrstuvw"  # output positions
_WINDOW = "klmhijxy"   # window offsets


def conv(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation, feature_group_count=1,
         batch_group_count=1):
    """Canonical-layout convolution (see the module doc); the public form is
    :func:`spmdgrad.lax.conv_general_dilated`."""
    n = get_aval(lhs).ndim - 2
    return conv_p.bind(lhs, rhs, window_strides=tuple(int(s) for s in window_strides),
                       padding=tuple((int(lo), int(hi)) for lo, hi in padding),
                       lhs_dilation=tuple(int(d) for d in (lhs_dilation or (1,) * n)),
                       rhs_dilation=tuple(int(d) for d in (rhs_dilation or (1,) * n)),
                       feature_group_count=int(feature_group_count),
                       batch_group_count=int(batch_group_count))


def _window_params(lhs_shape, rhs_shape, window_strides, padding, lhs_dilation, rhs_dilation):
    """The patches parameters of the input: windows over every axis, 1 over N and C."""
    return {"window_dimensions": (1, 1) + tuple(rhs_shape[2:]),
                "window_strides": (1, 1) + window_strides, "padding": ((0, 0), (0, 0)) + padding,
                "base_dilation": (1, 1) + lhs_dilation, "window_dilation": (1, 1) + rhs_dilation}


def _check(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation, feature_group_count,
           batch_group_count):
    name = "conv_general_dilated"
    if lhs.ndim != rhs.ndim or lhs.ndim < 2:
        raise ValueError(f"{name}: lhs and rhs must have one rank >= 2, got shapes {lhs.shape} "
                         f"and {rhs.shape}")
    (N, C), (Co, Ig) = lhs.shape[:2], rhs.shape[:2]
    G, BG = feature_group_count, batch_group_count
    if G < 1 or BG < 1:
        raise ValueError(f"{name}: feature_group_count {G} and batch_group_count {BG} must be >= 1")
    if G > 1 and BG > 1:
        raise ValueError(f"{name}: feature_group_count ({G}) and batch_group_count ({BG}) cannot "
                         "both exceed 1")
    if C != Ig * G:
        raise ValueError(f"{name}: lhs has {C} input features but rhs expects {Ig} per group x "
                         f"feature_group_count {G} = {Ig * G} (lhs {lhs.shape}, rhs {rhs.shape} in "
                         "canonical N,C,... / O,I,... order)")
    if Co % G or Co % BG:
        raise ValueError(f"{name}: rhs output features {Co} must be divisible by "
                         f"feature_group_count {G} and batch_group_count {BG}")
    if N % BG:
        raise ValueError(f"{name}: lhs batch {N} must be divisible by batch_group_count {BG}")
    if lhs.dtype != rhs.dtype:
        raise TypeError(f"{name}: operands have dtypes {lhs.dtype} and {rhs.dtype}")
    n = lhs.ndim - 2
    if not len(window_strides) == len(padding) == len(lhs_dilation) == len(rhs_dilation) == n:
        raise ValueError(f"{name}: window_strides, padding, lhs_dilation and rhs_dilation need "
                         f"{n} entries each (one per spatial dimension)")
    return window_geometry(name, lhs.shape, **_window_params(
        lhs.shape, rhs.shape, window_strides, padding, lhs_dilation, rhs_dilation))[2:]


def _conv_abstract(lhs, rhs, **params):
    pos = _check(lhs, rhs, **params)
    return (lhs.shape[0] // params["batch_group_count"], rhs.shape[0]) + pos, lhs.dtype


def _conv_impl(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation, feature_group_count,
               batch_group_count):
    x, w = np.asarray(lhs), np.asarray(rhs)
    pos = _check(get_aval(x), get_aval(w), window_strides, padding, lhs_dilation, rhs_dilation,
                 feature_group_count, batch_group_count)
    wp = _window_params(x.shape, w.shape, window_strides, padding, lhs_dilation, rhs_dilation)
    N, C = x.shape[:2]
    Co, Ig = w.shape[:2]  # Ig: input features per group
    K = w.shape[2:]
    G, BG = feature_group_count, batch_group_count
    xp = padded_view(x, wp["padding"], wp["base_dilation"])
    win = windows(xp, (N, C) + pos, wp["window_dimensions"],
                  wp["window_strides"], wp["window_dilation"])
    n = len(K)
    # (BG, Nb, G, Ig, P..., K...) -> (groups, Nb * P, Ig * K): the im2col matrix (one copy).
    win = win.reshape((BG, N // BG, G, Ig) + pos + K)
    perm = (0, 2, 1) + tuple(range(4, 4 + n)) + (3,) + tuple(range(4 + n, 4 + 2 * n))
    npos, nk = int(np.prod(pos, dtype=np.int64)), int(np.prod(K, dtype=np.int64))
    cols = win.transpose(perm).reshape(BG * G, (N // BG) * npos, Ig * nk)
    wm = w.reshape(BG * G, Co // (BG * G), Ig * nk).transpose(0, 2, 1)
    out = np.matmul(cols, wm)  # (groups, Nb * P, Og)
    out = out.reshape((BG * G, N // BG) + pos + (Co // (BG * G),))
    out = out.transpose((1, 0, 2 + n) + tuple(range(2, 2 + n)))
    return out.reshape((N // BG, Co) + pos)


impl_rules[conv_p] = _conv_impl
abstract_rules[conv_p] = _conv_abstract


# ---------------------------------------------------------------- transposes

def _letters(n):
    return _SPATIAL[:n], _WINDOW[:n]


def _split_groups(shape, axis, groups):
    return shape[:axis] + (groups, shape[axis] // groups) + shape[axis + 1:]


def _grouped_patches(x, rhs_shape, params):
    """Patches of the input as (N, G, I, P..., K...) (feature groups) or
    (BG, Nb, C, P..., K...) (batch groups), and their index letters."""
    pat = patches(x, **_window_params(get_aval(x).shape, rhs_shape, params["window_strides"],
                                      params["padding"], params["lhs_dilation"],
                                      params["rhs_dilation"]))
    shape = get_aval(pat).shape
    n = len(rhs_shape) - 2
    shape = shape[:2 + n] + shape[4 + n:]  # drop the unit windows over N and C
    P, K = _letters(n)
    if params["batch_group_count"] > 1:
        return reshape(pat, _split_groups(shape, 0, params["batch_group_count"])), "gnc" + P + K
    return reshape(pat, _split_groups(shape, 1, params["feature_group_count"])), "ngc" + P + K


def _groups(params):
    return max(params["feature_group_count"], params["batch_group_count"])


def _conv_lhs_t(ct, x, w, **params):
    # dx = col2im(ct . w): each output position sends ct * w back over its window.
    xshape, wshape = x.aval.shape, get_aval(w).shape
    n = len(wshape) - 2
    G = _groups(params)
    P, K = _letters(n)
    cshape = get_aval(ct).shape
    ctg = reshape(ct, _split_groups(cshape, 1, G))        # (Nb, G, Og, P...)
    wg = reshape(w, _split_groups(wshape, 0, G))          # (G, Og, I, K...)
    out = ("gnc" if params["batch_group_count"] > 1 else "ngc") + P + K
    cols = einsum2(ctg, wg, f"ngo{P},goc{K}->{out}")
    pos = cshape[2:]
    cols = reshape(cols, xshape[:2] + pos + (1, 1) + wshape[2:])
    return unpatches(cols, xshape, **_window_params(
        xshape, wshape, params["window_strides"], params["padding"], params["lhs_dilation"],
        params["rhs_dilation"]))


def _conv_rhs_t(ct, x, w, **params):
    # dw = ct contracted with the input's patches over the batch and the positions.
    wshape = w.aval.shape
    n = len(wshape) - 2
    G = _groups(params)
    P, K = _letters(n)
    pat, pspec = _grouped_patches(x, wshape, params)
    ctg = reshape(ct, _split_groups(get_aval(ct).shape, 1, G))  # (Nb, G, Og, P...)
    spec = f"ngo{P},{pspec}->goc{K}"
    axes = w.psum_axes
    if axes and all(core.find_axis(a).backend is None for a in axes):
        # Summed over vmap axes: contract the batch inside the one matmul (pdot).
        return ad.Reduced(reshape(pdot(ctg, pat, spec, tuple(sorted(axes))), wshape))
    return reshape(einsum2(ctg, pat, spec), wshape)


ad.defbilinear(conv_p, _conv_lhs_t, _conv_rhs_t)


# ---------------------------------------------------------------- batching

def _merge(x, axis):
    """Merge ``axis`` of ``x`` with the following axis (row-major)."""
    shape = get_aval(x).shape
    return reshape(x, shape[:axis] + (shape[axis] * shape[axis + 1],) + shape[axis + 2:])


def _move(x, src, dst):
    nd = get_aval(x).ndim
    perm = [i for i in range(nd) if i != src]
    perm.insert(dst, src)
    return x if src == dst else transpose(x, tuple(perm))


def _conv_batch(size, vals, batched, **params):
    x, w = vals
    B = size
    G, BG = params["feature_group_count"], params["batch_group_count"]
    if batched[0] and not batched[1]:
        if BG == 1:  # the batch joins N
            out = conv_p.bind(_merge(x, 0), w, **params)
        else:  # keep N group-major: (B, BG, Nb) -> (BG, B, Nb)
            xs = get_aval(x).shape
            x = _move(reshape(x, (B, BG, xs[1] // BG) + xs[2:]), 0, 1)
            out = conv_p.bind(_merge(_merge(x, 0), 0), w, **params)
        os = get_aval(out).shape
        return reshape(out, (B, os[0] // B) + os[1:]), True
    if batched[1] and not batched[0]:
        # The batch joins each group's output features: (B, g, Og) -> (g, B, Og).
        ws = get_aval(w).shape
        g = max(G, BG)
        w = _move(reshape(w, (B, g, ws[1] // g) + ws[2:]), 0, 1)
        out = conv_p.bind(x, _merge(_merge(w, 0), 0), **params)
        os = get_aval(out).shape
        out = reshape(out, (os[0], g, B, os[1] // (g * B)) + os[2:])
        out = _move(out, 2, 0)
        return _merge(out, 2), True
    # Both batched: each instance becomes its own group(s).
    xs, ws = get_aval(x).shape, get_aval(w).shape
    if BG == 1:  # feature groups: x (B, N, C) -> (N, B*C); w (B, O, I) -> (B*O, I)
        out = conv_p.bind(_merge(_move(x, 0, 1), 1), _merge(w, 0),
                          **dict(params, feature_group_count=B * G))
        os = get_aval(out).shape
        return _move(reshape(out, (os[0], B, os[1] // B) + os[2:]), 1, 0), True
    # batch groups: x (B, BG*Nb) -> (B*BG*Nb); w (B, BG*Ob) -> (B*BG*Ob)
    out = conv_p.bind(_merge(x, 0), _merge(w, 0), **dict(params, batch_group_count=B * BG))
    os = get_aval(out).shape
    return _move(reshape(out, (os[0], B, os[1] // B) + os[2:]), 1, 0), True


batching.batch_rules[conv_p] = _conv_batch

