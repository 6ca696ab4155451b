"""Peer half of bench_jit.py: ``<jax python> jit_jax.py N_OPS`` (a ``PeerServer``).

JAX ``jit`` (XLA with one compute thread: ``_common.one_thread_pools``) on the same problems
and data as spmdgrad's rows: ``jit(grad)`` of the N_OPS scalar chain (float64, size 3), of the batch-summed MLP
784-128-10 loss at B=64 and B=256 and of the 8x256 MLP's loss at B=1024 (float32), and
``jit(vmap(grad))`` per-example gradients at B=256. Results are checked against the
hand-written NumPy gradients before anything is timed; the chain's gradient is sent
back for the caller to check against spmdgrad's.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import _deep  # noqa: E402
import numpy as np  # noqa: E402
from _chain import chain  # noqa: E402
from _common import one_thread_pools, serve  # noqa: E402
from _mlp import example_loss, make_problem, numpy_batch_grads, numpy_per_example_grads  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

one_thread_pools(lambda: jax.block_until_ready(jnp.zeros(1) + 1))  # XLA's CPU client, one compute thread

jax.config.update("jax_enable_x64", True)  # the chain is float64; the MLPs stay float32
n_ops = int(sys.argv[1])


def check(got, want, rtol, atol, what):
    for g, w in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want), strict=True):
        g = np.asarray(g)
        assert g.dtype == np.float32, f"{what}: dtype {g.dtype}"
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=what)


def mlp_loss(params, x, y):
    return example_loss(jnp, params, x, y)


def deep_loss(params, x, y):
    ws, bs = params
    h = x
    for w, b in zip(ws[:-1], bs[:-1], strict=True):
        h = jnp.maximum(h @ w + b, 0.0)
    return 0.5 * jnp.sum((h @ ws[-1] + bs[-1] - y) ** 2)


def timed(f, *args):
    return lambda: jax.block_until_ready(f(*args))


variants = {}
x = jnp.asarray(np.array([0.3, -0.2, 0.5]))
g_chain = jax.jit(jax.grad(lambda x: chain(jnp, x, n_ops)))
info = {"version": jax.__version__, "check_chain": np.asarray(g_chain(x)).tolist()}
variants["jax_jit_grad_chain"] = (timed(g_chain, x), 20)
# the idiomatic total gradient: grad of the batch-summed loss
total = jax.jit(jax.grad(lambda p, X, Y: jnp.sum(jax.vmap(mlp_loss, in_axes=(None, 0, 0))(p, X, Y))))
for B in (64, 256):
    params, X, Y = make_problem(batch=B)
    args = jax.device_put((params, X, Y))
    check(total(*args), numpy_batch_grads(params, X, Y), 2e-4, 2e-5, f"MLP total gradient B={B}")
    variants[f"jax_jit_total_B{B}"] = (timed(total, *args), 5)
params, X, Y = make_problem(batch=256)
args = jax.device_put((params, X, Y))
pe = jax.jit(jax.vmap(jax.grad(mlp_loss), in_axes=(None, 0, 0)))
check(pe(*args), numpy_per_example_grads(params, X, Y), 1e-3, 1e-5, "per-example gradients")
variants["jax_jit_pe_B256"] = (timed(pe, *args), 1)
dparams, dx, dy = _deep.make_problem()
args = jax.device_put((dparams, dx, dy))
deep = jax.jit(jax.grad(deep_loss))
gw, gb = deep(*args)
_deep.check(list(gw) + list(gb))
variants["jax_jit_deep"] = (timed(deep, *args), 1)
serve(info, variants)
