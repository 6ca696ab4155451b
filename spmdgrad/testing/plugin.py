"""pytest plugin for rank-count-agnostic tests (registered as the ``pytest11``
entry point ``spmdgrad.testing.plugin``, so it loads wherever spmdgrad is
installed; ``-p no:spmdgrad.testing.plugin`` turns it off).

Fixtures: ``comm`` (``MPI.COMM_WORLD``), ``rank`` and ``size``. They work in one
process too (rank 0 of 1), so the same tests run with and without ``mpiexec``.

**Keeping the ranks in step.** Under ``mpiexec -n N pytest`` every rank runs the
same tests in the same order. When a test fails on one rank only, that rank
moves on while the others may still wait in a collective of the failed test;
without care every later test then fails with a ``MismatchError`` and the real
error is lost. So at the end of each test (N > 1 ranks) the plugin

1. checks that every rank has finished the same test (one small Allreduce, the
   same check pmap makes before each collective). A rank still inside the test
   gets a ``MismatchError`` there, which ends its test; the check is then
   repeated and the ranks are back in step for the next test;
2. shares every rank's outcome, so a test that failed anywhere is reported as
   failed on every rank, with each failing rank's error. Rank 0's summary lists
   every failure.

If the ranks cannot get back in step (for example a test that catches the
``MismatchError`` and goes on), the run ends with a message naming the test and
what each rank was doing. The check relies on spmdgrad's consistency checks
(on unless ``SPMDGRAD_CHECKS=0``); a rank blocked in a raw MPI call of its own
cannot be reached, so keep a ``timeout`` around multi-rank runs.
"""
from __future__ import annotations

import os
import sys
from typing import Any

import pytest

from spmdgrad.mpi import MismatchError, agree

_LAUNCHER_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS")
_ATTEMPTS = 3
_MESSAGE_CHARS = 2000
_KEY = pytest.StashKey["_RankSync | None"]()


def _comm_world():
    from mpi4py import MPI
    return MPI.COMM_WORLD


@pytest.fixture(scope="session")
def comm() -> Any:
    """``MPI.COMM_WORLD``: all ranks of the run (a size of 1 without ``mpiexec``)."""
    return _comm_world()


@pytest.fixture(scope="session")
def rank(comm: Any) -> int:
    """This process's rank in ``MPI.COMM_WORLD``."""
    return comm.Get_rank()


@pytest.fixture(scope="session")
def size(comm: Any) -> int:
    """The number of ranks in ``MPI.COMM_WORLD``."""
    return comm.Get_size()


def pytest_addoption(parser):
    parser.addoption("--no-rank-sync", action="store_true", default=False,
                     help="spmdgrad: do not check at the end of each test that all MPI ranks "
                          "are in step")


def pytest_configure(config):
    active = (not config.getoption("no_rank_sync")
              and any(v in os.environ for v in _LAUNCHER_VARS)
              and _comm_world().Get_size() > 1)
    config.stash[_KEY] = _RankSync() if active else None



@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    sync = item.config.stash.get(_KEY, None)
    if sync is None:
        return
    report = outcome.get_result()
    # One sync per test: after the call, or after a setup that did not pass (no call).
    if call.when == "call" or (call.when == "setup" and report.outcome != "passed"):
        sync.after_test(item, report)


def _error_text(report):
    if not report.failed:
        return ""
    crash = getattr(report.longrepr, "reprcrash", None)
    text = getattr(crash, "message", None) or str(report.longrepr)
    return text[-_MESSAGE_CHARS:]


class _RankSync:
    def __init__(self):
        world = _comm_world()
        self.world, self.rank = world, world.Get_rank()

    def after_test(self, item, report):
        label = f"end of test {item.nodeid}"
        mismatches = []
        for _ in range(_ATTEMPTS):
            try:
                agree(label)
                break
            except MismatchError as e:
                mismatches.append(str(e))
        else:
            self._give_up(item, mismatches)
        outcomes = self.world.allgather((report.failed, _error_text(report)))
        failed = [r for r, (f, _) in enumerate(outcomes) if f]
        notes = []
        if mismatches:
            notes.append("The ranks fell out of step in this test (a rank left it while another "
                         "waited in a collective); they are back in step for the next test. "
                         f"What each rank was doing:\n{mismatches[0]}")
        others = [r for r in failed if r != self.rank]
        if others:
            notes.append("\n".join(f"failed on rank {r}: {outcomes[r][1]}" for r in others))
        if not notes:
            return
        text = "\n\n".join(notes)
        if report.failed:
            report.sections.append(("spmdgrad: other ranks", text))
        else:
            report.outcome = "failed"
            report.longrepr = (f"{item.nodeid} passed on rank {self.rank} but failed on "
                               f"rank(s) {','.join(map(str, failed))}.\n{text}")

    def _give_up(self, item, mismatches):
        message = (f"spmdgrad.testing: the MPI ranks could not get back in step after test "
                   f"{item.nodeid} (rank {self.rank}); ending the run. The last disagreement:\n"
                   f"{mismatches[-1]}")
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
        pytest.exit(message, returncode=1)
