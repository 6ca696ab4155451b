"""``spmdgrad.config``: JAX's configuration calls, honest about what spmdgrad does.

spmdgrad computes with NumPy's dtypes: float64 and int64 by default, as JAX
with ``jax_enable_x64=True``. So ``update('jax_enable_x64', True)`` is a no-op
and reading ``jax_enable_x64`` gives True; ``update('jax_enable_x64', False)``
raises, because spmdgrad cannot give JAX's 32-bit defaults everywhere and
must never change precision silently (cast explicitly with
``x.astype(jnp.float32)`` where float32 is wanted).

Options that change no number (logging, tracebacks, caches, the platform
``'cpu'``) are accepted and stored; an option whose requested behaviour
spmdgrad does not implement (NaN checks, rank-promotion errors, another PRNG)
raises ``NotImplementedError`` rather than being ignored; an unknown name
raises ``AttributeError``. See docs/porting_from_jax.md.

>>> from spmdgrad import config
>>> config.update("jax_enable_x64", True)
>>> config.jax_enable_x64, config.read("jax_enable_x64")
(True, True)
"""
from __future__ import annotations

__all__ = ["config_with_absl", "parse_flags_with_absl", "read", "update"]

_MATMUL_PRECISIONS = (None, "default", "high", "highest", "bfloat16", "tensorfloat32", "float32",
                      "bfloat16_3x", "ANY_F8_ANY_F8_F32", "fastest")

# name -> (current value, values accepted): every accepted value gives spmdgrad's own
# behaviour, which is the same numbers (or, for matmul precision, full float64 precision).
_OPTIONS = {
    "jax_enable_x64": [True, (True, 1)],
    "jax_platforms": [None, (None, "cpu", "")],
    "jax_platform_name": ["", (None, "cpu", "")],
    "jax_default_matmul_precision": [None, _MATMUL_PRECISIONS],
    "jax_numpy_rank_promotion": ["allow", ("allow",)],
    "jax_default_prng_impl": ["threefry2x32", ("threefry2x32",)],
    "jax_threefry_partitionable": [True, (True, 1)],
    "jax_debug_nans": [False, (False, 0)],
    "jax_debug_infs": [False, (False, 0)],
    "jax_disable_jit": [False, (False, 0)],
    "jax_enable_checks": [False, None],
    "jax_traceback_filtering": ["auto", None],
    "jax_log_compiles": [False, None],
    "jax_explain_cache_misses": [False, None],
    "jax_compilation_cache_dir": [None, None],
    "jax_persistent_cache_min_compile_time_secs": [1.0, None],
    "jax_persistent_cache_min_entry_size_bytes": [0, None],
}

_WHY = {
    "jax_enable_x64": (
        "spmdgrad always uses NumPy's 64-bit defaults (float64, int64), which is JAX's x64 mode; "
        "32-bit defaults are not available, and spmdgrad never changes precision silently. "
        "Remove this call, or cast explicitly (x.astype(jnp.float32)) where float32 is wanted"),
    "jax_debug_nans": "NaN checking is not implemented; test with jnp.isnan(...).any() instead",
    "jax_debug_infs": "Inf checking is not implemented; test with jnp.isinf(...).any() instead",
    "jax_disable_jit": "disabling jit globally is not implemented; jit results equal eager ones",
    "jax_numpy_rank_promotion": "spmdgrad.numpy always broadcasts ranks as NumPy does ('allow')",
    "jax_default_prng_impl": "spmdgrad.random implements only JAX's default threefry2x32",
    "jax_threefry_partitionable": (
        "spmdgrad.random follows JAX's default layout (jax_threefry_partitionable=True); the "
        "other layout would give other random numbers"),
}


def _entry(name):
    entry = _OPTIONS.get(name)
    if entry is None:
        raise AttributeError(f"spmdgrad.config: unrecognized or unsupported option {name!r}; known: "
                             f"{', '.join(sorted(_OPTIONS))}")
    return entry


def update(name, value):
    """Set option ``name``; a value spmdgrad cannot honour raises instead of being ignored.

    >>> update("jax_log_compiles", True); read("jax_log_compiles")
    True
    >>> update("jax_enable_x64", False)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    NotImplementedError: jax_enable_x64=False: spmdgrad always uses NumPy's 64-bit defaults ...
    """
    entry = _entry(name)
    accepted = entry[1]
    if hasattr(value, "item") and getattr(value, "shape", None) == ():  # np.True_, np.int64(0)
        value = value.item()
    if accepted is not None and not any(value is a or (value == a and type(value) is type(a))
                                        for a in accepted):
        why = _WHY.get(name, f"spmdgrad supports only {', '.join(map(repr, accepted))}")
        raise NotImplementedError(f"{name}={value!r}: {why}")
    if accepted is None or name in ("jax_platforms", "jax_platform_name",
                                    "jax_default_matmul_precision", "jax_log_compiles"):
        entry[0] = value


def read(name):
    """The value of option ``name``.

    >>> read("jax_default_prng_impl")
    'threefry2x32'
    """
    return _entry(name)[0]


def config_with_absl():
    """Accepted for JAX programs that call it; spmdgrad defines no absl flags.

    >>> config_with_absl()
    """


def parse_flags_with_absl():
    """Accepted for JAX programs that call it; spmdgrad defines no absl flags.

    >>> parse_flags_with_absl()
    """


def __getattr__(name):
    if name in _OPTIONS:
        return _OPTIONS[name][0]
    if name == "x64_enabled":
        return True
    raise AttributeError(f"module 'spmdgrad.config' has no attribute {name!r}")
