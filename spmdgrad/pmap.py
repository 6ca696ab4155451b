"""pmap: SPMD over MPI ranks, each rank running its local shards vectorized.

As in multi-process JAX, every rank passes its **local** block: a mapped
argument's leading axis holds the rank's k local shards (k >= 1, the same on
every rank). The named axis has global size ``nranks * k``; shard ``j`` of rank
``r`` has global index ``r * k + j``. The k shards run through the same batching
machinery as vmap; collectives combine the local shards first, then the ranks.

With one process (no ``mpiexec``, or a communicator of size 1) pmap is
single-host pmap over k shards and never touches MPI.
"""
from __future__ import annotations

import functools

import numpy as np

from . import core
from .batching import BatchTrace
from .collectives.pbroadcast import mpi_pbroadcast
from .collectives.psum import allreduce
from .mpi.comm import comm_state
from .mpi.consistency import describe
from .tree_util import tree_flatten
from .vmap import map_call


def pmap(fun, axis_name=None, in_axes=0, out_axes=0, comm=None):
    """Map ``fun`` over a named axis split across the ranks of ``comm``.

    ``comm``: an mpi4py communicator; default a private clone of
    ``MPI.COMM_WORLD``, made on first use (every rank must make the same pmap
    calls, in the same order). ``in_axes``/``out_axes`` are as in vmap;
    ``out_axes=0`` returns this rank's local block, ``out_axes=None`` an
    invariant value, identical on every rank.

    >>> import spmdgrad, spmdgrad.numpy as jnp
    >>> from spmdgrad.lax import psum
    >>> f = spmdgrad.pmap(lambda x: x / psum(x, 'i'), axis_name='i')
    >>> f(jnp.array([1.0, 3.0]))     # one process: both shards are local
    array([0.25, 0.75])
    """
    if not callable(fun):
        raise TypeError(f"pmap expects a callable, got {fun!r}")
    if axis_name is not None and not isinstance(axis_name, str):
        raise TypeError(f"pmap: axis_name must be a str, got {axis_name!r}")

    @functools.wraps(fun)
    def pmapped(*args, **kwargs):
        state = comm_state(comm)
        if state is None:                  # one process: single-host pmap over k shards
            return map_call(fun, args, kwargs, in_axes, out_axes, axis_name, "pmap",
                            lambda parent, k: BatchTrace(parent, axis_name, k))
        def make_trace(parent, k):
            _check_not_nested(parent, axis_name)
            state.check(f"pmap(axis_name={axis_name!r})",
                        lambda: _entry_signature(fun, args, kwargs, in_axes, out_axes, k))
            return BatchTrace(parent, axis_name, state.nranks * k, MPIBackend(state, k, axis_name))
        return map_call(fun, args, kwargs, in_axes, out_axes, axis_name, "pmap", make_trace)
    return pmapped


def _check_not_nested(t, axis_name):
    while t is not None:
        if getattr(t, "backend", None) is not None:
            raise NotImplementedError(
                f"pmap(axis_name={axis_name!r}) inside pmap(axis_name={t.axis_name!r}): only "
                "one pmap level can span MPI ranks. Use vmap for the inner map.")
        t = t.parent


def _entry_signature(fun, args, kwargs, in_axes, out_axes, k):
    """What every rank must agree on at a pmap call: the function, the argument
    shapes and dtypes (which include k), and in_axes/out_axes."""
    leaves = tree_flatten(args)[0] + tree_flatten(kwargs)[0]
    leaves = [x if isinstance(x, core.Tracer | np.ndarray) else np.asarray(x) for x in leaves]
    name = getattr(fun, "__qualname__", type(fun).__name__)
    return (f"k={k} fun={name} args=({describe(leaves)}) in_axes={in_axes!r} "
            f"out_axes={out_axes!r}")


class MPIBackend:
    """What a pmap frame needs to reach the other ranks: ``rank``, ``nranks``,
    ``local_size`` (k shards on this rank), the communicator state, and the two
    cross-rank steps that every collective's owner rule may call.

    The global index of local shard ``j`` on rank ``r`` is ``r * k + j``. The
    collectives' own MPI lowerings live beside them in :mod:`spmdgrad.collectives`.
    """
    __slots__ = ("state", "local_size", "axis_name")

    def __init__(self, state, local_size, axis_name):
        self.state = state
        self.local_size = local_size
        self.axis_name = axis_name

    rank = property(lambda self: self.state.rank)
    nranks = property(lambda self: self.state.nranks)
    comm = property(lambda self: self.state.comm)

    def __repr__(self):
        return (f"MPIBackend(axis={self.axis_name!r}, rank={self.rank}, nranks={self.nranks}, "
                f"local_size={self.local_size})")

    def pbroadcast(self, x):
        """Implicit broadcast of a replicated value to every rank (sum when transposed)."""
        return mpi_pbroadcast(x, self.state, self.axis_name)

    def allreduce(self, xs, op):
        """One fused cross-rank reduction of ``xs`` (op: "sum", "max" or "min")."""
        return allreduce(list(xs), op, self.state, self.axis_name)
