"""Failure behaviour of pmap over MPI (semantics section 5, issue 13): inconsistent
ranks get a clear error on every rank and the job ends promptly; an exception on one
rank ends the whole job with its traceback; a stalled collective is reported and can
end the job; nothing ends in silence. Each case runs a small script under
``timeout ... mpiexec -n N``, at 2 and 3 ranks.
"""
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MPIEXEC = Path(sys.executable).parent / "mpiexec"

pytestmark = pytest.mark.skipif(not MPIEXEC.exists(), reason="no mpiexec in this environment")

HEADER = textwrap.dedent("""
    import numpy as np
    from mpi4py import MPI
    import spmdgrad.numpy as jnp
    from spmdgrad import grad, pmap
    from spmdgrad.lax import psum
    from spmdgrad.mpi import MismatchError
    rank = MPI.COMM_WORLD.Get_rank()

    def report(fn):
        try:
            fn()
        except MismatchError as e:
            print(f"rank {rank} caught MismatchError: {e}", flush=True)
            MPI.COMM_WORLD.Barrier()
            raise
        print(f"rank {rank} finished without error", flush=True)
""")


def run(tmp_path, body, n=2, mpi4py_main=True, env=None, limit=60, spmdrun=False):
    script = tmp_path / "job.py"
    script.write_text(HEADER + textwrap.dedent(body))
    if spmdrun:
        cmd = ["timeout", str(limit), sys.executable, "-m", "spmdgrad.launcher", "-n", str(n),
               "--no-prefix", str(script)]
    else:
        cmd = ["timeout", str(limit), str(MPIEXEC), "-n", str(n), sys.executable]
        cmd += (["-m", "mpi4py"] if mpi4py_main else []) + [str(script)]
    full_env = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=full_env, cwd=tmp_path)
    return proc, time.perf_counter() - start


def assert_failed_promptly(proc, elapsed):
    assert proc.returncode not in (0, 124), proc.stdout + proc.stderr  # 124: timeout hit
    assert elapsed < 20, f"the job took {elapsed:.1f} s to end"


def test_different_k_raises_on_every_rank(tmp_path):
    proc, elapsed = run(tmp_path, """
        k = 2 if rank == 0 else 3
        report(lambda: pmap(lambda x: psum(x, 'i'), axis_name='i')(np.ones((k, 3))))
    """)
    assert_failed_promptly(proc, elapsed)
    for r in (0, 1):
        assert f"rank {r} caught MismatchError" in proc.stdout
    assert "k=2" in proc.stdout and "k=3" in proc.stdout
    assert "f64[2,3]" in proc.stdout and "f64[3,3]" in proc.stdout


def test_different_shapes_and_dtypes_raise_on_every_rank(tmp_path):
    proc, elapsed = run(tmp_path, """
        x = np.ones((2, 3)) if rank == 0 else np.ones((2, 4), np.float32)
        report(lambda: pmap(lambda v: v * 2, axis_name='i')(x))
    """)
    assert_failed_promptly(proc, elapsed)
    for r in (0, 1):
        assert f"rank {r} caught MismatchError" in proc.stdout
    assert "f64[2,3]" in proc.stdout and "f32[2,4]" in proc.stdout


def test_collectives_in_different_orders(tmp_path):
    proc, elapsed = run(tmp_path, """
        def f(x, y):
            if rank == 0:
                return psum(x, 'i'), psum(y, 'i')
            b = psum(y, 'i')
            return psum(x, 'i'), b
        report(lambda: pmap(f, axis_name='i')(np.ones((1, 3)), np.ones((1, 2))))
    """)
    assert_failed_promptly(proc, elapsed)
    for r in (0, 1):
        assert f"rank {r} caught MismatchError" in proc.stdout
    assert "allreduce[sum] over axis 'i' (f64[3])" in proc.stdout
    assert "allreduce[sum] over axis 'i' (f64[2])" in proc.stdout


def test_different_reduce_axes_then_another_pmap(tmp_path):
    proc, elapsed = run(tmp_path, """
        axes = ('dev',) if rank == 0 else ()
        loss = lambda w, x: jnp.sum(jnp.sin(w * x))
        def job():
            pmap(grad(loss, reduce_axes=axes), axis_name='dev', in_axes=(None, 0))(
                np.ones(3), np.ones((2, 3)))
            pmap(lambda x: psum(x, 'dev'), axis_name='dev')(np.ones((2, 3)))
        report(job)
    """)
    assert_failed_promptly(proc, elapsed)
    for r in (0, 1):
        assert f"rank {r} caught MismatchError" in proc.stdout
    assert "allreduce[sum]" in proc.stdout and "pmap(axis_name='dev')" in proc.stdout
    assert "reduce_axes" in proc.stdout   # the hint names the likely cause


