"""Devices, mapped onto MPI processes, with JAX's device API.

spmdgrad computes on the CPU with NumPy, so a "device" is a slot of pmap's
leading axis. The model (docs/porting_from_jax.md):

- each process has ``local_device_count()`` devices: 1 by default, or
  ``SPMDGRAD_LOCAL_DEVICES=N``; in a single process JAX's own
  ``XLA_FLAGS=--xla_force_host_platform_device_count=N`` is honoured too;
- ``device_count()`` is the sum over the MPI ranks (``process_count() *
  local_device_count()``: every rank must see the same environment, as
  ``spmdrun`` arranges);
- pmap's leading axis on each process is its local device count, so JAX's
  idiom ``pmap(f)(x.reshape(local_device_count(), -1, ...))`` runs unchanged.

Arrays are NumPy arrays: ``device_put`` copies its argument to a NumPy array
(a snapshot, as JAX's transfer is), ``device_get`` returns arrays as they are,
and ``block_until_ready`` returns its argument (computation is never deferred).

>>> import spmdgrad
>>> spmdgrad.device_count() == spmdgrad.process_count() * spmdgrad.local_device_count()
True
>>> spmdgrad.devices()[0]
CpuDevice(id=0)
"""
from __future__ import annotations

import os
import re
import warnings

import numpy as np

from . import mpi
from .core import ConcretizationTypeError, Tracer
from .tree_util import tree_map

__all__ = ["Device", "block_until_ready", "default_backend", "device_count", "device_get",
           "device_put", "device_put_replicated", "device_put_sharded", "devices",
           "local_device_count", "local_devices", "process_count", "process_index"]

_ENV = "SPMDGRAD_LOCAL_DEVICES"
_XLA_COUNT = re.compile(r"--xla_force_host_platform_device_count=(\S*)")


class Device:
    """One CPU device: global ``id``, owning ``process_index``, platform ``'cpu'``."""
    __slots__ = ("id", "process_index")
    platform = "cpu"
    device_kind = "cpu"

    def __init__(self, id, process_index):  # noqa: A002  (JAX's attribute name)
        self.id, self.process_index = id, process_index

    @property
    def host_id(self):
        return self.process_index

    def __repr__(self):
        return f"CpuDevice(id={self.id})"

    def __eq__(self, other):
        return isinstance(other, Device) and other.id == self.id

    def __hash__(self):
        return hash(("spmdgrad.Device", self.id))


def process_index():
    """This process's MPI rank (0 without MPI), as ``jax.process_index``.

    >>> process_index() >= 0
    True
    """
    return mpi.process_index()


def process_count():
    """The number of MPI ranks (1 without MPI), as ``jax.process_count``.

    >>> process_count() >= 1
    True
    """
    return mpi.process_count()


def _positive_int(text, source):
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"local_device_count: {source} must be a positive integer, got {text!r}")
    return n


def local_device_count():
    """The number of devices of this process (pmap's local leading axis).

    ``SPMDGRAD_LOCAL_DEVICES=N`` sets it on every process; in a single process
    ``XLA_FLAGS=--xla_force_host_platform_device_count=N`` sets it too (JAX's
    way of simulating N devices on a CPU). Default 1.

    >>> local_device_count() >= 1
    True
    """
    own = os.environ.get(_ENV)
    if own is not None:
        return _positive_int(own, _ENV)
    found = _XLA_COUNT.findall(os.environ.get("XLA_FLAGS", ""))
    if found:
        if process_count() == 1:
            return _positive_int(found[-1], "XLA_FLAGS' --xla_force_host_platform_device_count")
        _warn_xla_ignored()
    return 1


_warned: list = []


def _warn_xla_ignored():
    if not _warned:
        _warned.append(True)
        warnings.warn("XLA_FLAGS' --xla_force_host_platform_device_count is ignored under MPI: each "
                      f"rank has 1 device (set {_ENV}=N for N devices per rank)", stacklevel=3)


def device_count():
    """The number of devices over all processes, as ``jax.device_count``.

    >>> device_count() >= local_device_count()
    True
    """
    return process_count() * local_device_count()


