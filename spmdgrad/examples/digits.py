"""The data set and model shared by the demos: scikit-learn's bundled digits
(8x8 images, 10 classes) and a small ReLU MLP.

>>> params = init_params([64, 8, 10], seed=0)
>>> [w.shape for w, b in params]
[(64, 8), (8, 10)]
>>> mlp(params, np.zeros((5, 64))).shape
(5, 10)
"""
from __future__ import annotations

import itertools
import os

import numpy as np

from spmdgrad import nn

DEMO_HINT = "pip install 'spmdgrad[demo]'"


def missing(package, purpose):
    """Stop with an install hint (printed once, by rank 0) when ``package`` is absent."""
    if os.environ.get("RANK", "0") == "0":
        raise SystemExit(f"spmdgrad.examples: {purpose} needs the package '{package}', which is "
                         f"not installed. Install the demo extra: {DEMO_HINT}")
    raise SystemExit(1)


def load(n_test, seed):
    """Train and test splits of the digits, features scaled to [0, 1], labels one-hot.
    The split depends only on ``seed``, so every rank gets the same arrays."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        missing("scikit-learn", "the digits data set")
    digits = load_digits()
    X = (digits.data / 16.0).astype(np.float64)
    Y = np.eye(10)[digits.target]
    perm = np.random.default_rng(seed).permutation(len(X))
    test, train = perm[:n_test], perm[n_test:]
    return X[train], Y[train], X[test], Y[test]


def init_params(sizes, seed):
    """He-initialized ``[(W, b), ...]``; the same seed gives the same parameters on every rank."""
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((m, n)) * np.sqrt(2.0 / m), np.zeros(n))
            for m, n in itertools.pairwise(sizes)]


def mlp(params, x):
    """ReLU hidden layers, linear output (logits)."""
    for W, b in params[:-1]:
        x = nn.relu(x @ W + b)
    W, b = params[-1]
    return x @ W + b
