"""Helpers for the multi-rank tests, shipped as spmdgrad.testing so users can test
their own multi-rank code the same way. They run at any number of ranks."""
from spmdgrad.testing import block, fd_check, global_data, global_inner, world  # noqa: F401
