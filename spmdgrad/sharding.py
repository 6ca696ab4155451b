"""This rank's share of global data, laid out the way ``pmap`` expects it.

Under ``pmap`` over MPI **each rank passes its local block**: the mapped axis has
global size ``nranks * k`` and shard ``j`` of rank ``r`` is global index
``r * k + j`` (see ``docs/mpi.md``). Given the same global array on every rank,
:func:`shard` returns exactly that block, so ``pmap(f)(shard(x))`` on N ranks
computes what ``pmap(f)(x)`` (or ``vmap(f)(x)``) computes in one process.
:func:`shard_indices` does the same for an index set, for data loaders that
read only their own examples.

Both use the public ``spmdgrad.mpi.process_index`` / ``process_count``: with one
process (no ``mpiexec``) the share is everything.
"""
from __future__ import annotations

import operator
from typing import Any

import numpy as np

from .mpi import process_count, process_index

__all__ = ["shard", "shard_indices"]


def _rank_and_count(comm: Any) -> tuple[int, int]:
    return process_index(comm), process_count(comm)


def shard(x: Any, axis: int = 0, *, shards: int | None = None, comm: Any = None) -> np.ndarray:
    """This rank's block of the global array ``x`` along ``axis``, for ``pmap``.

    Every rank passes the same global ``x``; rank ``r`` of ``n`` gets the
    contiguous block ``r * m : (r + 1) * m`` with ``m = x.shape[axis] // n``,
    which is pmap's layout (shard ``j`` of rank ``r`` is global index
    ``r * m + j``). The size must divide evenly, because pmap needs the same
    number of local shards on every rank; trim the data first
    (``x[:len(x) - len(x) % n]``) or use :func:`shard_indices` to decide what to
    drop.

    ``shards=k`` splits the block further into ``k`` pmap shards of ``m // k``
    entries each: the result has a new axis of length ``k`` at ``axis`` followed
    by one of length ``m // k``. Use it to give each pmap shard a mini-batch for
    an inner ``vmap`` (``pmap(vmap(f, axis_name='batch'), axis_name='dev')``).

    >>> import numpy as np
    >>> x = np.arange(8.0)
    >>> shard(x)                       # one process: the whole array
    array([0., 1., 2., 3., 4., 5., 6., 7.])
    >>> shard(x, shards=2).shape       # two shards of 4 examples each
    (2, 4)
    >>> shard(np.ones((3, 6)), axis=1).shape
    (3, 6)
    """
    x = np.asarray(x)
    if x.ndim == 0:
        raise ValueError("shard: x is a scalar; it has no axis to split over the ranks. "
                         "Pass replicated values to pmap with in_axes=None instead.")
    try:
        axis = operator.index(axis)
    except TypeError:
        raise TypeError(f"shard: axis must be an int, got {axis!r}") from None
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"shard: axis {axis} is out of range for an array of shape {x.shape}")
    axis %= x.ndim
    rank, n = _rank_and_count(comm)
    size = x.shape[axis]
    if size % n:
        raise ValueError(
            f"shard: axis {axis} of the array (shape {x.shape}) has {size} entries, which do "
            f"not split evenly over {n} ranks (remainder {size % n}). pmap needs the same "
            f"number of shards on every rank: trim to {size - size % n} entries first, e.g. "
            f"shard(x[:{size - size % n}]), or use shard_indices(...) to pick the examples.")
    m = size // n
    block = np.take(x, np.arange(rank * m, (rank + 1) * m), axis=axis)
    if shards is None:
        return block
    shards = operator.index(shards)
    if shards < 1 or m % shards:
        raise ValueError(
            f"shard: shards={shards} must be >= 1 and divide this rank's {m} entries "
            f"({size} entries over {n} ranks)")
    return block.reshape(x.shape[:axis] + (shards, m // shards) + x.shape[axis + 1:])


def shard_indices(indices: int | np.ndarray, *, drop_remainder: bool = True,
                  comm: Any = None) -> np.ndarray:
    """This rank's share of an index set: an int ``N`` (meaning ``range(N)``) or a
    1-D array of indices (for example a shuffled permutation of the dataset).

    Shares are contiguous and in rank order. ``drop_remainder=True`` (the
    default) gives every rank the same count, ``N // nranks``, and drops the
    last ``N % nranks`` indices: pmap needs equal shares. With
    ``drop_remainder=False`` every index is kept and the first ``N % nranks``
    ranks get one more (for per-rank work outside pmap, such as evaluation
    you sum yourself).

    >>> shard_indices(10)              # one process: everything
    array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    >>> import numpy as np
    >>> perm = np.random.default_rng(0).permutation(6)
    >>> bool((shard_indices(perm) == perm).all())
    True
    """
    if isinstance(indices, (int, np.integer)):
        if indices < 0:
            raise ValueError(f"shard_indices: the number of indices must be >= 0, got {indices}")
        indices = np.arange(int(indices))
    else:
        indices = np.asarray(indices)
        if indices.ndim != 1:
            raise ValueError(f"shard_indices: expected an int N or a 1-D index array, got an "
                             f"array of shape {indices.shape}")
    rank, n = _rank_and_count(comm)
    size = len(indices)
    if drop_remainder:
        m = size // n
        return indices[rank * m:(rank + 1) * m]
    base, extra = divmod(size, n)
    start = rank * base + min(rank, extra)
    return indices[start:start + base + (rank < extra)]
