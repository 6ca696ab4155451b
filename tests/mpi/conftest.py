"""Helpers for the multi-rank tests. They run at any number of ranks (1, 2, 3...):
every rank builds the same global data, keeps its own block, and compares with
NumPy over the global data."""
import numpy as np
import pytest


def world():
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    return comm, comm.Get_rank(), comm.Get_size()


def global_data(shape, seed=0, dtype=np.float64):
    """The same array on every rank."""
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def block(x, k, axis=0):
    """This rank's block of k shards of the global array ``x``."""
    _, r, _ = world()
    return np.take(x, np.arange(r * k, (r + 1) * k), axis=axis)


def global_inner(local_pairs, replicated_pairs=()):
    """<a, b> of the global program: local blocks summed over ranks, replicated values
    counted once."""
    comm, _, _ = world()
    loc = sum(float(np.sum(np.asarray(a) * np.asarray(b))) for a, b in local_pairs)
    rep = sum(float(np.sum(np.asarray(a) * np.asarray(b))) for a, b in replicated_pairs)
    return comm.allreduce(loc) + rep


@pytest.fixture(params=[1, 2], ids=["k1", "k2"])
def k(request):
    """Local shards per rank."""
    return request.param