def test_rank_leaving_early_does_not_hang_the_others(tmp_path):
    # Rank 1 makes one pmap call fewer and reaches the end of the program while rank 0
    # waits in a collective: the exit check turns the hang into an error.
    proc, elapsed = run(tmp_path, """
        f = pmap(lambda x: psum(x, 'dev'), axis_name='dev')
        def job():
            f(np.ones((2, 3)))
            if rank == 0:
                f(np.ones((2, 3)))
        report(job)
    """, mpi4py_main=False)
    assert_failed_promptly(proc, elapsed)
    assert "end of program" in proc.stdout + proc.stderr


@pytest.mark.parametrize("mpi4py_main", [True, False], ids=["mpi4py-main", "plain-python"])
def test_exception_on_one_rank_ends_the_job(tmp_path, mpi4py_main):
    proc, elapsed = run(tmp_path, """
        f = pmap(lambda x: psum(x, 'i'), axis_name='i')
        f(np.ones((1, 2)))                      # the MPI backend is now in use
        if rank == 1:
            raise RuntimeError("boom on rank 1")
        f(np.ones((1, 2)))                      # rank 0 waits here for rank 1
        print("rank 0 should never get here", flush=True)
    """, mpi4py_main=mpi4py_main)
    assert_failed_promptly(proc, elapsed)
    assert "boom on rank 1" in proc.stderr
    assert "Traceback" in proc.stderr
    assert "never get here" not in proc.stdout


def test_consistent_program_runs_with_checks_on_and_off(tmp_path):
    body = """
        g = np.arange(8.0).reshape(4, 2)
        x = g[rank * 2:rank * 2 + 2]
        s = pmap(lambda v: psum(v, 'i'), axis_name='i', out_axes=None)(x)
        assert np.array_equal(s, g.sum(0)), s
        print(f"rank {rank} ok", flush=True)
    """
    for value in ("1", "0"):
        proc, elapsed = run(tmp_path, body, env={"SPMDGRAD_CHECKS": value})
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "rank 0 ok" in proc.stdout and "rank 1 ok" in proc.stdout


# ---------------------------------------------------------------- issue 13: schedule fingerprint

RANKS = pytest.mark.parametrize("n", [2, 3])


def assert_every_rank_caught(proc, n):
    for r in range(n):
        assert f"rank {r} caught MismatchError" in proc.stdout, proc.stdout + proc.stderr


@RANKS
def test_same_shaped_psums_swapped(tmp_path, n):
    proc, elapsed = run(tmp_path, """
        def f(x, y):
            if rank == 0:
                a = psum(x, 'i')
                b = psum(y, 'i')
            else:
                b = psum(y, 'i')
                a = psum(x, 'i')
            return a + 10 * b
        report(lambda: pmap(f, axis_name='i')(np.ones((1, 3)), np.ones((1, 3))))
    """, n=n)
    assert_failed_promptly(proc, elapsed)
    assert_every_rank_caught(proc, n)
    # each rank's line names the user's file:line of its call
    script = (tmp_path / "job.py").read_text().splitlines()
    first = [i + 1 for i, ln in enumerate(script) if ln.strip() in ("a = psum(x, 'i')", "b = psum(y, 'i')")]
    assert f"rank(s) 0: allreduce[sum] over axis 'i' (f64[3]) from psum(axis_name='i') at job.py:{first[0]}" \
        in proc.stdout
    assert f"(f64[3]) from psum(axis_name='i') at job.py:{first[2]} (in f)" in proc.stdout
    assert "first difference: called from" in proc.stdout


@RANKS
@pytest.mark.parametrize("case,expected", [
    ("psum(x, 'i') if rank else pmean(x, 'i')", "call \"pmean(axis_name='i')\" vs \"psum(axis_name='i')\""),
    ("all_gather(x, 'i', tiled=rank == 0).sum()", "tiled=True)\" vs \"all_gather(axis_name='i', axis=0, tiled=False)"),
    ("pmax(x, 'i') if rank else pmin(x, 'i')", "what \"pmin over axis 'i'\" vs \"pmax over axis 'i'\""),
])
def test_same_shapes_different_call(tmp_path, n, case, expected):
    proc, elapsed = run(tmp_path, f"""
        from spmdgrad.lax import all_gather, pmax, pmean, pmin
        report(lambda: pmap(lambda x: {case}, axis_name='i')(np.ones((1, 3))))
    """, n=n)
    assert_failed_promptly(proc, elapsed)
    assert_every_rank_caught(proc, n)
    assert expected in proc.stdout


