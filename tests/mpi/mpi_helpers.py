"""Helpers for the multi-rank tests. They run at any number of ranks (1, 2, 3...):
every rank builds the same global data, keeps its own block, and compares with
NumPy over the global data."""
import numpy as np


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


def fd_check(f, local_args, rep_args=(), seed=0, eps=1e-6, tol=1e-6):
    """JVP and VJP of ``f(*rep_args, *local_args)`` (a local-block output) against
    central differences of the global function; VJP inner products are global."""
    from spmdgrad import jvp, vjp
    from spmdgrad.test_util import numerical_jvp
    loc_rng = np.random.default_rng(seed + 1 + world()[1])   # differs per rank
    rep_rng = np.random.default_rng(seed)                    # the same on every rank
    args = list(rep_args) + list(local_args)
    nrep = len(rep_args)
    ts = [rep_rng.standard_normal(np.shape(a)) for a in rep_args] + \
         [loc_rng.standard_normal(np.shape(a)) for a in local_args]
    num, = numerical_jvp(lambda *a: [f(*a)], args, ts, eps)
    _, t_out = jvp(f, tuple(args), tuple(ts))
    np.testing.assert_allclose(t_out, num, atol=tol, rtol=tol, err_msg="JVP vs differences")
    out, f_vjp = vjp(f, *args)
    ct = loc_rng.standard_normal(np.shape(out))
    cts = f_vjp(ct)
    lhs = global_inner([(ct, num)])
    rhs = global_inner(list(zip(cts[nrep:], ts[nrep:])), list(zip(cts[:nrep], ts[:nrep])))
    np.testing.assert_allclose(lhs, rhs, rtol=tol, atol=tol, err_msg="VJP vs differences")
