"""DP-SGD on scikit-learn's digits with spmdgrad.clipped_grad, data-parallel over ranks.

    spmdrun -n 2 launch/dpsgd.py                              # sigma 1.0, Poisson sampling
    spmdrun -n 2 launch/dpsgd.py --epsilon 3 --delta 1e-5     # sigma calibrated to the budget
    python launch/dpsgd.py --sampling shuffle                 # one process, same program

Each step, inside ``vmap`` over the examples ('batch') inside ``pmap`` over the ranks
('dev'), ``clipped_grad(loss, C, 'batch', reduce_axes=('dev',))`` returns
``sum_i min(1, C / ||g_i||) g_i`` over the whole global batch: ghost norms, no
per-example copies of the weights, and one fused Allreduce. Gaussian noise
``N(0, (sigma C)^2)`` is added from a seed every rank shares (``privacy.add_noise``),
so the replicas stay bitwise identical without communicating it.

Sampling, stated honestly:

- ``--sampling poisson`` (default): every step includes each training example
  independently with probability ``q = batch / N``; the batch size varies. This is
  the sampling the accountant analyses, so the printed epsilon is a guarantee (RDP
  accountant of the ``dp-accounting`` package, the optional 'dp' extra).
- ``--sampling shuffle``: fixed-size batches from a shuffle per epoch. The printed
  epsilon is then the Poisson analysis applied to shuffled batches, which is common
  practice but *not* a proof for this sampling.

``--batch`` is the global (expected) batch; each rank gets ``batch / ranks`` examples
(``-n`` does not grow the batch). Poisson batches are split over the ranks and padded
with examples of weight 0, which contribute exactly zero.
"""
import argparse
import math
import time

import numpy as np

import spmdgrad.numpy as jnp
from spmdgrad import clipped_grad, nn, pmap, privacy, vmap
from spmdgrad.lax import psum
from spmdgrad.mpi import process_count, process_index
from spmdgrad.tree_util import tree_map

try:  # the data and model are shared with the plain training demo
    from train_digits import init_params, load, mlp
except ImportError:  # run from another directory
    import os
    import sys
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from train_digits import init_params, load, mlp


def parse_args(doc, epochs, lr):
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=epochs)
    ap.add_argument("--batch", type=int, default=128, help="global (expected) batch size")
    ap.add_argument("--lr", type=float, default=lr)
    ap.add_argument("--clip", type=float, default=1.0, help="per-example norm bound C")
    budget = ap.add_mutually_exclusive_group()
    budget.add_argument("--sigma", type=float, help="noise multiplier (default 1.0)")
    budget.add_argument("--epsilon", type=float, help="target epsilon: calibrate sigma to it")
    ap.add_argument("--delta", type=float, default=1e-5)
    ap.add_argument("--sampling", choices=("poisson", "shuffle"), default="poisson")
    ap.add_argument("--seed", type=int, default=0)
    return ap.parse_args()


def batches(n, args, nranks, rng):
    """Per step, each rank's example indices and weights (the same draw on every rank)."""
    if args.sampling == "shuffle":
        if args.batch % nranks:
            raise SystemExit(f"--batch {args.batch} must be a multiple of the {nranks} ranks "
                             "with --sampling shuffle")
        perm = rng.permutation(n)
        for j in range(n // args.batch):
            chosen = perm[j * args.batch:(j + 1) * args.batch]
            yield chosen.reshape(nranks, -1), np.ones((nranks, args.batch // nranks))
        return
    for _ in range(n // args.batch):           # an epoch: N/batch steps of expected size batch
        chosen = np.flatnonzero(rng.random(n) < args.batch / n)
        per = max(1, math.ceil(len(chosen) / nranks))
        idx = np.zeros(per * nranks, np.int64)  # padding: example 0 with weight 0
        w = np.zeros(per * nranks)
        idx[:len(chosen)], w[:len(chosen)] = chosen, 1.0
        yield idx.reshape(nranks, per), w.reshape(nranks, per)


def noise_multiplier(args, n, steps):
    if args.epsilon is None:
        return 1.0 if args.sigma is None else args.sigma
    return privacy.noise_multiplier_for(args.epsilon, args.delta, args.batch / n, steps)


def report_epsilon(args, sigma, n, steps):
    try:
        eps = privacy.epsilon(sigma, args.batch / n, steps, args.delta)
    except ImportError as err:
        return f"epsilon: not computed ({err})"
    how = "" if args.sampling == "poisson" else " (Poisson analysis applied to shuffled batches)"
    return f"(epsilon = {eps:.3f}, delta = {args.delta:g})-DP for sigma = {sigma:.4f}{how}"


def train(args, model, params, Xtr, Ytr, epochs_print):
    """The DP-SGD loop shared by the MLP and CNN demos; returns the trained parameters."""
    rank, nranks = process_index(), process_count()

    def loss(p, x, y, w):
        return w * -jnp.sum(y * nn.log_softmax(model(p, x)))

    per_rank = vmap(clipped_grad(loss, args.clip, "batch", reduce_axes=("dev",)),
                    in_axes=(None, 0, 0, 0), axis_name="batch", out_axes=None)
    dp_grad = pmap(per_rank, axis_name="dev", in_axes=(None, 0, 0, 0), out_axes=None)

    n = len(Xtr)
    steps = args.epochs * (n // args.batch)
    sigma = noise_multiplier(args, n, steps)
    data_rng = np.random.default_rng(args.seed + 1)   # the same batches on every rank
    step = 0
    start = time.perf_counter()
    for epoch in range(args.epochs):
        for idx, w in batches(n, args, nranks, data_rng):
            mine = idx[rank]
            total = dp_grad(params, Xtr[mine][None], Ytr[mine][None], w[rank][None])
            noisy = privacy.add_noise(total, sigma, args.clip, seed=(args.seed, step))
            params = tree_map(lambda p, g: p - args.lr * g / args.batch, params, noisy)
            step += 1
        if rank == 0 and (epoch + 1) % epochs_print == 0:
            print(f"epoch {epoch + 1}/{args.epochs}", flush=True)
    elapsed = time.perf_counter() - start
    if rank == 0:
        print(f"ranks: {nranks}, global batch: {args.batch} ({args.sampling} sampling), "
              f"clip C={args.clip}, {1e3 * elapsed / max(step, 1):.1f} ms/step", flush=True)
        print(report_epsilon(args, sigma, n, step), flush=True)
    return params


def main():
    args = parse_args(__doc__, epochs=30, lr=0.5)
    rank, nranks = process_index(), process_count()
    n_test = 360 - 360 % nranks
    Xtr, Ytr, Xte, Yte = load(n_test, args.seed)
    params = train(args, mlp, init_params([64, 64, 10], args.seed), Xtr, Ytr, 10)

    count_correct = pmap(
        lambda params, x, y: psum(jnp.argmax(mlp(params, x)) == jnp.argmax(y), 'dev'),
        axis_name='dev', in_axes=(None, 0, 0), out_axes=None)
    share = n_test // nranks
    sl = slice(rank * share, (rank + 1) * share)
    acc = float(count_correct(params, Xte[sl], Yte[sl])) / n_test
    if rank == 0:
        print(f"test accuracy: {acc:.4f}", flush=True)


if __name__ == "__main__":
    main()
