"""The MPI backend of one pmap call: what a pmap frame needs to reach other ranks.

A :class:`~spmdgrad.batching.BatchTrace` built by pmap holds one of these as
``frame.backend``. Collective owner rules do their local work over the k local
shards first, then call the backend for the cross-rank step.
"""
from __future__ import annotations

from . import _reduce


class MPIBackend:
    """``rank``, ``nranks``, ``local_size`` (k shards on this rank) and ``comm``
    (the private communicator), plus the cross-rank operations.

    The global index of local shard ``j`` on rank ``r`` is ``r * k + j``.
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
        return _reduce.pvary(x, self.state, self.axis_name)

    def allreduce(self, xs, op):
        """One fused cross-rank reduction of ``xs`` (op: "sum", "max" or "min")."""
        return _reduce.allreduce(list(xs), op, self.state, self.axis_name)

    def collective(self, prim, frame, vals, batched, **params):
        """The MPI owner rule of all_gather, psum_scatter, ppermute and all_to_all."""
        from . import _collectives
        return _collectives.owner_rule(prim, frame, vals, batched, **params)
