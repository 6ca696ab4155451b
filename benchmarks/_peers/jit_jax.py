"""Peer half of bench_jit.py: ``<jax python> jit_jax.py REPEAT``.

Prints one JSON line: medians (seconds per call) of JAX's ``jit(grad)`` of the 48-op
chain and ``jit`` of the MLP total gradient at B=64 and B=256 (float32), measured the
same way as spmdgrad's side (best of three batches per round)."""
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from _chain import chain  # noqa: E402
from _mlp import make_problem  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 7
jax.config.update("jax_enable_x64", True)


def mlp_loss(params, x, y):
    W1, b1, W2, b2 = params
    h = jnp.maximum(x @ W1 + b1, 0.0)
    z = h @ W2 + b2
    s = z - jnp.max(z)
    return -jnp.sum(y * (s - jnp.log(jnp.sum(jnp.exp(s)))))


# the idiomatic total gradient: grad of the batch-summed loss
total = jax.jit(jax.grad(lambda p, X, Y: jnp.sum(jax.vmap(mlp_loss, in_axes=(None, 0, 0))(p, X, Y))))
x = np.array([0.3, -0.2, 0.5])
g_chain = jax.jit(jax.grad(lambda x: chain(jnp, x, 48)))
fns = {"jax_jit_grad_chain": (lambda: g_chain(x).block_until_ready(), 200)}
for B in (64, 256):
    params, X, Y = make_problem(batch=B)
    fns[f"jax_jit_total_B{B}"] = (lambda p=params, X=X, Y=Y: jax.block_until_ready(total(p, X, Y)), 5)
times = {k: [] for k in fns}
for fn, _ in fns.values():
    fn()
for _ in range(repeat):
    for k, (fn, number) in fns.items():
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            best = min(best, (time.perf_counter() - t0) / number)
        times[k].append(best)
out = {k: statistics.median(v) for k, v in times.items()}
out["version"] = jax.__version__
print(json.dumps(out))
