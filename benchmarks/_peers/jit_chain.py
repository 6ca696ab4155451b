"""Peer half of bench_jit.py: ``<python> jit_chain.py autograd N_OPS NUMBER``.

Prints one JSON line: seconds per call of HIPS autograd's grad of the N_OPS chain,
best of three batches of NUMBER calls (one round of bench_jit's round-robin)."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from _chain import chain  # noqa: E402

which, n_ops, number = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if which != "autograd":
    raise SystemExit(f"unknown peer {which!r}")
import autograd  # noqa: E402
import autograd.numpy as anp  # noqa: E402
import numpy as np  # noqa: E402

x = np.array([0.3, -0.2, 0.5])
g = autograd.grad(lambda x: chain(anp, x, n_ops))
for _ in range(3):
    g(x)
best = float("inf")
for _ in range(3):
    t0 = time.perf_counter()
    for _ in range(number):
        g(x)
    best = min(best, (time.perf_counter() - t0) / number)
print(json.dumps({"grad_chain": best, "check": g(x).tolist()}))
