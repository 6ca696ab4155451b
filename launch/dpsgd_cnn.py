"""DP-SGD of a small CNN on scikit-learn's digits with spmdgrad.clipped_grad.

    spmdrun -n 2 launch/dpsgd_cnn.py
    spmdrun -n 2 launch/dpsgd_cnn.py --epsilon 3 --delta 1e-5 --sampling shuffle
    python launch/dpsgd_cnn.py                    # one process, same program

The model is conv 3x3 (1 -> 8 channels, SAME) + bias, ReLU, 2x2 max pooling and a
dense layer to 10 classes, on 8x8x1 images (NHWC). The training loop, the sampling
(Poisson by default, or shuffled batches, stated as in launch/dpsgd.py), the shared-seed
noise and the accounting are launch/dpsgd.py's: ``clipped_grad`` inside ``vmap``
over the examples inside ``pmap`` over the ranks. The dense layer's norms are ghost
norms; the convolution kernel's per-example gradient is formed per example (it is
small: 72 numbers).
"""
import numpy as np

import spmdgrad.numpy as jnp
from spmdgrad import lax, nn, pmap, vmap
from spmdgrad.lax import psum
from spmdgrad.mpi import process_count, process_index

try:  # the data loading and the DP-SGD loop are shared with the other demos
    from dpsgd import parse_args, train
    from train_digits import load
except ImportError:  # run from another directory
    import os
    import sys
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from dpsgd import parse_args, train
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


def main():
    args = parse_args(__doc__, epochs=15, lr=0.5)
    rank, nranks = process_index(), process_count()
    n_test = 360 - 360 % nranks
    Xtr, Ytr, Xte, Yte = load(n_test, args.seed)
    params = train(args, cnn, init_params(args.seed), Xtr, Ytr, 5)

    count_correct = pmap(
        lambda params, x, y: psum(jnp.sum(jnp.argmax(vmap(cnn, (None, 0))(params, x), axis=1)
                                          == jnp.argmax(y, axis=1)), 'dev'),
        axis_name='dev', in_axes=(None, 0, 0), out_axes=None)
    share = n_test // nranks
    sl = slice(rank * share, (rank + 1) * share)
    acc = float(count_correct(params, Xte[sl][None], Yte[sl][None])) / n_test
    if rank == 0:
        print(f"test accuracy: {acc:.4f}", flush=True)


if __name__ == "__main__":
    main()
