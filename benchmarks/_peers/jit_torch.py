"""Peer half of bench_jit.py: ``<torch python> jit_torch.py N_OPS`` (a ``PeerServer``).

torch eager (one intra-op thread) on the same problems and data as spmdgrad's rows:
``backward()`` of the N_OPS scalar chain (float64, size 3), of the batch-summed MLP
784-128-10 loss at B=64 and B=256 and of the 8x256 MLP's loss at B=1024 (float32), and
per-example gradients with ``torch.func.vmap(grad)`` at B=256. Every result is checked
against the hand-written NumPy gradients before anything is timed; the chain's
gradient is sent back for the caller to check against spmdgrad's.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import _deep  # noqa: E402
import numpy as np  # noqa: E402
from _chain import chain  # noqa: E402
from _common import serve  # noqa: E402
from _mlp import make_problem, numpy_batch_grads, numpy_per_example_grads  # noqa: E402

import torch  # noqa: E402

torch.set_num_threads(1)
torch.set_num_interop_threads(1)
n_ops = int(sys.argv[1])


def check(got, want, rtol, atol, what):
    for g, w in zip(got, want, strict=True):
        g = g.detach().numpy()
        assert g.dtype == np.float32, f"{what}: dtype {g.dtype}"
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=what)


def leaves(arrays):
    return [torch.from_numpy(a.copy()).requires_grad_(True) for a in arrays]


def backward_of(loss, params, *data):
    """One eager step: clear the grads, run the loss, ``backward()``, return the grads."""
    def step():
        for p in params:
            p.grad = None
        loss(params, *data).backward()
        return [p.grad for p in params]
    return step


def mlp_batch_loss(params, x, y):
    W1, b1, W2, b2 = params
    h = torch.clamp(x @ W1 + b1, min=0.0)
    z = h @ W2 + b2
    s = z - z.amax(dim=1, keepdim=True)
    return -torch.sum(y * (s - torch.log(torch.sum(torch.exp(s), dim=1, keepdim=True))))


def mlp_loss(params, x, y):  # one example, for torch.func
    W1, b1, W2, b2 = params
    h = torch.clamp(x @ W1 + b1, min=0.0)
    z = h @ W2 + b2
    s = z - torch.max(z)
    return -torch.sum(y * (s - torch.log(torch.sum(torch.exp(s)))))


def deep_loss(params, x, y):
    ws, bs = params[:_deep.DEPTH], params[_deep.DEPTH:]
    h = x
    for w, b in zip(ws[:-1], bs[:-1], strict=True):
        h = torch.clamp(h @ w + b, min=0.0)
    return 0.5 * torch.sum((h @ ws[-1] + bs[-1] - y) ** 2)


variants = {}
x_chain = torch.tensor([0.3, -0.2, 0.5], dtype=torch.float64, requires_grad=True)
g_chain = backward_of(lambda p, x: chain(torch, p[0], n_ops), [x_chain], None)
info = {"version": torch.__version__, "threads": torch.get_num_threads(),
        "check_chain": g_chain()[0].tolist()}
variants["torch_grad_chain"] = (g_chain, 20)
for B in (64, 256):
    params, X, Y = make_problem(batch=B)
    step = backward_of(mlp_batch_loss, leaves(params), torch.from_numpy(X), torch.from_numpy(Y))
    check(step(), numpy_batch_grads(params, X, Y), 2e-4, 2e-5, f"MLP total gradient B={B}")
    variants[f"torch_total_B{B}"] = (step, 5)
params, X, Y = make_problem(batch=256)
tp, tX, tY = [torch.from_numpy(p) for p in params], torch.from_numpy(X), torch.from_numpy(Y)
pe = torch.func.vmap(torch.func.grad(mlp_loss), in_dims=(None, 0, 0))
check(pe(tp, tX, tY), numpy_per_example_grads(params, X, Y), 1e-3, 1e-5, "per-example gradients")
variants["torch_pe_B256"] = (lambda: pe(tp, tX, tY), 1)
(ws, bs), dx, dy = _deep.make_problem()
step = backward_of(deep_loss, leaves(ws + bs), torch.from_numpy(dx), torch.from_numpy(dy))
_deep.check(g.numpy() for g in step())
variants["torch_deep"] = (step, 1)
serve(info, variants)
