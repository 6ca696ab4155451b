"""The CNN problem of bench_cnn.py and its hand-written NumPy gradients (im2col).

Shared with the peer scripts; imports nothing but NumPy.
"""
import numpy as np

H, K, F, CLASSES = 28, 3, 16, 10
P = H - K + 1          # conv output side (26)
Q = P // 2             # pooled side (13)
DN = ("NHWC", "HWIO", "NHWC")  # layout of inputs, kernel and activations


def make_problem(batch, seed=0):
    rng = np.random.default_rng(seed)
    params = {"w": (rng.standard_normal((K, K, 1, F)) / K).astype(np.float32),
              "b": np.zeros(F, np.float32),
              "wd": (rng.standard_normal((Q * Q * F, CLASSES)) / np.sqrt(Q * Q * F)).astype(np.float32),
              "bd": np.zeros(CLASSES, np.float32)}
    x = rng.standard_normal((batch, H, H, 1)).astype(np.float32)
    y = rng.integers(0, CLASSES, batch)
    return params, x, y


def _im2col(x):
    """(B, 28, 28, 1) -> (B, 26*26, 9): each row one 3x3 window."""
    B = x.shape[0]
    s = x.strides
    win = np.lib.stride_tricks.as_strided(x, (B, P, P, K, K), (s[0], s[1], s[2], s[1], s[2]))
    return win.reshape(B, P * P, K * K)


def _forward_backward(params, x, y):
    B = x.shape[0]
    cols = _im2col(x)
    z = cols @ params["w"].reshape(K * K, F) + params["b"]           # (B, 676, F)
    a = np.maximum(z, 0)
    blocks = a.reshape(B, Q, 2, Q, 2, F)
    m = blocks.max(axis=(2, 4), keepdims=True)
    tie = (blocks == m).astype(np.float32)
    tie /= tie.sum(axis=(2, 4), keepdims=True)                       # ties split evenly
    flat = m.reshape(B, Q * Q * F)
    logits = flat @ params["wd"] + params["bd"]
    e = np.exp(logits - logits.max(1, keepdims=True))
    dlogits = e / e.sum(1, keepdims=True)
    dlogits[np.arange(B), y] -= 1
    dflat = dlogits @ params["wd"].T
    dz = (tie * dflat.reshape(B, Q, 1, Q, 1, F)).reshape(B, P * P, F) * (z > 0)
    return cols, dz, flat, dlogits


def numpy_per_example(params, x, y):
    cols, dz, flat, dlogits = _forward_backward(params, x, y)
    B = x.shape[0]
    return {"w": np.matmul(cols.transpose(0, 2, 1), dz).reshape(B, K, K, 1, F),
            "b": dz.sum(1), "wd": flat[:, :, None] * dlogits[:, None, :], "bd": dlogits}


def numpy_total(params, x, y):
    cols, dz, flat, dlogits = _forward_backward(params, x, y)
    return {"w": (cols.reshape(-1, K * K).T @ dz.reshape(-1, F)).reshape(K, K, 1, F),
            "b": dz.sum((0, 1)), "wd": flat.T @ dlogits, "bd": dlogits.sum(0)}
