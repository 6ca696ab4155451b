"""``spmdrun``: launch a Python script on N MPI ranks.

    spmdrun -n 2 launch/train_digits.py --epochs 5
    spmdrun -n 4 --timeout 600 -f hosts.txt train.py
    spmdrun -n 2 -m pytest --with-mpi tests/mpi

runs ``mpiexec -n N [-f hostfile] -prepend-rank <python> -m mpi4py script args``
with the ``mpiexec`` and ``python`` of the current environment. ``-m mpi4py``
turns an uncaught exception on any rank into ``MPI_Abort``, so the job ends
instead of hanging; each output line is prefixed with its rank (``[0] ...``).
Without an MPI installation the script runs in a single process, with a warning.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

_INSTALL_HINT = "pip install mpich mpi4py  (or: pip install 'spmdgrad[mpi]')"


def find_mpiexec():
    """The ``mpiexec`` next to the running Python (a venv's own MPI), else on PATH."""
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if os.path.isfile(here) and os.access(here, os.X_OK):
        return here
    return shutil.which("mpiexec")


def _flavor(mpiexec):
    try:
        text = subprocess.run([mpiexec, "--version"], capture_output=True, text=True,
                              timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if "HYDRA" in text:
        return "hydra"
    if "Open MPI" in text or "OpenRTE" in text:
        return "openmpi"
    return "unknown"


def build_command(mpiexec, n, target, args, hostfile=None, prefix=True):
    """The mpiexec command line (a list) for ``target`` (a script, or ``-m module``)."""
    flavor = _flavor(mpiexec)
    cmd = [mpiexec, "-n", str(n)]
    if hostfile:
        cmd += ["-f" if flavor == "hydra" else "--hostfile", hostfile]
    if prefix:
        if flavor == "hydra":
            cmd.append("-prepend-rank")
        elif flavor == "openmpi":
            cmd.append("--tag-output")
    if flavor == "openmpi":
        cmd += ["--oversubscribe"]
    return cmd + [sys.executable, "-m", "mpi4py"] + list(target) + list(args)


def _parser():
    p = argparse.ArgumentParser(
        prog="spmdrun", usage="spmdrun [-n N] [options] (script.py | -m module) [args ...]",
        description="Run a Python script (or module) on N MPI ranks with spmdgrad's defaults.")
    p.add_argument("-n", "--np", type=int, default=2, dest="n", help="number of ranks (default 2)")
    p.add_argument("-f", "--hostfile", help="hostfile for multi-node runs (MPICH Hydra format)")
    p.add_argument("--timeout", type=float, help="kill the job after this many seconds (exit 124)")
    p.add_argument("--no-prefix", action="store_true", help="do not prefix output with the rank")
    p.add_argument("--dry-run", action="store_true", help="print the command and exit")
    p.add_argument("-m", dest="module", help="run a module (like python -m) instead of a script")
    p.add_argument("--stall-warn", metavar="S", help="report a collective that waits longer than "
                   "S seconds, on every waiting rank (SPMDGRAD_STALL_WARN; default 60; 'off')")
    p.add_argument("--stall-abort", metavar="S", help="end the job when a collective waits longer "
                   "than S seconds (SPMDGRAD_STALL_ABORT; default off)")
    return p


def _split(argv):
    """Split argv into launcher options and (target, program args) at the first
    non-option word (or at -m MODULE)."""
    takes_value = {"-n", "--np", "-f", "--hostfile", "--timeout", "--stall-warn", "--stall-abort"}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "-m":
            return argv[:i], ["-m"] + argv[i + 1:i + 2], argv[i + 2:]
        if a in takes_value:
            i += 2
        elif a.startswith("-"):
            i += 1
        else:
            return argv[:i], [a], argv[i + 1:]
    return argv, [], []


def main(argv=None):
    """Entry point of the ``spmdrun`` console script. Returns the job's exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    opts, target, prog_args = _split(argv)
    parser = _parser()
    ns = parser.parse_args(opts)
    if not target or target == ["-m"]:
        parser.error("give a script to run (spmdrun -n 2 script.py) or a module (-m module)")
    if ns.n < 1:
        parser.error(f"-n must be at least 1, got {ns.n}")
    if target[0] != "-m" and not os.path.isfile(target[0]):
        parser.error(f"no such script: {target[0]}")
    env = dict(os.environ)
    # One write per line (not per print argument), so rank prefixes stay at line starts.
    env.pop("PYTHONUNBUFFERED", None)
    # One BLAS thread per rank unless the user chose: N ranks x default threads
    # oversubscribe the cores (measured: a 2-rank step 19x slower on 2 cores).
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")
    mpiexec = find_mpiexec()
    if mpiexec is None:
        sys.stderr.write(f"spmdrun: no mpiexec found next to {sys.executable} or on PATH, so "
                         f"MPI is not installed here. Install it with\n    {_INSTALL_HINT}\n"
                         f"spmdrun: running the script in ONE process instead of {ns.n}.\n")
        cmd = [sys.executable] + target + prog_args
    else:
        cmd = build_command(mpiexec, ns.n, target, prog_args, ns.hostfile, not ns.no_prefix)
    if ns.dry_run:
        print(" ".join(cmd))
        return 0
    for var, value in (("SPMDGRAD_STALL_WARN", ns.stall_warn), ("SPMDGRAD_STALL_ABORT", ns.stall_abort)):
        if value is not None:
            env[var] = value
    with tempfile.TemporaryDirectory(prefix="spmdrun-") as markers:
        env["SPMDGRAD_MARKER_DIR"] = markers   # spmdgrad's ranks mark start and clean finish
        status = _run(cmd, env, ns.timeout)
        return _check_finished(markers, ns.n, status)


def _check_finished(markers, n, status):
    """Exit status that does not hide a rank that vanished (``os._exit``, a signal):
    every rank that imported spmdgrad must have left a completion marker."""
    names = set(os.listdir(markers))   # ranks on hosts without this directory leave none
    missing = [r for r in range(n) if f"started.{r}" in names and f"done.{r}" not in names]
    if missing and status != 124:      # 124: --timeout has said so already
        sys.stderr.write(f"spmdrun: rank(s) {','.join(map(str, missing))} ended without finishing "
                         "the program (os._exit, a signal, a crash, or stopped by the launcher)\n")
        return status or 1
    return status


def _run(cmd, env, timeout):
    proc = subprocess.Popen(cmd, env=env)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        sys.stderr.write(f"spmdrun: the job did not finish within {timeout:g} s; stopping it\n")
        proc.terminate()   # mpiexec forwards the signal to every rank
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        return 124
    except KeyboardInterrupt:
        # The terminal sent SIGINT to mpiexec too; give it a moment to stop the ranks.
        try:
            return proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            return 130


if __name__ == "__main__":
    sys.exit(main())
