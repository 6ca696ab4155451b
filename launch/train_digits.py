"""Data-parallel training of a small MLP on scikit-learn's bundled digits.

    spmdrun -n 2 launch/train_digits.py
    spmdrun -n 2 launch/train_digits.py --epochs 40 --plot loss.png
    python launch/train_digits.py                 # one process, same program

Every rank holds the same parameters and takes its own slice of every batch:
the pmap axis 'dev' runs over all examples of the global batch, split across
the ranks. ``grad(loss, reduce_axes=('dev',))`` turns the per-example
gradients into the total gradient of the batch, with one fused Allreduce per
step, so every rank applies the same SGD update and the replicas stay
bitwise identical.
"""
import argparse
import time

import numpy as np
from sklearn.datasets import load_digits

import spmdgrad.numpy as jnp
from spmdgrad import nn, pmap, value_and_grad
from spmdgrad.lax import psum
from spmdgrad.mpi import process_count, process_index


def init_params(sizes, seed):
    rng = np.random.default_rng(seed)            # same seed: same parameters on every rank
    return [(rng.standard_normal((m, n)) * np.sqrt(2.0 / m), np.zeros(n))
            for m, n in zip(sizes[:-1], sizes[1:])]


def mlp(params, x):
    for W, b in params[:-1]:
        x = nn.relu(x @ W + b)
    W, b = params[-1]
    return x @ W + b


def load(n_test, seed):
    digits = load_digits()
    X = (digits.data / 16.0).astype(np.float64)
    Y = np.eye(10)[digits.target]
    perm = np.random.default_rng(seed).permutation(len(X))
    test, train = perm[:n_test], perm[n_test:]
    return X[train], Y[train], X[test], Y[test]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch-per-rank", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.3)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--plot", metavar="PNG", help="save the training loss curve (rank 0)")
    args = ap.parse_args()

    rank, nranks = process_index(), process_count()
    n_test = 360 - 360 % nranks                  # the test set splits evenly over the ranks
    Xtr, Ytr, Xte, Yte = load(n_test, args.seed)
    b = args.batch_per_rank
    B = b * nranks                               # global batch
    params = init_params([64, args.hidden, 10], args.seed)

    def example_loss(params, x, y):
        # One example's share of the batch-mean cross-entropy.
        return -jnp.sum(y * nn.log_softmax(mlp(params, x))) / B

    def step(params, x, y):
        loss, g = value_and_grad(example_loss, reduce_axes=('dev',))(params, x, y)
        return psum(loss, 'dev'), g              # g is already the total over all ranks

    train_step = pmap(step, axis_name='dev', in_axes=(None, 0, 0), out_axes=None)
    count_correct = pmap(
        lambda params, x, y: psum(jnp.argmax(mlp(params, x)) == jnp.argmax(y), 'dev'),
        axis_name='dev', in_axes=(None, 0, 0), out_axes=None)

    steps_per_epoch = len(Xtr) // B
    try:
        from tqdm import tqdm
    except ImportError:
        def tqdm(it, **kw):
            return it
    bar = tqdm(range(args.epochs * steps_per_epoch), disable=rank != 0, desc="train",
               unit="step")
    rng = np.random.default_rng(args.seed + 1)   # same shuffles on every rank
    losses, perm, start = [], None, time.perf_counter()
    for it in bar:
        j = it % steps_per_epoch
        if j == 0:
            perm = rng.permutation(len(Xtr))
        mine = perm[j * B + rank * b: j * B + (rank + 1) * b]   # this rank's slice
        loss, g = train_step(params, Xtr[mine], Ytr[mine])
        params = [(W - args.lr * gW, c - args.lr * gc) for (W, c), (gW, gc) in zip(params, g)]
        losses.append(float(loss))
        if j == steps_per_epoch - 1 and rank == 0:
            bar.set_postfix(loss=f"{np.mean(losses[-steps_per_epoch:]):.4f}")
    elapsed = time.perf_counter() - start
    bar.close()

    share = n_test // nranks
    sl = slice(rank * share, (rank + 1) * share)
    acc = float(count_correct(params, Xte[sl], Yte[sl])) / n_test
    if rank == 0:
        print(f"ranks: {nranks}, steps: {len(losses)}, global batch: {B}, "
              f"{1e3 * elapsed / len(losses):.2f} ms/step", flush=True)
        print(f"final training loss: {np.mean(losses[-steps_per_epoch:]):.4f}", flush=True)
        print(f"test accuracy: {acc:.4f}", flush=True)
        if args.plot:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
            fig, ax = plt.subplots(figsize=(6, 3.5))
            ax.plot(losses, lw=1)
            ax.set(xlabel="step", ylabel="training loss", yscale="log",
                   title=f"digits MLP, {nranks} rank(s), test accuracy {acc:.3f}")
            fig.tight_layout()
            fig.savefig(args.plot, dpi=120)
            print(f"saved {args.plot}", flush=True)


if __name__ == "__main__":
    main()
