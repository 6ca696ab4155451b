"""Convolutions with ``jax.lax``'s names and semantics.

``conv_general_dilated`` resolves the padding and the dimension numbers, promotes
the operands to one dtype and permutes them into the canonical layout of the
primitive (:mod:`spmdgrad.primitives.conv`), whose rules give grad, jvp and vmap.

Deliberate difference from JAX: operands of different dtypes are promoted as
NumPy would (float32 data with float64 parameters gives float64) where
``jax.lax`` raises. ``precision`` is accepted and ignored: NumPy computes in
the operands' dtype.
"""
from __future__ import annotations

import operator
from typing import NamedTuple

import numpy as np

from ..core import get_aval
from ..numpy._core import asarray, result_type
from ..primitives.conv import conv as _conv
from ..primitives.elementwise import convert_element_type
from ..primitives.structural import rev, transpose
from ..primitives.windowed import dilate_dim

__all__ = ["ConvDimensionNumbers", "conv", "conv_dimension_numbers", "conv_general_dilated",
           "conv_transpose", "conv_with_general_padding", "padtype_to_pads"]


class ConvDimensionNumbers(NamedTuple):
    """Where the batch, feature and spatial dimensions sit in each operand.

    ``lhs_spec = (batch, feature, *spatial)``, ``rhs_spec = (out feature, in feature,
    *spatial)``, ``out_spec = (batch, feature, *spatial)``: axis indices, spatial ones
    listed in the order of the kernel's spatial dimensions.
    """
    lhs_spec: tuple
    rhs_spec: tuple
    out_spec: tuple


def _perm(spec, pair, rhs_spec):
    spatial = [i for i, c in enumerate(spec) if c not in pair]
    if spec is not rhs_spec:
        spatial.sort(key=lambda i: rhs_spec.index(spec[i]))
    return (spec.index(pair[0]), spec.index(pair[1])) + tuple(spatial)


def conv_dimension_numbers(lhs_shape, rhs_shape, dimension_numbers):
    """``dimension_numbers`` (None, three strings such as ``('NHWC', 'HWIO', 'NHWC')``,
    or a :class:`ConvDimensionNumbers`) as a :class:`ConvDimensionNumbers`.

    >>> conv_dimension_numbers((1, 5, 5, 3), (2, 2, 3, 4), ('NHWC', 'HWIO', 'NHWC'))
    ConvDimensionNumbers(lhs_spec=(0, 3, 1, 2), rhs_spec=(3, 2, 0, 1), out_spec=(0, 3, 1, 2))
    """
    nd = len(lhs_shape)
    if len(rhs_shape) != nd:
        raise TypeError(f"conv: lhs and rhs must have one rank, got shapes {tuple(lhs_shape)} and "
                        f"{tuple(rhs_shape)}")
    if isinstance(dimension_numbers, ConvDimensionNumbers):
        specs = tuple(tuple(int(a) for a in s) for s in dimension_numbers)
        for s in specs:
            if sorted(s) != list(range(nd)):
                raise ValueError(f"conv: dimension numbers {dimension_numbers} are not "
                                 f"permutations of range({nd})")
        return ConvDimensionNumbers(*specs)
    if dimension_numbers is None:
        iota = tuple(range(nd))
        return ConvDimensionNumbers(iota, iota, iota)
    if not (isinstance(dimension_numbers, tuple | list) and len(dimension_numbers) == 3
            and all(isinstance(s, str) for s in dimension_numbers)):
        raise TypeError("conv: dimension_numbers must be None, a ConvDimensionNumbers or three "
                        f"strings such as ('NCHW', 'OIHW', 'NCHW'), got {dimension_numbers!r}")
    lhs, rhs, out = dimension_numbers
    pairs = (("N", "C"), ("O", "I"), ("N", "C"))
    for s, (a, b) in zip(dimension_numbers, pairs):
        if len(s) != nd or len(set(s)) != nd or s.count(a) != 1 or s.count(b) != 1:
            raise TypeError(f"conv: dimension_numbers entry {s!r} must have {nd} distinct "
                            f"characters including {a!r} and {b!r} once each "
                            f"(operand shapes {tuple(lhs_shape)}, {tuple(rhs_shape)})")
    if not set(lhs) - {"N", "C"} == set(rhs) - {"O", "I"} == set(out) - {"N", "C"}:
        raise TypeError(f"conv: dimension_numbers {tuple(dimension_numbers)} must use one set of "
                        "spatial characters in all three entries")
    return ConvDimensionNumbers(*(_perm(s, p, rhs) for s, p in zip(dimension_numbers, pairs)))


