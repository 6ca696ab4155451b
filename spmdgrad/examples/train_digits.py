"""Data-parallel training of a small MLP on scikit-learn's bundled digits.

    spmdrun -n 2 -m spmdgrad.examples.train_digits
    spmdrun -n 2 -m spmdgrad.examples.train_digits --epochs 40 --plot loss.png
    python -m spmdgrad.examples.train_digits             # one process, same program

Every rank holds the same parameters and takes its own slice of every batch
(``spmdgrad.shard``): the pmap axis 'dev' runs over all examples of the global
batch, split across the ranks. ``grad(loss, reduce_axes=('dev',))`` turns the
per-example gradients into the total gradient of the batch, with one fused
Allreduce per step, so every rank applies the same SGD update and the replicas
stay bitwise identical. Progress is a live bar on a terminal and one plain line
per epoch in a log.
"""
import argparse
import time

import numpy as np

import spmdgrad.numpy as jnp
from spmdgrad import nn, pmap, shard, value_and_grad
from spmdgrad.examples.digits import init_params, load, missing, mlp
from spmdgrad.examples.progress import Progress
from spmdgrad.lax import psum
from spmdgrad.mpi import process_count, process_index


def main(argv=None):
    ap = argparse.ArgumentParser(prog="spmdgrad.examples.train_digits",
                                 description=__doc__.splitlines()[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch-per-rank", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.3)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--plot", metavar="PNG", help="save the training loss curve (rank 0)")
    args = ap.parse_args(argv)

    rank, nranks = process_index(), process_count()
    n_test = 360 - 360 % nranks                  # the test set splits evenly over the ranks
    Xtr, Ytr, Xte, Yte = load(n_test, args.seed)
    B = args.batch_per_rank * nranks             # global batch
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
    progress = Progress(args.epochs * steps_per_epoch, steps_per_epoch, enabled=rank == 0)
    rng = np.random.default_rng(args.seed + 1)   # same shuffles on every rank
    losses, start = [], time.perf_counter()
    for _ in range(args.epochs):
        perm = rng.permutation(len(Xtr))
        for j in range(steps_per_epoch):
            mine = shard(perm[j * B:(j + 1) * B])   # this rank's slice of the global batch
            loss, g = train_step(params, Xtr[mine], Ytr[mine])
            params = [(W - args.lr * gW, c - args.lr * gc) for (W, c), (gW, gc) in zip(params, g)]
            losses.append(float(loss))
            progress.update(loss=float(np.mean(losses[-steps_per_epoch:])))
    elapsed = time.perf_counter() - start
    progress.close()

    acc = float(count_correct(params, shard(Xte), shard(Yte))) / n_test
    if rank == 0:
        print(f"ranks: {nranks}, steps: {len(losses)}, global batch: {B}, "
              f"{1e3 * elapsed / len(losses):.2f} ms/step", flush=True)
        print(f"final training loss: {np.mean(losses[-steps_per_epoch:]):.4f}", flush=True)
        print(f"test accuracy: {acc:.4f}", flush=True)
        if args.plot:
            plot(losses, nranks, acc, args.plot)
    return acc


def plot(losses, nranks, acc, path):
    try:
        import matplotlib
    except ImportError:
        missing("matplotlib", "--plot")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(losses, lw=1)
    ax.set(xlabel="step", ylabel="training loss", yscale="log",
           title=f"digits MLP, {nranks} rank(s), test accuracy {acc:.3f}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"saved {path}", flush=True)


if __name__ == "__main__":
    main()
