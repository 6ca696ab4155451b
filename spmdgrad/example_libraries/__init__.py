"""Small neural-network libraries with the API of ``jax.example_libraries``:
:mod:`~spmdgrad.example_libraries.stax` (layers as ``(init_fun, apply_fun)`` pairs) and
:mod:`~spmdgrad.example_libraries.optimizers` (``(init_fun, update_fun, get_params)``
triples). Port a JAX program by importing them from here.

>>> from spmdgrad.example_libraries import optimizers, stax
>>> callable(stax.serial) and callable(optimizers.adam)
True
"""
