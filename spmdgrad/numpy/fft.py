"""``spmdgrad.numpy.fft``: NumPy's (and JAX's) discrete Fourier transforms, differentiable
in both modes and batched.

Signatures are NumPy's: ``n``/``s`` pad with zeros or crop, ``axis``/``axes`` choose the
transformed axes, ``norm`` is ``"backward"`` (default), ``"ortho"`` or ``"forward"``.
Dtypes follow JAX with 64-bit enabled: float64/int/bool input gives complex128,
float32/float16 input complex64; the inverse real transforms give the matching real
dtype. Under ``vmap`` the batch axis is never a transformed axis, so a batch costs one
NumPy call. Conventions (transposes of the real transforms, complex cotangents):
``docs/fft_and_decompositions.md``.

>>> import numpy as np, spmdgrad, spmdgrad.numpy as jnp
>>> jnp.fft.fft(np.array([1.0, 2.0, 3.0, 4.0]))
array([10.+0.j, -2.+2.j, -2.+0.j, -2.-2.j])
>>> spmdgrad.grad(lambda x: jnp.sum(jnp.abs(jnp.fft.rfft(x)) ** 2))(np.array([1.0, 0.0, 0.0]))
array([4., 1., 1.])
"""
from __future__ import annotations

import numpy as np

from ..core import Tracer, get_aval
from ..dtypes import is_complex
from ..primitives import fft as _fft
from ..primitives.elementwise import conj, convert_element_type
from ..primitives.structural import pad, slice, transpose
from . import _math as m
from ._core import asarray, normalize_axes
from ._shape import roll

__all__ = ["fft", "ifft", "rfft", "irfft", "fft2", "ifft2", "rfft2", "irfft2", "fftn", "ifftn",
           "rfftn", "irfftn", "hfft", "ihfft", "fftfreq", "rfftfreq", "fftshift", "ifftshift"]

_SWAP = {"backward": "forward", "ortho": "ortho", "forward": "backward"}


def _norm(op, norm):
    if norm is None:
        return "backward"
    if norm not in _SWAP:
        raise ValueError(f"{op}: invalid norm {norm!r}; use None, 'backward', 'ortho' or 'forward'")
    return norm


def _as_input(op, a, real):
    """``a`` converted to the complex (or, for rfft, real) dtype JAX x64 would use."""
    a = asarray(a)
    dt = get_aval(a).dtype
    if dt.kind not in "biufc":
        raise TypeError(f"{op}: expected a numeric array, got dtype {dt}")
    single = dt in (np.float16, np.float32, np.complex64)
    if real:
        if is_complex(dt):
            raise TypeError(f"{op}: needs a real input, got {dt.name}; use fft/fftn for complex data")
        want = np.dtype(np.float32 if single else np.float64)
    else:
        want = np.dtype(np.complex64 if single else np.complex128)
    return a if dt == want else convert_element_type(a, want)


def _lengths(op, s, axes, shape, fft_type):
    """Normalized (axes, s) as NumPy fftn does: axes default to the last len(s) (or all)."""
    nd = len(shape)
    if s is not None:
        if isinstance(s, int | np.integer):
            raise TypeError(f"{op}: s must be a sequence of ints, got {s!r}")
        s = tuple(s)
    if axes is None:
        axes = tuple(range(nd - len(s), nd)) if s is not None else tuple(range(nd))
        if s is not None and len(s) > nd:
            raise ValueError(f"{op}: s={s} has more entries than the input has axes ({shape})")
    else:
        axes = tuple(axes) if isinstance(axes, tuple | list) else (axes,)
        axes = normalize_axes(axes, nd, op) if axes else ()
    if not axes:
        raise ValueError(f"{op}: no axes to transform (input shape {shape}, axes {axes})")
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: repeated axes {axes} are not supported")
    if s is None:
        s = tuple(shape[a] for a in axes)
        if fft_type == "irfft":
            s = s[:-1] + (2 * (s[-1] - 1),)
    elif len(s) != len(axes):
        raise ValueError(f"{op}: s={s} and axes={axes} must have the same length")
    for n in s:
        if isinstance(n, Tracer) or not isinstance(n, int | np.integer) or isinstance(n, bool):
            raise TypeError(f"{op}: FFT lengths must be Python ints, got {n!r}")
        if n < 1:
            raise ValueError(f"{op}: invalid number of FFT data points ({n}) for input shape "
                             f"{shape} along axes {axes}; it must be >= 1")
    return axes, tuple(int(n) for n in s)


def _fit(x, lengths):
    """Crop or zero-pad the trailing axes of ``x`` to ``lengths``."""
    shape = get_aval(x).shape
    k = len(lengths)
    lead = len(shape) - k
    limit = shape[:lead] + tuple(min(a, b) for a, b in zip(shape[lead:], lengths))
    x = slice(x, (0,) * len(shape), limit)
    return pad(x, [(0, 0, 0)] * lead + [(0, b - a, 0) for a, b in zip(limit[lead:], lengths)])


