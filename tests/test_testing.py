"""spmdgrad.testing: run_ranks, and the pytest plugin keeping ranks in step after a
failure on one rank (each case runs pytest on 2 ranks in a subprocess)."""
import textwrap

import pytest

from spmdgrad.launcher import find_mpiexec
from spmdgrad.testing import run_ranks

pytestmark = pytest.mark.skipif(find_mpiexec() is None, reason="no mpiexec in this environment")


def print_rank():
    """Run by each rank in test_run_ranks_runs_a_function."""
    from mpi4py import MPI
    print(f"function on rank {MPI.COMM_WORLD.Get_rank()}", flush=True)


def test_run_ranks_runs_source_and_reports_status():
    code, out, _ = run_ranks(2, """
        import os, sys
        from mpi4py import MPI
        print("rank", MPI.COMM_WORLD.Get_rank(), "of", MPI.COMM_WORLD.Get_size(),
              "RANK", os.environ["RANK"], flush=True)
        sys.exit(3 if MPI.COMM_WORLD.Get_rank() == 1 else 0)
    """, timeout=60)
    assert sorted(out.splitlines()) == ["rank 0 of 2 RANK 0", "rank 1 of 2 RANK 1"]
    assert code != 0


def test_run_ranks_runs_a_function_and_a_script(tmp_path):
    code, out, _ = run_ranks(2, print_rank, timeout=60)
    assert code == 0 and sorted(out.splitlines()) == ["function on rank 0", "function on rank 1"]
    script = tmp_path / "s.py"
    script.write_text("import sys\nprint(sys.argv[1:])\n")
    code, out, _ = run_ranks(1, script, args=["a", 2], mpi4py_main=False)
    assert (code, out) == (0, "['a', '2']\n")


def test_run_ranks_timeout_returns_124():
    code, _, err = run_ranks(2, "import time\ntime.sleep(60)\n", timeout=2)
    assert code == 124 and "timeout of 2 s" in err


def test_run_ranks_argument_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such script"):
        run_ranks(2, str(tmp_path / "missing.py"))
    with pytest.raises(ValueError, match="positive int"):
        run_ranks(0, "print()\n")
    with pytest.raises(TypeError, match="top level"):
        run_ranks(2, lambda: None)


def run_pytest(tmp_path, tests):
    (tmp_path / "test_job.py").write_text(textwrap.dedent(tests))
    return run_ranks(2, f"""
        import sys, pytest
        sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", "-p", "spmdgrad.testing.plugin",
                              {str(tmp_path / "test_job.py")!r}]))
    """, timeout=120, cwd=tmp_path)


HEAD = """
    import numpy as np
    from spmdgrad import pmap
    from spmdgrad.lax import psum

    def total(x):
        return pmap(lambda v: psum(v, 'i'), axis_name='i', out_axes=None)(x)
"""


def test_one_rank_failing_before_a_collective_does_not_break_later_tests(tmp_path):
    code, out, err = run_pytest(tmp_path, HEAD + """
    def test_rank1_fails_first(rank):
        assert rank != 1, "boom on rank 1"
        total(np.ones((1, 2)))          # rank 0 waits here for rank 1
        total(np.ones((1, 2)))

    def test_only_rank0_passes(rank):
        total(np.ones((1, 2)))
        assert rank == 0, "rank 1 disagrees"

    def test_later_tests_still_run(size):
        assert total(np.ones((1, 2))).tolist() == [size, size]
    """)
    assert code != 0
    # Both ranks report the same outcome: 2 failed, 1 passed (no cascade of MismatchErrors).
    assert out.count("2 failed, 1 passed") == 2, out + err
    assert "boom on rank 1" in out and "fell out of step" in out
    assert "passed on rank 0 but failed on rank(s) 1" in out   # rank 0's summary keeps it
    assert "rank 1 disagrees" in out


def test_ranks_that_cannot_get_back_in_step_end_the_run(tmp_path):
    code, out, err = run_pytest(tmp_path, HEAD + """
    def test_rank0_swallows_mismatches(rank):
        if rank == 1:
            raise RuntimeError("rank 1 fails at once")
        for _ in range(6):
            try:
                total(np.ones((1, 2)))
            except ValueError:          # MismatchError is a ValueError
                pass

    def test_never_reached():
        pass
    """)
    assert code not in (0, 124), out + err
    assert "could not get back in step after test test_job.py::test_rank0_swallows_mismatches" \
        in out + err
