"""Shared helpers of the benchmark scripts: timing, environment record, peer runs.

Not a benchmark itself. Every script prints medians over ``repeat`` (>= 7) timed
rounds taken after warm-up rounds, and the ratios its bar is judged on.
"""
from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Peer venvs live outside the checkout: $SPMDGRAD_PEERS, or a "peers" folder beside it.
PEERS = os.environ.get("SPMDGRAD_PEERS", os.path.join(os.path.dirname(ROOT), "peers"))


def _venv(*names):
    """The first of ``PEERS/<name>`` that exists (the first name if none does)."""
    for name in names:
        if os.path.isdir(os.path.join(PEERS, name)):
            return os.path.join(PEERS, name)
    return os.path.join(PEERS, names[0])


# Each peer's venv, by the names it is looked up under (benchmarks/README.md says how to build them).
PEER_VENVS = {
    "autograd": _venv("autograd", "autograd-venv", "jit-autograd"),
    "torch": _venv("torch", "torch-venv"),
    "jax": _venv("jax", "jax-venv"),
}
# One BLAS / intra-op thread for the peers (JAX also needs one_thread_pools; torch scripts call
# torch.set_num_threads(1)), as for the NumPy side when a script asks for it.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"}


def median_time(fn, repeat=9, number=1, warmup=2):
    """Median seconds per call of ``fn()`` over ``repeat`` rounds of ``number`` calls,
    after ``warmup`` untimed calls."""
    if repeat < 7:
        raise ValueError("repeat must be >= 7")
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return statistics.median(times)


def interleaved_medians(fns, repeat=9, warmup=2, number=None):
    """Median seconds per call of each ``fns[name]()``, timed round-robin, plus
    ``<name>_min``: the fastest round (the least disturbed by other load).

    Each round times every variant once (``number[name]`` calls, default 1), so
    load changes on a shared machine hit all variants alike and ratios stay fair.
    """
    if repeat < 7:
        raise ValueError("repeat must be >= 7")
    number = number or {}
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            n = number.get(name, 1)
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            times[name].append((time.perf_counter() - t0) / n)
    out = {name: statistics.median(ts) for name, ts in times.items()}
    out.update({name + "_min": min(ts) for name, ts in times.items()})
    return out


def mpi_round_times(comm, fns, repeat, warmup=2, calls=1, seed=1234):
    """Round-robin over MPI ranks: per variant, its time per call in each round. Each
    round calls every variant ``calls`` times after a barrier, and a variant's time in a
    round is the slowest rank's. Round order is shuffled with the same seed on every
    rank, so no variant always runs first."""
    from mpi4py import MPI
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times = {k: [] for k in fns}
    buf = np.zeros(1)
    order = list(fns)
    shuffle = np.random.default_rng(seed)  # same seed on every rank: same order
    for _ in range(repeat):
        shuffle.shuffle(order)  # no variant always runs first after the previous round
        for name in order:
            fn = fns[name]
            comm.Barrier()
            t0 = time.perf_counter()
            for _ in range(calls):
                fn()
            buf[0] = (time.perf_counter() - t0) / calls
            comm.Allreduce(MPI.IN_PLACE, buf, MPI.MAX)
            times[name].append(buf[0])
    return times


def mpi_timed_rounds(comm, fns, repeat, warmup=2):
    """Round-robin (medians, minima) over MPI ranks (:func:`mpi_round_times`)."""
    times = mpi_round_times(comm, fns, repeat, warmup)
    return ({k: statistics.median(v) for k, v in times.items()},
            {k: min(v) for k, v in times.items()})


def environment():
    """What the numbers depend on: date, versions, threads and OPENBLAS_CORETYPE."""
    commit = ""
    if os.path.exists(os.path.join(ROOT, ".git")):  # a folder, or a file in a git worktree
        try:
            commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                    capture_output=True, text=True, check=False).stdout.strip()
            dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "spmdgrad"],
                                   capture_output=True, text=True, check=False).stdout.strip()
            if dirty:
                commit += "+uncommitted"
        except OSError:
            pass
    elif os.path.exists(os.path.join(ROOT, "COMMIT")):  # a snapshot from run_snapshot.sh
        with open(os.path.join(ROOT, "COMMIT")) as f:
            commit = f.read().strip() + " (snapshot)"
    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "commit": commit or "?",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cpus": os.cpu_count(),
        "spmdgrad": os.path.dirname(getattr(sys.modules.get("spmdgrad"), "__file__", None) or "")
        or "<not imported>",
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "<unset>"),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "<unset>"),
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "<unset>"),
        **{k: v for k, v in os.environ.items() if k.startswith("MALLOC_")},
    }


def calibration():
    """Two fixed workloads that show the machine's state at run time (this host is
    shared and its speed varies by 2-4x): a pure-Python loop and one float32 matmul."""
    def py_loop():
        s = 0
        for i in range(200_000):
            s += i
        return s
    a = np.ones((256, 784), np.float32)
    b = np.ones((784, 128), np.float32)
    return {"python_loop_200k_ms": round(median_time(py_loop, 7, warmup=1) * 1e3, 2),
            "matmul_256x784x128_f32_us": round(median_time(lambda: a @ b, 7, number=20) * 1e6, 1)}


