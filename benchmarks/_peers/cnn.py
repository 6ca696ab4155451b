"""Peer half of bench_cnn.py: ``<python> cnn.py jax|torch [repeat]``.

Same CNN, data and loss as spmdgrad's side (benchmarks/_cnn.py), float32. Prints one
JSON line of median seconds of per-example gradients at B=64 and the total gradient at
B=256: JAX ``jit(vmap(grad))`` and ``jit(grad)``; torch (one thread) ``torch.func``
``vmap(grad)`` and its ordinary batch ``backward()``.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import numpy as np
from _cnn import make_problem, numpy_per_example, numpy_total
from _common import interleaved_medians

which = sys.argv[1]
repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 9
out = {}


def check(got, ref):
    for k in ref:
        g = np.asarray(got[k])
        assert g.dtype == np.float32, g.dtype
        np.testing.assert_allclose(g, ref[k], rtol=2e-3, atol=2e-5, err_msg=k)


if which == "jax":
    import jax
    import jax.numpy as jnp
    from jax import lax
    out["version"] = jax.__version__

    def loss(params, x, y):
        h = lax.conv_general_dilated(x[None], params["w"], (1, 1), "VALID",
                                     dimension_numbers=("NHWC", "HWIO", "NHWC"))
        h = jax.nn.relu(h + params["b"])
        h = lax.reduce_window(h, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
        logits = jnp.reshape(h, (-1,)) @ params["wd"] + params["bd"]
        return -jax.nn.log_softmax(logits)[y]

    per_example = jax.jit(jax.vmap(jax.grad(loss), in_axes=(None, 0, 0)))
    total = jax.jit(jax.grad(lambda p, x, y: jnp.sum(jax.vmap(loss, (None, 0, 0))(p, x, y))))
    variants = {}
    for name, fn, batch, ref in (("per_example_jit", per_example, 64, numpy_per_example),
                                 ("total_jit", total, 256, numpy_total)):
        p, x, y = make_problem(batch, seed=0 if batch == 64 else 1)
        check(fn(p, x, y), ref(p, x, y))
        variants[name] = (lambda fn=fn, p=p, x=x, y=y:
                          jax.block_until_ready(fn(p, x, y)))
    # JAX's max-pool gradient picks one arg-max per window (no tie split): with
    # continuous random data there are no ties, so the check above is exact.
    t = interleaved_medians(variants, repeat=repeat)
    out.update({k: t[k] for k in variants})
elif which == "torch":
    import torch
    import torch.nn.functional as tf
    from torch.func import grad, vmap
    torch.set_num_threads(1)  # the targets are stated for one thread
    out["version"] = torch.__version__

    def forward(p, x):
        """Logits of NHWC images x (B, 28, 28, 1); flattening in NHWC order as spmdgrad."""
        h = tf.conv2d(x.permute(0, 3, 1, 2), p["w"].permute(3, 2, 0, 1))
        h = tf.max_pool2d(torch.relu(h + p["b"][None, :, None, None]), 2)
        return h.permute(0, 2, 3, 1).reshape(len(x), -1) @ p["wd"] + p["bd"]

    def loss(p, x, y):
        logp = torch.log_softmax(forward(p, x[None])[0], 0)
        return -(logp * (torch.arange(len(logp)) == y)).sum()  # vmap cannot index by y

    def tensors(p, x, y):
        return {k: torch.from_numpy(v) for k, v in p.items()}, torch.from_numpy(x), torch.from_numpy(y)

    p64, x64, y64 = make_problem(64)
    per_example = vmap(grad(loss), in_dims=(None, 0, 0))
    tp, tx, ty = tensors(p64, x64, y64)
    check({k: v.numpy() for k, v in per_example(tp, tx, ty).items()},
          numpy_per_example(p64, x64, y64))
    p256, x256, y256 = make_problem(256, seed=1)
    P, X, Y = tensors(p256, x256, y256)
    for v in P.values():
        v.requires_grad_(True)

    def backward():
        for v in P.values():
            v.grad = None
        tf.cross_entropy(forward(P, X), Y, reduction="sum").backward()
        return {k: v.grad for k, v in P.items()}

    check({k: v.numpy() for k, v in backward().items()}, numpy_total(p256, x256, y256))
    t = interleaved_medians({"per_example_func": lambda: per_example(tp, tx, ty),
                             "total_backward": backward}, repeat=repeat)
    out.update({k: t[k] for k in ("per_example_func", "total_backward")})
else:
    raise SystemExit(f"cnn.py: unknown peer {which!r} (jax or torch)")
print(json.dumps(out))
