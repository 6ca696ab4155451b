"""Failure behaviour of pmap over MPI (semantics section 5): inconsistent ranks get a
clear error on every rank and the job ends promptly; an exception on one rank ends
the whole job with its traceback. Each case runs a small script on 2 ranks with
``spmdgrad.testing.run_ranks`` (mpiexec in a subprocess, with a timeout).
"""
import textwrap
import time
from types import SimpleNamespace

import pytest

from spmdgrad.launcher import find_mpiexec
from spmdgrad.testing import run_ranks

pytestmark = pytest.mark.skipif(find_mpiexec() is None, reason="no mpiexec in this environment")

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


def run(tmp_path, body, n=2, mpi4py_main=True, env=None, limit=60):
    start = time.perf_counter()
    code, out, err = run_ranks(n, HEADER + textwrap.dedent(body), timeout=limit, env=env,
                               cwd=tmp_path, mpi4py_main=mpi4py_main)
    return SimpleNamespace(returncode=code, stdout=out, stderr=err), time.perf_counter() - start


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
    assert "allreduce[sum] over axis 'i' f64[3]" in proc.stdout
    assert "allreduce[sum] over axis 'i' f64[2]" in proc.stdout


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
    # Rank 1 skips the reduction and reaches the end of the program while rank 0
    # waits in a collective: the exit check turns the hang into an error.
    proc, elapsed = run(tmp_path, """
        axes = ('dev',) if rank == 0 else ()
        loss = lambda w, x: jnp.sum(jnp.sin(w * x))
        report(lambda: pmap(grad(loss, reduce_axes=axes), axis_name='dev', in_axes=(None, 0))(
            np.ones(3), np.ones((2, 3))))
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
        proc, _ = run(tmp_path, body, env={"SPMDGRAD_CHECKS": value})
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "rank 0 ok" in proc.stdout and "rank 1 ok" in proc.stdout
