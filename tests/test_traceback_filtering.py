"""Tracebacks leaving a public transformation show the user's code (issue 14, item 5)."""
import os
import subprocess
import sys
import textwrap

import pytest

PROGRAM = textwrap.dedent("""
    import numpy as np
    import spmdgrad, spmdgrad.numpy as jnp

    def loss(w, x):
        return jnp.sum(jnp.ones(3) @ w * x)

    spmdgrad.vmap(spmdgrad.grad(loss), in_axes=(None, 0))(np.ones(2), np.ones(4))
""")
ENTRY = {"vmap": "spmdgrad.vmap(spmdgrad.grad(loss), in_axes=(None, 0))(np.ones(2), np.ones(4))",
         "jit": "spmdgrad.jit(spmdgrad.grad(loss))(np.ones(2), 1.0)",
         "pmap": "spmdgrad.pmap(spmdgrad.grad(loss), in_axes=(None, 0))(np.ones(2), np.ones(4))"}


def _run(tmp_path, env_extra, entry="vmap"):
    script = tmp_path / "prog.py"
    script.write_text(PROGRAM.replace(ENTRY["vmap"], ENTRY[entry]))
    env = dict(os.environ, **env_extra)
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env,
                          timeout=120)


def _spmdgrad_frames(stderr):
    return [line for line in stderr.splitlines()
            if line.strip().startswith("File") and os.sep + "spmdgrad" + os.sep in line]


@pytest.mark.parametrize("entry", sorted(ENTRY))
def test_internal_frames_are_filtered(tmp_path, entry):
    proc = _run(tmp_path, {}, entry)
    assert proc.returncode != 0
    assert "contraction dimension mismatch" in proc.stderr
    assert 'prog.py", line 6, in loss' in proc.stderr       # the user's line is the last frame
    assert len(_spmdgrad_frames(proc.stderr)) == 1           # only the re-raise remains
    if sys.version_info >= (3, 11):                          # exception notes
        assert "SPMDGRAD_TRACEBACK_FILTERING=off" in proc.stderr


def test_switch_shows_every_frame(tmp_path):
    proc = _run(tmp_path, {"SPMDGRAD_TRACEBACK_FILTERING": "off"})
    assert "contraction dimension mismatch" in proc.stderr
    assert len(_spmdgrad_frames(proc.stderr)) > 5
    assert "SPMDGRAD_TRACEBACK_FILTERING=off" not in proc.stderr
