"""conv_general_dilated, conv_transpose and numpy.convolve/correlate.

Forward values are compared with constants computed by JAX 0.10.2 (x64) on the
same integer-valued inputs (``data`` below, exact in float64):
``jax.lax.conv_general_dilated(data(lhs), data(rhs, 3, 5), **kwargs)`` for each
entry of ``CONV_CASES`` and ``jax.lax.conv_transpose`` likewise. Derivatives are
checked against finite differences, vmap against a loop, jit against eager.
"""
import numpy as np
import pytest

import spmdgrad
import spmdgrad.numpy as jnp
from spmdgrad import lax, nn
from spmdgrad.test_util import check_grads, loop_vmap

inf = np.inf


def data(shape, mult=7, mod=5):
    """Small integers from a formula, so every result is exact in float64."""
    n = int(np.prod(shape))
    return ((np.arange(n) * mult) % mod - mod // 2).astype(np.float64).reshape(shape)


# name: (lhs shape, rhs shape, kwargs of conv_general_dilated)
CONV_CASES = {
    "1d_valid": ((2, 3, 7), (4, 3, 3), {"window_strides": (1,), "padding": "VALID"}),
    "1d_same_s2": ((2, 3, 7), (4, 3, 3), {"window_strides": (2,), "padding": "SAME"}),
    "1d_same_lower_s2": ((2, 3, 8), (4, 3, 4), {"window_strides": (2,), "padding": "SAME_LOWER"}),
    "1d_pad_neg": ((2, 3, 7), (4, 3, 3), {"window_strides": (1,), "padding": ((2, -1),)}),
    "1d_lhs_dil": ((2, 3, 5), (4, 3, 3), {"window_strides": (1,), "padding": ((2, 2),),
                                               "lhs_dilation": (2,)}),
    "1d_rhs_dil_s3": ((2, 3, 11), (4, 3, 3), {"window_strides": (3,), "padding": ((1, 0),),
                                                   "rhs_dilation": (2,)}),
    "1d_groups": ((2, 4, 7), (6, 2, 3), {"window_strides": (1,), "padding": "SAME",
                                              "feature_group_count": 2}),
    "1d_batch_groups": ((4, 3, 7), (6, 3, 3), {"window_strides": (2,), "padding": "VALID",
                                                    "batch_group_count": 2}),
    "1d_nwc": ((2, 7, 3), (3, 3, 4), {"window_strides": (2,), "padding": "SAME",
                                           "dimension_numbers": ("NWC", "WIO", "NWC")}),
    "2d_valid": ((2, 3, 5, 6), (4, 3, 3, 2), {"window_strides": (1, 1), "padding": "VALID"}),
    "2d_same_s21": ((2, 3, 5, 6), (4, 3, 3, 2), {"window_strides": (2, 1), "padding": "SAME"}),
    "2d_explicit": ((2, 3, 5, 6), (4, 3, 3, 2), {"window_strides": (1, 2),
                                                      "padding": ((1, 2), (0, -1))}),
    "2d_dilations": ((1, 2, 5, 6), (3, 2, 2, 3), {"window_strides": (2, 1), "padding": ((1, 1), (2, 0)),
                                                       "lhs_dilation": (1, 2), "rhs_dilation": (2, 1)}),
    "2d_groups_s2": ((2, 6, 6, 5), (6, 2, 3, 3), {"window_strides": (2, 2), "padding": "SAME",
                                                       "feature_group_count": 3}),
    "2d_depthwise": ((2, 3, 5, 5), (3, 1, 3, 3), {"window_strides": (1, 1), "padding": "SAME",
                                                       "feature_group_count": 3}),
    "2d_batch_groups": ((4, 2, 5, 6), (6, 2, 2, 3), {"window_strides": (1, 2), "padding": "VALID",
                                                          "batch_group_count": 2}),
    "2d_nhwc": ((2, 5, 6, 3), (3, 2, 3, 4), {"window_strides": (2, 1), "padding": "SAME",
                                                  "dimension_numbers": ("NHWC", "HWIO", "NHWC")}),
    "2d_nhwc_groups_dil": ((2, 6, 5, 4), (2, 3, 2, 6), {
        "window_strides": (1, 2), "padding": ((1, 0), (1, 1)), "rhs_dilation": (2, 1),
        "feature_group_count": 2, "dimension_numbers": ("NHWC", "HWIO", "NHWC")}),
    "2d_mixed_layout": ((5, 3, 2, 6), (2, 4, 2, 3), {
        "window_strides": (1, 1), "padding": "VALID", "dimension_numbers": ("HNCW", "IOHW", "NWHC")}),
}

# name: (lhs shape, rhs shape, kwargs of conv_transpose)
TRANSPOSE_CASES = {
    "t1d_same": ((2, 5, 3), (3, 3, 4), {"strides": (2,), "padding": "SAME"}),
    "t1d_valid": ((2, 5, 3), (3, 3, 4), {"strides": (2,), "padding": "VALID"}),
    "t2d_same_kernel": ((1, 3, 4, 2), (3, 2, 3, 2), {"strides": (2, 1), "padding": "SAME",
                                                          "transpose_kernel": True}),
    "t2d_pairs_dil": ((1, 3, 4, 2), (2, 2, 2, 3), {"strides": (2, 2), "padding": ((1, 0), (2, 1)),
                                                        "rhs_dilation": (1, 2)}),
}


# JAX 0.10.2 (x64) results on these cases: (shape, flattened values).
CONV_EXPECTED = {
    '1d_valid': ((2, 4, 5), [
        7, 7, -8, 2, -8, -6, 0, 1, -8, 13, 1, -2, 0, 7, -6, -2, 1, -6, 7, 0, 7, -8, 2, -8, 7, 0, 1, -8,
        13, -6, -2, 0, 7, -6, 1, 1, -6, 7, 0, -2
    ]),
    '1d_same_s2': ((2, 4, 4), [
        -5, 7, 2, 11, 11, 0, -8, -8, -8, -2, 7, 3, 3, 1, 7, -1, -2, -8, -8, -2, -2, 1, 13, 3, 3, 0, -6,
        -2, -2, -6, 0, 3
    ]),
    '1d_same_lower_s2': ((2, 4, 4), [
        2, 7, 3, 0, -9, -5, -1, -1, 0, -2, -10, 8, -1, 1, 1, 2, -1, -1, -5, -9, 0, 3, 7, 2, -9, 7, -1,
        8, 2, 1, 1, -1
    ]),
    '1d_pad_neg': ((2, 4, 6), [
        0, -5, 7, 7, -8, 2, -3, 11, -6, 0, 1, -8, 9, -8, 1, -2, 0, 7, -4, 3, -2, 1, -6, 7, -2, -2, 7,
        -8, 2, -8, 2, -2, 0, 1, -8, 13, -4, 3, -2, 0, 7, -6, 5, -2, 1, -6, 7, 0
    ]),
    '1d_lhs_dil': ((2, 4, 11), [
        2, 0, -2, 0, -2, 0, 3, 0, -2, 0, 1, 0, -2, 6, 0, 0, 2, -6, -1, 3, 1, -3, -2, 6, -6, 0, 2, -6, 5,
        3, -2, -3, 3, 6, -6, 2, 0, -6, 6, 1, -3, -2, 3, -1, 2, 0, -2, 0, -2, 0, 3, 0, -2, 0, 1, 0, -2,
        6, 0, 0, 2, -6, -1, 3, 1, -3, -2, 6, -6, 0, 2, -6, 5, 3, -2, -3, 3, 6, -6, 2, 0, -6, 6, 1, -3,
        -2, 3, -1
    ]),
    '1d_rhs_dil_s3': ((2, 4, 3), [
        -4, -10, 10, 4, -6, -8, 2, 8, -11, 5, 2, 11, -5, 10, 0, -5, -8, 10, 5, -11, -10, 0, 11, -10
    ]),
    '1d_groups': ((2, 6, 7), [
        0, 4, 5, -4, -3, -2, 8, -3, 5, -8, 9, -4, -2, 0, -1, -4, 9, -8, 5, -2, -3, 8, -2, -3, -4, 5, 4,
        0, -4, 8, -2, -2, -2, -2, 8, -1, -2, 4, 5, -4, -3, -4, -2, -3, -2, 4, 5, -4, -1, 7, -4, -2, 5,
        -8, 9, -2, -4, 5, -2, -4, 9, -8, 7, -3, 5, 4, -2, -3, -4, 7, -3, -2, -2, 8, -2, -2, -3, 7, -4,
        -3, -2, 4, 5, -3
    ]),
    '1d_batch_groups': ((2, 6, 3), [
        7, -8, -8, -6, 1, 13, 1, 0, -6, -6, 0, 1, 13, 1, -6, -8, -8, 7, 7, 2, 7, 0, -8, -6, -2, 7, 1, 7,
        -2, -6, -8, 0, 13, 2, 7, -8
    ]),
    '1d_nwc': ((2, 4, 4), [
        2, -4, -5, 14, -2, -8, 16, -10, -9, 19, -8, 0, 14, -7, 2, -4, 0, -5, 10, -5, -9, 19, -8, 0, 19,
        -9, -2, 0, -5, 0, 0, -5
    ]),
    '2d_valid': ((2, 4, 3, 5), [
        4, 5, -4, 7, -12, 5, -4, 7, -12, 4, -4, 7, -12, 4, 5, 6, -9, 6, -9, 6, -9, 6, -9, 6, 6, 6, -9,
        6, 6, -9, -12, 7, -4, 5, 4, 7, -4, 5, 4, -12, -4, 5, 4, -12, 7, 5, -2, 1, -1, -3, -2, 1, -1, -3,
        5, 1, -1, -3, 5, -2, 4, 5, -4, 7, -12, 5, -4, 7, -12, 4, -4, 7, -12, 4, 5, 6, -9, 6, -9, 6, -9,
        6, -9, 6, 6, 6, -9, 6, 6, -9, -12, 7, -4, 5, 4, 7, -4, 5, 4, -12, -4, 5, 4, -12, 7, 5, -2, 1,
        -1, -3, -2, 1, -1, -3, 5, 1, -1, -3, 5, -2
    ]),
    '2d_same_s21': ((2, 4, 3, 6), [
        -6, 0, 1, 2, 3, -2, 5, -4, 7, -12, 4, 3, 5, -8, 4, 6, -7, 3, 4, 6, -7, 5, -8, 4, -9, 6, -9, 6,
        6, -5, -7, 6, 4, -8, 5, -2, 4, -8, 5, -7, 6, 0, 7, -4, 5, 4, -12, 2, 1, 0, -6, 3, 2, -2, -6, 3,
        2, 1, 0, -4, -2, 1, -1, -3, 5, 4, -1, -1, 4, -1, -1, 3, -6, 0, 1, 2, 3, -2, 5, -4, 7, -12, 4, 3,
        5, -8, 4, 6, -7, 3, 4, 6, -7, 5, -8, 4, -9, 6, -9, 6, 6, -5, -7, 6, 4, -8, 5, -2, 4, -8, 5, -7,
        6, 0, 7, -4, 5, 4, -12, 2, 1, 0, -6, 3, 2, -2, -6, 3, 2, 1, 0, -4, -2, 1, -1, -3, 5, 4, -1, -1,
        4, -1, -1, 3
    ]),
    '2d_explicit': ((2, 4, 6, 2), [
        -6, 1, 4, -4, 5, 7, -4, -12, 5, 4, -6, 4, 4, -7, 6, 6, -9, -9, 6, 6, -7, 4, 2, -2, 4, 5, -12,
        -4, 7, 5, -4, 4, 1, -6, 0, 2, -6, 2, 5, 1, -2, -1, 1, -3, -1, 4, 3, -4, -6, 1, 4, -4, 5, 7, -4,
        -12, 5, 4, -6, 4, 4, -7, 6, 6, -9, -9, 6, 6, -7, 4, 2, -2, 4, 5, -12, -4, 7, 5, -4, 4, 1, -6, 0,
        2, -6, 2, 5, 1, -2, -1, 1, -3, -1, 4, 3, -4
    ]),
    '2d_dilations': ((1, 3, 3, 11), [
        0, 0, -2, -4, 5, 2, -3, -2, 4, 4, -4, 1, 2, -1, -2, 1, 4, -2, 0, -5, -4, 7, -1, 0, 2, 0, -3, 0,
        2, 0, 2, 0, -3, 0, 0, 2, 0, -3, 0, 2, 0, -3, 0, 2, -1, 0, -2, 4, 1, -2, -1, 2, 7, -4, -5, 2, -2,
        -3, 2, 5, -4, -2, 0, -4, 4, 4, 0, 0, -4, 4, 4, -2, -3, 2, 5, -4, -2, 2, -2, -3, 0, 1, -3, 0, -1,
        -6, 6, 8, 0, 1, 2, -1, -2, 2, 4, 0, 0, -2, -4
    ]),
    '2d_groups_s2': ((2, 6, 3, 3), [
        -2, 3, 3, -2, 3, 3, -2, 4, 2, 0, 2, -2, 0, 2, -2, -4, 5, 2, 2, -4, -2, 2, -4, -2, 4, -4, -3, 4,
        -5, -2, 4, -5, -2, 2, -3, -3, -4, 4, 3, -4, 4, 3, 0, -2, 2, -2, 3, 3, -2, 3, 3, -2, 4, 2, -2, 3,
        3, -2, 3, 3, -2, 4, 2, 0, 2, -2, 0, 2, -2, -4, 5, 2, 2, -4, -2, 2, -4, -2, 4, -4, -3, 4, -5, -2,
        4, -5, -2, 2, -3, -3, -4, 4, 3, -4, 4, 3, 0, -2, 2, -2, 3, 3, -2, 3, 3, -2, 4, 2
    ]),
    '2d_depthwise': ((2, 3, 5, 5), [
        2, -6, -2, 7, -4, 0, -4, 1, 1, -1, 0, -4, 1, 1, -1, 0, -4, 1, 1, -1, -2, -6, 5, -4, 1, -6, 4, 7,
        -10, 6, -2, 6, 2, -7, 4, -2, 6, 2, -7, 4, -2, 6, 2, -7, 4, 0, 4, -1, -1, 1, 6, 4, -9, 8, -4, 6,
        -4, -7, 10, -6, 6, -4, -7, 10, -6, 6, -4, -7, 10, -6, 2, -6, -2, 7, -4, 2, -6, -2, 7, -4, 0, -4,
        1, 1, -1, 0, -4, 1, 1, -1, 0, -4, 1, 1, -1, -2, -6, 5, -4, 1, -6, 4, 7, -10, 6, -2, 6, 2, -7, 4,
        -2, 6, 2, -7, 4, -2, 6, 2, -7, 4, 0, 4, -1, -1, 1, 6, 4, -9, 8, -4, 6, -4, -7, 10, -6, 6, -4,
        -7, 10, -6, 6, -4, -7, 10, -6, 2, -6, -2, 7, -4
    ]),
    '2d_batch_groups': ((2, 6, 4, 2), [
        1, -3, 4, 5, -3, -7, 5, 1, -7, -3, 5, 4, -3, 1, 4, -7, 10, 2, -4, -2, 2, -6, -2, 10, 2, 2, -3,
        -3, 2, 2, -3, 2, -6, 2, -2, -4, 2, 10, -4, -6, 1, -3, 4, 5, -3, -7, 5, 1, 1, -3, 4, 5, -3, -7,
        5, 1, -7, -3, 5, 4, -3, 1, 4, -7, 10, 2, -4, -2, 2, -6, -2, 10, 2, 2, -3, -3, 2, 2, -3, 2, -6,
        2, -2, -4, 2, 10, -4, -6, 1, -3, 4, 5, -3, -7, 5, 1
    ]),
    '2d_nhwc': ((2, 3, 6, 4), [
        -12, 14, -5, -4, -5, 12, -11, 11, 12, -5, -7, 11, 14, -12, 7, -4, -9, -9, 16, -14, -7, 12, -4,
        -5, 14, -11, 4, 4, 9, -12, 7, -9, -16, 2, 10, -12, -16, 16, -12, 10, 9, 5, -9, 7, 7, -9, 0, 4,
        -12, 7, -4, -5, -9, 16, -14, 16, 14, -5, -4, 7, 12, -11, 11, -7, -5, -7, 11, -11, -5, 3, 1, -1,
        -12, 14, -5, -4, -5, 12, -11, 11, 12, -5, -7, 11, 14, -12, 7, -4, -9, -9, 16, -14, -7, 12, -4,
        -5, 14, -11, 4, 4, 9, -12, 7, -9, -16, 2, 10, -12, -16, 16, -12, 10, 9, 5, -9, 7, 7, -9, 0, 4,
        -12, 7, -4, -5, -9, 16, -14, 16, 14, -5, -4, 7, 12, -11, 11, -7, -5, -7, 11, -11, -5, 3, 1, -1
    ]),
    '2d_nhwc_groups_dil': ((2, 5, 3, 6), [
        -8, 3, -1, 3, -8, 6, -4, -4, 1, -4, 8, -10, 3, -8, 6, 2, -1, 1, -2, -5, 2, 2, -5, -2, -3, -8,
        -3, -5, 4, -2, 2, -5, -2, 7, 1, 0, -2, -5, 2, 2, -5, -2, -3, -8, -3, -5, 4, -2, 2, -5, -2, 7, 1,
        0, -2, -5, 2, 2, -5, -2, -3, -8, -3, -5, 4, -2, 2, -5, -2, 7, 1, 0, -2, -5, 2, 2, -5, -2, -3,
        -8, -3, -5, 4, -2, 2, -5, -2, 7, 1, 0, -8, 3, -1, 3, -8, 6, -4, -4, 1, -4, 8, -10, 3, -8, 6, 2,
        -1, 1, -2, -5, 2, 2, -5, -2, -3, -8, -3, -5, 4, -2, 2, -5, -2, 7, 1, 0, -2, -5, 2, 2, -5, -2,
        -3, -8, -3, -5, 4, -2, 2, -5, -2, 7, 1, 0, -2, -5, 2, 2, -5, -2, -3, -8, -3, -5, 4, -2, 2, -5,
        -2, 7, 1, 0, -2, -5, 2, 2, -5, -2, -3, -8, -3, -5, 4, -2, 2, -5, -2, 7, 1, 0
    ]),
    '2d_mixed_layout': ((3, 4, 4, 4), [
        -5, 2, 4, -14, 11, -5, -1, 8, -13, 8, -1, -5, 13, -14, 4, 2, 11, -5, -1, 8, -13, 8, -1, -5, 13,
        -14, 4, 2, -6, 9, -6, 9, -13, 8, -1, -5, 13, -14, 4, 2, -6, 9, -6, 9, -5, 2, 4, -14, 13, -14, 4,
        2, -6, 9, -6, 9, -5, 2, 4, -14, 11, -5, -1, 8, -13, 8, -1, -5, 13, -14, 4, 2, -6, 9, -6, 9, -5,
        2, 4, -14, 13, -14, 4, 2, -6, 9, -6, 9, -5, 2, 4, -14, 11, -5, -1, 8, -6, 9, -6, 9, -5, 2, 4,
        -14, 11, -5, -1, 8, -13, 8, -1, -5, -5, 2, 4, -14, 11, -5, -1, 8, -13, 8, -1, -5, 13, -14, 4, 2,
        -6, 9, -6, 9, -5, 2, 4, -14, 11, -5, -1, 8, -13, 8, -1, -5, -5, 2, 4, -14, 11, -5, -1, 8, -13,
        8, -1, -5, 13, -14, 4, 2, 11, -5, -1, 8, -13, 8, -1, -5, 13, -14, 4, 2, -6, 9, -6, 9, -13, 8,
        -1, -5, 13, -14, 4, 2, -6, 9, -6, 9, -5, 2, 4, -14
    ]),
}

TRANSPOSE_EXPECTED = {
    't1d_same': ((2, 10, 4), [
        -2, 8, -2, -2, -2, -2, -2, 8, 12, -4, -5, 4, 6, -5, 4, -2, 3, -5, 2, -1, 4, -3, 5, -2, -6, -6,
        9, -6, -3, 4, -4, -2, -5, 3, 1, -1, -5, 6, -3, -2, -2, 8, -2, -2, -2, -2, -2, 8, 12, -4, -5, 4,
        6, -5, 4, -2, 3, -5, 2, -1, 4, -3, 5, -2, -6, -6, 9, -6, -3, 4, -4, -2, -5, 3, 1, -1, -5, 6, -3,
        -2
    ]),
    't1d_valid': ((2, 11, 4), [
        -2, 8, -2, -2, -2, -2, -2, 8, 12, -4, -5, 4, 6, -5, 4, -2, 3, -5, 2, -1, 4, -3, 5, -2, -6, -6,
        9, -6, -3, 4, -4, -2, -5, 3, 1, -1, -5, 6, -3, -2, -2, 4, -5, 6, -2, 8, -2, -2, -2, -2, -2, 8,
        12, -4, -5, 4, 6, -5, 4, -2, 3, -5, 2, -1, 4, -3, 5, -2, -6, -6, 9, -6, -3, 4, -4, -2, -5, 3, 1,
        -1, -5, 6, -3, -2, -2, 4, -5, 6
    ]),
    't2d_same_kernel': ((1, 6, 4, 3), [
        4, 2, 0, -7, -8, 6, -1, -1, -1, 5, 6, -8, 2, 0, -2, -8, 6, 5, -1, -1, -1, 6, -8, -7, 3, 1, -6,
        8, 5, 7, -8, -9, 10, -9, -8, 3, 3, -2, -2, 0, 3, 1, -8, 6, 5, -1, -1, -1, 0, 2, -6, 4, 4, -6, 8,
        5, 7, -8, -9, 10, 4, -4, -2, 3, 0, 2, 0, 3, 1, -8, 6, 5
    ]),
    't2d_pairs_dil': ((1, 5, 8, 3), [
        -4, 0, 4, 0, 0, 0, 5, -3, -6, 0, 0, 0, 0, 5, -5, 0, 0, 0, 5, -2, 6, 0, 0, 0, -2, 2, -4, 0, 0, 0,
        6, -2, 5, 0, 0, 0, -5, 5, 0, 0, 0, 0, -6, -3, 5, 0, 0, 0, -1, -1, 4, 0, 0, 0, -5, -1, 3, 0, 0,
        0, 5, -3, -6, 0, 0, 0, 0, 5, -5, 0, 0, 0, -1, -1, -1, 0, 0, 0, 2, 1, -5, 0, 0, 0, 6, -2, 5, 0,
        0, 0, -5, 5, 0, 0, 0, 0, 2, -2, 4, 0, 0, 0, -5, 1, 2, 0, 0, 0, -5, -1, 3, 0, 0, 0, 5, -3, -6, 0,
        0, 0
    ]),
}


def _expected(table, name):
    shape, vals = table[name]
    return np.array(vals, dtype=np.float64).reshape(shape)


def _rand(rng, shape, dtype=np.float64):
    return rng.standard_normal(shape).astype(dtype)


# ---------------------------------------------------------------- forward values

@pytest.mark.parametrize("name", sorted(CONV_CASES))
def test_forward_matches_jax(name):
    ls, rs, kw = CONV_CASES[name]
    out = lax.conv_general_dilated(data(ls), data(rs, 3, 5), **kw)
    np.testing.assert_array_equal(out, _expected(CONV_EXPECTED, name))


@pytest.mark.parametrize("name", sorted(TRANSPOSE_CASES))
def test_conv_transpose_matches_jax(name):
    ls, rs, kw = TRANSPOSE_CASES[name]
    out = lax.conv_transpose(data(ls), data(rs, 3, 5), **kw)
    np.testing.assert_array_equal(out, _expected(TRANSPOSE_EXPECTED, name))


def test_conv_wrappers_agree_with_general():
    rng = np.random.default_rng(0)
    x, w = _rand(rng, (2, 3, 6, 5)), _rand(rng, (4, 3, 3, 2))
    np.testing.assert_allclose(lax.conv(x, w, (1, 2), "SAME"),
                               lax.conv_general_dilated(x, w, (1, 2), "SAME"))
    np.testing.assert_allclose(
        lax.conv_with_general_padding(x, w, (2, 1), [(1, 0), (0, 2)], (1, 2), (2, 1)),
        lax.conv_general_dilated(x, w, (2, 1), [(1, 0), (0, 2)], (1, 2), (2, 1)))
    dn = lax.conv_dimension_numbers(x.shape, w.shape, ("NCHW", "OIHW", "NCHW"))
    assert dn == lax.ConvDimensionNumbers((0, 1, 2, 3), (0, 1, 2, 3), (0, 1, 2, 3))
    np.testing.assert_allclose(lax.conv_general_dilated(x, w, (1, 1), "VALID", dimension_numbers=dn),
                               lax.conv(x, w, (1, 1), "VALID"))


def _np_conv2d(x, w, stride):
    """Reference: direct loops, NCHW/OIHW, VALID."""
    n, _c, h, wd = x.shape
    o, _, kh, kw = w.shape
    ph, pw = (h - kh) // stride + 1, (wd - kw) // stride + 1
    out = np.zeros((n, o, ph, pw))
    for i in range(ph):
        for j in range(pw):
            win = x[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            out[:, :, i, j] = np.einsum("nchw,ochw->no", win, w)
    return out


def test_random_values_match_direct_loops():
    rng = np.random.default_rng(1)
    x, w = _rand(rng, (3, 4, 9, 8)), _rand(rng, (5, 4, 3, 3))
    np.testing.assert_allclose(lax.conv(x, w, (2, 2), "VALID"), _np_conv2d(x, w, 2), rtol=1e-12)


def test_mixed_dtypes_promote_like_numpy():
    rng = np.random.default_rng(2)
    x, w = _rand(rng, (2, 3, 5), np.float32), _rand(rng, (4, 3, 2))
    out = lax.conv(x, w, (1,), "VALID")
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, lax.conv(x.astype(np.float64), w, (1,), "VALID"))
    assert lax.conv(x, w.astype(np.float32), (1,), "VALID").dtype == np.float32
    out = lax.conv(x, w.astype(np.float32), (1,), "VALID", preferred_element_type=np.float64)
    assert out.dtype == np.float64
    xi = np.arange(10).reshape(1, 2, 5)
    np.testing.assert_array_equal(lax.conv(xi, np.ones((1, 2, 2), int), (1,), "VALID"),
                                  [[[12, 16, 20, 24]]])


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_convolve_correlate_match_numpy(mode):
    rng = np.random.default_rng(3)
    for na in (1, 2, 3, 4, 6, 7):
        for nv in (1, 2, 3, 5, 8):
            a, v = _rand(rng, na), _rand(rng, nv)
            np.testing.assert_allclose(jnp.convolve(a, v, mode), np.convolve(a, v, mode),
                                       rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(jnp.correlate(a, v, mode), np.correlate(a, v, mode),
                                       rtol=1e-12, atol=1e-12)
    a = _rand(rng, 5) + 1j * _rand(rng, 5)
    v = _rand(rng, 3) + 1j * _rand(rng, 3)
    np.testing.assert_allclose(jnp.correlate(a, v, mode), np.correlate(a, v, mode))
    np.testing.assert_allclose(jnp.convolve(v, a, mode), np.convolve(v, a, mode))
    ai, vi = np.arange(5), np.array([1, -2, 3])
    assert jnp.convolve(ai, vi, mode).dtype == np.convolve(ai, vi, mode).dtype
    np.testing.assert_array_equal(jnp.convolve(ai, vi, mode), np.convolve(ai, vi, mode))


def test_convolve_correlate_grads_and_vmap():
    rng = np.random.default_rng(4)
    a, v = _rand(rng, 7), _rand(rng, 3)
    for mode in ("full", "same", "valid"):
        check_grads(lambda a, v, mode=mode: jnp.convolve(a, v, mode), (a, v))
        check_grads(lambda a, v, mode=mode: jnp.correlate(v, a, mode), (a, v))
    A, V = _rand(rng, (4, 7)), _rand(rng, (4, 3))
    for axes in ((0, 0), (0, None), (None, 0)):
        args = (A if axes[0] is not None else a, V if axes[1] is not None else v)
        np.testing.assert_allclose(spmdgrad.vmap(jnp.convolve, axes)(*args),
                                   loop_vmap(np.convolve, axes, *args), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- derivatives

def _case_fn(name):
    ls, rs, kw = CONV_CASES[name]
    return ls, rs, (lambda x, w: lax.conv_general_dilated(x, w, **kw))


@pytest.mark.parametrize("name", sorted(CONV_CASES))
def test_grads_match_finite_differences(name):
    ls, rs, f = _case_fn(name)
    rng = np.random.default_rng(5)
    check_grads(f, (_rand(rng, ls), _rand(rng, rs)))


@pytest.mark.parametrize("name", ["1d_lhs_dil", "2d_groups_s2", "2d_batch_groups", "2d_nhwc"])
def test_second_order(name):
    ls, rs, f = _case_fn(name)
    rng = np.random.default_rng(6)
    x, w = _rand(rng, ls), _rand(rng, rs)
    check_grads(lambda x, w: jnp.sin(f(x, w)), (x, w), order=2)


@pytest.mark.parametrize("name", sorted(TRANSPOSE_CASES))
def test_conv_transpose_grads(name):
    ls, rs, kw = TRANSPOSE_CASES[name]
    rng = np.random.default_rng(7)
    check_grads(lambda x, w: lax.conv_transpose(x, w, **kw), (_rand(rng, ls), _rand(rng, rs)))


def test_transpose_kernel_is_the_input_gradient():
    # conv_transpose with transpose_kernel=True is the VJP of a strided SAME conv.
    rng = np.random.default_rng(8)
    x, w = _rand(rng, (1, 8, 8, 3)), _rand(rng, (3, 3, 3, 4))
    dn = ("NHWC", "HWIO", "NHWC")
    y, vjp = spmdgrad.vjp(lambda x: lax.conv_general_dilated(x, w, (2, 2), "SAME",
                                                             dimension_numbers=dn), x)
    ct = _rand(rng, y.shape)
    expect, = vjp(ct)
    np.testing.assert_allclose(lax.conv_transpose(ct, w, (2, 2), "SAME", dimension_numbers=dn,
                                                  transpose_kernel=True), expect, atol=1e-12)


# ---------------------------------------------------------------- vmap

VMAP_CASES = ["1d_same_s2", "1d_lhs_dil", "1d_groups", "1d_batch_groups", "1d_nwc", "2d_explicit",
              "2d_dilations", "2d_groups_s2", "2d_batch_groups", "2d_nhwc_groups_dil",
              "2d_mixed_layout"]


def _batched(rng, shape, axis, b=3):
    if axis is None:
        return _rand(rng, shape)
    return np.moveaxis(_rand(rng, (b,) + shape), 0, axis)


@pytest.mark.parametrize("name", VMAP_CASES)
@pytest.mark.parametrize("in_axes", [(0, None), (None, 0), (0, 0), (2, 1)])
def test_vmap_matches_loop(name, in_axes):
    ls, rs, f = _case_fn(name)
    rng = np.random.default_rng(9)
    x, w = _batched(rng, ls, in_axes[0]), _batched(rng, rs, in_axes[1])
    np.testing.assert_allclose(spmdgrad.vmap(f, in_axes)(x, w), loop_vmap(f, in_axes, x, w),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", VMAP_CASES)
@pytest.mark.parametrize("in_axes", [(0, None), (None, 0), (0, 0)])
def test_vmap_of_grad_matches_loop(name, in_axes):
    # Batches the transposes (col2im, patches contractions) at every in_axes.
    ls, rs, f = _case_fn(name)
    rng = np.random.default_rng(10)
    x, w = _batched(rng, ls, in_axes[0]), _batched(rng, rs, in_axes[1])
    g = spmdgrad.grad(lambda x, w: jnp.sum(jnp.tanh(f(x, w))), argnums=(0, 1))
    for a, b in zip(spmdgrad.vmap(g, in_axes)(x, w), loop_vmap(g, in_axes, x, w)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_jvp_of_vmap_matches_finite_differences():
    ls, rs, f = _case_fn("2d_groups_s2")
    rng = np.random.default_rng(11)
    x, w = _rand(rng, (2,) + ls), _rand(rng, (2,) + rs)
    check_grads(spmdgrad.vmap(f), (x, w))


# ---------------------------------------------------------------- jit

def test_jit_matches_eager():
    ls, rs, f = _case_fn("2d_nhwc_groups_dil")
    rng = np.random.default_rng(12)
    x, w = _rand(rng, ls), _rand(rng, rs)
    np.testing.assert_allclose(spmdgrad.jit(f)(x, w), f(x, w), rtol=1e-12)
    g = spmdgrad.grad(lambda x, w: jnp.sum(f(x, w) ** 2), argnums=(0, 1))
    for a, b in zip(spmdgrad.jit(g)(x, w), g(x, w)):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    vg = spmdgrad.vmap(g, (0, None))
    xs = _rand(rng, (3,) + ls)
    for a, b in zip(spmdgrad.jit(vg)(xs, w), vg(xs, w)):
        np.testing.assert_allclose(a, b, rtol=1e-12)


# ---------------------------------------------------------------- a small CNN

def _cnn_params(rng):
    return {"conv": _rand(rng, (3, 3, 1, 4)) * 0.5, "b": _rand(rng, (4,)) * 0.1,
            "dense": _rand(rng, (4 * 3 * 3, 5)) * 0.3}


def _cnn_loss(params, x, y):
    """conv(3x3, SAME) - relu - 2x2 max pool - dense - softmax cross-entropy, one example
    of shape (7, 7, 1)."""
    h = lax.conv_general_dilated(x[None], params["conv"], (1, 1), "SAME",
                                 dimension_numbers=("NHWC", "HWIO", "NHWC"))
    h = nn.relu(h + params["b"])
    h = lax.reduce_window(h, -np.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
    logits = jnp.reshape(h, (-1,)) @ params["dense"]
    return -nn.log_softmax(logits)[y]


def test_cnn_per_example_grads_match_loop():
    rng = np.random.default_rng(13)
    params = _cnn_params(rng)
    x, y = _rand(rng, (6, 7, 7, 1)), np.arange(6) % 5
    g = spmdgrad.grad(_cnn_loss)
    per = spmdgrad.vmap(g, (None, 0, 0))(params, x, y)
    ref = loop_vmap(g, (None, 0, 0), params, x, y)
    for k in params:
        np.testing.assert_allclose(per[k], ref[k], rtol=1e-10, atol=1e-12)
    total = spmdgrad.vmap(spmdgrad.grad(_cnn_loss, reduce_axes=("batch",)), (None, 0, 0),
                          out_axes=None, axis_name="batch")(params, x, y)
    for k in params:
        np.testing.assert_allclose(total[k], ref[k].sum(0), rtol=1e-10, atol=1e-12)
    check_grads(lambda p: _cnn_loss(dict(params, conv=p), x[0], y[0]), (params["conv"],))


def test_cnn_total_grads_under_jit():
    rng = np.random.default_rng(14)
    params = _cnn_params(rng)
    x, y = _rand(rng, (4, 7, 7, 1)), np.arange(4) % 5
    f = spmdgrad.vmap(spmdgrad.grad(_cnn_loss, reduce_axes=("batch",)), (None, 0, 0),
                      out_axes=None, axis_name="batch")
    for k, v in spmdgrad.jit(f)(params, x, y).items():
        np.testing.assert_allclose(v, f(params, x, y)[k], rtol=1e-12)


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("call, match", [
    (lambda: lax.conv(np.ones((1, 3, 5)), np.ones((2, 2, 3)), (1,), "VALID"), "input features"),
    (lambda: lax.conv(np.ones((1, 3, 5)), np.ones((2, 3, 3, 3)), (1,), "VALID"), "one rank"),
    (lambda: lax.conv(np.ones((1, 3, 5)), np.ones((2, 3, 3)), (1,), "FULL"), "padding"),
    (lambda: lax.conv(np.ones((1, 3, 5)), np.ones((2, 3, 3)), (1, 1), "VALID"), "window_strides"),
    (lambda: lax.conv(np.ones((1, 3, 5)), np.ones((2, 3, 3)), (0,), "VALID"), ">= 1"),
    (lambda: lax.conv_general_dilated(np.ones((1, 3, 5)), np.ones((2, 3, 3)), (1,), "SAME",
                                      lhs_dilation=(2,)), "lhs_dilation"),
    (lambda: lax.conv_general_dilated(np.ones((3, 4, 5)), np.ones((2, 2, 3)), (1,), "VALID",
                                      feature_group_count=2, batch_group_count=2), "both"),
    (lambda: lax.conv_general_dilated(np.ones((3, 4, 5)), np.ones((4, 4, 3)), (1,), "VALID",
                                      batch_group_count=2), "divisible"),
    (lambda: lax.conv_general_dilated(np.ones((1, 3, 5)), np.ones((2, 3, 3)), (1,),
                                      [(-4, -3)]), "crops"),
    (lambda: lax.conv_general_dilated(np.ones((1, 5, 3)), np.ones((3, 3, 2)), (1,), "VALID",
                                      dimension_numbers=("NWC", "WIO", "NCH")), "spatial"),
    (lambda: jnp.convolve(np.ones(3), np.ones((2, 2))), "1-D"),
    (lambda: jnp.correlate(np.ones(3), np.ones(2), "middle"), "mode"),
])
def test_errors_are_clear(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_complex_operands():
    # The convolution is holomorphic (linear transposes, as everywhere in spmdgrad);
    # correlate conjugates v, so it is checked in forward mode only.
    rng = np.random.default_rng(15)
    x = _rand(rng, (2, 4, 6)) + 1j * _rand(rng, (2, 4, 6))
    w = _rand(rng, (4, 2, 3)) + 1j * _rand(rng, (4, 2, 3))
    f = lambda x, w: lax.conv_general_dilated(x, w, (2,), "SAME", feature_group_count=2)
    check_grads(f, (x, w))
    np.testing.assert_allclose(spmdgrad.vmap(f, (0, 0))(x[None].repeat(2, 0), w[None].repeat(2, 0)),
                               np.stack([f(x, w)] * 2))
    a, v = x[0, 0], w[0, 0]
    check_grads(lambda a, v: jnp.correlate(a, v, "same"), (a, v), modes=("fwd",))


# ---------------------------------------------------------------- random configurations

def _naive_conv(x, w, strides, padding, ld, rd, groups, batch_groups):
    """The definition, position by position (canonical NC.../OI... layout)."""
    N, O, I = x.shape[0], w.shape[0], w.shape[1]
    n = x.ndim - 2
    xd = np.zeros(x.shape[:2] + tuple((s - 1) * d + 1 for s, d in zip(x.shape[2:], ld)))
    xd[(Ellipsis,) + tuple(slice(None, None, d) for d in ld)] = x
    xp = np.pad(xd, [(0, 0), (0, 0)] + [(max(lo, 0), max(hi, 0)) for lo, hi in padding])
    xp = xp[(slice(None), slice(None)) + tuple(
        slice(max(-lo, 0), xp.shape[2 + i] - max(-hi, 0)) for i, (lo, hi) in enumerate(padding))]
    eff = [(k - 1) * r + 1 for k, r in zip(w.shape[2:], rd)]
    pos = [(m - e) // s + 1 if m >= e else 0 for m, e, s in zip(xp.shape[2:], eff, strides)]
    nb = N // batch_groups
    out = np.zeros((nb, O) + tuple(pos))
    for p in np.ndindex(*pos):
        win = xp[(slice(None), slice(None)) + tuple(
            slice(q * s, q * s + e, r) for q, s, e, r in zip(p, strides, eff, rd))]
        for o in range(O):
            if batch_groups > 1:
                g = o // (O // batch_groups)
                xs = win[g * nb:(g + 1) * nb]
            else:
                g = o // (O // groups)
                xs = win[:, g * I:(g + 1) * I]
            out[(slice(None), o) + p] = np.tensordot(xs, w[o], axes=n + 1)
    return out


def _random_config(rng):
    n = int(rng.integers(1, 3))
    groups, batch_groups = [(1, 1), (2, 1), (3, 1), (1, 2)][rng.integers(4)]
    I, Og = int(rng.integers(1, 3)), int(rng.integers(1, 3))
    N = batch_groups * int(rng.integers(1, 3))
    K = tuple(int(k) for k in rng.integers(1, 4, n))
    S = tuple(int(s) for s in rng.integers(3, 8, n))
    kw = {"window_strides": tuple(int(s) for s in rng.integers(1, 4, n)),
          "padding": [(int(lo), int(hi)) for lo, hi in rng.integers(-1, 3, (n, 2))],
          "lhs_dilation": tuple(int(d) for d in rng.integers(1, 3, n)),
          "rhs_dilation": tuple(int(d) for d in rng.integers(1, 3, n)),
          "feature_group_count": groups, "batch_group_count": batch_groups}
    return (N, I * groups) + S, (Og * groups * batch_groups, I) + K, kw


@pytest.mark.parametrize("seed", range(24))
def test_random_configurations_match_the_definition(seed):
    rng = np.random.default_rng(100 + seed)
    ls, rs, kw = _random_config(rng)
    x, w = _rand(rng, ls), _rand(rng, rs)
    f = lambda x, w: lax.conv_general_dilated(x, w, **kw)
    ref = _naive_conv(x, w, kw["window_strides"], kw["padding"], kw["lhs_dilation"],
                      kw["rhs_dilation"], kw["feature_group_count"], kw["batch_group_count"])
    np.testing.assert_allclose(f(x, w), ref, rtol=1e-12, atol=1e-12)
    if ref.size:
        check_grads(f, (x, w))
    xs, ws = _rand(rng, (2,) + ls), _rand(rng, (2,) + rs)
    np.testing.assert_allclose(spmdgrad.vmap(f)(xs, ws), loop_vmap(f, 0, xs, ws), atol=1e-12)
