"""What each rank runs under ``spmdrun``: export torchrun's rank variables, then
hand over to ``python -m mpi4py`` (which turns an uncaught exception on any rank
into ``MPI_Abort``).

``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and ``LOCAL_WORLD_SIZE`` are taken from
what the MPI process manager sets (MPICH Hydra: ``PMI_RANK``, ``PMI_SIZE``,
``MPI_LOCALRANKID``, ``MPI_LOCALNRANKS``; Open MPI: ``OMPI_COMM_WORLD_*``), so no
MPI call is needed before the user's program starts. Usage (spmdrun builds it)::

    mpiexec -n N python -m spmdgrad._rank_main script.py args...
"""
import os
from collections.abc import Mapping

# Per variable: the process managers' names for it, first match wins.
_SOURCES = {
    "RANK": ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK"),
    "WORLD_SIZE": ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE"),
    "LOCAL_RANK": ("MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK"),
    "LOCAL_WORLD_SIZE": ("MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE"),
}


def rank_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """torchrun's variables derived from a process manager's environment (a dict).

    >>> rank_environment({"PMI_RANK": "1", "PMI_SIZE": "2", "MPI_LOCALRANKID": "1"})
    {'RANK': '1', 'WORLD_SIZE': '2', 'LOCAL_RANK': '1'}
    """
    out = {}
    for name, sources in _SOURCES.items():
        for src in sources:
            if src in environ:
                out[name] = environ[src]
                break
    return out


def main() -> None:
    found = rank_environment(os.environ)
    if len(found) < len(_SOURCES):
        # An unknown process manager: ask MPI itself (mpi4py initializes it anyway).
        from mpi4py import MPI
        world = MPI.COMM_WORLD
        node = world.Split_type(MPI.COMM_TYPE_SHARED)
        asked = {"RANK": world.Get_rank(), "WORLD_SIZE": world.Get_size(),
                 "LOCAL_RANK": node.Get_rank(), "LOCAL_WORLD_SIZE": node.Get_size()}
        node.Free()
        found = {**{k: str(v) for k, v in asked.items()}, **found}
    os.environ.update(found)   # the launcher knows best, even over inherited values
    from mpi4py.run import main as mpi4py_main
    mpi4py_main()   # reads sys.argv[1:]: script.py args, or -m module args


if __name__ == "__main__":
    main()