def padtype_to_pads(in_shape, window_shape, window_strides, padding):
    """``(lo, hi)`` pairs for ``'VALID'``, ``'SAME'`` (odd padding at the end) or
    ``'SAME_LOWER'`` (odd padding at the start), as ``jax.lax.padtype_to_pads``.

    >>> padtype_to_pads((5,), (2,), (2,), 'SAME')
    [(0, 1)]
    """
    mode = padding.upper()
    if mode == "VALID":
        return [(0, 0)] * len(in_shape)
    if mode not in ("SAME", "SAME_LOWER"):
        raise ValueError(f"padding must be 'VALID', 'SAME', 'SAME_LOWER' or (lo, hi) pairs, got "
                         f"{padding!r}")
    pads = []
    for n, k, s in zip(in_shape, window_shape, window_strides, strict=True):
        out = -(-n // s)
        total = max(0, (out - 1) * s + k - n)
        small, big = total // 2, total - total // 2
        pads.append((small, big) if mode == "SAME" else (big, small))
    return pads


def _pairs(padding, n, op):
    try:
        pads = tuple((operator.index(lo), operator.index(hi)) for lo, hi in padding)
    except (TypeError, ValueError):
        raise ValueError(f"{op}: padding must be 'SAME', 'VALID', 'SAME_LOWER' or a sequence of "
                         f"(low, high) integer pairs, got {padding!r}") from None
    if len(pads) != n:
        raise ValueError(f"{op}: padding {padding!r} needs {n} (low, high) pairs, one per spatial "
                         "dimension")
    return pads


def _ints(v, n, what, op, default=1):
    if v is None:
        return (default,) * n
    try:
        v = tuple(operator.index(a) for a in v)
    except TypeError:
        raise TypeError(f"{op}: {what} must be a sequence of integers, got {v!r}") from None
    if len(v) != n:
        raise ValueError(f"{op}: {what} {v} needs {n} entries, one per spatial dimension")
    return v


def _promote(lhs, rhs, preferred_element_type):
    lhs, rhs = asarray(lhs), asarray(rhs)
    dt = np.dtype(preferred_element_type) if preferred_element_type is not None \
        else result_type(lhs, rhs)
    return convert_element_type(lhs, dt), convert_element_type(rhs, dt)


def conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation=None, rhs_dilation=None,
                         dimension_numbers=None, feature_group_count=1, batch_group_count=1,
                         precision=None, preferred_element_type=None):
    """General n-d convolution with strides, padding, dilations, groups and layouts,
    as ``jax.lax.conv_general_dilated`` (a cross-correlation: the kernel is not flipped).

    ``padding`` is ``'SAME'``, ``'SAME_LOWER'``, ``'VALID'`` or ``(low, high)`` pairs
    (negative values crop). ``dimension_numbers`` defaults to ``('NCH..', 'OIH..',
    'NCH..')``; window parameters follow the order of the kernel's spatial dims.
    Operands of different dtypes are promoted as in NumPy (JAX raises).

    >>> import numpy as np
    >>> x = np.arange(5.0).reshape(1, 1, 5)
    >>> conv_general_dilated(x, np.ones((1, 1, 2)), (1,), 'VALID')
    array([[[1., 3., 5., 7.]]])
    """
    op = "conv_general_dilated"
    lhs, rhs = _promote(lhs, rhs, preferred_element_type)
    la, ra = get_aval(lhs), get_aval(rhs)
    dn = conv_dimension_numbers(la.shape, ra.shape, dimension_numbers)
    n = la.ndim - 2
    window_strides = _ints(window_strides, n, "window_strides", op)
    lhs_dilation = _ints(lhs_dilation, n, "lhs_dilation", op)
    rhs_dilation = _ints(rhs_dilation, n, "rhs_dilation", op)
    x = lhs if dn.lhs_spec == tuple(range(n + 2)) else transpose(lhs, dn.lhs_spec)
    w = rhs if dn.rhs_spec == tuple(range(n + 2)) else transpose(rhs, dn.rhs_spec)
    xs, ws = get_aval(x).shape, get_aval(w).shape
    if isinstance(padding, str):
        if any(d != 1 for d in lhs_dilation):
            raise ValueError(f"{op}: string padding is not defined with lhs_dilation "
                             f"{lhs_dilation}; give (low, high) pairs, or use conv_transpose")
        window = [dilate_dim(k, d) for k, d in zip(ws[2:], rhs_dilation)]
        padding = padtype_to_pads(xs[2:], window, window_strides, padding)
    padding = _pairs(padding, n, op)
    out = _conv(x, w, window_strides, padding, lhs_dilation, rhs_dilation,
                feature_group_count, batch_group_count)
    inv = tuple(int(i) for i in np.argsort(dn.out_spec))
    return out if inv == tuple(range(n + 2)) else transpose(out, inv)


