"""``spmdgrad.lax``: named-axis collectives, as in ``jax.lax``.

psum, pmean, pmax, pmin, all_gather, psum_scatter, ppermute, all_to_all,
axis_index and axis_size (plus pdot, a fused ``psum(einsum)``). Each works
under vmap (vectorized over the batch dimension) and pmap (MPI across ranks),
with JVP and transpose rules; see docs/per_example_and_total.md.
``pbroadcast`` marks an invariant value as varying (the explicit form of the
implicit broadcast), and ``stop_gradient`` is here too, as in ``jax.lax``.
"""
from .gather import all_gather, all_to_all, psum_scatter  # noqa: F401
from ..custom import stop_gradient  # noqa: F401
from .control_flow import (cond, dynamic_index_in_dim, dynamic_slice, dynamic_slice_in_dim,  # noqa: F401
                           dynamic_update_index_in_dim, dynamic_update_slice, dynamic_update_slice_in_dim,
                           fori_loop, map, scan, switch, while_loop)
from .parallel import axis_index, axis_size, pbroadcast, pdot, pmax, pmean, pmin, psum  # noqa: F401
from .permute import ppermute  # noqa: F401
