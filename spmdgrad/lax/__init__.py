"""``spmdgrad.lax``: named-axis collectives, as in ``jax.lax``.

psum, pmean, pmax, pmin, all_gather, psum_scatter, ppermute, all_to_all,
axis_index and axis_size. Each works under vmap (vectorized over the batch
dimension) and pmap (MPI across ranks), with JVP and transpose rules.
"""
from .parallel import axis_index, axis_size, pdot, pmean, psum  # noqa: F401
