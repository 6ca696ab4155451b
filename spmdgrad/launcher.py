"""``spmdrun``: launch a Python script or module on N MPI ranks.

    spmdrun -n 2 -m spmdgrad.examples.train_digits --epochs 5
    spmdrun -n 2 my_script.py --my-flag
    spmdrun -n 4 --timeout 600 -f hosts.txt train.py
    spmdrun -n 2 -- -genv UCX_TLS tcp,self -- train.py      # words between -- and -- go to mpiexec

runs ``mpiexec -n N [-f hostfile] -prepend-rank [mpiexec args] <python> -m
spmdgrad._rank_main script args`` with the ``mpiexec`` and ``python`` of the
current environment. Each rank exports ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``
and ``LOCAL_WORLD_SIZE`` (as torchrun does) and then runs the program under
``python -m mpi4py``, which turns an uncaught exception on any rank into
``MPI_Abort``, so the job ends instead of hanging. Each output line is prefixed
with its rank (``[0] ...``). ``SPMDRUN_TTY=1`` tells the ranks that the
launcher's output is an interactive terminal (theirs is a pipe), so rank 0 may
draw a live progress bar; otherwise programs should print plain log lines.

Exit status: the job's, 124 after ``--timeout``, 130 after Ctrl-C, 2 for a usage
error, 1 when MPI is missing for more than one rank.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence

_INSTALL_HINT = "pip install 'spmdgrad[mpi]'   (or: pip install mpich mpi4py)"
TTY_VARIABLE = "SPMDRUN_TTY"


def find_mpiexec() -> str | None:
    """The ``mpiexec`` next to the running Python (a venv's own MPI), else on PATH."""
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if os.path.isfile(here) and os.access(here, os.X_OK):
        return here
    return shutil.which("mpiexec")


def _flavor(mpiexec):
    try:
        text = subprocess.run([mpiexec, "--version"], check=False, capture_output=True, text=True,
                              timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if "HYDRA" in text:
        return "hydra"
    if "Open MPI" in text or "OpenRTE" in text:
        return "openmpi"
    return "unknown"


def build_command(mpiexec: str, n: int, target: Sequence[str], args: Sequence[str],
                  hostfile: str | None = None, prefix: bool = True,
                  mpiexec_args: Sequence[str] = ()) -> list[str]:
    """The mpiexec command line (a list) for ``target`` (``[script]`` or ``["-m", module]``).

    >>> cmd = build_command("/no/such/mpiexec", 2, ["job.py"], ["--lr", "0.1"])
    >>> cmd[:3], cmd[-5:]
    (['/no/such/mpiexec', '-n', '2'], ['-m', 'spmdgrad._rank_main', 'job.py', '--lr', '0.1'])
    """
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
    cmd += list(mpiexec_args)
    return cmd + [sys.executable, "-m", "spmdgrad._rank_main"] + list(target) + list(args)


class _Help(argparse.HelpFormatter):
    """Shows each option's default, where it has one."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS) and "%(default)" not in text:
            text += " (default: %(default)s)"
        return text


def _parser():
    p = argparse.ArgumentParser(
        prog="spmdrun",
        usage="spmdrun [-n N] [options] [-- mpiexec args --] (script.py | -m module) [args ...]",
        description="Run a Python script (or module) on N MPI ranks with spmdgrad's defaults.",
        epilog="Words between a '--' and the next '--' are passed to mpiexec unchanged. Each "
               "rank gets RANK, WORLD_SIZE, LOCAL_RANK and LOCAL_WORLD_SIZE in its environment. "
               "Exit status: the job's; 124 after --timeout, 130 after Ctrl-C.",
        formatter_class=_Help)
    p.add_argument("-n", "--np", type=int, default=2, dest="n", help="number of ranks")
    p.add_argument("-f", "--hostfile", help="hostfile for multi-node runs (MPICH Hydra format; "
                                            "default: this host only)")
    p.add_argument("--timeout", type=float, help="stop the job after this many seconds (exit 124; "
                                                 "default: no limit)")
    p.add_argument("--no-prefix", action="store_true", help="do not prefix output with the rank")
    p.add_argument("--dry-run", action="store_true", help="print the command and exit")
    p.add_argument("-m", dest="module", help="run a library module (like python -m) instead of a "
                                              "script")
    p.add_argument("--stall-warn", metavar="S", help="report a collective that waits longer than "
                   "S seconds, on every waiting rank (SPMDGRAD_STALL_WARN; default 60; 'off')")
    p.add_argument("--stall-abort", metavar="S", help="end the job when a collective waits longer "
                   "than S seconds (SPMDGRAD_STALL_ABORT; default off)")
    return p


class _UsageError(Exception):
    pass


def _split(argv):
    """Split argv into (launcher options, mpiexec args, target, program args). The
    target starts at the first non-option word, or at ``-m MODULE``."""
    takes_value = {"-n", "--np", "-f", "--hostfile", "--timeout", "--stall-warn", "--stall-abort"}
    opts: list[str] = []
    mpiexec_args: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            try:
                end = argv.index("--", i + 1)
            except ValueError:
                raise _UsageError("mpiexec arguments start with '--' and end with another '--' "
                                  "before the script, e.g.: spmdrun -n 2 -- -genv X 1 -- "
                                  "train.py") from None
            mpiexec_args += argv[i + 1:end]
            i = end + 1
        elif a == "-m":
            return opts, mpiexec_args, ["-m"] + argv[i + 1:i + 2], argv[i + 2:]
        elif a in takes_value:
            opts += argv[i:i + 2]
            i += 2
        elif a.startswith("-") and a != "-":
            opts.append(a)
            i += 1
        else:
            return opts, mpiexec_args, [a], argv[i + 1:]
    return opts, mpiexec_args, [], []


def _fail(message, status):
    sys.stderr.write(f"spmdrun: error: {message}\n")
    return status


def _rank_env(n):
    """The launcher's environment for the ranks."""
    env = dict(os.environ)
    # One write per line (not per print argument), so rank prefixes stay at line starts.
    env.pop("PYTHONUNBUFFERED", None)
    # One BLAS thread per rank unless the user chose: N ranks x default threads
    # oversubscribe the cores (measured: a 2-rank step 19x slower on 2 cores).
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")
    # The ranks' stdout is a pipe to mpiexec; tell them whether a person is watching.
    env[TTY_VARIABLE] = "1" if sys.stdout.isatty() and sys.stderr.isatty() else "0"
    return env


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``spmdrun`` console script. Returns the job's exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = _parser()
    try:
        opts, mpiexec_args, target, prog_args = _split(argv)
    except _UsageError as e:
        return _fail(str(e), 2)
    ns = parser.parse_args(opts)
    if not target or target == ["-m"]:
        parser.error("give a script to run (spmdrun -n 2 script.py) or a module (-m module)")
    if ns.n < 1:
        return _fail(f"-n must be at least 1, got {ns.n}", 2)
    if target[0] != "-m" and not os.path.isfile(target[0]):
        return _fail(f"no such script: {target[0]}", 2)
    if ns.hostfile and not os.path.isfile(ns.hostfile):
        return _fail(f"hostfile not found: {ns.hostfile}", 2)
    env = _rank_env(ns.n)
    mpiexec = find_mpiexec()
    if mpiexec is None:
        if ns.n > 1 or ns.hostfile or mpiexec_args:
            return _fail(f"cannot start {ns.n} ranks: no mpiexec next to {sys.executable} or on "
                         f"PATH. Install MPI with: {_INSTALL_HINT}", 1)
        env.update(RANK="0", WORLD_SIZE="1", LOCAL_RANK="0", LOCAL_WORLD_SIZE="1")
        cmd = [sys.executable] + target + prog_args   # one process, no MPI at all
    else:
        cmd = build_command(mpiexec, ns.n, target, prog_args, ns.hostfile, not ns.no_prefix,
                            mpiexec_args)
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


def _check_finished(markers: str, n: int, status: int) -> int:
    """Exit status that does not hide a rank that vanished (``os._exit``, a signal):
    every rank that imported spmdgrad must have left a completion marker."""
    names = set(os.listdir(markers))   # ranks on hosts without this directory leave none
    missing = [r for r in range(n) if f"started.{r}" in names and f"done.{r}" not in names]
    if missing and status not in (124, 130):   # --timeout or Ctrl-C has said so already
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
        _stop(proc)
        return 124
    except KeyboardInterrupt:
        # Pass the interrupt on (a terminal already sent it to the whole process group;
        # a second one does no harm), give mpiexec a moment to stop the ranks, then
        # exit as a shell does after Ctrl-C.
        sys.stderr.write("spmdrun: interrupted\n")
        _stop(proc, signal.SIGINT)
        return 130


def _stop(proc, sig=signal.SIGTERM):
    proc.send_signal(sig)   # mpiexec forwards the signal to every rank
    try:
        proc.wait(timeout=5)
        return
    except subprocess.TimeoutExpired:
        pass
    except KeyboardInterrupt:   # a second Ctrl-C: stop waiting
        pass
    proc.kill()
    proc.wait()


if __name__ == "__main__":
    sys.exit(main())
