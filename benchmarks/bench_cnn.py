"""Per-example and total gradients of a small CNN: spmdgrad vs hand-written NumPy im2col.

Command (from the repository root)::

    .venv/bin/python benchmarks/bench_cnn.py [--repeat 9] [--peers]

Problem: 28x28x1 inputs (NHWC), conv 3x3 1->16 (VALID) + bias, ReLU, 2x2 max pool,
dense 2704->10, softmax cross-entropy on integer labels; float32 parameters and
data, fixed seed. The spmdgrad loss is written for one example with
``lax.conv_general_dilated`` and ``lax.reduce_window``.

(a) per-example gradients at B=64: ``vmap(grad(loss), in_axes=(None, 0, 0))``, eager
    and under ``spmdgrad.jit``, vs NumPy (im2col matrix, one batched matmul per layer).
    Target: within 1.5x of NumPy.
(b) total gradients at B=256: ``vmap(grad(loss, reduce_axes=('b',)), ...,
    out_axes=None)`` (the kernel gradient is one contraction over the batch), eager
    and jit, vs NumPy (``cols.T @ delta``). Target: within 2x of NumPy.

Results are checked against the NumPy reference before anything is timed. Variants
are timed round-robin in one process; the ratios are of the medians.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from _cnn import DN, make_problem, numpy_per_example, numpy_total  # noqa: E402
from _common import fmt_ms, interleaved_medians, print_environment, run_peer  # noqa: E402

import spmdgrad  # noqa: E402
import spmdgrad.numpy as jnp  # noqa: E402
from spmdgrad import lax, nn  # noqa: E402


def loss(params, x, y):
    """One example: x (28, 28, 1), y an integer label."""
    h = lax.conv_general_dilated(x[None], params["w"], (1, 1), "VALID", dimension_numbers=DN)
    h = nn.relu(h + params["b"])
    h = lax.reduce_window(h, -np.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
    logits = jnp.reshape(h, (-1,)) @ params["wd"] + params["bd"]
    return -nn.log_softmax(logits)[y]


# ---------------------------------------------------------------- spmdgrad

per_example = spmdgrad.vmap(spmdgrad.grad(loss), in_axes=(None, 0, 0), axis_name="b")
total = spmdgrad.vmap(spmdgrad.grad(loss, reduce_axes=("b",)), in_axes=(None, 0, 0),
                      out_axes=None, axis_name="b")
per_example_jit = spmdgrad.jit(per_example)
total_jit = spmdgrad.jit(total)


def _check(got, ref, what):
    for k in ref:
        g = np.asarray(got[k])
        if g.dtype != np.float32:
            raise AssertionError(f"{what}: gradient {k} has dtype {g.dtype}, expected float32")
        np.testing.assert_allclose(g, ref[k], rtol=2e-3, atol=2e-5, err_msg=f"{what}: {k}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--peers", action="store_true", help="also run JAX and torch (dev-only venvs)")
    args = ap.parse_args()
    print_environment("bench_cnn: conv-relu-maxpool-dense, 28x28x1, float32")
    params, x, y = make_problem(64)
    ref = numpy_per_example(params, x, y)
    for f, what in ((per_example, "per-example"), (per_example_jit, "per-example jit")):
        _check(f(params, x, y), ref, what)
    t = interleaved_medians({"numpy": lambda: numpy_per_example(params, x, y),
                             "spmdgrad": lambda: per_example(params, x, y),
                             "spmdgrad_jit": lambda: per_example_jit(params, x, y)},
                            repeat=args.repeat)
    print("\n(a) per-example gradients, B=64")
    for k in ("numpy", "spmdgrad", "spmdgrad_jit"):
        print(f"  {k:14s} {fmt_ms(t[k])} (min {fmt_ms(t[k + '_min'])})   ratio of medians to "
              f"numpy {t[k] / t['numpy']:5.2f}")

    params, x, y = make_problem(256, seed=1)
    ref = numpy_total(params, x, y)
    for f, what in ((total, "total"), (total_jit, "total jit")):
        _check(f(params, x, y), ref, what)
    t = interleaved_medians({"numpy": lambda: numpy_total(params, x, y),
                             "spmdgrad": lambda: total(params, x, y),
                             "spmdgrad_jit": lambda: total_jit(params, x, y)},
                            repeat=args.repeat)
    print("\n(b) total gradients, B=256")
    for k in ("numpy", "spmdgrad", "spmdgrad_jit"):
        print(f"  {k:14s} {fmt_ms(t[k])} (min {fmt_ms(t[k + '_min'])})   ratio of medians to "
              f"numpy {t[k] / t['numpy']:5.2f}")

    if args.peers:  # each in its own venv and run, after the rounds above (not interleaved)
        labels = {"per_example_jit": "per-example jit(vmap(grad))", "total_jit": "total jit(grad)",
                  "per_example_func": "per-example torch.func vmap(grad)",
                  "total_backward": "total backward(), 1 thread"}
        for name in ("jax", "torch"):
            res = run_peer(name, "cnn.py", [name, args.repeat])
            if isinstance(res, str):
                print(f"\npeer {name}: {res}")
                continue
            print(f"\npeer {name} {res.pop('version')}:")
            for k, v in res.items():
                print(f"  {labels[k]:36s} {fmt_ms(v)}")


if __name__ == "__main__":
    main()
