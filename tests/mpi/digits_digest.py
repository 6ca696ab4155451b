"""Run launch/train_digits.py and print a digest of every pmap result's bits.

``python digits_digest.py [demo args]``: the demo runs unchanged (through runpy),
with ``spmdgrad.pmap`` wrapped so that each result (the psummed loss and the total
gradient of every step, the test-set count) feeds one SHA-256. Runs that print the
same digest computed bitwise-identical training. Used by the multi-host test.
"""
import hashlib
import os
import runpy
import sys

import numpy as np

import spmdgrad
from spmdgrad.tree_util import tree_leaves

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
digest = hashlib.sha256()
_pmap = spmdgrad.pmap


def recording_pmap(*args, **kwargs):
    f = _pmap(*args, **kwargs)

    def g(*a, **k):
        out = f(*a, **k)
        for leaf in tree_leaves(out):
            digest.update(np.ascontiguousarray(leaf).tobytes())
        return out
    return g


spmdgrad.pmap = recording_pmap
demo = os.path.join(ROOT, "launch", "train_digits.py")
sys.argv = [demo] + sys.argv[1:]
runpy.run_path(demo, run_name="__main__")
print(f"DIGEST rank {spmdgrad.mpi.process_index()} {digest.hexdigest()}", flush=True)
