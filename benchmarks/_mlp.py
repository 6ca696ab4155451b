"""The MLP problem shared by bench_per_example.py, bench_dp_step.py and peer scripts.

784-128-10, ReLU, softmax cross-entropy on one-hot labels, float32 parameters and
data from a fixed seed. Only NumPy is needed here, so peers rebuild the same data.
"""
import numpy as np

SIZES = (784, 128, 10)
BATCH = 256
SEED = 0


def make_problem(batch=BATCH, seed=SEED, dtype=np.float32):
    """``(params, X, Y)``: params = (W1, b1, W2, b2), X (batch, 784), Y one-hot (batch, 10)."""
    rng = np.random.default_rng(seed)
    d_in, d_h, d_out = SIZES
    W1 = (rng.standard_normal((d_in, d_h)) / np.sqrt(d_in)).astype(dtype)
    b1 = (0.1 * rng.standard_normal(d_h)).astype(dtype)
    W2 = (rng.standard_normal((d_h, d_out)) / np.sqrt(d_h)).astype(dtype)
    b2 = (0.1 * rng.standard_normal(d_out)).astype(dtype)
    X = rng.standard_normal((batch, d_in)).astype(dtype)
    labels = rng.integers(0, d_out, batch)
    Y = np.zeros((batch, d_out), dtype)
    Y[np.arange(batch), labels] = 1
    return (W1, b1, W2, b2), X, Y


def example_loss(np_, params, x, y):
    """Softmax cross-entropy of one example (x: (784,), y: one-hot (10,)), written against
    the NumPy-like module ``np_`` (spmdgrad.numpy, jax.numpy), so that spmdgrad and its
    peers differentiate the same program."""
    W1, b1, W2, b2 = params
    h = np_.maximum(x @ W1 + b1, 0.0)
    z = h @ W2 + b2
    s = z - np_.max(z)
    return -np_.sum(y * (s - np_.log(np_.sum(np_.exp(s)))))


def batch_loss(np_, params, X, Y, n):
    """The same over a batch (X: (B, 784), Y: (B, 10)), summed and divided by ``n``."""
    W1, b1, W2, b2 = params
    h = np_.maximum(X @ W1 + b1, 0.0)
    z = h @ W2 + b2
    s = z - np_.max(z, axis=1, keepdims=True)
    lse = np_.log(np_.sum(np_.exp(s), axis=1, keepdims=True))
    return -np_.sum(Y * (s - lse)) / n


def numpy_forward(params, X, Y):
    """Batched forward pass; returns what the hand-written backward passes need."""
    W1, b1, W2, b2 = params
    pre = X @ W1 + b1
    h = np.maximum(pre, 0)
    z = h @ W2 + b2
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    p = e / e.sum(axis=1, keepdims=True)
    # d/dz of -sum(y * log_softmax(z)) = p * sum(y) - y
    d2 = p * Y.sum(axis=1, keepdims=True) - Y
    dh = (d2 @ W2.T) * (pre > 0)
    return h, d2, dh


def numpy_per_example_grads(params, X, Y):
    """Per-example gradients by hand: outer products by broadcasting."""
    h, d2, dh = numpy_forward(params, X, Y)
    return (X[:, :, None] * dh[:, None, :], dh, h[:, :, None] * d2[:, None, :], d2)


def numpy_batch_grads(params, X, Y):
    """The total (summed over the batch) gradient by hand: ``X.T @ delta``."""
    h, d2, dh = numpy_forward(params, X, Y)
    return (X.T @ dh, dh.sum(axis=0), h.T @ d2, d2.sum(axis=0))
