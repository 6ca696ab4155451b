"""Round-robin timing across separate launches (MPI jobs, torch.distributed groups, single
processes): a driver gives each job its turn, round by round, through files in a folder.

Not a benchmark itself. A job's processes sleep-poll for their turn (no MPI or gloo wait
spins meanwhile), so a job loads the machine only while it is timed, and load from other
sessions hits every job of a round alike. Job side: ``job_rounds``; driver side:
``drive``. NumPy-free, so every peer venv can import it.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time

POLL = 0.002  # seconds between looks for a turn
NUMBER, TRIES = 3, 3  # a variant's time per turn: best of TRIES batches of NUMBER calls


def _write(path, payload):
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump(payload, f)
    os.replace(tmp, path)  # atomic: a reader sees all of it or nothing


def _wait_for(path, timeout, alive=None):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {os.path.basename(path)} after {timeout} s")
        if alive is not None and not alive():
            raise RuntimeError(f"a job ended before writing {os.path.basename(path)}")
        time.sleep(POLL)


def job_rounds(folder, tag, rank, fns, repeat, barrier=lambda: None, slowest=lambda t: t,
               warmup=2, info=None, number=NUMBER, tries=TRIES):
    """Time ``fns`` (name -> callable) once each per round, ``repeat`` rounds, each round
    when the driver says so. A variant's time in a round is the best of ``tries`` batches;
    a batch is ``number`` calls in a row that start after ``barrier()``, its time per call
    the slowest rank's (``slowest(own seconds)``). Variants run in an order shuffled with
    the same seed on every rank. Rank 0 reports each round; returns the list of rounds."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    if rank == 0:
        _write(os.path.join(folder, f"ready.{tag}"), info or {})
    order = list(fns)
    shuffle = random.Random(1234)
    rounds = []
    for r in range(repeat):
        _wait_for(os.path.join(folder, f"go.{tag}.{r}"), timeout=600)
        shuffle.shuffle(order)
        times = {}
        for name in order:
            best = float("inf")
            for _ in range(tries):
                barrier()
                t0 = time.perf_counter()
                for _ in range(number):
                    fns[name]()
                best = min(best, slowest((time.perf_counter() - t0) / number))
            times[name] = best
        rounds.append(times)
        if rank == 0:
            _write(os.path.join(folder, f"done.{tag}.{r}"), times)
    return rounds


def drive(folder, jobs, repeat, seed=0, timeout=600):
    """Start ``jobs`` (tag -> list of argv, one process each, or (argv, env) pairs), wait
    until all are ready, then give turns: in every round each job once, in a shuffled
    order. Returns ``(rounds, infos)``: rounds[tag] is a list of {variant: seconds}; infos[tag]
    is what the job reported when ready, infos["warnings"] lists jobs that failed after their
    last round. Ends the jobs' process groups on failure."""
    procs = []
    try:
        for tag, commands in jobs.items():
            for i, (argv, env) in enumerate(commands):
                with open(os.path.join(folder, f"stderr.{tag}.{i}"), "w") as err:
                    procs.append((f"{tag}.{i}", subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL,
                                                                 stderr=err, start_new_session=True)))

        def alive():
            for name, p in procs:
                if p.poll() not in (None, 0):
                    with open(os.path.join(folder, f"stderr.{name}")) as f:
                        tail = f.read().strip().splitlines()[-8:]
                    raise RuntimeError(f"job {name} failed (exit {p.returncode}): " + " | ".join(tail))
            return True

        infos = {}
        for tag in jobs:
            path = os.path.join(folder, f"ready.{tag}")
            _wait_for(path, timeout, alive)
            with open(path) as f:
                infos[tag] = json.load(f)
        order = list(jobs)
        shuffle = random.Random(seed)
        rounds = {tag: [] for tag in jobs}
        for r in range(repeat):
            shuffle.shuffle(order)  # no job always runs right after another
            for tag in order:
                _write(os.path.join(folder, f"go.{tag}.{r}"), {})
                path = os.path.join(folder, f"done.{tag}.{r}")
                _wait_for(path, timeout, alive)
                with open(path) as f:
                    rounds[tag].append(json.load(f))
        warnings = []
        for name, p in procs:  # every round is in; a failure now is reported, not fatal
            if p.wait(timeout=timeout) != 0:
                with open(os.path.join(folder, f"stderr.{name}")) as f:
                    tail = " | ".join(f.read().strip().splitlines()[-3:])
                warnings.append(f"job {name} exited with {p.returncode} after its last round: {tail}")
        infos["warnings"] = warnings
        return rounds, infos
    finally:
        for _tag, p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait()
