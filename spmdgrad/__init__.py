"""spmdgrad: per-example and total gradients from one program, on one core or many ranks.

>>> import spmdgrad, spmdgrad.numpy as jnp
>>> float(spmdgrad.grad(jnp.tanh)(0.2)) == 1 - float(jnp.tanh(0.2)) ** 2
True
"""
import importlib

from . import primitives  # noqa: F401  (registers every primitive's rules)
from . import dtypes, lax, nn, numpy, random, tree_util  # noqa: F401
from . import config, flatten_util, tree  # noqa: F401
from .devices import (Device, block_until_ready, default_backend, device_count,  # noqa: F401
                      device_get, device_put, device_put_replicated, device_put_sharded, devices,
                      local_device_count, local_devices, process_count, process_index)
from .autodiff import grad, hessian, jacfwd, jacrev, jvp, linearize, value_and_grad, vjp  # noqa: F401
from .core import ConcretizationTypeError, ShapedArray  # noqa: F401
from .custom_derivatives import custom_jvp, custom_vjp  # noqa: F401
from .dp import clipped_grad, per_example_norms, privacy  # noqa: F401
from .jit import jit  # noqa: F401
from .make_jaxpr import make_jaxpr  # noqa: F401
from .pmap import pmap  # noqa: F401
from .primitives.stop_gradient import stop_gradient  # noqa: F401
from .vmap import vmap  # noqa: F401

__version__ = "0.1.0"
tree_util.ravel_pytree = flatten_util.ravel_pytree  # JAX has it in flatten_util; issue 9 asks for both


def __getattr__(name):
    # `spmdgrad.scipy` needs SciPy, an optional dependency: imported on first use, so that
    # `import spmdgrad as jax; jax.scipy.special.logsumexp(...)` works as in JAX.
    if name == "scipy":
        return importlib.import_module(".scipy", __name__)
    raise AttributeError(f"module 'spmdgrad' has no attribute {name!r}")
