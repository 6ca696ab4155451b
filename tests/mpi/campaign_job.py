"""A randomized mismatch campaign, run under mpiexec by tests/test_mpi_failures.py.

``python campaign_job.py SEED JOBS``: JOBS small jobs in one launch, each on a fresh
communicator. Each job runs a random schedule of collectives, and one random rank
makes one random disagreement. Every rank prints, per job, ``JOB j rank r: ERROR``
with the first difference, or ``JOB j rank r: SILENT`` when nothing was detected.
"""
import random
import sys

import numpy as np
from mpi4py import MPI

from spmdgrad import pmap
from spmdgrad.lax import all_gather, pmax, pmean, pmin, psum
from spmdgrad.mpi import MismatchError

rank = MPI.COMM_WORLD.Get_rank()
nranks = MPI.COMM_WORLD.Get_size()
seed, jobs = int(sys.argv[1]), int(sys.argv[2])

KINDS = ["swap", "pmean", "tiled", "shape", "dtype", "extra", "skip", "gather_axis",
         "pmin", "tree_leaf", "tuple_order"]


def step(op, x, y, bad):
    """One collective of the schedule; ``bad`` makes this rank's version differ."""
    if op == "psum":
        return pmean(x, "i") if bad == "pmean" else psum(x, "i")
    if op == "pair":
        if bad == "swap":
            b = psum(y, "i")
            a = psum(x, "i")
        else:
            a = psum(x, "i")
            b = psum(y, "i")
        return a + b
    if op == "gather":
        if bad == "tiled":
            return all_gather(x, "i", tiled=True).sum()
        if bad == "gather_axis":
            return all_gather(x, "i", axis=1).sum()
        return all_gather(x, "i").sum()
    if op == "max":
        return pmin(x, "i") if bad == "pmin" else pmax(x, "i")
    if op == "tree":
        tree = {f"w{i}": x for i in range(10)}
        if bad == "tree_leaf":
            tree["w7"] = x.astype(np.float32)
        return psum(tree, "i")["w0"]
    if op == "tuple":
        if bad == "tuple_order":
            a, b = psum((y, x), "i")
        else:
            a, b = psum((x, y), "i")
        return a + b
    if op == "shape":
        v = x[:2] if bad == "shape" else x
        v = v.astype(np.float32) if bad == "dtype" else v
        return psum(v, "i").sum()
    raise AssertionError(op)


def job(j):
    rng = random.Random(seed * 1000 + j)          # the same plan on every rank
    kind = rng.choice(KINDS)
    culprit = rng.randrange(nranks)
    ops = [rng.choice(["psum", "pair", "gather", "max", "tree", "tuple", "shape"]) for _ in range(4)]
    need = {"swap": "pair", "pmean": "psum", "tiled": "gather", "gather_axis": "gather",
            "pmin": "max", "tree_leaf": "tree", "tuple_order": "tuple", "shape": "shape",
            "dtype": "shape"}
    at = rng.randrange(len(ops))
    if kind in need:
        ops[at] = need[kind]
    mine = kind if rank == culprit else None

    def f(x, y):
        acc = 0.0
        for i, op in enumerate(ops):
            if i == at and mine == "skip":
                continue
            acc = acc + step(op, x, y, mine if i == at else None)
            if i == at and mine == "extra":
                acc = acc + psum(y, "i")
        return acc + psum(x, "i")                 # every job ends with a collective

    comm = MPI.COMM_WORLD.Dup()
    try:
        pmap(f, axis_name="i", comm=comm)(np.ones((1, 3, 3)), np.full((1, 3, 3), 2.0))
        print(f"JOB {j} rank {rank}: SILENT {kind} on rank {culprit}", flush=True)
    except MismatchError as e:
        lines = str(e).splitlines()
        diff = next((ln for ln in lines if "first difference" in ln), lines[0])
        print(f"JOB {j} rank {rank}: ERROR {kind} on rank {culprit}: {diff.strip()}", flush=True)
    finally:
        comm.Free()


for j in range(jobs):
    job(j)
