"""Run a program on N MPI ranks in a subprocess, with a timeout."""
from __future__ import annotations

import inspect
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from ..launcher import find_mpiexec

# The directory holding the spmdgrad package this process imported: the ranks import it too.
_SPMDGRAD_ROOT = str(Path(__file__).resolve().parents[2])

_CALL = """\
import importlib.util, sys
spec = importlib.util.spec_from_file_location({modname!r}, {path!r})
module = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = module
spec.loader.exec_module(module)
module.{name}()
"""


def run_ranks(n: int, program: str | os.PathLike[str] | Callable[[], object], *,
              timeout: float = 60, args: Iterable[object] = (),
              env: Mapping[str, str] | None = None, cwd: str | os.PathLike[str] | None = None,
              mpi4py_main: bool = True) -> tuple[int, str, str]:
    """Run ``program`` on ``n`` ranks with ``mpiexec`` and return ``(returncode,
    stdout, stderr)`` (text).

    ``program`` is one of: the path of a script; Python source (a str with a
    newline; it is dedented and written to a temporary file); or a function of no
    arguments defined at the top level of a module file (each rank imports that
    file and calls it). After ``timeout`` seconds the job is stopped and the
    return code is 124, as with ``timeout(1)``. ``mpi4py_main`` runs the program
    under ``python -m mpi4py`` (as ``spmdrun`` does), so an uncaught exception on
    one rank aborts the job instead of leaving the others waiting.

    The ranks import the same spmdgrad as the caller. Raises ``FileNotFoundError``
    when no ``mpiexec`` is installed next to Python or on ``PATH``.

    >>> code, out, err = run_ranks(2, '''
    ...     from mpi4py import MPI
    ...     print("rank", MPI.COMM_WORLD.Get_rank(), "of", MPI.COMM_WORLD.Get_size())
    ... ''')                                                    # doctest: +SKIP
    >>> code, sorted(out.splitlines())                         # doctest: +SKIP
    (0, ['rank 0 of 2', 'rank 1 of 2'])
    """
    mpiexec = find_mpiexec()
    if mpiexec is None:
        raise FileNotFoundError("run_ranks: no mpiexec next to Python or on PATH; install MPI "
                                "with: pip install 'spmdgrad[mpi]'")
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"run_ranks: n must be a positive int, got {n!r}")
    with tempfile.TemporaryDirectory(prefix="spmdgrad-run-ranks-") as tmp:
        script = _script(program, Path(tmp))
        cmd = [mpiexec, "-n", str(n), sys.executable]
        cmd += (["-m", "spmdgrad._rank_main"] if mpi4py_main else []) + [script]
        cmd += [str(a) for a in args]
        full_env = dict(os.environ, **(env or {}))
        path = full_env.get("PYTHONPATH")
        full_env["PYTHONPATH"] = _SPMDGRAD_ROOT + (os.pathsep + path if path else "")
        full_env.pop("PYTHONUNBUFFERED", None)
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=full_env, cwd=cwd if cwd is not None else tmp)
        try:
            out, err = proc.communicate(timeout=timeout)
            return proc.returncode, out, err
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGTERM)   # mpiexec forwards it to every rank
            try:
                out, err = proc.communicate(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
            return 124, out, err + f"\nrun_ranks: stopped after the timeout of {timeout:g} s\n"


def _script(program: str | os.PathLike[str] | Callable[[], object], tmp: Path) -> str:
    if callable(program):
        name = getattr(program, "__qualname__", "")
        source = inspect.getsourcefile(program)
        if not name.isidentifier() or source is None:
            raise TypeError(f"run_ranks: a function must be defined at the top level of a module "
                            f"file, got {program!r}")
        code = _CALL.format(modname=f"_run_ranks_{Path(source).stem}", path=source, name=name)
    elif isinstance(program, str) and "\n" in program:
        code = textwrap.dedent(program)
    else:
        path = Path(program)
        if not path.is_file():
            raise FileNotFoundError(f"run_ranks: no such script: {program} (pass Python source "
                                    f"as a str with at least one newline)")
        return str(path.resolve())
    script = tmp / "program.py"
    script.write_text(code)
    return str(script)