@RANKS
def test_many_leaves_name_the_differing_key_path(tmp_path, n):
    proc, elapsed = run(tmp_path, """
        def f(x, y):
            tree = {f"w{i}": x for i in range(12)}
            if rank == n - 1:
                tree["w7"] = y.astype(np.float32)
            return psum(tree, 'i')["w0"]
        report(lambda: pmap(f, axis_name='i')(np.ones((1, 3)), np.ones((1, 3))))
    """.replace("n - 1", str(n - 1)), n=n)
    assert_failed_promptly(proc, elapsed)
    assert_every_rank_caught(proc, n)
    assert "first difference: leaf ['w7']: f64[3] vs f32[3]" in proc.stdout


def test_tuple_order_swapped(tmp_path):
    proc, elapsed = run(tmp_path, """
        def f(x, y):
            if rank == 0:
                a, b = psum((x, y), 'i')
            else:
                a, b = psum((y, x), 'i')
            return a + 10 * b
        report(lambda: pmap(f, axis_name='i')(np.ones((1, 3)), np.ones((1, 3))))
    """)
    assert_failed_promptly(proc, elapsed)
    assert_every_rank_caught(proc, 2)


def test_sites_switch_allows_different_lines(tmp_path):
    proc, elapsed = run(tmp_path, """
        def f(x):
            if rank == 0:
                return psum(x, 'i')
            return psum(x, 'i')
        report(lambda: pmap(f, axis_name='i')(np.ones((1, 3))))
    """, env={"SPMDGRAD_CHECK_SITES": "0"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "rank 0 finished without error" in proc.stdout
    assert "rank 1 finished without error" in proc.stdout


def test_jit_on_one_rank_only_is_no_mismatch(tmp_path):
    proc, elapsed = run(tmp_path, """
        from spmdgrad import jit
        f = pmap(lambda x: psum(x, 'i'), axis_name='i')
        g = jit(f) if rank == 0 else f
        report(lambda: [g(np.ones((1, 2))) for _ in range(3)])
    """)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "rank 0 finished without error" in proc.stdout


def test_jit_replay_checks_the_schedule(tmp_path):
    # The program traced on rank 0 swaps two psums; the first call (tracing) and every
    # replay must raise, exactly as eager code does.
    proc, elapsed = run(tmp_path, """
        from spmdgrad import jit
        def f(x, y):
            if rank == 0:
                a = psum(x, 'i')
                b = psum(y, 'i')
            else:
                b = psum(y, 'i')
                a = psum(x, 'i')
            return a + b
        g = jit(pmap(f, axis_name='i'))
        report(lambda: g(np.ones((1, 3)), np.ones((1, 3))))
    """)
    assert_failed_promptly(proc, elapsed)
    assert_every_rank_caught(proc, 2)


# ---------------------------------------------------------------- start and end

@RANKS
def test_exit_before_first_pmap_does_not_hang(tmp_path, n):
    proc, elapsed = run(tmp_path, """
        import sys
        if rank == 1:
            sys.exit(0)
        report(lambda: pmap(lambda x: psum(x, 'i'), axis_name='i')(np.ones((1, 2))))
    """, n=n)
    assert_failed_promptly(proc, elapsed)
    assert "rank 1 is exiting, but ranks disagree" in proc.stderr
    assert "end of program after 0 checked calls" in proc.stderr
    assert "rank 0 caught MismatchError" in proc.stdout


@RANKS
def test_exception_before_first_pmap_ends_the_job(tmp_path, n):
    proc, elapsed = run(tmp_path, """
        if rank == 1:
            raise RuntimeError("boom before pmap")
        pmap(lambda x: psum(x, 'i'), axis_name='i')(np.ones((1, 2)))
    """, n=n, mpi4py_main=False)
    assert_failed_promptly(proc, elapsed)
    assert "boom before pmap" in proc.stderr


@RANKS
def test_different_number_of_collectives_at_exit(tmp_path, n):
    proc, elapsed = run(tmp_path, """
        f = pmap(lambda x: psum(x, 'i'), axis_name='i')
        f(np.ones((1, 2)))
        if rank == 0:
            f(np.ones((1, 2)))
    """, n=n)
    assert_failed_promptly(proc, elapsed)
    # every rank reports, each once: no second, misleading traceback after Abort
    for r in range(1, n):
        assert proc.stderr.count(f"[spmdgrad] rank {r} is exiting, but ranks disagree") == 1
    assert proc.stderr.count("[spmdgrad] uncaught exception on rank 0") == 1
    assert "end of program after 2 checked calls" in proc.stderr


@RANKS
def test_os_exit_is_reported_by_spmdrun(tmp_path, n):
    proc, elapsed = run(tmp_path, """
        import os
        f = pmap(lambda x: psum(x, 'i'), axis_name='i')
        f(np.ones((1, 2)))
        if rank == 1:
            os._exit(0)
        f(np.ones((1, 2)))
    """, spmdrun=True, n=n)
    assert_failed_promptly(proc, elapsed)
    assert re.search(r"rank\(s\) [0-9,]*1[0-9,]* ended without finishing", proc.stderr), proc.stderr


def test_spmdrun_exit_status_zero_when_all_finish(tmp_path):
    proc, elapsed = run(tmp_path, """
        pmap(lambda x: psum(x, 'i'), axis_name='i')(np.ones((1, 2)))
    """, spmdrun=True, n=3)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ---------------------------------------------------------------- stall watchdog

@RANKS
def test_stall_is_reported_and_aborts(tmp_path, n):
    proc, elapsed = run(tmp_path, """
        import time
        f = pmap(lambda x: psum(x, 'i'), axis_name='i')
        f(np.ones((1, 2)))
        if rank == 1:
            time.sleep(60)
        f(np.ones((1, 2)))
    """, n=n, env={"SPMDGRAD_STALL_WARN": "1", "SPMDGRAD_STALL_ABORT": "3"})
    assert_failed_promptly(proc, elapsed)
    assert elapsed < 3 + 10
    for r in range(n):
        if r != 1:
            # (the pmap entry #3 is folded into the psum's check, #4: the one wait)
            assert (f"[spmdgrad] rank {r}: waited 1 s in collective #4: allreduce[sum] over axis "
                    "'i' from psum(axis_name='i')" in proc.stderr), proc.stderr
    assert "rank(s) 1 have not arrived" in proc.stderr
    assert "stalled longer than SPMDGRAD_STALL_ABORT=3 s: ending the whole job" in proc.stderr


def test_stall_before_first_pmap_is_reported(tmp_path):
    proc, elapsed = run(tmp_path, """
        import time
        if rank == 1:
            time.sleep(60)
        pmap(lambda x: psum(x, 'i'), axis_name='i')(np.ones((1, 2)))
    """, env={"SPMDGRAD_STALL_WARN": "1", "SPMDGRAD_STALL_ABORT": "2"})
    assert_failed_promptly(proc, elapsed)
    assert "[spmdgrad] rank 0: waited 1 s in setup step #0: creating pmap's communicator" in proc.stderr
    assert "ending the whole job" in proc.stderr


def test_spmdrun_passes_stall_flags(tmp_path):
    script = tmp_path / "s.py"
    script.write_text(HEADER + textwrap.dedent("""
        import time
        f = pmap(lambda x: psum(x, 'i'), axis_name='i')
        f(np.ones((1, 2)))
        if rank == 0:
            time.sleep(60)
        f(np.ones((1, 2)))
    """))
    cmd = ["timeout", "60", sys.executable, "-m", "spmdgrad.launcher", "-n", "2", "--stall-warn", "1",
           "--stall-abort", "2", str(script)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.returncode not in (0, 124), proc.stdout + proc.stderr
    assert time.perf_counter() - start < 2 + 10
    assert "rank(s) 0 have not arrived" in proc.stderr


# ---------------------------------------------------------------- randomized campaign

@pytest.mark.parametrize("n,seed", [(2, 7), (3, 11)])
def test_randomized_mismatch_campaign(n, seed):
    jobs = 15
    cmd = ["timeout", "120", str(MPIEXEC), "-n", str(n), sys.executable, "-m", "mpi4py",
           str(ROOT / "tests" / "mpi" / "campaign_job.py"), str(seed), str(jobs)]
    proc = subprocess.run(cmd, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT), SPMDGRAD_STALL_ABORT="20"))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]   # 0 hangs, 0 crashes
    found = re.findall(r"JOB (\d+) rank (\d+): (ERROR|SILENT)", proc.stdout)
    assert not [f for f in found if f[2] == "SILENT"], proc.stdout        # 0 silent successes
    got = {(int(j), int(r)) for j, r, kind in found if kind == "ERROR"}
    assert got == {(j, r) for j in range(jobs) for r in range(n)}, proc.stdout  # every rank, every job
    assert proc.stdout.count("first difference:") == jobs * n