def conv(lhs, rhs, window_strides, padding, precision=None, preferred_element_type=None):
    """Convolution in NCHW/OIHW layout with ``'SAME'``/``'VALID'`` padding.

    >>> import numpy as np
    >>> conv(np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)), (1, 1), 'VALID')[0, 0]
    array([[4., 4.],
           [4., 4.]])
    """
    return conv_general_dilated(lhs, rhs, window_strides, padding,
                                preferred_element_type=preferred_element_type)


def conv_with_general_padding(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation,
                              precision=None, preferred_element_type=None):
    """Convolution in NCHW/OIHW layout with explicit padding and dilations.

    >>> import numpy as np
    >>> conv_with_general_padding(np.ones((1, 1, 3)), np.ones((1, 1, 2)), (1,), [(1, 1)],
    ...                           None, None)
    array([[[1., 2., 2., 1.]]])
    """
    return conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation,
                                preferred_element_type=preferred_element_type)


def _transpose_pads(k, s, padding):
    """Padding of the fractionally strided convolution for one spatial dimension."""
    if padding == "SAME":
        total = k + s - 2
        lo = k - 1 if s > k - 1 else -(-total // 2)
    elif padding == "VALID":
        total = k + s - 2 + max(k - s, 0)
        lo = k - 1
    else:
        raise ValueError(f"conv_transpose: padding must be 'SAME', 'VALID' or (low, high) pairs, "
                         f"got {padding!r}")
    return lo, total - lo


_TRANSPOSE_DEFAULTS = {2: ("NC", "IO", "NC"), 3: ("NHC", "HIO", "NHC"),
                       4: ("NHWC", "HWIO", "NHWC"), 5: ("NHWDC", "HWDIO", "NHWDC")}


def conv_transpose(lhs, rhs, strides, padding, rhs_dilation=None, dimension_numbers=None,
                   transpose_kernel=False, precision=None, preferred_element_type=None):
    """Fractionally strided ("transposed") convolution, as ``jax.lax.conv_transpose``:
    the input is dilated by ``strides``. Layout defaults to NHWC/HWIO. ``'SAME'`` and
    ``'VALID'`` describe the forward convolution; explicit pairs pad the dilated input.
    ``transpose_kernel=True`` flips the kernel and swaps its feature axes, which makes
    this the gradient of ``conv`` (as Keras' Conv2DTranspose).

    >>> import numpy as np
    >>> conv_transpose(np.ones((1, 2, 1)), np.ones((2, 1, 1)), (2,), 'VALID')[0, :, 0]
    array([1., 1., 1., 1.])
    """
    lhs, rhs = asarray(lhs), asarray(rhs)
    nd = get_aval(lhs).ndim
    if dimension_numbers is None:
        if nd not in _TRANSPOSE_DEFAULTS:
            raise ValueError(f"conv_transpose: no default dimension_numbers for rank {nd}; "
                             "pass dimension_numbers")
        dimension_numbers = _TRANSPOSE_DEFAULTS[nd]
    dn = conv_dimension_numbers(get_aval(lhs).shape, get_aval(rhs).shape, dimension_numbers)
    k = [get_aval(rhs).shape[i] for i in dn.rhs_spec[2:]]
    rhs_dilation = _ints(rhs_dilation, nd - 2, "rhs_dilation", "conv_transpose")
    strides = _ints(strides, nd - 2, "strides", "conv_transpose")
    if isinstance(padding, str):
        pads = [_transpose_pads(dilate_dim(a, d), s, padding.upper())
                for a, d, s in zip(k, rhs_dilation, strides)]
    else:
        pads = padding
    if transpose_kernel:
        rhs = rev(rhs, tuple(dn.rhs_spec[2:]))
        perm = list(range(nd))
        perm[dn.rhs_spec[0]], perm[dn.rhs_spec[1]] = perm[dn.rhs_spec[1]], perm[dn.rhs_spec[0]]
        rhs = transpose(rhs, tuple(perm))
    return conv_general_dilated(lhs, rhs, (1,) * (nd - 2), pads, strides, rhs_dilation, dn,
                                preferred_element_type=preferred_element_type)
