"""The discrete Fourier transform primitive ``fft`` and its rules.

``fft(x, fft_type, fft_lengths, norm)`` transforms the trailing ``len(fft_lengths)``
axes of ``x``; every leading axis maps, so batching is free (the batch axis is
leading, never a transformed one). ``fft_type`` is one of

- ``"fft"`` / ``"ifft"``: complex to complex; the trailing shape equals ``fft_lengths``;
- ``"rfft"``: real to complex; the last axis shrinks from ``n`` to ``n // 2 + 1``;
- ``"irfft"``: complex to real; the last axis grows from ``n // 2 + 1`` to ``n``
  (the imaginary parts of the zero and, for even ``n``, Nyquist bins are ignored,
  as NumPy does).

``norm`` is NumPy's (``"backward"``, ``"ortho"``, ``"forward"``) and is applied inside
the transform. Padding, cropping and moving axes are the front end's job
(:mod:`spmdgrad.numpy.fft`).

Every type is linear, so the JVP is the transform of the tangent. Transposes use
JAX's linear (not conjugate) convention:

- fft and ifft: the DFT matrix is symmetric, so each is its own transpose.
- rfft(norm): ``irfft(conj(ct) / mask, swapped norm)``, where ``mask`` is 2 on the
  bins that stand for two conjugate frequencies and 1 on the zero and Nyquist bins.
  It is not ``irfft(ct)``: irfft treats the half spectrum as Hermitian.
- irfft(norm): ``conj(mask * rfft(ct, swapped norm))``.
"""
from __future__ import annotations

import numpy as np

from .. import ad, batching
from ..core import Primitive, abstract_rules, get_aval, impl_rules
from ..dtypes import is_complex
from .elementwise import conj, div, mul

FFT_TYPES = ("fft", "ifft", "rfft", "irfft")
NORMS = ("backward", "ortho", "forward")
_SWAP = {"backward": "forward", "ortho": "ortho", "forward": "backward"}
_NUMPY = {"fft": np.fft.fftn, "ifft": np.fft.ifftn, "rfft": np.fft.rfftn, "irfft": np.fft.irfftn}

fft_p = Primitive("fft")


def fft(x, fft_type, fft_lengths, norm="backward"):
    """The ``fft_type`` transform of the trailing ``len(fft_lengths)`` axes of ``x``."""
    return fft_p.bind(x, fft_type=fft_type, fft_lengths=tuple(int(n) for n in fft_lengths), norm=norm)


def _complex_of(dtype):
    return np.dtype(np.complex64) if np.dtype(dtype) in (np.float32, np.complex64) else \
        np.dtype(np.complex128)


def _fft_abstract(x, fft_type, fft_lengths, norm):
    k = len(fft_lengths)
    if fft_type not in FFT_TYPES or norm not in NORMS:
        raise ValueError(f"fft: fft_type must be one of {FFT_TYPES} and norm one of {NORMS}; "
                         f"got {fft_type!r}, {norm!r}")
    if k < 1 or x.ndim < k or any(n < 1 for n in fft_lengths):
        raise ValueError(f"fft: cannot apply a {k}-d {fft_type} of lengths {fft_lengths} to an "
                         f"array of shape {x.shape}; lengths must be >= 1")
    lead, tail = x.shape[:-k], x.shape[-k:]
    want = fft_lengths[:-1] + (fft_lengths[-1] // 2 + 1,) if fft_type == "irfft" else fft_lengths
    if tail != want:
        raise ValueError(f"fft: {fft_type} of lengths {fft_lengths} needs trailing axes {want}, got "
                         f"shape {x.shape} (spmdgrad.numpy.fft pads and crops for you)")
    if fft_type == "rfft":
        if is_complex(x.dtype):
            raise TypeError(f"fft: rfft needs a real operand, got {x.dtype.name}")
        return lead + fft_lengths[:-1] + (fft_lengths[-1] // 2 + 1,), _complex_of(x.dtype)
    if not is_complex(x.dtype):
        raise TypeError(f"fft: {fft_type} needs a complex operand, got {x.dtype.name} "
                        "(spmdgrad.numpy.fft converts for you)")
    if fft_type == "irfft":
        return lead + fft_lengths, np.finfo(x.dtype).dtype
    return x.shape, x.dtype


def _fft_impl(x, fft_type, fft_lengths, norm):
    k = len(fft_lengths)
    axes = tuple(range(x.ndim - k, x.ndim))
    out = _NUMPY[fft_type](x, s=fft_lengths, axes=axes, norm=norm)
    shape, dtype = _fft_abstract(get_aval(x), fft_type, fft_lengths, norm)
    return np.asarray(out, dtype)


def _mask(aval, n, dtype):
    """1 on the zero and (even ``n``) Nyquist bins, 2 elsewhere, over ``aval``'s last axis."""
    m = aval.shape[-1]
    w = np.full(m, 2.0)
    w[0] = 1.0
    if n % 2 == 0:
        w[-1] = 1.0
    return np.ascontiguousarray(np.broadcast_to(w.astype(dtype), aval.shape))


def _fft_transpose(ct, x, fft_type, fft_lengths, norm):
    if fft_type in ("fft", "ifft"):
        return [fft(ct, fft_type, fft_lengths, norm)]
    n = fft_lengths[-1]
    if fft_type == "rfft":
        cta = get_aval(ct)
        return [fft(div(conj(ct), _mask(cta, n, cta.dtype)), "irfft", fft_lengths, _SWAP[norm])]
    y = fft(ct, "rfft", fft_lengths, _SWAP[norm])
    ya = get_aval(y)
    return [conj(mul(y, _mask(ya, n, ya.dtype)))]


impl_rules[fft_p] = _fft_impl
abstract_rules[fft_p] = _fft_abstract
ad.deflinear(fft_p, _fft_transpose)
batching.batch_rules[fft_p] = lambda size, vals, batched, **params: (fft_p.bind(vals[0], **params), True)

