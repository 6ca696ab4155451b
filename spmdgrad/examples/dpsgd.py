"""DP-SGD on scikit-learn's digits: per-example clipping, then one total gradient.

    spmdrun -n 2 -m spmdgrad.examples.dpsgd
    spmdrun -n 2 -m spmdgrad.examples.dpsgd --sigma 0.8 --clip 1.0 --epochs 20
    python -m spmdgrad.examples.dpsgd                    # one process, same program

Each rank holds one pmap shard of every batch (``shard(..., shards=1)``); inside
it, ``vmap`` over the axis 'batch' runs the examples. Step by step:

1. ``grad(loss)`` inside both maps gives **per-example** gradients (no
   reduce_axes: they stay local), from which each example's clipping factor
   ``min(1, C / ||g_i||)`` is computed.
2. ``grad(scaled loss, reduce_axes=('batch', 'dev'))`` then gives the **total**
   of the clipped gradients over the batch and over all ranks, with one fused
   Allreduce.
3. Gaussian noise ``N(0, (sigma C)^2)`` is added. Every rank draws it from the
   same seed, so the replicas stay identical without communicating it.
"""
import argparse
import time

import numpy as np

import spmdgrad.numpy as jnp
from spmdgrad import grad, nn, pmap, shard, vmap
from spmdgrad.examples.digits import init_params, load, mlp
from spmdgrad.examples.progress import Progress
from spmdgrad.lax import psum
from spmdgrad.mpi import process_count, process_index
from spmdgrad.tree_util import tree_leaves, tree_map


def loss(params, x, y):
    return -jnp.sum(y * nn.log_softmax(mlp(params, x)))


def clipped_total(params, x, y, clip):
    """For one example (inside vmap 'batch' inside pmap 'dev'): its contribution to
    the total clipped gradient over the batch and all ranks."""
    g = grad(loss)(params, x, y)                               # per-example, local
    norm = jnp.sqrt(sum(jnp.sum(leaf ** 2) for leaf in tree_leaves(g)))
    scale = jnp.minimum(1.0, clip / (norm + 1e-12))            # a constant below
    return grad(lambda p: scale * loss(p, x, y), reduce_axes=('batch', 'dev'))(params)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="spmdgrad.examples.dpsgd",
                                 description=__doc__.splitlines()[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch-per-rank", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.5)
    ap.add_argument("--clip", type=float, default=1.0, help="per-example norm bound C")
    ap.add_argument("--sigma", type=float, default=0.5, help="noise multiplier")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    rank, nranks = process_index(), process_count()
    n_test = 360 - 360 % nranks
    Xtr, Ytr, Xte, Yte = load(n_test, args.seed)
    B = args.batch_per_rank * nranks
    params = init_params([64, 64, 10], args.seed)

    per_rank = vmap(lambda p, x, y: clipped_total(p, x, y, args.clip), in_axes=(None, 0, 0),
                    axis_name='batch', out_axes=None)
    dp_grad = pmap(per_rank, axis_name='dev', in_axes=(None, 0, 0), out_axes=None)
    count_correct = pmap(
        lambda params, x, y: psum(jnp.argmax(mlp(params, x)) == jnp.argmax(y), 'dev'),
        axis_name='dev', in_axes=(None, 0, 0), out_axes=None)

    data_rng = np.random.default_rng(args.seed + 1)   # same shuffles on every rank
    noise_rng = np.random.default_rng(args.seed + 2)  # same noise on every rank
    steps_per_epoch = len(Xtr) // B
    progress = Progress(args.epochs * steps_per_epoch, steps_per_epoch, enabled=rank == 0)
    start = time.perf_counter()
    for _ in range(args.epochs):
        perm = data_rng.permutation(len(Xtr))
        for j in range(steps_per_epoch):
            batch = perm[j * B:(j + 1) * B]
            # One pmap shard per rank, holding this rank's examples: shape (1, b, ...).
            total = dp_grad(params, shard(Xtr[batch], shards=1), shard(Ytr[batch], shards=1))
            noisy = tree_map(lambda t: (t + args.sigma * args.clip *
                                        noise_rng.standard_normal(np.shape(t))) / B, total)
            params = tree_map(lambda p, g: p - args.lr * g, params, noisy)
            progress.update()
    elapsed = time.perf_counter() - start
    progress.close()

    acc = float(count_correct(params, shard(Xte), shard(Yte))) / n_test
    if rank == 0:
        print(f"ranks: {nranks}, global batch: {B}, clip C={args.clip}, sigma={args.sigma}, "
              f"{1e3 * elapsed / (args.epochs * steps_per_epoch):.1f} ms/step", flush=True)
        print(f"test accuracy: {acc:.4f}", flush=True)
    return acc


if __name__ == "__main__":
    main()
