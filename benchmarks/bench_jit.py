"""jit and the interpreter against hand-written NumPy and the peers (issue 12 targets).

Command (from the repository root)::

    .venv/bin/python benchmarks/bench_jit.py [--repeat 9] [--no-peers]

Every row is a median of *per-round ratios*: each round times the variants one after
the other (round-robin), so load from other processes hits them alike. One BLAS thread
(``OPENBLAS_NUM_THREADS``/``OMP_NUM_THREADS`` default to 1 here; set them to override) and
one intra-op thread for every peer. Variants:

- 48-op scalar chain (sin, *0.9, +0.1, tanh on a size-3 float64 array): ``grad`` and
  ``jit(grad)`` per op, against HIPS autograd's ``grad`` (a subprocess per round;
  targets 1.0x and 0.25x).
- MLP 784-128-10, float32, total gradient via ``reduce_axes`` at B=64 and B=256:
  ``jit`` and the interpreter against hand NumPy (targets 1.15x jit, 1.5x interpreted
  at B=256).
- 8x256 MLP (ReLU), B=1024, total gradient: ``jit`` against hand NumPy, time and peak
  traced memory (tracemalloc; targets 1.1x and 1.3x).
- per-example gradients (MLP, B=256): ``jit(vmap(grad))`` against hand NumPy (1.2x).

Peers (dev-only, each in its own venv under ``$SPMDGRAD_PEERS``, see README.md), on the
same problems and data: torch eager (``backward()``; per-example gradients with
``torch.func.vmap(grad)``) and JAX ``jit``. Each runs in one long-lived subprocess that
times its variants of a row right after spmdgrad's, in every round (``_common.PeerServer``).

Results, the peers' included, are checked against the NumPy references before anything
is timed.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tracemalloc

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):  # before NumPy loads its BLAS
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import _deep  # noqa: E402
from _chain import chain  # noqa: E402
from _common import PeerServer, best_of, peer_env, peer_python, print_environment, round_ratios  # noqa: E402
from _mlp import example_loss, make_problem, numpy_batch_grads, numpy_per_example_grads  # noqa: E402

import spmdgrad  # noqa: E402
import spmdgrad.numpy as jnp  # noqa: E402

N_OPS = 48
# A peer's rows and the spmdgrad-side row each is divided by, round by round.
PEER_REFS = {"chain": "autograd_chain", "total_B64": "numpy_total_B64", "total_B256": "numpy_total_B256",
             "pe_B256": "numpy_pe_B256", "deep": "numpy_deep"}


def mlp_loss(params, x, y):
    return example_loss(jnp, params, x, y)


total = spmdgrad.vmap(spmdgrad.grad(mlp_loss, reduce_axes=("b",)), in_axes=(None, 0, 0),
                      out_axes=None, axis_name="b")
per_example = spmdgrad.vmap(spmdgrad.grad(mlp_loss), in_axes=(None, 0, 0), axis_name="b")


# ------------------------------------------------------------------ deep MLP (8 x 256, _deep.py)

def deep_loss(params, x, y):
    ws, bs = params
    h = x
    for w, b in zip(ws[:-1], bs[:-1], strict=True):
        h = jnp.maximum(h @ w + b, 0.0)
    out = h @ ws[-1] + bs[-1]
    return 0.5 * jnp.sum((out - y) ** 2)


deep_grad = spmdgrad.grad(deep_loss)


def peak_bytes(fn):
    fn()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def autograd_round(number):
    proc = subprocess.run([peer_python("autograd"), os.path.join(HERE, "_peers", "jit_chain.py"), "autograd",
                           str(N_OPS), str(number)], capture_output=True, text=True, check=True,
                          env=peer_env())
    return json.loads(proc.stdout.strip().splitlines()[-1])


def peer_ref(name):
    """The spmdgrad-side reference of a peer row: ``torch_total_B64`` -> ``numpy_total_B64``."""
    for suffix, ref in PEER_REFS.items():
        if name.endswith("_" + suffix):
            return ref
    raise KeyError(name)


def rounds(groups, repeat, autograd, servers):
    """Per-round ratios: ``groups`` maps a row to (variant fns, number, reference name).
    In each round, right after a row's own variants, the peers time theirs of that row
    (the autograd subprocess and every peer server), so a ratio's two sides are timed
    seconds apart."""
    times = {}
    for _ in range(repeat):
        for fns, number, ref in groups.values():
            for name, fn in fns.items():
                times.setdefault(name, []).append(best_of(fn, number))
            if autograd and ref == "autograd_chain":
                times.setdefault(ref, []).append(autograd_round(20)["grad_chain"])
            for server in servers:
                names = [v for v in server.variants if peer_ref(v) == ref]
                for name, t in server.round(names).items():
                    if name == "cores_busy":
                        server.cores_busy = max(server.cores_busy, t)
                    else:
                        times.setdefault(name, []).append(t)
    pairs = [(name, ref) for fns, _number, ref in groups.values() for name in fns if name != ref]
    pairs += [(name, peer_ref(name)) for server in servers for name in server.variants]
    ratios = {f"{name} / {ref}": round_ratios(times[name], times[ref]) for name, ref in pairs if ref in times}
    return times, ratios


def ratio_table(ratios, servers):
    """The peers side by side: every row as a ratio to its reference in this run."""
    cols = [("jit", "jit_{}"), ("interpreted", "interp_{}")]
    cols += [(s.label, s.prefix + "{}") for s in servers]
    rows = [("48-op chain, grad / autograd", "chain", "autograd_chain", {"jit": "jit_grad_chain",
                                                                         "interpreted": "grad_chain"}),
            ("MLP total gradient B=64", "total_B64", "numpy_total_B64", {}),
            ("MLP total gradient B=256", "total_B256", "numpy_total_B256", {}),
            ("per-example gradients B=256", "pe_B256", "numpy_pe_B256", {}),
            ("8x256 MLP B=1024", "deep", "numpy_deep", {})]
    print(f"\n{'ratio to hand NumPy (chain: to autograd)':<42}" + "".join(f"{c:>13}" for c, _ in cols))
    for label, key, ref, special in rows:
        cells = []
        for col, pattern in cols:
            name = special.get(col, pattern.format(key if key != "chain" else "grad_chain"))
            value = ratios.get(f"{name} / {ref}")
            cells.append(f"{value[0]:13.3f}" if value is not None else f"{'-':>13}")
        print(f"{label:<42}" + "".join(cells))


# peer -> (script under _peers/, column label, prefix of its rows)
PEER_SERVERS = {"torch": ("jit_torch.py", "torch eager", "torch_"), "jax": ("jit_jax.py", "JAX jit", "jax_jit_")}


def start_peers(which, chain_grad):
    """The peer servers that are installed, each checked (the chain gradient here, the
    rest against NumPy in the peer) before any round is timed."""
    servers = []
    for name in which:
        script, label, prefix = PEER_SERVERS[name]
        if peer_python(name) is None:
            print(f"# {label}: not installed (no venv '{name}' under $SPMDGRAD_PEERS)")
            continue
        try:
            server = PeerServer(name, script, [N_OPS])
        except RuntimeError as e:  # its check failed, or it could not start: no rows for it
            print(f"# {label}: FAILED, left out: {e}")
            continue
        np.testing.assert_allclose(server.info["check_chain"], chain_grad, rtol=1e-12)
        server.label, server.prefix, server.variants = label, prefix, server.info["variants"]
        server.cores_busy = 0.0
        print(f"# {label}: {name} {server.info['version']}, gradients checked against NumPy")
        servers.append(server)
    return servers


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--no-peers", action="store_true")
    args = ap.parse_args()
    print_environment("bench_jit: compiled jit, the interpreter, hand NumPy; peers autograd, torch, JAX")
    print("# medians of per-round ratios, round-robin; the machine is shared with other sessions")

    x = np.array([0.3, -0.2, 0.5])
    g_chain = spmdgrad.grad(lambda x: chain(jnp, x, N_OPS))
    jg_chain = spmdgrad.jit(g_chain)
    assert np.array_equal(jg_chain(x), g_chain(x))
    autograd = not args.no_peers and peer_python("autograd") is not None
    if autograd:
        np.testing.assert_allclose(autograd_round(1)["check"], g_chain(x), rtol=1e-12)
    elif not args.no_peers:
        print("# autograd: not installed (no venv 'autograd' or 'jit-autograd' under $SPMDGRAD_PEERS)")
    servers = [] if args.no_peers else start_peers(("torch", "jax"), g_chain(x))

    groups = {"chain": ({"grad_chain": lambda: g_chain(x), "jit_grad_chain": lambda: jg_chain(x)},
                        20, "autograd_chain")}
    for B in (64, 256):
        params, X, Y = make_problem(batch=B)
        jt = spmdgrad.jit(total)
        for f in (jt, total):
            for got, want in zip(f(params, X, Y), numpy_batch_grads(params, X, Y), strict=True):
                np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-5)
                assert got.dtype == np.float32
        groups[f"mlp_total_B{B}"] = ({
            f"numpy_total_B{B}": (lambda p=params, X=X, Y=Y: numpy_batch_grads(p, X, Y)),
            f"jit_total_B{B}": (lambda p=params, X=X, Y=Y, f=jt: f(p, X, Y)),
            f"interp_total_B{B}": (lambda p=params, X=X, Y=Y: total(p, X, Y)),
        }, 5, f"numpy_total_B{B}")
    params, X, Y = make_problem(batch=256)
    jpe = spmdgrad.jit(per_example)
    for got, want in zip(jpe(params, X, Y), numpy_per_example_grads(params, X, Y), strict=True):
        np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-5)
    groups["per_example_B256"] = ({
        "numpy_pe_B256": lambda: numpy_per_example_grads(params, X, Y),
        "jit_pe_B256": lambda: jpe(params, X, Y),
    }, 1, "numpy_pe_B256")
    dp, dx, dy = _deep.make_problem()
    jdeep = spmdgrad.jit(deep_grad)
    for f in (jdeep, deep_grad):
        gw, gb = f(dp, dx, dy)
        _deep.check(list(gw) + list(gb))
    groups["deep_B1024"] = ({
        "numpy_deep": lambda: _deep.numpy_grads(dp, dx, dy),
        "jit_deep": lambda: jdeep(dp, dx, dy),
        "interp_deep": lambda: deep_grad(dp, dx, dy),
    }, 1, "numpy_deep")

    try:
        times, ratios = rounds(groups, args.repeat, autograd, servers)
    finally:
        for server in servers:
            server.close()
    print(f"\n{'variant':<26} {'median':>12}")
    for name, ts in times.items():
        per = " per op" if "chain" in name else ""
        div = N_OPS if "chain" in name else 1
        print(f"{name:<26} {statistics.median(ts) / div * 1e6:10.2f} us{per}")
    print(f"\n{'ratio (median of per-round ratios)':<40} {'value':>8}  quartiles")
    for k, (med, q1, q3) in ratios.items():
        print(f"{k:<40} {med:8.3f}  {q1:.3f}-{q3:.3f}")
    ratio_table(ratios, servers)
    for server in servers:
        print(f"{server.label}: at most {server.cores_busy:.2f} cores busy during a row (one thread: <= 1)")
    pn = peak_bytes(lambda: _deep.numpy_grads(dp, dx, dy))
    pj = peak_bytes(lambda: jdeep(dp, dx, dy))
    pi = peak_bytes(lambda: deep_grad(dp, dx, dy))
    print(f"\npeak traced memory, 8x256 MLP B=1024: numpy {pn / 2**20:.1f} MiB, jit {pj / 2**20:.1f} MiB "
          f"({pj / pn:.2f}x), interpreted {pi / 2**20:.1f} MiB ({pi / pn:.2f}x)")


if __name__ == "__main__":
    main()
