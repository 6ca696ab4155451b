"""Neural-network layers with the API of ``jax.example_libraries.stax``.

A layer is an ``(init_fun, apply_fun)`` pair:

- ``init_fun(rng, input_shape) -> (output_shape, params)`` takes a PRNG key of
  :mod:`spmdgrad.random` and draws the parameters exactly as JAX's stax does (same key
  splits, same initializers), so one seed gives JAX's weights;
- ``apply_fun(params, inputs, **kwargs) -> outputs``; ``rng=key`` is passed on to the
  layers that need randomness (:func:`Dropout`).

:func:`serial`, :func:`parallel` and :func:`shape_dependent` combine layers. Apply
functions use only ``spmdgrad.numpy``, ``spmdgrad.nn`` and ``spmdgrad.lax``, so a model
differentiates, batches (``vmap`` for per-example gradients) and runs under ``pmap``.

>>> import numpy as np
>>> init_fun, apply_fun = serial(Flatten, Relu, LogSoftmax)
>>> out_shape, params = init_fun(None, (2, 1, 2))  # no parameters: the key is unused
>>> out_shape
(2, 2)
>>> np.round(apply_fun(params, np.array([[[0.0, 1.0]], [[-1.0, 0.0]]])), 4)
array([[-1.3133, -0.3133],
       [-0.6931, -0.6931]])
"""
from __future__ import annotations

import functools
import math

import numpy as np

from .. import lax, random
from .. import numpy as jnp
from ..nn import elu, gelu, leaky_relu, log_softmax, relu, selu, sigmoid, softmax, softplus, standardize
from ..nn.initializers import glorot_normal, normal, ones, zeros

__all__ = ["AvgPool", "BatchNorm", "Conv", "Conv1DTranspose", "ConvTranspose", "Dense", "Dropout", "Elu",
           "Exp", "FanInConcat", "FanInSum", "FanOut", "Flatten", "Gelu", "GeneralConv",
           "GeneralConvTranspose", "Identity", "LeakyRelu", "LogSoftmax", "MaxPool", "Relu", "Selu",
           "Sigmoid", "Softmax", "Softplus", "SumPool", "Tanh", "elementwise", "parallel", "serial",
           "shape_dependent"]

# aliases kept by JAX's stax for backwards compatibility
glorot = glorot_normal
randn = normal
logsoftmax = log_softmax

# default initializers (module-level, like JAX's default arguments)
_glorot_default = glorot_normal()
_normal_default = normal()
_bias_default = normal(1e-6)


def _split(rng, num=2):
    return random.split(rng, num)


# ---------------------------------------------------------------- dense and convolutions

def Dense(out_dim, W_init=_glorot_default, b_init=_normal_default):
    """Fully connected layer: ``inputs @ W + b`` with ``W`` of shape ``(in, out_dim)``.

    >>> Dense(3)[0](None, (4,))
    Traceback (most recent call last):
    ...
    TypeError: stax.Dense: init_fun needs a PRNG key from spmdgrad.random (random.PRNGKey(seed)), got None
    """
    def init_fun(rng, input_shape):
        _check_key(rng, "Dense")
        output_shape = tuple(input_shape[:-1]) + (out_dim,)
        k1, k2 = _split(rng)
        return output_shape, (W_init(k1, (input_shape[-1], out_dim)), b_init(k2, (out_dim,)))

    def apply_fun(params, inputs, **kwargs):
        W, b = _params(params, 2, "Dense")
        return jnp.add(jnp.dot(inputs, W), b)
    return init_fun, apply_fun


def _params(params, n, layer):
    """``params`` as a sequence of ``n`` entries, or a TypeError naming the layer."""
    if not isinstance(params, tuple | list) or len(params) != n:
        got = f"{type(params).__name__} of length {len(params)}" if isinstance(params, tuple | list) \
            else type(params).__name__
        raise TypeError(f"stax.{layer}: apply_fun expected the params its init_fun returned ({n} entries), "
                        f"got {got}")
    return params


