"""``spmdgrad.scipy``: ``jax.scipy``'s special functions, distributions and linear algebra,
differentiable and batched. SciPy is an optional dependency (``pip install spmdgrad[scipy]``).

>>> import spmdgrad.scipy as jsp
>>> float(jsp.stats.norm.cdf(0.0))
0.5
"""
try:
    import scipy  # noqa: F401
except ImportError as e:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError("spmdgrad.scipy needs SciPy, an optional dependency; install it with "
                      "`pip install spmdgrad[scipy]`") from e

from . import linalg, special, stats  # noqa: F401
