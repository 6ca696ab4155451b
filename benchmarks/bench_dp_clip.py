"""DP-SGD's clipped total gradient: clipped_grad against the plain total and vmap(grad)+clip.

Commands (from the repository root)::

    .venv/bin/python benchmarks/bench_dp_clip.py                  # B = 256 and 1024
    .venv/bin/python benchmarks/bench_dp_clip.py --batch 256 --repeat 7

Problem: MLP 784-512-512-10, ReLU, softmax cross-entropy, float32, a batch of B
examples from a fixed seed. Variants, all inside ``vmap`` over the batch:

- ``clipped``: ``clipped_grad(loss, C, 'b')`` (ghost norms, then the clipped total);
- ``total``: ``grad(loss, reduce_axes=('b',))``: the plain total gradient, no clipping;
- ``vmap_clip``: ``vmap(grad(loss))`` per-example gradients, their norms, clip, sum.

Peer (dev-only, if its venv exists): torch with Opacus, its vectorized per-sample
gradients and its ghost clipping (``benchmarks/_peers/dp_opacus.py``, one thread),
timed round-robin in its own process right after spmdgrad's rounds for the same B.

Times are round-robin medians (each round runs every variant once); the printed
ratios are ``clipped / total`` and ``clipped / vmap_clip``. Peak memory is the
tracemalloc peak of one call of each variant (NumPy's allocations are traced), so
it counts the arrays each variant creates, not the interpreter.
"""
from __future__ import annotations

import argparse
import os
import sys
import tracemalloc

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import _common  # noqa: E402
from _common import fmt_ms, interleaved_medians, print_environment, run_peer  # noqa: E402

# Opacus (torch), a dev-only peer: a venv named opacus-venv in the peers folder.
_common.PEER_VENVS.setdefault("opacus", os.path.join(_common.PEERS, "opacus-venv"))

SIZES = (784, 512, 512, 10)
C = 1.0


def make_problem(batch, seed=0):
    rng = np.random.default_rng(seed)
    params = []
    for m, n in zip(SIZES[:-1], SIZES[1:], strict=True):
        params.append(((rng.standard_normal((m, n)) / np.sqrt(m)).astype(np.float32),
                       (0.1 * rng.standard_normal(n)).astype(np.float32)))
    X = rng.standard_normal((batch, SIZES[0])).astype(np.float32)
    Y = np.eye(SIZES[-1], dtype=np.float32)[rng.integers(0, SIZES[-1], batch)]
    return params, X, Y


def variants():
    import spmdgrad as sg
    import spmdgrad.numpy as jnp
    from spmdgrad import nn
    from spmdgrad.tree_util import tree_leaves, tree_map

    def loss(params, x, y):
        for W, b in params[:-1]:
            x = nn.relu(x @ W + b)
        W, b = params[-1]
        return -jnp.sum(y * nn.log_softmax(x @ W + b))

    clipped = sg.vmap(sg.clipped_grad(loss, C, "b"), in_axes=(None, 0, 0), axis_name="b",
                      out_axes=None)
    total = sg.vmap(sg.grad(loss, reduce_axes=("b",)), in_axes=(None, 0, 0), axis_name="b",
                    out_axes=None)
    per_example = sg.vmap(sg.grad(loss), in_axes=(None, 0, 0), axis_name="b")

    def vmap_clip(params, X, Y):
        g = per_example(params, X, Y)
        leaves = tree_leaves(g)
        B = leaves[0].shape[0]
        sq = sum(np.einsum("bi,bi->b", x.reshape(B, -1), x.reshape(B, -1)) for x in leaves)
        f = np.minimum(1.0, C / np.maximum(np.sqrt(sq), 1e-30)).astype(np.float32)
        return tree_map(lambda x: np.tensordot(f, x, 1), g)
    return {"clipped": clipped, "total": total, "vmap_clip": vmap_clip}


def peak_bytes(fn, *args):
    fn(*args)
    tracemalloc.start()
    try:
        fn(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, nargs="*", default=[256, 1024])
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--no-opacus", dest="opacus", action="store_false",
                    help="skip the Opacus peer even if its venv exists")
    args = ap.parse_args()
    from spmdgrad.tree_util import tree_leaves
    print_environment("bench_dp_clip")
    fns = variants()
    for B in args.batch:
        params, X, Y = make_problem(B)
        a = fns["clipped"](params, X, Y)
        b = fns["vmap_clip"](params, X, Y)
        err = max(float(np.max(np.abs(np.asarray(p) - np.asarray(q))))
                  for p, q in zip(tree_leaves(a), tree_leaves(b), strict=True))
        peaks = {k: peak_bytes(f, params, X, Y) for k, f in fns.items()}
        med = interleaved_medians({k: (lambda f=f: f(params, X, Y)) for k, f in fns.items()},
                                  repeat=args.repeat)
        print(f"\nB={B} (float32, MLP {'-'.join(map(str, SIZES))}); max |clipped - vmap_clip| "
              f"= {err:.2e}")
        for k in fns:
            print(f"  {k:10s} median {fmt_ms(med[k])}  (min {fmt_ms(med[k + '_min'])})  "
                  f"peak {peaks[k] / 2**20:8.1f} MiB")
        print(f"  time   clipped/total {med['clipped'] / med['total']:.2f}x   "
              f"clipped/vmap_clip {med['clipped'] / med['vmap_clip']:.2f}x")
        print(f"  memory clipped/total {peaks['clipped'] / peaks['total']:.2f}x   "
              f"vmap_clip/clipped {peaks['vmap_clip'] / peaks['clipped']:.1f}x")
        if args.opacus:
            peer = run_peer("opacus", "dp_opacus.py", (B, args.repeat), timeout=3600)
            if isinstance(peer, str):
                print(f"  opacus: {peer}")
                continue
            sums = [float(np.sum(np.asarray(x, np.float64))) for x in tree_leaves(a)]
            agree = np.allclose(sums, peer["leaf_sums"], rtol=1e-3, atol=1e-3)
            print(f"  opacus {peer['opacus']} (torch {peer['torch']}, 1 thread; ghost vs vectorized "
                  f"max diff {peer['max_abs_diff']:.1e}; leaf sums agree with clipped: {agree}):")
            for k in ("vectorized", "ghost"):
                print(f"    {k:10s} median {fmt_ms(peer[k])}  (min {fmt_ms(peer[k + '_min'])})  "
                      f"clipped/{k} {med['clipped'] / peer[k]:.2f}x (separate process)")


if __name__ == "__main__":
    main()