def _transform(op, fft_type, a, s, axes, norm):
    a = _as_input(op, a, real=fft_type == "rfft")
    norm = _norm(op, norm)
    shape = get_aval(a).shape
    axes, s = _lengths(op, s, axes, shape, fft_type)
    nd = len(shape)
    perm = tuple(i for i in range(nd) if i not in axes) + axes
    x = transpose(a, perm) if perm != tuple(range(nd)) else a
    fitted = s[:-1] + (s[-1] // 2 + 1,) if fft_type == "irfft" else s
    out = _fft.fft(_fit(x, fitted), fft_type, s, norm)
    inverse = tuple(int(i) for i in np.argsort(perm))
    return transpose(out, inverse) if perm != tuple(range(nd)) else out


def _one_axis(n, axis):
    return None if n is None else (n,), (axis,)


def fft(a, n=None, axis=-1, norm=None):
    """1-D discrete Fourier transform along ``axis`` (zero-padded or cropped to ``n``).

    >>> import numpy as np, spmdgrad.numpy as jnp
    >>> jnp.fft.fft(np.array([1.0, 0.0]), n=4)
    array([1.+0.j, 1.+0.j, 1.+0.j, 1.+0.j])
    """
    return _transform("fft", "fft", a, *_one_axis(n, axis), norm)


def ifft(a, n=None, axis=-1, norm=None):
    """1-D inverse discrete Fourier transform.

    >>> import numpy as np, spmdgrad.numpy as jnp
    >>> jnp.fft.ifft(np.array([4.0, 0.0, 0.0, 0.0]))
    array([1.+0.j, 1.+0.j, 1.+0.j, 1.+0.j])
    """
    return _transform("ifft", "ifft", a, *_one_axis(n, axis), norm)


def rfft(a, n=None, axis=-1, norm=None):
    """1-D transform of real input: the ``n // 2 + 1`` non-negative frequencies.

    >>> import numpy as np, spmdgrad.numpy as jnp
    >>> jnp.fft.rfft(np.array([1.0, 2.0, 3.0, 4.0]))
    array([10.+0.j, -2.+2.j, -2.+0.j])
    """
    return _transform("rfft", "rfft", a, *_one_axis(n, axis), norm)


def irfft(a, n=None, axis=-1, norm=None):
    """Inverse of :func:`rfft`: ``n`` real samples (default ``2 * (m - 1)``) from ``m`` bins.

    >>> import numpy as np, spmdgrad.numpy as jnp
    >>> jnp.fft.irfft(np.array([10.0, -2 + 2j, -2.0]))
    array([1., 2., 3., 4.])
    """
    return _transform("irfft", "irfft", a, *_one_axis(n, axis), norm)


def fftn(a, s=None, axes=None, norm=None):
    """N-d transform over ``axes`` (default: all, or the last ``len(s)``).

    >>> import numpy as np, spmdgrad.numpy as jnp
    >>> jnp.fft.fftn(np.ones((2, 2)))
    array([[4.+0.j, 0.+0.j],
           [0.+0.j, 0.+0.j]])
    """
    return _transform("fftn", "fft", a, s, axes, norm)


def ifftn(a, s=None, axes=None, norm=None):
    """N-d inverse transform.

    >>> import numpy as np, spmdgrad.numpy as jnp
    >>> jnp.fft.ifftn(np.array([[4.0, 0.0], [0.0, 0.0]])).real
    array([[1., 1.],
           [1., 1.]])
    """
    return _transform("ifftn", "ifft", a, s, axes, norm)


def rfftn(a, s=None, axes=None, norm=None):
    """N-d transform of real input; the last of ``axes`` keeps ``s[-1] // 2 + 1`` bins.

    >>> import numpy as np, spmdgrad.numpy as jnp
    >>> jnp.fft.rfftn(np.ones((2, 4))).shape
    (2, 3)
    """
    return _transform("rfftn", "rfft", a, s, axes, norm)


def irfftn(a, s=None, axes=None, norm=None):
    """Inverse of :func:`rfftn`.

    >>> import numpy as np, spmdgrad.numpy as jnp
    >>> x = np.arange(8.0).reshape(2, 4)
    >>> bool(np.allclose(jnp.fft.irfftn(jnp.fft.rfftn(x), s=x.shape), x))
    True
    """
    return _transform("irfftn", "irfft", a, s, axes, norm)


def fft2(a, s=None, axes=(-2, -1), norm=None):
    """2-D transform over ``axes`` (default the last two).

    >>> import numpy as np, spmdgrad.numpy as jnp
    >>> jnp.fft.fft2(np.ones((1, 2))).real
    array([[2., 0.]])
    """
    return _transform("fft2", "fft", a, s, axes, norm)


def ifft2(a, s=None, axes=(-2, -1), norm=None):
    """2-D inverse transform.

    >>> import numpy as np, spmdgrad.numpy as jnp
    >>> jnp.fft.ifft2(np.array([[2.0, 0.0]])).real
    array([[1., 1.]])
    """
    return _transform("ifft2", "ifft", a, s, axes, norm)


def rfft2(a, s=None, axes=(-2, -1), norm=None):
    """2-D transform of real input.

    >>> import numpy as np, spmdgrad.numpy as jnp
    >>> jnp.fft.rfft2(np.ones((2, 2))).real
    array([[4., 0.],
           [0., 0.]])
    """
    return _transform("rfft2", "rfft", a, s, axes, norm)


def irfft2(a, s=None, axes=(-2, -1), norm=None):
    """Inverse of :func:`rfft2`.

    >>> import numpy as np, spmdgrad.numpy as jnp
    >>> jnp.fft.irfft2(np.array([[4.0, 0.0], [0.0, 0.0]]))
    array([[1., 1.],
           [1., 1.]])
    """
    return _transform("irfft2", "irfft", a, s, axes, norm)


def hfft(a, n=None, axis=-1, norm=None):
    """Transform of a Hermitian-symmetric signal given by its first half: real output,
    ``irfft(conj(a), n)`` with the direction of ``norm`` swapped, as NumPy.

    >>> import numpy as np, spmdgrad.numpy as jnp
    >>> jnp.fft.hfft(np.array([1.0, 2.0, 3.0]))
    array([ 8., -2.,  0., -2.])
    """
    a = _as_input("hfft", a, real=False)
    return _transform("hfft", "irfft", conj(a), *_one_axis(n, axis), _SWAP[_norm("hfft", norm)])


def ihfft(a, n=None, axis=-1, norm=None):
    """Inverse of :func:`hfft`: ``conj(rfft(a, n))`` with the direction of ``norm`` swapped.

    >>> import numpy as np, spmdgrad.numpy as jnp
    >>> jnp.fft.ihfft(np.array([8.0, -2.0, 0.0, -2.0]))
    array([1.-0.j, 2.-0.j, 3.-0.j])
    """
    out = _transform("ihfft", "rfft", a, *_one_axis(n, axis), _SWAP[_norm("ihfft", norm)])
    return conj(out)


def _freq_dtype(dtype):
    dt = np.dtype(np.float64 if dtype is None else dtype)
    if dt.kind not in "fc":
        raise TypeError(f"fftfreq: dtype must be a float dtype, got {dt}")
    return dt


def _scaled(k, d, n, dtype):
    if isinstance(d, Tracer):
        return m.divide(asarray(k.astype(dtype)), m.multiply(d, float(n)))
    return (k / (np.asarray(d) * n)).astype(dtype)


def fftfreq(n, d=1.0, *, dtype=None, device=None):
    """Sample frequencies of :func:`fft`: ``[0, 1, ..., n//2 - 1 (or n//2), -n//2, ..., -1] / (d n)``.
    ``d`` may be traced (its derivative flows).

    >>> import spmdgrad.numpy as jnp
    >>> jnp.fft.fftfreq(4, 0.5)
    array([ 0. ,  0.5, -1. , -0.5])
    """
    if not isinstance(n, int | np.integer) or isinstance(n, bool) or n < 1:
        raise ValueError(f"fftfreq: n must be a positive int, got {n!r}")
    k = np.concatenate([np.arange(0, (n - 1) // 2 + 1), np.arange(-(n // 2), 0)]).astype(np.float64)
    return _scaled(k, d, n, _freq_dtype(dtype))


def rfftfreq(n, d=1.0, *, dtype=None, device=None):
    """Sample frequencies of :func:`rfft`: ``[0, 1, ..., n // 2] / (d n)``.

    >>> import spmdgrad.numpy as jnp
    >>> jnp.fft.rfftfreq(5)
    array([0. , 0.2, 0.4])
    """
    if not isinstance(n, int | np.integer) or isinstance(n, bool) or n < 1:
        raise ValueError(f"rfftfreq: n must be a positive int, got {n!r}")
    return _scaled(np.arange(0, n // 2 + 1).astype(np.float64), d, n, _freq_dtype(dtype))


def _shift(op, x, axes, sign):
    x = asarray(x)
    shape = get_aval(x).shape
    axes = normalize_axes(axes, len(shape), op)
    if not axes:
        return x
    return roll(x, tuple(sign * (shape[a] // 2) for a in axes), axes)


def fftshift(x, axes=None):
    """Move the zero frequency to the centre (along ``axes``, default all).

    >>> import numpy as np, spmdgrad.numpy as jnp
    >>> jnp.fft.fftshift(np.array([0.0, 1.0, 2.0, -2.0, -1.0]))
    array([-2., -1.,  0.,  1.,  2.])
    """
    return _shift("fftshift", x, axes, 1)


def ifftshift(x, axes=None):
    """Inverse of :func:`fftshift`.

    >>> import numpy as np, spmdgrad.numpy as jnp
    >>> jnp.fft.ifftshift(np.array([-2.0, -1.0, 0.0, 1.0, 2.0]))
    array([ 0.,  1.,  2., -2., -1.])
    """
    return _shift("ifftshift", x, axes, -1)
