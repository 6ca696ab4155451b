"""The deep MLP shared by bench_jit.py and its peer scripts (NumPy only).

8 layers of width 256, ReLU between them, squared error ``0.5 * sum((out - y)**2)``,
float32 data from a fixed seed; ``numpy_grads`` is the hand-written backward pass.
"""
import numpy as np

BATCH, WIDTH, DEPTH = 1024, 256, 8


def make_problem(batch=BATCH, width=WIDTH, depth=DEPTH, seed=0):
    """``((ws, bs), x, y)``: ``depth`` weights (width, width) and biases, inputs and targets."""
    rng = np.random.default_rng(seed)
    ws = [(rng.standard_normal((width, width)) / np.sqrt(width)).astype(np.float32) for _ in range(depth)]
    bs = [(0.01 * rng.standard_normal(width)).astype(np.float32) for _ in range(depth)]
    x = rng.standard_normal((batch, width)).astype(np.float32)
    y = rng.standard_normal((batch, width)).astype(np.float32)
    return (ws, bs), x, y


def numpy_grads(params, x, y):
    """``(gws, gbs)`` of the loss summed over the batch, by hand."""
    ws, bs = params
    hs, pres = [x], []
    h = x
    for w, b in zip(ws[:-1], bs[:-1], strict=True):
        pre = h @ w + b
        pres.append(pre)
        h = np.maximum(pre, 0)
        hs.append(h)
    d = h @ ws[-1] + bs[-1] - y
    gw, gb = [None] * len(ws), [None] * len(ws)
    for i in range(len(ws) - 1, -1, -1):
        gw[i] = hs[i].T @ d
        gb[i] = d.sum(axis=0)
        if i:
            d = (d @ ws[i].T) * (pres[i - 1] > 0)
    return gw, gb


def check(got):
    """Assert that ``got`` (the 2 * DEPTH gradient arrays, weights first) are float32 and
    match the hand-written float32 gradient of the same data.

    ``atol`` is 0.5% of each array's largest entry: at this depth a few pre-activations lie
    within 1e-7 of 0, where float32 rounding decides the ReLU mask, and one flipped mask
    moves hundreds of entries by up to 0.3% of the largest (torch's gradient agrees with
    float64 to 4e-7 of it, hand NumPy's, spmdgrad's and JAX's differ from both by such a
    flip). A wrong derivative is off by far more.
    """
    params, x, y = make_problem()
    gw, gb = numpy_grads(params, x, y)
    got = list(got)
    assert len(got) == 2 * DEPTH, len(got)
    for i, (g, r) in enumerate(zip(got, gw + gb, strict=True)):
        g = np.asarray(g)
        assert g.dtype == np.float32, f"8x256 MLP gradient {i}: dtype {g.dtype}"
        np.testing.assert_allclose(g, r, rtol=1e-3, atol=5e-3 * np.abs(r).max(),
                                   err_msg=f"8x256 MLP gradient {i} against hand NumPy")
