"""Peer half of bench_dp_clip.py: ``<python> dp_opacus.py B [repeat]`` (torch + Opacus).

The same MLP 784-512-512-10 (ReLU, softmax cross-entropy summed over the batch,
float32) and data as spmdgrad's side. Two Opacus variants of the clipped total
gradient (max_grad_norm C = 1, no noise), timed round-robin:

- ``vectorized``: ``GradSampleModule`` per-sample gradients (B copies), norms, clip, sum;
- ``ghost``: ``GradSampleModuleFastGradientClipping`` (Opacus's ghost clipping: norms
  from the layer inputs and output gradients, then a second backward pass).

Prints one JSON line: median seconds per variant, versions, the largest difference
between the two variants' results (they must agree) and the sums of the clipped
total's leaves (compared with spmdgrad's). Memory is not measured here: torch's
allocations are invisible to tracemalloc, so no comparable figure exists.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import numpy as np  # noqa: E402

from _common import interleaved_medians  # noqa: E402

B = int(sys.argv[1])
repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 9
C = 1.0
SIZES = (784, 512, 512, 10)

import opacus  # noqa: E402
import torch  # noqa: E402
from opacus.grad_sample import GradSampleModule, GradSampleModuleFastGradientClipping  # noqa: E402
from opacus.utils.fast_gradient_clipping_utils import DPLossFastGradientClipping  # noqa: E402


def make_problem(batch, seed=0):
    """Identical to bench_dp_clip.make_problem (same generator calls, same order)."""
    rng = np.random.default_rng(seed)
    params = []
    for m, n in zip(SIZES[:-1], SIZES[1:], strict=True):
        params.append(((rng.standard_normal((m, n)) / np.sqrt(m)).astype(np.float32),
                       (0.1 * rng.standard_normal(n)).astype(np.float32)))
    X = rng.standard_normal((batch, SIZES[0])).astype(np.float32)
    Y = np.eye(SIZES[-1], dtype=np.float32)[rng.integers(0, SIZES[-1], batch)]
    return params, X, Y


def net(params):
    layers = []
    for i, (W, b) in enumerate(params):
        lin = torch.nn.Linear(*W.shape)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W.T))
            lin.bias.copy_(torch.from_numpy(b))
        layers.append(lin)
        if i < len(params) - 1:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


params, X_np, Y_np = make_problem(B)
X, labels = torch.from_numpy(X_np), torch.from_numpy(Y_np.argmax(1))

vec = GradSampleModule(net(params))


def vectorized():
    vec.zero_grad(set_to_none=True)
    loss = torch.nn.functional.cross_entropy(vec(X), labels, reduction="sum")
    loss.backward()
    gs = [p.grad_sample for p in vec.parameters()]
    norms = torch.sqrt(sum(g.reshape(B, -1).pow(2).sum(1) for g in gs))
    f = torch.clamp(C / (norms + 1e-6), max=1.0)
    out = [torch.einsum("b,b...->...", f, g) for g in gs]
    for p in vec.parameters():
        p.grad_sample = None
    return out


ghost_model = GradSampleModuleFastGradientClipping(net(params), max_grad_norm=C, use_ghost_clipping=True,
                                                   loss_reduction="sum")
ghost_opt = opacus.optimizers.DPOptimizerFastGradientClipping(
    torch.optim.SGD(ghost_model.parameters(), lr=0.0), noise_multiplier=0.0, max_grad_norm=C,
    expected_batch_size=B, loss_reduction="sum")
criterion = DPLossFastGradientClipping(ghost_model, ghost_opt,
                                       torch.nn.CrossEntropyLoss(reduction="sum"), "sum")


def ghost():
    ghost_opt.zero_grad(set_to_none=True)
    loss = criterion(ghost_model(X), labels)
    loss.backward()
    return [p.grad.clone() for p in ghost_model.parameters()]


torch.set_num_threads(1)
out = {"opacus": opacus.__version__, "torch": torch.__version__, "threads": 1}
a, b = vectorized(), ghost()
out["max_abs_diff"] = max(float((x - y).abs().max()) for x, y in zip(a, b, strict=True))
out["leaf_sums"] = [float(x.double().sum()) for x in b]  # W1, b1, W2, b2, ...: layout-free check
out.update(interleaved_medians({"vectorized": vectorized, "ghost": ghost}, repeat=repeat))
print(json.dumps(out))