# ---------------------------------------------------------------- multi-host in network namespaces

sys.path.insert(0, str(ROOT / "tools"))
import netns_cluster  # noqa: E402

_NETNS_OK, _NETNS_WHY = netns_cluster.available()
_skip_netns = pytest.mark.skipif(not _NETNS_OK, reason=f"multi-host harness unavailable: {_NETNS_WHY}")


def netns(test):
    """About 40 s for the three: marked slow (deselect with -m 'not slow')."""
    return pytest.mark.slow(_skip_netns(test))

LOOP = """
import time, numpy as np
from spmdgrad import pmap
from spmdgrad.lax import psum
from spmdgrad.mpi import process_index
f = pmap(lambda x: psum(x, 'i'), axis_name='i')
f(np.ones((1, 1000)))
print(f"rank {process_index()} started", flush=True)
for i in range(60):
    assert f(np.ones((1, 1000)))[0, 0] == 3.0
    time.sleep(0.1)
print(f"rank {process_index()} done", flush=True)
"""


def _wait_started(proc, n=3, limit=60):
    """Read the job's output until every rank has passed its first collective (MPI
    start-up itself is not under the watchdog, so the link is cut only after it)."""
    seen, start, lines = 0, time.monotonic(), []
    while seen < n and time.monotonic() - start < limit:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        seen += "started" in line
    assert seen == n, "".join(lines)
    return "".join(lines)


