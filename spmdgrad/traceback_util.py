"""Tracebacks that show the user's code, not spmdgrad's interpreters.

An exception that leaves a public transformation (grad, vmap, pmap, jit, ...) has its
spmdgrad frames removed, as JAX does: what remains is the user's code, plus the one line
that re-raises it. The error message is unchanged, with a note saying how to see every
frame: ``SPMDGRAD_TRACEBACK_FILTERING=off``.

>>> import spmdgrad, spmdgrad.numpy as jnp
>>> def loss(x):
...     return jnp.ones(3) @ jnp.ones(2) * x          # a shape error in user code
>>> try:
...     spmdgrad.grad(loss)(1.0)
... except ValueError as e:
...     frames = traceback.extract_tb(e.__traceback__)
>>> frames[-1].name, sum(_is_internal(f.filename) for f in frames) <= 1
('loss', True)
"""
from __future__ import annotations

import functools
import os
import threading
import traceback  # noqa: F401  (used by the doctest)
import types

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_NOTE = ("spmdgrad removed its internal frames from this traceback; set "
         "SPMDGRAD_TRACEBACK_FILTERING=off to see them.")
_depth = threading.local()


def filtering_enabled():
    """Whether spmdgrad's internal frames are removed (``SPMDGRAD_TRACEBACK_FILTERING``).

    >>> filtering_enabled() in (True, False)
    True
    """
    return os.environ.get("SPMDGRAD_TRACEBACK_FILTERING", "on").strip().lower() not in (
        "off", "0", "false", "no")


def _is_internal(filename):
    return os.path.abspath(filename).startswith(_PACKAGE_DIR)


def _filtered(tb):
    """The traceback ``tb`` without spmdgrad's frames (kept whole if nothing else is left)."""
    frames = []
    while tb is not None:
        if not _is_internal(tb.tb_frame.f_code.co_filename):
            frames.append(tb)
        tb = tb.tb_next
    out = None
    for t in reversed(frames):
        out = types.TracebackType(out, t.tb_frame, t.tb_lasti, t.tb_lineno)
    return out


def api_boundary(fun):
    """Mark ``fun`` as a public entry point: an exception leaving the outermost one has
    spmdgrad's own frames removed from its traceback.

    >>> @api_boundary
    ... def f(x):
    ...     return x + 1
    >>> f(1)
    2
    """
    @functools.wraps(fun)
    def boundary(*args, **kwargs):
        depth = getattr(_depth, "n", 0)
        _depth.n = depth + 1
        try:
            return fun(*args, **kwargs)
        except Exception as e:
            if depth or not filtering_enabled():
                raise
            tb = _filtered(e.__traceback__)
            if tb is None:
                raise
            if hasattr(e, "add_note") and _NOTE not in getattr(e, "__notes__", ()):
                e.add_note(_NOTE)   # Python 3.11+
            raise e.with_traceback(tb)  # noqa: B904  (the same exception, re-raised)
        finally:
            _depth.n = depth
    return boundary
