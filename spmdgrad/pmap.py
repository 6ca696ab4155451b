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
from collections.abc import Callable
from typing import Any

import numpy as np

from . import ad, batching, core
from .batching import BatchTrace, BatchTracer
from .collectives import buckets  # noqa: F401 - registers the gradient bucketer (ad.input_sinks)
from .collectives.pbroadcast import mpi_pbroadcast
from .collectives.psum import allreduce
from .mpi import consistency
from .mpi.comm import comm_state, tagged
from .traceback_util import api_boundary
from .tree_util import tree_flatten, tree_unflatten
from .vmap import axes_per_leaf, map_call


def pmap(fun: Callable[..., Any], axis_name: str | None = None, in_axes: Any = 0, out_axes: Any = 0,
         comm: Any = None) -> Callable[..., Any]:
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

    # The entry check's texts, built once per pmapped function (only k varies per call).
    what = f"pmap(axis_name={axis_name!r})"
    tail = (f" fun={getattr(fun, '__qualname__', type(fun).__name__)} in_axes={in_axes!r} "
            f"out_axes={out_axes!r}")
    extras: dict = {}
    end = f"the end of {what} (no collective since its entry)"

    @functools.wraps(fun)
    @api_boundary
    def pmapped(*args, **kwargs):
        state = comm_state(comm)
        if state is None:                  # one process: single-host pmap over k shards
            return map_call(fun, args, kwargs, in_axes, out_axes, axis_name, "pmap",
                            lambda parent, k: BatchTrace(parent, axis_name, k))

        def make_trace(parent, k, leaves=None):
            _check_not_nested(parent, axis_name)
            extra = extras.get(k)
            if extra is None:
                extra = extras[k] = f"k={k}{tail}"
            if leaves is None:
                pmap_entry_p.bind(*_entry_leaves(args, kwargs), comm=tagged(state), what=what,
                                  extra=extra)
            else:  # the direct path (eager): the same record, folded here
                state.entry = consistency.fold(state, what, leaves, extra, tagged(state).site)
            return BatchTrace(parent, axis_name, state.nranks * k, MPIBackend(state, k, axis_name))
        try:
            if not kwargs:
                out = _direct_call(fun, args, in_axes, out_axes, axis_name, make_trace)
                if out is not _GENERAL:
                    consistency.verify(state, state.entry, end)
                    return out
            out = map_call(fun, args, kwargs, in_axes, out_axes, axis_name, "pmap", make_trace)
        except Exception as e:
            # Ranks whose arguments differ may fail in the body before any collective
            # compares the entry: compare it now (a MismatchError, with e as its context).
            if not isinstance(e, consistency.MismatchError):
                consistency.verify(state, state.entry, f"{end} (it raised {type(e).__name__})")
            raise
        # On the outputs, so that a jit trace records it (after the body), as the entry.
        pmap_end_p.bind(*[o for o in tree_flatten(out)[0] if isinstance(o, core.Tracer)],
                        comm=state, what=end)
        return out
    return pmapped


_GENERAL = object()   # _direct_call's answer when the call needs map_call's general path


def _direct_call(fun, args, in_axes, out_axes, axis_name, make_trace):
    """The usual eager call of a pmap over MPI, with every pytree flattened once: array
    arguments mapped on axis 0 or not at all, outputs returned with ``out_axes`` 0 or
    None. It computes what :func:`~spmdgrad.vmap.map_call` computes; anything else
    (tracers, Python scalars, other axes, pytree-shaped axes, errors to explain) gets
    ``_GENERAL`` before ``fun`` runs, or map_call's own output step after it."""
    parent = core.current_trace()
    if type(parent) is not core.EvalTrace or axis_name is None or not (
            out_axes is None or (type(out_axes) is int and out_axes == 0)):
        return _GENERAL
    # in_axes an int or one int/None per argument; every leaf then mapped on 0 or not at all
    if not (type(in_axes) is int or (type(in_axes) is tuple and len(in_axes) == len(args) and all(
            a is None or type(a) is int for a in in_axes))):
        return _GENERAL
    leaves, in_tree = tree_flatten(args)
    axes = axes_per_leaf(in_axes, args, in_tree, "pmap", "in_axes")  # map_call's, cached
    if any(ax is not None and ax != 0 for ax in axes):
        return _GENERAL
    k = 0
    for x, ax in zip(leaves, axes):
        if type(x) is not np.ndarray:
            return _GENERAL
        if ax is not None:
            if not x.ndim or (k and x.shape[0] != k):
                return _GENERAL
            k = x.shape[0]
    if not k:
        return _GENERAL
    trace = make_trace(parent, k, leaves)
    ins = [x if ax is None else BatchTracer(trace, x) for x, ax in zip(leaves, axes)]
    with core.use_trace(trace):
        out = fun(*tree_unflatten(in_tree, ins))
    outs, out_tree = tree_flatten(out)
    if out_axes is None:
        if all(type(o) is np.ndarray for o in outs):
            return tree_unflatten(out_tree, outs)
    elif all(type(o) is BatchTracer and o._trace is trace for o in outs):
        return tree_unflatten(out_tree, [o.val for o in outs])
    # Other outputs (unmapped with out_axes=0, scalars, errors): map_call's output step,
    # in this frame, on the outputs computed above (fun does not run again).
    return map_call(lambda *_: out, args, {}, in_axes, out_axes, axis_name, "pmap",
                    lambda parent, size: trace)