@netns
def test_netns_digits_demo_equals_local_run_bitwise():
    digest = ROOT / "tests" / "mpi" / "digits_digest.py"
    local = subprocess.run(["timeout", "120", sys.executable, "-m", "spmdgrad.launcher", "-n", "3",
                            str(digest), "--epochs", "1"], capture_output=True, text=True,
                           env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert local.returncode == 0, local.stderr
    with netns_cluster.Cluster(3) as c:
        proc = c.spmdrun([str(digest), "--epochs", "1"])
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    want = set(re.findall(r"DIGEST rank \d (\w+)", local.stdout))
    got = re.findall(r"DIGEST rank (\d) (\w+)", out)
    assert len(want) == 1 and sorted(r for r, _ in got) == ["0", "1", "2"], out + local.stdout
    assert {d for _, d in got} == want


@netns
def test_netns_short_link_cut_is_survived(tmp_path):
    script = tmp_path / "loop.py"
    script.write_text(LOOP)
    with netns_cluster.Cluster(3) as c:
        proc = c.spmdrun([str(script)], env={"SPMDGRAD_STALL_ABORT": "30"})
        head = _wait_started(proc)
        c.cut(2)
        time.sleep(3)
        c.restore(2)
        out, err = proc.communicate(timeout=90)
        out = head + out
    assert proc.returncode == 0, out + err
    for r in range(3):
        assert f"rank {r} done" in out


@netns
def test_netns_link_cut_for_good_ends_the_job_with_the_diagnostic(tmp_path):
    script = tmp_path / "loop.py"
    script.write_text(LOOP)
    abort_after = 4
    with netns_cluster.Cluster(3) as c:
        proc = c.spmdrun([str(script)], env={"SPMDGRAD_STALL_WARN": "2",
                                             "SPMDGRAD_STALL_ABORT": str(abort_after)})
        _wait_started(proc)
        c.cut(2)
        cut = time.monotonic()
        out, err = proc.communicate(timeout=60)
        ended = time.monotonic() - cut
        time.sleep(1)
        left = c.pids()
    assert proc.returncode not in (0, 124)
    assert ended < abort_after + 10, ended
    assert not left, f"processes left in the namespaces: {left}"
    assert "rank(s) 2 have not arrived (or cannot be reached)" in err, err
    assert f"stalled longer than SPMDGRAD_STALL_ABORT={abort_after} s: ending the whole job" in err
