"""``spmdgrad.lax``: named-axis collectives, as in ``jax.lax``.

psum, pmean, pmax, pmin, all_gather, psum_scatter, ppermute, all_to_all,
axis_index and axis_size (plus pdot, a fused ``psum(einsum)``). Each works
under vmap (vectorized over the batch dimension) and pmap (MPI across ranks),
with JVP and transpose rules; see docs/per_example_and_total.md.
``pbroadcast`` marks an invariant value as varying (the explicit form of the
implicit broadcast), and ``stop_gradient`` is here too, as in ``jax.lax``.
"""
from ..collectives.all_gather import all_gather  # noqa: F401
from ..collectives.all_to_all import all_to_all  # noqa: F401
from ..collectives.axis_index import axis_index, axis_size  # noqa: F401
from ..collectives.pbroadcast import pbroadcast  # noqa: F401
from ..collectives.pmax_pmin import pmax, pmin  # noqa: F401
from ..collectives.ppermute import ppermute  # noqa: F401
from ..collectives.psum import pmean, psum  # noqa: F401
from ..collectives.psum_scatter import psum_scatter  # noqa: F401
from ..primitives.contraction import pdot  # noqa: F401
from ..primitives.stop_gradient import stop_gradient  # noqa: F401
from .conv import *  # noqa: F401,F403
from .windowed import add, max, min, reduce_window  # noqa: F401
from .control_flow import (  # noqa: F401
    cond,
    dynamic_index_in_dim,
    dynamic_slice,
    dynamic_slice_in_dim,
    dynamic_update_index_in_dim,
    dynamic_update_slice,
    dynamic_update_slice_in_dim,
    fori_loop,
    map,
    scan,
    switch,
    while_loop,
)
from .ops import *  # noqa: F401,F403,E402
from .shape_ops import *  # noqa: F401,F403,E402