def print_environment(title):
    env = environment()
    print(f"# {title}")
    print("# " + ", ".join(f"{k}={v}" for k, v in env.items()))
    print("# calibration: " + ", ".join(f"{k}={v}" for k, v in calibration().items()))
    return env


def peer_python(name):
    """The interpreter of peer ``name``'s venv, or None if it is not installed."""
    exe = os.path.join(PEER_VENVS[name], "bin", "python")
    return exe if os.path.exists(exe) else None


def run_peer(name, script, args=(), timeout=900):
    """Run ``benchmarks/_peers/<script>`` with peer ``name``'s interpreter.

    Returns the JSON object the script prints on its last line, or a string
    saying why there is none ("not installed", or the error).
    """
    exe = peer_python(name)
    if exe is None:
        return f"not installed (no {PEER_VENVS[name]})"
    path = os.path.join(ROOT, "benchmarks", "_peers", script)
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    try:
        proc = subprocess.run([exe, path, *map(str, args)], capture_output=True, text=True,
                              timeout=timeout, env=env, check=False)
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout} s"
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        tail = lines[-1] if lines else f"exit code {proc.returncode}"
        if "ModuleNotFoundError" in tail:
            return f"not installed ({tail})"
        return f"failed: {tail}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def peer_env(threads_one=True):
    """The environment of a peer subprocess: no PYTHONPATH (the peer must not import this
    checkout's spmdgrad), and one thread per BLAS / XLA / torch pool unless asked otherwise."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if threads_one:
        env.update(ONE_THREAD)
    return env


def one_thread_pools(start):
    """``start()`` (which creates a library's thread pools, e.g. JAX's CPU client) while the
    process may use one CPU only, then every thread gets all CPUs back; returns its result.

    XLA sizes its compute pool from the CPU affinity at start and ignores
    ``intra_op_parallelism_threads`` (JAX 0.10.2 kept 1.95 cores busy with it). This way its
    pool has one thread, which still runs on whichever core is free, like the NumPy side.
    """
    cpus = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cpus)})
    try:
        return start()
    finally:
        for tid in os.listdir("/proc/self/task"):
            os.sched_setaffinity(int(tid), cpus)


def best_of(fn, number, tries=3):
    """Seconds per call of ``fn()``: the best of ``tries`` batches of ``number`` calls."""
    best = float("inf")
    for _ in range(tries):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best


class PeerServer:
    """A peer kept alive in its own process and timed one round at a time.

    ``benchmarks/_peers/<script>`` runs under peer ``name``'s interpreter, checks its
    results, prints one JSON line (its version and checks), then times one round of its
    variants per line it reads and answers with one JSON line of seconds per call. It
    blocks on its input between rounds, so it loads the machine only during its turn:
    peers interleave round by round with the caller's own variants.
    """

    def __init__(self, name, script, args=()):
        exe = peer_python(name)
        if exe is None:
            raise FileNotFoundError(f"{name}: not installed (no {PEER_VENVS[name]})")
        self.name = name
        self._err = tempfile.TemporaryFile("w+")  # a file, so a chatty peer cannot block on a full pipe
        self._proc = subprocess.Popen(
            [exe, os.path.join(ROOT, "benchmarks", "_peers", script), *map(str, args)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._err, text=True,
            env=peer_env())
        self.info = self._read()

    def _read(self):
        line = self._proc.stdout.readline()
        if not line:
            self._proc.wait()
            self._err.seek(0)
            tail = self._err.read().strip().splitlines()[-3:]
            raise RuntimeError(f"{self.name} peer failed (exit {self._proc.returncode}): "
                               + " | ".join(tail))
        return json.loads(line)

    def round(self, names=None):
        """Seconds per call of each variant in ``names`` (default: all), timed now."""
        self._proc.stdin.write(" ".join(["round", *(names or ())]) + "\n")
        self._proc.stdin.flush()
        return self._read()

    def close(self):
        if self._proc.poll() is None:
            self._proc.stdin.close()
            self._proc.wait(timeout=60)
        self._err.close()


def serve(info, variants):
    """The peer half of ``PeerServer``: print ``info``, then time ``variants``
    (name -> (fn, number)) once per input line ``round [name ...]`` (all if none is
    named), in order, best of three batches each. Each answer also says how many cores the
    process kept busy meanwhile (``cores_busy``: CPU time over wall time, at most 1 on one
    thread), so a peer that uses more threads than it should shows."""
    print(json.dumps({**info, "variants": list(variants)}), flush=True)
    while line := sys.stdin.readline():
        names = line.split()[1:] or list(variants)
        t0, c0 = time.perf_counter(), time.process_time()
        out = {k: best_of(*variants[k]) for k in names}
        out["cores_busy"] = (time.process_time() - c0) / (time.perf_counter() - t0)  # 1 thread: <= 1
        print(json.dumps(out), flush=True)


def round_ratios(num, den):
    """Median, first and third quartile of the per-round ratios ``num[i] / den[i]``."""
    ratios = [a / b for a, b in zip(num, den, strict=True)]
    q1, _, q3 = statistics.quantiles(ratios, n=4, method="inclusive")
    return statistics.median(ratios), q1, q3


def fmt_us(seconds):
    return f"{seconds * 1e6:9.2f} us"


def fmt_ms(seconds):
    return f"{seconds * 1e3:9.2f} ms"
