"""spmdrun (spmdgrad/launcher.py): options, exit codes, the ranks' environment, and
the shipped demos run from any directory with plain log lines when piped."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from spmdgrad import launcher
from spmdgrad.examples import progress

ROOT = Path(__file__).resolve().parents[1]
needs_mpi = pytest.mark.skipif(launcher.find_mpiexec() is None, reason="no mpiexec here")


def spmdrun(args, tmp_path, env=None, timeout=120):
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "spmdgrad.launcher", *args], check=False, cwd=tmp_path,
                          env=full_env, capture_output=True, text=True, timeout=timeout)


def write(tmp_path, name, text):
    (tmp_path / name).write_text(text)
    return name


def test_help_shows_defaults(capsys):
    with pytest.raises(SystemExit) as e:
        launcher.main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "number of ranks (default: 2)" in out
    assert "-- mpiexec args --" in out and "130 after Ctrl-C" in out


@needs_mpi
def test_dry_run_passes_mpiexec_args_after_double_dash(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "job.py", "")
    assert launcher.main(["-n", "3", "--dry-run", "--", "-genv", "X", "1", "--", "job.py",
                          "--lr", "0.1", "--", "tail"]) == 0
    cmd = capsys.readouterr().out.split()
    assert cmd[1:3] == ["-n", "3"]
    i = cmd.index("-genv")
    assert cmd[i:i + 3] == ["-genv", "X", "1"] and i < cmd.index(sys.executable)
    # The program's own arguments, '--' included, go to the program.
    assert cmd[-7:] == ["-m", "spmdgrad._rank_main", "job.py", "--lr", "0.1", "--", "tail"]


def test_unterminated_mpiexec_args_are_a_one_line_error(capsys):
    assert launcher.main(["-n", "2", "--", "-genv", "X", "1", "job.py"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "end with another '--'" in err


def test_missing_hostfile_is_one_clear_line(tmp_path):
    script = write(tmp_path, "job.py", "print('hi')\n")
    proc = spmdrun(["-n", "2", "-f", "no-such-hosts.txt", script], tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == "spmdrun: error: hostfile not found: no-such-hosts.txt\n"
    assert proc.stdout == ""


def test_missing_script_is_one_clear_line(tmp_path, capsys):
    assert launcher.main(["-n", "2", str(tmp_path / "nope.py")]) == 2
    assert capsys.readouterr().err == f"spmdrun: error: no such script: {tmp_path / 'nope.py'}\n"


def test_without_mpi_more_than_one_rank_fails_with_install_hint(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(launcher, "find_mpiexec", lambda: None)
    script = tmp_path / "job.py"
    script.write_text("open('ran', 'w').close()\n")
    assert launcher.main(["-n", "2", str(script)]) == 1
    err = capsys.readouterr().err
    assert "cannot start 2 ranks" in err and "pip install 'spmdgrad[mpi]'" in err
    assert not (tmp_path / "ran").exists()


def test_without_mpi_one_rank_runs_in_process(monkeypatch, tmp_path):
    monkeypatch.setattr(launcher, "find_mpiexec", lambda: None)
    monkeypatch.chdir(tmp_path)
    script = write(tmp_path, "job.py", "import os\nopen('ran', 'w').write(os.environ['RANK'] + "
                                       "os.environ['WORLD_SIZE'])\n")
    assert launcher.main(["-n", "1", script]) == 0
    assert (tmp_path / "ran").read_text() == "01"


def test_rank_environment_from_process_managers():
    from spmdgrad._rank_main import rank_environment
    assert rank_environment({"OMPI_COMM_WORLD_RANK": "3", "OMPI_COMM_WORLD_SIZE": "4",
                             "OMPI_COMM_WORLD_LOCAL_RANK": "1",
                             "OMPI_COMM_WORLD_LOCAL_SIZE": "2"}) == {
        "RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2"}
    assert rank_environment({}) == {}


@needs_mpi
def test_ranks_get_torchrun_variables_and_the_tty_flag(tmp_path):
    script = write(tmp_path, "env.py", "import os\nprint(' '.join(os.environ.get(k, '?') for k in "
                   "('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'LOCAL_WORLD_SIZE', 'SPMDRUN_TTY')), "
                   "flush=True)\n")
    proc = spmdrun(["-n", "3", "--no-prefix", script], tmp_path, env={"RANK": "stale"})
    assert proc.returncode == 0, proc.stderr
    # Piped output: SPMDRUN_TTY=0; an inherited RANK is overwritten.
    assert sorted(proc.stdout.splitlines()) == [f"{r} 3 {r} 3 0" for r in range(3)]


@needs_mpi
def test_ctrl_c_exits_130(tmp_path):
    script = write(tmp_path, "slow.py", "import time\nprint('ready', flush=True)\ntime.sleep(60)\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "spmdgrad.launcher", "-n", "2", script],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        lines = [proc.stdout.readline(), proc.stdout.readline()]
        assert all("ready" in line for line in lines), lines
        os.killpg(proc.pid, signal.SIGINT)     # what a terminal's Ctrl-C does
        assert proc.wait(timeout=30) == 130
        assert "interrupted" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@needs_mpi
def test_timeout_exits_124(tmp_path):
    script = write(tmp_path, "slow.py", "import time\ntime.sleep(60)\n")
    start = time.monotonic()
    proc = spmdrun(["-n", "2", "--timeout", "2", script], tmp_path)
    assert proc.returncode == 124 and "did not finish within 2 s" in proc.stderr
    assert time.monotonic() - start < 30


@needs_mpi
@pytest.mark.parametrize("demo", ["train_digits", "dpsgd"])
def test_shipped_demo_runs_from_any_directory_with_plain_logs(tmp_path, demo):
    pytest.importorskip("sklearn")
    proc = spmdrun(["-n", "2", "-m", f"spmdgrad.examples.{demo}", "--epochs", "2"], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    log = proc.stdout + proc.stderr
    assert "\r" not in log
    assert "[0] epoch 1/2  step " in log and "[0] epoch 2/2  step " in log
    assert "[0] test accuracy: " in log and "[1] " not in log   # only rank 0 reports


@needs_mpi
def test_demo_without_scikit_learn_gives_install_hint(tmp_path):
    blocker = tmp_path / "blocker" / "sklearn"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('blocked for this test')\n")
    env = {"PYTHONPATH": f"{tmp_path / 'blocker'}{os.pathsep}{ROOT}"}
    proc = spmdrun(["-n", "2", "-m", "spmdgrad.examples.train_digits"], tmp_path, env=env)
    assert proc.returncode != 0
    log = proc.stdout + proc.stderr
    assert log.count("pip install 'spmdgrad[demo]'") == 1, log
    assert "scikit-learn" in log and "Traceback" not in log


def test_progress_is_plain_lines_unless_interactive(monkeypatch):
    monkeypatch.setenv("SPMDRUN_TTY", "0")
    assert not progress.interactive()
    monkeypatch.setenv("SPMDRUN_TTY", "1")
    assert progress.interactive()
    monkeypatch.delenv("SPMDRUN_TTY")
    assert progress.interactive() == (sys.stdout.isatty() and sys.stderr.isatty())


def test_progress_prints_per_epoch_and_every_n_seconds(monkeypatch):
    import io
    clock = iter([0.0, 1.0, 12.0, 13.0, 14.0, 30.0, 31.0])
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    out = io.StringIO()
    p = progress.Progress(6, steps_per_epoch=3, stream=out, live=False, every=10.0)
    for i in range(6):
        p.update(loss=float(i))
    lines = out.getvalue().splitlines()
    # steps 2 and 5 (10 s or more since the last line), and each epoch's end (3, 6)
    assert lines == ["epoch 1/2  step 2/6  loss 1.0000", "epoch 1/2  step 3/6  loss 2.0000",
                     "epoch 2/2  step 5/6  loss 4.0000", "epoch 2/2  step 6/6  loss 5.0000"]
    assert "\r" not in out.getvalue()


def test_progress_disabled_prints_nothing(capsys):
    p = progress.Progress(2, 1, enabled=False, live=True)
    p.update(loss=1.0)
    p.close()
    assert capsys.readouterr() == ("", "")


def test_launch_wrapper_runs_the_shipped_demo(tmp_path):
    # The README's main-job command uses launch/train_digits.py; it is a thin wrapper.
    pytest.importorskip("sklearn")
    proc = subprocess.run([sys.executable, str(ROOT / "launch" / "train_digits.py"), "--epochs",
                           "1"], cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "epoch 1/1" in proc.stdout and "test accuracy" in proc.stdout