def local_devices(process_index=None, backend=None):  # noqa: A002
    """The devices of this process (or of ``process_index``).

    >>> local_devices()[0].process_index == process_index()
    True
    """
    _check_backend(backend)
    if process_index is None:
        process_index = mpi.process_index()
    if not 0 <= process_index < process_count():
        raise ValueError(f"local_devices: process_index {process_index} is out of range for "
                         f"{process_count()} processes")
    k = local_device_count()
    return [Device(process_index * k + j, process_index) for j in range(k)]


def devices(backend=None):
    """Every device of every process, ordered by id (process-major).

    >>> [d.id for d in devices()] == list(range(device_count()))
    True
    """
    _check_backend(backend)
    k = local_device_count()
    return [Device(i, i // k) for i in range(process_count() * k)]


def default_backend():
    """``'cpu'``: spmdgrad computes with NumPy.

    >>> default_backend()
    'cpu'
    """
    return "cpu"


def _check_backend(backend):
    if backend is not None and backend != "cpu":
        raise ValueError(f"spmdgrad has only the 'cpu' backend (NumPy), got backend={backend!r}")


def _check_device(device, what):
    if device is None:
        return
    if isinstance(device, Device):
        if device.process_index != mpi.process_index():
            raise ValueError(f"{what}: {device!r} belongs to process {device.process_index}, not to "
                             f"this process ({mpi.process_index()}); put data only on local devices")
        return
    raise TypeError(f"{what}: device must be None or one of spmdgrad.devices(), got {device!r}; "
                    "shardings are not supported (pmap maps the leading axis over devices)")


def device_put(x, device=None, *, src=None, donate=False, may_alias=None):
    """Copy ``x`` (a pytree) to NumPy arrays: later changes to ``x`` do not affect the result.

    Traced values pass through. ``device`` may be None or a local device;
    ``donate`` and ``may_alias`` are accepted and have no effect.

    >>> import numpy as np
    >>> a = np.zeros(2); b = device_put(a); a[0] = 1.0
    >>> b
    array([0., 0.])
    """
    _check_device(device, "device_put")
    _check_device(src, "device_put")

    def put(leaf):
        if isinstance(leaf, Tracer):
            return leaf
        return np.array(leaf)
    return tree_map(put, x)


class _ConcreteOnly(ConcretizationTypeError):
    def __init__(self, msg):
        TypeError.__init__(self, msg)


def _check_local_list(devices, what):
    devices = list(devices)
    if not devices:
        raise ValueError(f"{what}: the list of devices is empty")
    for d in devices:
        _check_device(d, what)
    return devices


def device_put_replicated(x, devices):
    """Stack ``len(devices)`` copies of every leaf of ``x`` on a new leading axis (pmap's layout).

    >>> device_put_replicated({'w': np.ones(2)}, local_devices())['w'].shape
    (1, 2)
    """
    n = len(_check_local_list(devices, "device_put_replicated"))
    return tree_map(lambda leaf: np.stack([np.asarray(leaf)] * n), x)


def device_put_sharded(shards, devices):
    """Stack the pytrees ``shards`` (one per device, one structure) leafwise on a new leading axis.

    >>> device_put_sharded([np.zeros(2)], local_devices()).shape
    (1, 2)
    """
    devices = _check_local_list(devices, "device_put_sharded")
    shards = list(shards)
    if len(shards) != len(devices):
        raise ValueError(f"device_put_sharded: {len(shards)} shards for {len(devices)} devices; give "
                         "one shard per device")
    return tree_map(lambda *leaves: np.stack([np.asarray(a) for a in leaves]), shards[0], *shards[1:])


def device_get(x):
    """Fetch ``x`` (a pytree) to the host: arrays and other leaves are returned as they are.

    Only concrete values can be fetched; a traced value raises ``ConcretizationTypeError``.

    >>> device_get({'w': np.ones(2)})
    {'w': array([1., 1.])}
    """
    def get(leaf):
        if isinstance(leaf, Tracer):
            raise _ConcreteOnly(
                f"device_get: got a traced value ({leaf.aval}) inside a transformation; device_get "
                "fetches concrete arrays: call it outside jit/vmap/pmap/grad")
        return leaf
    return tree_map(get, x)


def block_until_ready(x):
    """Return ``x``: spmdgrad computes eagerly, so every value is ready.

    >>> block_until_ready([1.0, np.ones(1)])
    [1.0, array([1.])]
    """
    return x
