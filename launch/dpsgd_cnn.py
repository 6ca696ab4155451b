"""DP-SGD of a small CNN on scikit-learn's digits, data-parallel over ranks.

    spmdrun -n 2 launch/dpsgd_cnn.py
    spmdrun -n 2 launch/dpsgd_cnn.py --sigma 0.8 --clip 1.0 --epochs 20
    python launch/dpsgd_cnn.py                    # one process, same program

The model is conv 3x3 (1 -> 8 channels, SAME) + bias, ReLU, 2x2 max pooling and a
dense layer to 10 classes, on 8x8x1 images (NHWC). Each rank holds one shard of
every batch; inside it, ``vmap`` over the axis 'batch' runs the examples:

1. ``grad(loss)`` inside both maps gives each example's gradient (the kernel
   gradient of the convolution is one grouped contraction over the batch), from
   which its clipping factor ``min(1, C / ||g_i||)`` is computed;
2. ``grad(scaled loss, reduce_axes=('batch', 'dev'))`` gives the total of the
   clipped gradients over the batch and all ranks, with one fused Allreduce;
3. Gaussian noise ``N(0, (sigma C)^2)`` is added, drawn on every rank from the
   same seed, so the replicas stay identical without communicating it.
"""
import argparse
import time

import numpy as np

import spmdgrad.numpy as jnp
from spmdgrad import grad, lax, nn, pmap, vmap
from spmdgrad.lax import psum
from spmdgrad.mpi import process_count, process_index
from spmdgrad.tree_util import tree_leaves, tree_map

try:  # the data loading is shared with the plain training demo
    from train_digits import load
except ImportError:  # run from another directory
    import os
    import sys
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from train_digits import load

CHANNELS = 8
DN = ("NHWC", "HWIO", "NHWC")


def init_params(seed):
    rng = np.random.default_rng(seed)  # same seed: same parameters on every rank
    return {"conv": rng.standard_normal((3, 3, 1, CHANNELS)) * np.sqrt(2.0 / 9),
            "b": np.zeros(CHANNELS),
            "dense": rng.standard_normal((4 * 4 * CHANNELS, 10)) * np.sqrt(1.0 / (16 * CHANNELS)),
            "bd": np.zeros(10)}


def cnn(params, x):
    """Logits of one 8x8 image given as 64 pixels."""
    h = lax.conv_general_dilated(jnp.reshape(x, (1, 8, 8, 1)), params["conv"], (1, 1), "SAME",
                                 dimension_numbers=DN)
    h = nn.relu(h + params["b"])
    h = lax.reduce_window(h, -np.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
    return jnp.reshape(h, (-1,)) @ params["dense"] + params["bd"]


def loss(params, x, y):
    return -jnp.sum(y * nn.log_softmax(cnn(params, x)))


def clipped_total(params, x, y, clip):
    """For one example (inside vmap 'batch' inside pmap 'dev'): its contribution to
    the total clipped gradient over the batch and all ranks."""
    g = grad(loss)(params, x, y)                               # per-example, local
    norm = jnp.sqrt(sum(jnp.sum(leaf ** 2) for leaf in tree_leaves(g)))
    scale = jnp.minimum(1.0, clip / (norm + 1e-12))            # a constant below
    return grad(lambda p: scale * loss(p, x, y), reduce_axes=('batch', 'dev'))(params)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--batch-per-rank", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.5)
    ap.add_argument("--clip", type=float, default=1.0, help="per-example norm bound C")
    ap.add_argument("--sigma", type=float, default=0.5, help="noise multiplier")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    rank, nranks = process_index(), process_count()
    n_test = 360 - 360 % nranks
    Xtr, Ytr, Xte, Yte = load(n_test, args.seed)
    b = args.batch_per_rank
    B = b * nranks
    params = init_params(args.seed)

    per_rank = vmap(lambda p, x, y: clipped_total(p, x, y, args.clip), in_axes=(None, 0, 0),
                    axis_name='batch', out_axes=None)
    dp_grad = pmap(per_rank, axis_name='dev', in_axes=(None, 0, 0), out_axes=None)
    count_correct = pmap(
        lambda params, x, y: psum(jnp.sum(jnp.argmax(vmap(cnn, (None, 0))(params, x), axis=1)
                                          == jnp.argmax(y, axis=1)), 'dev'),
        axis_name='dev', in_axes=(None, 0, 0), out_axes=None)

    data_rng = np.random.default_rng(args.seed + 1)   # same shuffles on every rank
    noise_rng = np.random.default_rng(args.seed + 2)  # same noise on every rank
    steps_per_epoch = len(Xtr) // B
    start = time.perf_counter()
    for epoch in range(args.epochs):
        perm = data_rng.permutation(len(Xtr))
        for j in range(steps_per_epoch):
            mine = perm[j * B + rank * b: j * B + (rank + 1) * b]
            # One pmap shard per rank, holding this rank's b examples.
            total = dp_grad(params, Xtr[mine][None], Ytr[mine][None])
            noisy = tree_map(lambda t: (t + args.sigma * args.clip *
                                        noise_rng.standard_normal(np.shape(t))) / B, total)
            params = tree_map(lambda p, g: p - args.lr * g, params, noisy)
        if rank == 0 and (epoch + 1) % 5 == 0:
            print(f"epoch {epoch + 1}/{args.epochs}", flush=True)
    elapsed = time.perf_counter() - start

    share = n_test // nranks
    sl = slice(rank * share, (rank + 1) * share)
    acc = float(count_correct(params, Xte[sl][None], Yte[sl][None])) / n_test
    if rank == 0:
        print(f"ranks: {nranks}, global batch: {B}, clip C={args.clip}, sigma={args.sigma}, "
              f"{1e3 * elapsed / (args.epochs * steps_per_epoch):.1f} ms/step", flush=True)
        print(f"test accuracy: {acc:.4f}", flush=True)


if __name__ == "__main__":
    main()
