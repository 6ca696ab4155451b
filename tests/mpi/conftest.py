"""Fixtures of the multi-rank tests (helpers live in mpi_helpers.py)."""
import pytest


@pytest.fixture(params=[1, 2], ids=["k1", "k2"])
def k(request):
    """Local shards per rank."""
    return request.param
