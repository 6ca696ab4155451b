"""Named-axis collectives: one module per collective, with its MPI lowering.

Each module reads in the same order: the primitive, the public function, the
shape and vma rules, batching, JVP and transpose, the *owner rule* (run by the
map that binds the axis, vectorized over the local instances), and last the
MPI lowering used when that map is a pmap over ranks.

- ``psum``: psum, pmean; MPI ``Allreduce`` (``allreduce_p``, fused, packed per dtype)
- ``pmax_pmin``: pmax, pmin (their MPI step reuses ``allreduce_p``)
- ``pbroadcast``: the implicit broadcast of an invariant value; MPI ``mpi_pbroadcast_p``
- ``axis_index``: axis_index, axis_size
- ``all_gather``: all_gather; MPI ``Allgather``
- ``psum_scatter``: psum_scatter; MPI ``Reduce_scatter_block``
- ``all_to_all``: all_to_all; MPI ``Alltoall``
- ``ppermute``: ppermute; MPI ``Isend``/``Irecv``
- ``_lowering``: helpers of the MPI lowerings (axis-name checks and the transpose of an
  implicit broadcast are in :mod:`spmdgrad.primitives.named_axes`)

``pdot`` (a psum fused into a contraction) lives beside ``einsum2`` in
:mod:`spmdgrad.primitives.contraction`, whose transpose emits it. The cross-rank
consistency check every MPI lowering calls is :mod:`spmdgrad.mpi.consistency`.
The public names are exported by :mod:`spmdgrad.lax`.
"""
