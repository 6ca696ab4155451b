"""Peer half of bench_per_example.py: ``<python> per_example.py torch|jax [repeat]``.

Same MLP, data and loss as spmdgrad's side (benchmarks/_mlp.py). Prints one JSON
line of median seconds: per-example gradients via vmap(grad), a Python loop of
grad (torch only), and an ordinary batch gradient for scale.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import numpy as np  # noqa: E402

from _common import interleaved_medians  # noqa: E402
from _mlp import example_loss, make_problem, numpy_batch_grads, numpy_per_example_grads  # noqa: E402

which = sys.argv[1]
repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 9
params_np, X_np, Y_np = make_problem()
ref_pe = numpy_per_example_grads(params_np, X_np, Y_np)
ref_tot = numpy_batch_grads(params_np, X_np, Y_np)
out = {}


def check(got, ref):
    for g, r in zip(got, ref):
        g = np.asarray(g)
        assert g.dtype == np.float32, g.dtype
        np.testing.assert_allclose(g, r, rtol=1e-3, atol=1e-5)


if which == "torch":
    import torch
    from torch.func import grad, vmap
    out["version"] = torch.__version__
    out["threads"] = torch.get_num_threads()
    params = tuple(torch.from_numpy(p) for p in params_np)
    X, Y = torch.from_numpy(X_np), torch.from_numpy(Y_np)

    def loss(params, x, y):
        W1, b1, W2, b2 = params
        h = torch.clamp(x @ W1 + b1, min=0.0)
        z = h @ W2 + b2
        m = torch.max(z)
        s = z - m
        return -torch.sum(y * (s - torch.log(torch.sum(torch.exp(s)))))

    pe = vmap(grad(loss), in_dims=(None, 0, 0))
    g1 = grad(loss)

    def loop():
        return [g1(params, X[i], Y[i]) for i in range(X.shape[0])]

    def batch_total():
        ps = tuple(p.detach().requires_grad_(True) for p in params)
        total = vmap(loss, in_dims=(None, 0, 0))(ps, X, Y).sum()
        return torch.autograd.grad(total, ps)

    with torch.no_grad():
        check(pe(params, X, Y), ref_pe)
    check(batch_total(), ref_tot)
    out.update(interleaved_medians({"vmap_grad": lambda: pe(params, X, Y),
                                    "batch_total": batch_total}, repeat))
    out.update(interleaved_medians({"loop": loop}, 7, warmup=1))
elif which == "jax":
    import jax
    import jax.numpy as jnp
    out["version"] = jax.__version__
    params = tuple(jnp.asarray(p) for p in params_np)
    X, Y = jnp.asarray(X_np), jnp.asarray(Y_np)

    def loss(params, x, y):
        return example_loss(jnp, params, x, y)

    pe = jax.vmap(jax.grad(loss), in_axes=(None, 0, 0))
    pe_jit = jax.jit(pe)
    tot = jax.grad(lambda p, x, y: jnp.sum(jax.vmap(loss, in_axes=(None, 0, 0))(p, x, y)))
    check(pe(params, X, Y), ref_pe)
    check(tot(params, X, Y), ref_tot)
    out.update(interleaved_medians({
        "vmap_grad": lambda: jax.block_until_ready(pe(params, X, Y)),
        "jit_vmap_grad": lambda: jax.block_until_ready(pe_jit(params, X, Y)),
        "batch_total": lambda: jax.block_until_ready(tot(params, X, Y)),
    }, repeat))
else:
    raise SystemExit(f"unknown peer {which!r}")
print(json.dumps(out))
