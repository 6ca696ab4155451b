"""The README's pmap example runs on every rank count that divides its batch of 12
(CI runs it at 1, 2 and 3 ranks), and every rank ends with the same total gradient."""
import pathlib
import re

import numpy as np
import pytest

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def pmap_block():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    mine = [b for b in blocks if "spmdgrad.shard(" in b]
    assert len(mine) == 1, "the README should have one pmap example using spmdgrad.shard"
    return mine[0]


@pytest.mark.mpi(min_size=1)
def test_readme_pmap_example(comm, size):
    ns = {}
    exec(compile(pmap_block(), "README.md", "exec"), ns)  # noqa: S102  (asserts total == full batch)
    total, x = ns["total"], ns["x"]
    assert len(ns["spmdgrad"].shard(x)) == len(x) // size     # each rank really got a block
    # Bitwise identical on every rank, and not the gradient of the rank's block alone.
    assert len({t.tobytes() for t in comm.allgather(np.asarray(total))}) == 1
    if size > 1:
        local = ns["spmdgrad"].grad(ns["loss"])(ns["w"], ns["spmdgrad"].shard(x),
                                                ns["spmdgrad"].shard(ns["y"]))
        assert not np.allclose(local, total)
