"""Differentially private training: clipped total gradients and privacy accounting.

:func:`clipped_grad` and :func:`per_example_norms` (``spmdgrad.clipped_grad``,
``spmdgrad.per_example_norms``) compute DP-SGD's clipped sum without per-example
copies of contracted parameters; :mod:`spmdgrad.dp.privacy` (``spmdgrad.privacy``)
wraps the ``dp-accounting`` package. See docs/dp.md.
"""
from .clipping import clipped_grad, per_example_norms  # noqa: F401
from . import privacy  # noqa: F401
