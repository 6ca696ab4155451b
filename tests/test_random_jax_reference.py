"""spmdgrad.random against numbers computed with JAX 0.10.2 (x64) and stored in
tests/random_reference.py: 'exact' rows must be bit-identical, 'close' rows (draws
through erf_inv, log, QR, ...) within 1e-12 relative in float64 and 1e-6 in float32, element by
element (orthogonal matrices: relative to their scale, 1)."""
import numpy as np
import pytest

import spmdgrad
from spmdgrad import random
from tests.random_reference import REFERENCE

RTOL = {"float64": 1e-12, "float32": 1e-6, "float16": 1e-3}


def _run(expr, s):
    env = {"random": random, "np": np, "vmap": spmdgrad.vmap, "grad": spmdgrad.grad,
           "jacfwd": spmdgrad.jacfwd, "s": s}
    return np.asarray(eval(expr, env))


@pytest.mark.parametrize("name,seed,expr,kind,dtype,shape,values", REFERENCE,
                         ids=[f"{r[0]}-{r[1]}" for r in REFERENCE])
def test_matches_jax(name, seed, expr, kind, dtype, shape, values):
    got = _run(expr, seed)
    want = np.asarray(values, dtype=dtype).reshape(shape)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape
    if kind == "exact":
        np.testing.assert_array_equal(got, want)
    elif name.startswith("orthogonal"):
        # entries of an orthonormal matrix are compared against its scale, 1 (a QR in float32
        # moves entries near 0 by a few float32 ulps of 1)
        np.testing.assert_allclose(got, want, rtol=RTOL[dtype], atol=RTOL[dtype])
    else:
        # elementwise relative error; zeros (flushed underflows) must match exactly
        np.testing.assert_allclose(got, want, rtol=RTOL[dtype], atol=0)
