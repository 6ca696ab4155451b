"""Helpers for testing multi-rank code, rank-count-agnostic: the same test runs at
1, 2, 3... ranks. Every rank builds the same global data, keeps its own block
(:func:`block`, or :func:`spmdgrad.shard`), and compares with NumPy over the
global data.

- :func:`world`, :func:`global_data`, :func:`block`, :func:`global_inner`,
  :func:`fd_check`: building blocks for tests that run under ``mpiexec``;
- :func:`run_ranks`: run a script on N ranks in a subprocess, with a timeout;
- the pytest plugin :mod:`spmdgrad.testing.plugin` (loaded automatically once
  spmdgrad is installed): fixtures ``comm``, ``rank`` and ``size``, and one check
  per test that keeps the ranks in step after a failure on one of them.

>>> x = global_data((4, 3), seed=1)
>>> bool((x == global_data((4, 3), seed=1)).all())   # the same on every rank
True
"""
from ..sharding import shard, shard_indices
from ._helpers import block, fd_check, global_data, global_inner, world
from ._ranks import run_ranks

__all__ = ["block", "fd_check", "global_data", "global_inner", "run_ranks", "shard",
           "shard_indices", "world"]
