"""``spmdgrad.mpi``: the MPI backend of pmap, and its safety switches.

pmap runs SPMD over the ranks of a communicator (a private duplicate of
``MPI.COMM_WORLD`` by default). Collectives use mpi4py's non-blocking buffer methods on
contiguous NumPy arrays (each collective's lowering sits in its own module in
:mod:`spmdgrad.collectives`), completed under a stall watchdog (:mod:`.watchdog`).
Before each collective the ranks compare, with one small ``Allreduce``, a fingerprint
of the whole collective schedule so far, call sites included (:mod:`.consistency`,
:mod:`.schedule`); a disagreement raises :class:`MismatchError` on every rank
instead of hanging. ``SPMDGRAD_CHECKS=0`` or ``set_checks(False)`` turns the check
off. Under an MPI launcher, an uncaught exception on any rank prints its traceback
and aborts the whole job, and a rank that leaves early is reported (:mod:`.failure`).

Without ``mpiexec`` (one process) pmap never touches MPI.

>>> from spmdgrad import mpi
>>> mpi.checks_enabled() in (True, False)
True
"""
from .comm import comm_state  # noqa: F401
from .consistency import MismatchError, checks_enabled, set_checks  # noqa: F401
from .watchdog import set_stall  # noqa: F401


def process_index(comm=None):
    """This process's rank in pmap's communicator (0 without MPI).

    >>> process_index() >= 0
    True
    """
    state = comm_state(comm)
    return 0 if state is None else state.rank


def process_count(comm=None):
    """The number of ranks pmap spans (1 without MPI).

    >>> process_count() >= 1
    True
    """
    state = comm_state(comm)
    return 1 if state is None else state.nranks
