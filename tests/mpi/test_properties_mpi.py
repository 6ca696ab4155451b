"""Property tests under pmap: random programs of elementwise ops and collectives (the
generator of tests/property_programs.py), with the outer named axis split across MPI ranks
(k local shards each) and an optional inner vmap axis. pmap must equal vmap over the global
data: outputs, per-example gradients, totals and partial totals.

Rank-count agnostic (run at 1, 2 and 3 ranks):
    mpiexec -n N python -m mpi4py -m pytest --with-mpi tests/mpi/test_properties_mpi.py
Every rank must draw the same programs: hypothesis is derandomized, health checks (which
depend on timing) are off, and there is no shrinking phase. The verdict of each example is
agreed over all ranks before it is reported, so all ranks fail (or pass) together.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from mpi_helpers import block, world
from property_programs import body, data, mapped, per_example, programs, total

import spmdgrad as sg

pytestmark = pytest.mark.mpi

SETTINGS = settings(deadline=None, max_examples=12, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck),
                    phases=(Phase.explicit, Phase.reuse, Phase.generate))


@st.composite
def cases(draw):
    names = draw(st.sampled_from((("a",), ("a", "b"))))
    k = draw(st.integers(1, 2))                      # local shards of the outer axis per rank
    inner = {"b": draw(st.integers(1, 2))} if len(names) == 2 else {}
    return draw(programs(names)), names, k, inner, draw(st.integers(0, 2**16))


def _agree(errors):
    """Raise on every rank if any rank found a mismatch."""
    from mpi4py import MPI
    comm, rank, _ = world()
    failed = comm.allreduce(int(bool(errors)), op=MPI.SUM)
    if failed:
        raise AssertionError(f"pmap differs from vmap on {failed} rank(s); rank {rank}: {errors}")


def _compare(errors, what, got, want, rtol=1e-11):
    if np.shape(got) != np.shape(want) or not np.allclose(got, want, rtol=rtol, atol=rtol):
        errors.append(f"{what}: {np.asarray(got).tolist()} != {np.asarray(want).tolist()}")


@SETTINGS
@given(cases())
def test_pmap_equals_vmap_on_random_programs(case):
    program, names, k, inner, seed = case
    _, _, n = world()
    sizes = {"a": n * k, **inner}
    w, x = data(seed, tuple(sizes[m] for m in names))     # the same global data on every rank
    xb = block(x, k)
    errors = []
    f = body(program, sizes)
    _compare(errors, "outputs", mapped(f, names, (None, 0), outer=sg.pmap)(w, xb),
             block(mapped(f, names, (None, 0))(w, x), k))
    _compare(errors, "per-example gradients", per_example(program, names, sizes, outer=sg.pmap)(w, xb),
             block(per_example(program, names, sizes)(w, x), k))
    _compare(errors, "total gradient", total(program, names, sizes, names, outer=sg.pmap)(w, xb),
             total(program, names, sizes, names)(w, x))
    if len(names) == 2:   # inner axis reduced, outer axis (across ranks) per instance
        _compare(errors, "inner totals", total(program, names, sizes, ("b",), outer=sg.pmap)(w, xb),
                 block(total(program, names, sizes, ("b",))(w, x), k))
    _agree(errors)