def _check_not_nested(t, axis_name):
    while t is not None:
        if getattr(t, "backend", None) is not None:
            raise NotImplementedError(
                f"pmap(axis_name={axis_name!r}) inside pmap(axis_name={t.axis_name!r}): only "
                "one pmap level can span MPI ranks. Use vmap for the inner map.")
        t = t.parent


# The entry check is a primitive bound on the pmap call's own arguments, and the end of
# the call another: eagerly they run at once; under jit they are recorded in the
# program, so every replay exchanges the same messages as the eager program. The
# entry is folded into the schedule fingerprint without a message: the body's first
# checked collective compares it, or, if the body has none, the end of the call does.
# A pmap(grad) step then makes one small exchange (and one sync) instead of two.
pmap_entry_p = core.Primitive("pmap_entry", multiple_results=True)
pmap_end_p = core.Primitive("pmap_end", multiple_results=True, effectful=True)


def _entry_leaves(args, kwargs):
    """The operands of the entry check. What every rank must agree on at a pmap call:
    the function, the argument shapes and dtypes (which include k), and
    in_axes/out_axes (the check's ``extra``)."""
    leaves = tree_flatten(args)[0] + tree_flatten(kwargs)[0] if kwargs else tree_flatten(args)[0]
    return [x if isinstance(x, core.Tracer | np.ndarray) else np.asarray(x) for x in leaves]


def _entry_impl(*xs, comm, what, extra):
    comm.state.entry = consistency.fold(
        comm.state, what, [x if type(x) is np.ndarray else np.asarray(x) for x in xs], extra, comm.site)
    return []


def _end_impl(*outs, comm, what):
    consistency.verify(comm, comm.entry, what)
    return []


core.impl_rules[pmap_entry_p] = _entry_impl
core.impl_rules[pmap_end_p] = _end_impl
for _p in (pmap_entry_p, pmap_end_p):
    core.abstract_rules[_p] = lambda *avals, **params: []
    core.vma_rules[_p] = lambda vmas, **params: []
    ad.jvp_rules[_p] = (lambda p: lambda primals, tangents, **params: (p.bind(*primals, **params), []))(_p)
    batching.batch_rules[_p] = (lambda p: lambda size, vals, batched, **params: (p.bind(*vals, **params), []))(_p)


class MPIBackend:
    """What a pmap frame needs to reach the other ranks: ``rank``, ``nranks``,
    ``local_size`` (k shards on this rank), the communicator state, and the two
    cross-rank steps that every collective's owner rule may call.

    The global index of local shard ``j`` on rank ``r`` is ``r * k + j``. The
    collectives' own MPI lowerings live beside them in :mod:`spmdgrad.collectives`.
    """
    __slots__ = ("_state", "local_size", "axis_name")

    def __init__(self, state, local_size, axis_name):
        self._state = state
        self.local_size = local_size
        self.axis_name = axis_name

    # The state as the MPI primitives carry it: tagged with the site of the running
    # collective (the user's call, found on the stack), for the schedule fingerprint.
    state = property(lambda self: tagged(self._state))
    rank = property(lambda self: self._state.rank)
    nranks = property(lambda self: self._state.nranks)
    comm = property(lambda self: self._state.comm)

    def __repr__(self):
        return (f"MPIBackend(axis={self.axis_name!r}, rank={self.rank}, nranks={self.nranks}, "
                f"local_size={self.local_size})")

    def pbroadcast(self, x):
        """Implicit broadcast of a replicated value to every rank (sum when transposed)."""
        if type(x) is np.ndarray:
            # A concrete array is nobody's tangent, so nothing will transpose this
            # identity: it needs neither the primitive nor the call site.
            return x
        return mpi_pbroadcast(x, self.state, self.axis_name)

    def allreduce(self, xs, op):
        """One fused cross-rank reduction of ``xs`` (op: "sum", "max" or "min")."""
        return allreduce(list(xs), op, self.state, self.axis_name)
