"""Peer half of bench_overhead.py: ``<python> overhead.py autograd|torch [repeat]``.

Prints one JSON line: seconds per call of grad(chain), grad(single) and, for torch,
forward-only chain, measured the same way as spmdgrad's side.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from _chain import N_OPS, chain, single  # noqa: E402
from _common import interleaved_medians  # noqa: E402

which = sys.argv[1]
repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 9
out = {"n_ops": N_OPS}
if which == "autograd":
    import autograd
    import autograd.numpy as anp
    import numpy as np
    x = np.array([0.3, -0.2, 0.5])
    g_chain = autograd.grad(lambda x: chain(anp, x))
    g_single = autograd.grad(lambda x: single(anp, x))
    from importlib.metadata import version
    out["version"] = version("autograd")
    out.update(interleaved_medians({"grad_chain": lambda: g_chain(x),
                                    "grad_single": lambda: g_single(x)}, repeat,
                                   number={"grad_chain": 20, "grad_single": 500}))
elif which == "torch":
    import torch
    torch.set_num_threads(1)
    x0 = torch.tensor([0.3, -0.2, 0.5], dtype=torch.float64)

    def g_of(f):
        def run():
            x = x0.clone().requires_grad_(True)
            (g,) = torch.autograd.grad(f(torch, x), x)
            return g
        return run
    out["version"] = torch.__version__
    gf = torch.func.grad(lambda x: chain(torch, x))
    vf = torch.func.vmap(lambda x: chain(torch, x))
    xb = x0.repeat(8, 1)
    out.update(interleaved_medians({
        "grad_chain": g_of(lambda t, x: chain(t, x)),
        "grad_single": g_of(lambda t, x: single(t, x)),
        "func_grad_chain": lambda: gf(x0),
        "vmap_chain_b8": lambda: vf(xb),
    }, repeat, number={"grad_chain": 20, "grad_single": 500, "func_grad_chain": 20,
                       "vmap_chain_b8": 20}))
else:
    raise SystemExit(f"unknown peer {which!r}")
print(json.dumps(out))
