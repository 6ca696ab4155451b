"""Peer half of bench_dp_step.py --scaling: torch eager at 1 rank, DDP (gloo) at 2.

``<torch python> dp_torch.py FOLDER TAG REPEAT WORLD RANK PORT``: one process of a job run
by ``_turns.drive``. WORLD=1 is torch eager (no process group); WORLD>1 is
``DistributedDataParallel`` over the gloo backend, one process per rank started by the
driver, rendezvous ``tcp://127.0.0.1:PORT``. The same MLP step as spmdgrad's rows
(benchmarks/_mlp.py, float32, 256 examples per rank, rank r's data from seed 100 + r):
clear the grads, forward, ``backward()`` (DDP averages the gradients across ranks in its
bucketed allreduce), then ``p - lr * grad`` for every parameter. One intra-op thread.
The gradient is checked against hand NumPy gradients summed over the ranks before timing.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import numpy as np  # noqa: E402
from _mlp import make_problem, numpy_batch_grads  # noqa: E402
from _turns import job_rounds  # noqa: E402

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402

folder, tag, repeat, world, rank, port = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:7])
BATCH, LR = 256, 0.1
torch.set_num_threads(1)
torch.set_num_interop_threads(1)


class MLP(torch.nn.Module):
    def __init__(self, params):
        super().__init__()
        self.W1, self.b1, self.W2, self.b2 = (torch.nn.Parameter(torch.from_numpy(p.copy())) for p in params)

    def forward(self, x, y):  # the local batch's mean loss: DDP's average makes it the global mean
        h = torch.clamp(x @ self.W1 + self.b1, min=0.0)
        z = h @ self.W2 + self.b2
        s = z - z.amax(dim=1, keepdim=True)
        lse = torch.log(torch.sum(torch.exp(s), dim=1, keepdim=True))
        return -torch.sum(y * (s - lse)) / x.shape[0]


params, _, _ = make_problem(batch=1)
X_np, Y_np = make_problem(batch=BATCH, seed=100 + rank)[1:]
X, Y = torch.from_numpy(X_np), torch.from_numpy(Y_np)
model = MLP(params)
if world > 1:
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", world_size=world, rank=rank)
    net = torch.nn.parallel.DistributedDataParallel(model)
else:
    net = model


def grads():
    net.zero_grad(set_to_none=True)
    net(X, Y).backward()
    return [p.grad for p in model.parameters()]


def step():
    gs = grads()
    with torch.no_grad():
        return [p - LR * g for p, g in zip(model.parameters(), gs)]


# The reference: hand NumPy gradients of the local batch, summed over the ranks, / global batch.
ref = [torch.from_numpy(g) for g in numpy_batch_grads(params, X_np, Y_np)]
if world > 1:
    for g in ref:
        dist.all_reduce(g)
for got, want in zip(grads(), ref, strict=True):
    assert got.dtype == torch.float32, got.dtype
    np.testing.assert_allclose(got.numpy(), want.numpy() / (BATCH * world), rtol=1e-4, atol=1e-6)

if world > 1:
    def slowest(t):
        buf = torch.tensor([t], dtype=torch.float64)
        dist.all_reduce(buf, op=dist.ReduceOp.MAX)
        return buf.item()
    job_rounds(folder, tag, rank, {"torch": step}, repeat, barrier=dist.barrier, slowest=slowest,
               info={"version": torch.__version__, "backend": "gloo", "threads": torch.get_num_threads()})
    dist.barrier()  # both ranks are done before either closes its connections
    dist.destroy_process_group()
else:
    job_rounds(folder, tag, rank, {"torch": step}, repeat,
               info={"version": torch.__version__, "threads": torch.get_num_threads()})