def _check_key(rng, layer):
    if rng is None:
        raise TypeError(f"stax.{layer}: init_fun needs a PRNG key from spmdgrad.random "
                        "(random.PRNGKey(seed)), got None")


def _check_specs(dimension_numbers, n, layer):
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    if not (len(lhs_spec) == len(rhs_spec) == len(out_spec) == n + 2):
        raise ValueError(f"stax.{layer}: dimension_numbers {dimension_numbers} do not fit a filter "
                         f"of {n} spatial dimensions; each spec needs {n + 2} letters")
    return lhs_spec, rhs_spec, out_spec


def _pads(in_sizes, window, strides, padding, layer):
    """``(lo, hi)`` per spatial dimension for 'VALID', 'SAME', 'SAME_LOWER' or explicit pairs."""
    if isinstance(padding, str):
        mode = padding.upper()
        if mode == "VALID":
            return [(0, 0)] * len(in_sizes)
        if mode in ("SAME", "SAME_LOWER"):
            out = []
            for n, w, s in zip(in_sizes, window, strides, strict=True):
                total = max((-(-n // s) - 1) * s + w - n, 0)
                lo = total // 2 if mode == "SAME" else total - total // 2
                out.append((lo, total - lo))
            return out
        raise ValueError(f"stax.{layer}: padding {padding!r} is not 'VALID', 'SAME' or 'SAME_LOWER'")
    pads = [tuple(int(p) for p in pair) for pair in padding]
    if len(pads) != len(in_sizes) or any(len(p) != 2 for p in pads):
        raise ValueError(f"stax.{layer}: padding {padding!r} needs one (low, high) pair per spatial "
                         f"dimension ({len(in_sizes)})")
    return pads


def _window_out(n, w, s, lo_hi):
    return (n + lo_hi[0] + lo_hi[1] - w) // s + 1


def _kernel_shape(rhs_spec, lhs_spec, input_shape, out_chan, filter_shape):
    it = iter(filter_shape)
    return tuple(out_chan if c == "O" else input_shape[lhs_spec.index("C")] if c == "I" else next(it)
                 for c in rhs_spec)


def _spatial(spec):
    return [i for i, c in enumerate(spec) if c not in "NCIO"]


def GeneralConv(dimension_numbers, out_chan, filter_shape, strides=None, padding="VALID", W_init=None,
                b_init=_bias_default):
    """Convolution with layouts given by ``dimension_numbers`` (e.g. ``('NHWC', 'HWIO',
    'NHWC')``), through ``spmdgrad.lax.conv_general_dilated``.

    >>> GeneralConv(('NHWC', 'HWIO', 'NHWC'), 4, (3,))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: stax.GeneralConv: dimension_numbers (...) do not fit a filter of 1 spatial dimensions; ...
    """
    lhs_spec, rhs_spec, out_spec = _check_specs(dimension_numbers, len(filter_shape), "GeneralConv")
    one = (1,) * len(filter_shape)
    strides = tuple(strides or one)
    W_init = W_init or glorot_normal(rhs_spec.index("I"), rhs_spec.index("O"))

    def init_fun(rng, input_shape):
        _check_key(rng, "GeneralConv")
        kernel_shape = _kernel_shape(rhs_spec, lhs_spec, input_shape, out_chan, filter_shape)
        in_sp = [input_shape[i] for i in _spatial(lhs_spec)]
        k_sp = [kernel_shape[i] for i in _spatial(rhs_spec)]
        pads = _pads(in_sp, k_sp, strides, padding, "GeneralConv")
        sizes = {"N": input_shape[lhs_spec.index("N")], "C": out_chan}
        out_sp = iter(_window_out(n, k, s, p) for n, k, s, p in zip(in_sp, k_sp, strides, pads))
        output_shape = tuple(sizes[c] if c in "NC" else next(out_sp) for c in out_spec)
        bias_shape = tuple(out_chan if c == "C" else 1 for c in out_spec)
        k1, k2 = _split(rng)
        return output_shape, (W_init(k1, kernel_shape), b_init(k2, bias_shape))

    def apply_fun(params, inputs, **kwargs):
        W, b = _params(params, 2, "GeneralConv")
        out = lax.conv_general_dilated(inputs, W, strides, padding, one, one,
                                       dimension_numbers=dimension_numbers)
        return jnp.add(out, b)
    return init_fun, apply_fun


Conv = functools.partial(GeneralConv, ("NHWC", "HWIO", "NHWC"))
Conv.__doc__ = "``GeneralConv`` in NHWC / HWIO layout."


def _transpose_pad_total(k, s, padding):
    # total padding of the fractionally strided convolution for one spatial dimension
    if padding == "SAME":
        return k + s - 2
    if padding == "VALID":
        return k + s - 2 + max(k - s, 0)
    raise ValueError(f"stax.GeneralConvTranspose: padding {padding!r} is not 'VALID' or 'SAME'")


def GeneralConvTranspose(dimension_numbers, out_chan, filter_shape, strides=None, padding="VALID",
                         W_init=None, b_init=_bias_default):
    """Transposed convolution, through ``spmdgrad.lax.conv_transpose``.

    >>> GeneralConvTranspose(('NHC', 'HIO', 'NHC'), 2, (3,), padding='FULL')[0]
    Traceback (most recent call last):
    ...
    ValueError: stax.GeneralConvTranspose: padding 'FULL' is not 'VALID' or 'SAME'
    """
    lhs_spec, rhs_spec, out_spec = _check_specs(dimension_numbers, len(filter_shape),
                                                "GeneralConvTranspose")
    one = (1,) * len(filter_shape)
    strides = tuple(strides or one)
    if isinstance(padding, str):
        _transpose_pad_total(1, 1, padding.upper())
        padding = padding.upper()
    W_init = W_init or glorot_normal(rhs_spec.index("I"), rhs_spec.index("O"))

    def init_fun(rng, input_shape):
        _check_key(rng, "GeneralConvTranspose")
        kernel_shape = _kernel_shape(rhs_spec, lhs_spec, input_shape, out_chan, filter_shape)
        in_sp = [input_shape[i] for i in _spatial(lhs_spec)]
        k_sp = [kernel_shape[i] for i in _spatial(rhs_spec)]
        if isinstance(padding, str):
            totals = [_transpose_pad_total(k, s, padding) for k, s in zip(k_sp, strides)]
        else:
            totals = [sum(p) for p in padding]
        out_sp = iter((n - 1) * s - k + 2 + t for n, k, s, t in zip(in_sp, k_sp, strides, totals))
        sizes = {"N": input_shape[lhs_spec.index("N")], "C": out_chan}
        output_shape = tuple(sizes[c] if c in "NC" else next(out_sp) for c in out_spec)
        bias_shape = tuple(out_chan if c == "C" else 1 for c in out_spec)
        k1, k2 = _split(rng)
        return output_shape, (W_init(k1, kernel_shape), b_init(k2, bias_shape))

    def apply_fun(params, inputs, **kwargs):
        W, b = _params(params, 2, "GeneralConvTranspose")
        out = lax.conv_transpose(inputs, W, strides, padding, dimension_numbers=dimension_numbers)
        return jnp.add(out, b)
    return init_fun, apply_fun


Conv1DTranspose = functools.partial(GeneralConvTranspose, ("NHC", "HIO", "NHC"))
Conv1DTranspose.__doc__ = "``GeneralConvTranspose`` in NHC / HIO layout."
ConvTranspose = functools.partial(GeneralConvTranspose, ("NHWC", "HWIO", "NHWC"))
ConvTranspose.__doc__ = "``GeneralConvTranspose`` in NHWC / HWIO layout."


# ---------------------------------------------------------------- normalisation, elementwise

def BatchNorm(axis=(0, 1, 2), epsilon=1e-5, center=True, scale=True, beta_init=zeros, gamma_init=ones):
    """Normalise over ``axis`` with the batch's statistics (``nn.standardize``), then scale
    by ``gamma`` and shift by ``beta`` (one per position along the other axes).

    >>> _, apply_fun = BatchNorm(axis=0, center=False, scale=False)
    >>> np.round(apply_fun(((), ()), np.array([[1.0], [3.0]])), 4)
    array([[-1.],
           [ 1.]])
    """
    axis = (axis,) if np.isscalar(axis) else tuple(axis)

    def init_fun(rng, input_shape):
        _check_key(rng, "BatchNorm")
        shape = tuple(d for i, d in enumerate(input_shape) if i not in axis)
        k1, k2 = _split(rng)
        beta = beta_init(k1, shape) if center else ()
        gamma = gamma_init(k2, shape) if scale else ()
        return tuple(input_shape), (beta, gamma)

    def apply_fun(params, x, **kwargs):
        beta, gamma = _params(params, 2, "BatchNorm")
        kept = tuple(1 if i in axis else d for i, d in enumerate(jnp.shape(x)))
        z = standardize(x, axis, epsilon=epsilon)
        if scale:
            z = jnp.multiply(jnp.reshape(gamma, kept), z)
        if center:
            z = jnp.add(z, jnp.reshape(beta, kept))
        return z
    return init_fun, apply_fun


def elementwise(fun, **fun_kwargs):
    """A parameter-free layer applying ``fun(inputs, **fun_kwargs)``.

    >>> elementwise(np.negative)[1]((), np.array([1.0]))
    array([-1.])
    """
    def init_fun(rng, input_shape):
        return input_shape, ()

    def apply_fun(params, inputs, **kwargs):
        return fun(inputs, **fun_kwargs)
    return init_fun, apply_fun


Tanh = elementwise(jnp.tanh)
Relu = elementwise(relu)
Exp = elementwise(jnp.exp)
LogSoftmax = elementwise(log_softmax, axis=-1)
Softmax = elementwise(softmax, axis=-1)
Softplus = elementwise(softplus)
Sigmoid = elementwise(sigmoid)
Elu = elementwise(elu)
LeakyRelu = elementwise(leaky_relu)
Selu = elementwise(selu)
Gelu = elementwise(gelu)


# ---------------------------------------------------------------- pooling

def _full_window(window_shape, strides, spec, layer):
    """Window and strides over every input axis (1 on the batch and channel axes)."""
    window_shape, strides = tuple(window_shape), tuple(strides)
    if spec is None:
        non_spatial = (0, len(window_shape) + 1)
    else:
        if len(spec) != len(window_shape) + 2:
            raise ValueError(f"stax.{layer}: spec {spec!r} does not fit a window of "
                             f"{len(window_shape)} spatial dimensions")
        non_spatial = (spec.index("N"), spec.index("C"))
    for i in sorted(non_spatial):
        window_shape = window_shape[:i] + (1,) + window_shape[i:]
        strides = strides[:i] + (1,) + strides[i:]
    return window_shape, strides, non_spatial


def _window_counts(in_sizes, window, strides, pads):
    """How many in-bounds entries each window covers, as an array over the output grid."""
    counts = np.ones(())
    for n, w, s, (lo, hi) in zip(in_sizes, window, strides, pads):
        starts = np.arange(_window_out(n, w, s, (lo, hi))) * s - lo
        per_dim = np.minimum(starts + w, n) - np.maximum(starts, 0)
        counts = np.multiply.outer(counts, per_dim.astype(np.float64))
    return counts


def _pooling_layer(name, reducer, init_val, average=False):
    def PoolingLayer(window_shape, strides=None, padding="VALID", spec=None):
        strides = tuple(strides or (1,) * len(window_shape))
        spatial_window, spatial_strides = tuple(window_shape), strides
        window, full_strides, non_spatial = _full_window(window_shape, strides, spec, name)

        def init_fun(rng, input_shape):
            pads = _pads(input_shape, window, full_strides, padding, name)
            out_shape = tuple(_window_out(n, w, s, p)
                              for n, w, s, p in zip(input_shape, window, full_strides, pads))
            return out_shape, ()

        def apply_fun(params, inputs, **kwargs):
            out = lax.reduce_window(inputs, init_val, getattr(lax, reducer), window, full_strides, padding)
            if not average:
                return out
            shape = jnp.shape(inputs)
            in_sp = [d for i, d in enumerate(shape) if i not in non_spatial]
            pads = _pads(in_sp, spatial_window, spatial_strides, padding, name)
            counts = _window_counts(in_sp, spatial_window, spatial_strides, pads)
            for i in sorted(non_spatial):
                counts = np.expand_dims(counts, i)
            return jnp.divide(out, counts.astype(jnp.result_type(out)))
        return init_fun, apply_fun
    PoolingLayer.__name__ = PoolingLayer.__qualname__ = name
    return PoolingLayer


MaxPool = _pooling_layer("MaxPool", "max", -np.inf)
MaxPool.__doc__ = """Max over windows (``lax.reduce_window`` with ``lax.max``).

    >>> MaxPool((2, 2), strides=(2, 2))[0](None, (1, 4, 5, 3))[0]
    (1, 2, 2, 3)
    """
SumPool = _pooling_layer("SumPool", "add", 0.)
SumPool.__doc__ = """Sum over windows (``lax.reduce_window`` with ``lax.add``).

    >>> SumPool((3,), padding='SAME', spec='NWC')[0](None, (2, 7, 1))[0]
    (2, 7, 1)
    """
AvgPool = _pooling_layer("AvgPool", "add", 0., average=True)
AvgPool.__doc__ = """Mean over windows; with ``'SAME'`` padding each window is divided by the
    number of in-bounds entries it covers, as in JAX.

    >>> AvgPool((2,), strides=(2,), spec='NCW')[0](None, (2, 3, 8))[0]
    (2, 3, 4)
    """


# ---------------------------------------------------------------- structural layers

def _flatten():
    """Flatten every axis but the leading (batch) one.

    >>> Flatten[0](None, (5, 2, 3))[0]
    (5, 6)
    """
    def init_fun(rng, input_shape):
        return (input_shape[0], math.prod(input_shape[1:])), ()

    def apply_fun(params, inputs, **kwargs):
        return jnp.reshape(inputs, (jnp.shape(inputs)[0], -1))
    return init_fun, apply_fun


Flatten = _flatten()


def _identity():
    def init_fun(rng, input_shape):
        return input_shape, ()

    def apply_fun(params, inputs, **kwargs):
        return inputs
    return init_fun, apply_fun


Identity = _identity()


def FanOut(num):
    """Copy the input into a list of ``num`` inputs (for :func:`parallel`).

    >>> FanOut(2)[0](None, (3,))[0]
    [(3,), (3,)]
    """
    def init_fun(rng, input_shape):
        return [input_shape] * num, ()

    def apply_fun(params, inputs, **kwargs):
        return [inputs] * num
    return init_fun, apply_fun


def _fan_in_sum():
    def init_fun(rng, input_shape):
        return input_shape[0], ()

    def apply_fun(params, inputs, **kwargs):
        return functools.reduce(jnp.add, inputs)
    return init_fun, apply_fun


FanInSum = _fan_in_sum()


def FanInConcat(axis=-1):
    """Concatenate a list of inputs along ``axis``.

    >>> FanInConcat()[0](None, [(2, 3), (2, 4)])[0]
    (2, 7)
    """
    def init_fun(rng, input_shape):
        ax = axis % len(input_shape[0])
        size = sum(shape[ax] for shape in input_shape)
        return tuple(input_shape[0][:ax]) + (size,) + tuple(input_shape[0][ax + 1:]), ()

    def apply_fun(params, inputs, **kwargs):
        return jnp.concatenate(inputs, axis)
    return init_fun, apply_fun


def Dropout(rate, mode="train"):
    """Dropout. As in JAX's stax, ``rate`` is the probability of *keeping* an entry; kept
    entries are divided by ``rate``. ``mode`` other than ``'train'`` is the identity.
    ``apply_fun`` needs ``rng=key``.

    >>> Dropout(0.5)[1]((), np.ones(2))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: stax.Dropout: apply_fun needs a PRNG key: call apply_fun(params, inputs, rng=key) ...
    """
    def init_fun(rng, input_shape):
        return input_shape, ()

    def apply_fun(params, inputs, **kwargs):
        rng = kwargs.get("rng", None)
        if rng is None:
            raise ValueError("stax.Dropout: apply_fun needs a PRNG key: call apply_fun(params, inputs, "
                             "rng=key) with a key from spmdgrad.random")
        if mode == "train":
            keep = random.bernoulli(rng, rate, jnp.shape(inputs))
            return jnp.where(keep, jnp.divide(inputs, rate), 0)
        return inputs
    return init_fun, apply_fun


# ---------------------------------------------------------------- combinators

def serial(*layers):
    """Compose layers in sequence. ``init_fun`` splits the key once per layer, as JAX does.

    >>> serial(Relu, Tanh)[1]([(), ()], np.array([-1.0, 0.5])).round(4)
    array([0.    , 0.4621])
    """
    nlayers = len(layers)
    init_funs, apply_funs = _unzip_layers(layers, "serial")

    def init_fun(rng, input_shape):
        params = []
        for init in init_funs:
            if rng is not None:
                rng, layer_rng = _split(rng)
            else:
                layer_rng = None
            input_shape, param = init(layer_rng, input_shape)
            params.append(param)
        return input_shape, params

    def apply_fun(params, inputs, **kwargs):
        rng = kwargs.pop("rng", None)
        rngs = _split(rng, nlayers) if rng is not None else (None,) * nlayers
        for fun, param, r in zip(apply_funs, _params(params, nlayers, "serial"), rngs, strict=True):
            inputs = fun(param, inputs, rng=r, **kwargs)
        return inputs
    return init_fun, apply_fun


def _unzip_layers(layers, who):
    for k, layer in enumerate(layers):
        if not (isinstance(layer, tuple | list) and len(layer) == 2 and all(map(callable, layer))):
            raise TypeError(f"stax.{who}: argument {k} is not a layer (an (init_fun, apply_fun) pair); "
                            f"got {type(layer).__name__}. Layers such as Dense(10) or Relu are pairs; "
                            "a constructor such as FanOut must be called first")
    return tuple(lay[0] for lay in layers), tuple(lay[1] for lay in layers)


def parallel(*layers):
    """Apply layers side by side to a list of inputs (often between :func:`FanOut` and
    :func:`FanInSum` or :func:`FanInConcat`).

    >>> parallel(Relu, Identity)[1]([(), ()], [np.array([-1.0]), np.array([-1.0])])
    [array([0.]), array([-1.])]
    """
    nlayers = len(layers)
    init_funs, apply_funs = _unzip_layers(layers, "parallel")

    def init_fun(rng, input_shape):
        rngs = _split(rng, nlayers) if rng is not None else (None,) * nlayers
        outs = [init(r, shape) for init, r, shape in zip(init_funs, rngs, input_shape, strict=True)]
        return tuple(o[0] for o in outs), tuple(o[1] for o in outs)

    def apply_fun(params, inputs, **kwargs):
        rng = kwargs.pop("rng", None)
        rngs = _split(rng, nlayers) if rng is not None else (None,) * nlayers
        params = _params(params, nlayers, "parallel")
        if not isinstance(inputs, tuple | list) or len(inputs) != nlayers:
            raise TypeError(f"stax.parallel: apply_fun expected a list of {nlayers} inputs (one per "
                            f"branch, e.g. from FanOut({nlayers})), got {type(inputs).__name__}")
        return [f(p, x, rng=r, **kwargs)
                for f, p, x, r in zip(apply_funs, params, inputs, rngs, strict=True)]
    return init_fun, apply_fun


def shape_dependent(make_layer):
    """A layer built only once its input shape is known: ``make_layer(shape)`` returns the
    ``(init_fun, apply_fun)`` pair.

    >>> init_fun, _ = shape_dependent(lambda shape: FanOut(shape[0]))
    >>> init_fun(None, (2,))[0]
    [(2,), (2,)]
    """
    def init_fun(rng, input_shape):
        return make_layer(input_shape)[0](rng, input_shape)

    def apply_fun(params, inputs, **kwargs):
        return make_layer(jnp.shape(inputs))[1](params, inputs, **kwargs)
    return init_fun, apply_fun
