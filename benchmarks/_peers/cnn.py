"""Peer half of bench_cnn.py: ``<python> cnn.py jax [repeat]``.

Same CNN, data and loss as spmdgrad's side (benchmarks/_cnn.py), float32. Prints one
JSON line of median seconds: ``jit(vmap(grad))`` per-example gradients at B=64 and
the ``jit(grad)`` total gradient at B=256. (No torch variant yet.)
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
else:
    raise SystemExit(f"cnn.py: unknown peer {which!r} (only jax is provided)")
print(json.dumps(out))
