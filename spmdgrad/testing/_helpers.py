"""Building blocks for tests that run on every rank under ``mpiexec``."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from ..autodiff import jvp, vjp
from ..test_util import numerical_jvp


def world() -> tuple[Any, int, int]:
    """``(MPI.COMM_WORLD, rank, size)``; a size of 1 without ``mpiexec``.

    >>> comm, rank, size = world()
    >>> 0 <= rank < size
    True
    """
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    return comm, comm.Get_rank(), comm.Get_size()


def global_data(shape: tuple[int, ...], seed: int = 0, dtype: Any = np.float64) -> np.ndarray:
    """Standard normal data that is the same on every rank (it depends only on ``seed``).

    >>> global_data((2,), seed=3).shape
    (2,)
    """
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def block(x: np.ndarray, k: int, axis: int = 0) -> np.ndarray:
    """This rank's block of ``k`` pmap shards of the global array ``x``: entries
    ``rank * k`` to ``(rank + 1) * k`` along ``axis`` (pmap's layout).

    >>> block(np.arange(6), 2).tolist()    # rank 0
    [0, 1]
    """
    _, r, _ = world()
    if x.shape[axis] < (r + 1) * k:
        raise ValueError(f"block: axis {axis} of the global array has {x.shape[axis]} entries, "
                         f"too few for {k} shards on rank {r}")
    return np.take(x, np.arange(r * k, (r + 1) * k), axis=axis)


def global_inner(local_pairs: Iterable[tuple[Any, Any]],
                 replicated_pairs: Iterable[tuple[Any, Any]] = ()) -> float:
    """``<a, b>`` of the global program: local blocks summed over ranks, replicated
    values counted once.

    >>> float(global_inner([(np.ones(2), np.ones(2))], [(np.ones(3), 2 * np.ones(3))])) \\
    ...     == 2 * world()[2] + 6
    True
    """
    comm, _, _ = world()
    loc = sum(float(np.sum(np.asarray(a) * np.asarray(b))) for a, b in local_pairs)
    rep = sum(float(np.sum(np.asarray(a) * np.asarray(b))) for a, b in replicated_pairs)
    return comm.allreduce(loc) + rep


def fd_check(f: Callable[..., Any], local_args: Sequence[Any], rep_args: Sequence[Any] = (),
             seed: int = 0, eps: float = 1e-6, tol: float = 1e-6) -> None:
    """JVP and VJP of ``f(*rep_args, *local_args)`` (an output that is a local block)
    against central differences of the global function. ``rep_args`` are
    replicated (the same on every rank); VJP inner products are global.

    >>> from spmdgrad import pmap
    >>> from spmdgrad.lax import psum
    >>> f = lambda w, x: pmap(lambda xi: psum(xi * w, 'i') * xi, axis_name='i')(x)
    >>> fd_check(f, [global_data((1, 3), seed=world()[1])], [global_data((3,), seed=9)])
    """
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
