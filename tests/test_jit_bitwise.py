"""Every jit test of the suite, replayed in 'check' mode: the compiled program and the
interpreter run side by side on each call and must agree bit for bit."""
import os
import pathlib
import subprocess
import sys

import pytest

TESTS = pathlib.Path(__file__).parent


# Check mode runs every collective twice (compiled, then interpreted), so every rank must
# use it; test_mpi_failures runs jit on one rank only, on purpose.
_SKIP = ("test_jit.py", "test_jit_compile.py", "test_jit_bitwise.py", "test_mpi_failures.py")


def _files_using_jit():
    return sorted(str(p) for p in TESTS.glob("test_*.py") if p.name not in _SKIP and "jit(" in p.read_text())


@pytest.mark.skipif(os.environ.get("SPMDGRAD_JIT") == "check", reason="already in check mode")
def test_all_jit_tests_in_check_mode():
    files = _files_using_jit()
    assert files
    env = dict(os.environ, SPMDGRAD_JIT="check")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                           "-k", "jit", *files], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout
