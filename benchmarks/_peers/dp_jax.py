"""Peer half of bench_dp_step.py --scaling: JAX ``jit`` of the whole step, one process.

``<jax python> dp_jax.py FOLDER TAG REPEAT``: a job run by ``_turns.drive``. The same MLP
step as spmdgrad's 1-rank rows (benchmarks/_mlp.py, float32, 256 examples from seed 100):
``jit`` of grad of the mean loss and ``p - lr * g`` for every parameter, XLA on one thread
(``_common.one_thread_pools``). The gradient is checked against hand NumPy before timing.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import numpy as np  # noqa: E402
from _common import one_thread_pools  # noqa: E402
from _mlp import batch_loss, make_problem, numpy_batch_grads  # noqa: E402
from _turns import job_rounds  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

one_thread_pools(lambda: jax.block_until_ready(jnp.zeros(1) + 1))  # XLA's CPU client, one compute thread

folder, tag, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
BATCH, LR = 256, np.float32(0.1)


def loss(params, X, Y):
    return batch_loss(jnp, params, X, Y, X.shape[0])


@jax.jit
def step(params, X, Y):
    g = jax.grad(loss)(params, X, Y)
    return tuple(p - LR * gi for p, gi in zip(params, g))


params, _, _ = make_problem(batch=1)
X, Y = make_problem(batch=BATCH, seed=100)[1:]
args = jax.device_put((tuple(params), X, Y))
for got, want in zip(jax.jit(jax.grad(loss))(*args), numpy_batch_grads(params, X, Y), strict=True):
    got = np.asarray(got)
    assert got.dtype == np.float32, got.dtype
    np.testing.assert_allclose(got, want / BATCH, rtol=1e-4, atol=1e-6)
job_rounds(folder, tag, 0, {"jax": lambda: jax.block_until_ready(step(*args))}, repeat,
           info={"version": jax.__version__})
