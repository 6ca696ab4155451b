"""vmap, and the map machinery it shares with pmap.

``map_call`` moves mapped axes to the front, runs the function under a new map
frame (a :class:`~spmdgrad.batching.BatchTrace` that binds the axis name), and
moves outputs to ``out_axes``. pmap calls it with a frame that carries an MPI
backend.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from . import core
from .api_util import as_leaf, as_out_leaf
from .batching import (
    BatchTrace,
    BatchTracer,
    canonical_axis,
    check_batch_size,
    not_mapped_error,
)
from .core import get_aval, zip
from .primitives.structural import bdim_from_front, bdim_to_front, broadcast_batch
from .traceback_util import api_boundary
from .tree_util import broadcast_prefix, tree_flatten, tree_unflatten


def vmap(fun: Callable[..., Any], in_axes: Any = 0, out_axes: Any = 0, axis_name: str | None = None,
         axis_size: int | None = None) -> Callable[..., Any]:
    """Vectorize ``fun`` over an axis of its arguments, optionally naming the axis.

    ``in_axes``/``out_axes``: int, None, or pytrees matching arguments/outputs.
    ``out_axes=None`` is allowed only for outputs that are invariant over the axis.

    >>> import spmdgrad, spmdgrad.numpy as jnp
    >>> spmdgrad.vmap(lambda x, w: x @ w, in_axes=(0, None))(jnp.ones((4, 3)), jnp.ones(3))
    array([3., 3., 3., 3.])
    """
    if not callable(fun):
        raise TypeError(f"vmap expects a callable, got {fun!r}")
    if axis_name is not None and not isinstance(axis_name, str):
        raise TypeError(f"vmap: axis_name must be a str, got {axis_name!r}")

    @functools.wraps(fun)
    @api_boundary
    def vmapped(*args, **kwargs):
        return map_call(fun, args, kwargs, in_axes, out_axes, axis_name, "vmap",
                        lambda parent, size: BatchTrace(parent, axis_name, size),
                        axis_size=axis_size)
    return vmapped


def map_call(fun, args, kwargs, in_axes, out_axes, axis_name, fname, make_trace,
             axis_size=None):
    """The shared body of vmap and pmap: move mapped axes to the front, run ``fun``
    under a new map frame, and move outputs to ``out_axes``."""
    if axis_name is not None and axis_name in core.bound_axis_names():
        raise ValueError(f"{fname}: axis name {axis_name!r} is already bound by an enclosing "
                         "map; nested maps need distinct axis names")
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)
    if not isinstance(in_axes, int | tuple | dict) and in_axes is not None:
        raise TypeError(f"{fname}: in_axes must be an int, None or a tuple/pytree of them, "
                        f"got {in_axes!r}")
    if isinstance(in_axes, tuple) and len(in_axes) != len(args):
        raise ValueError(f"{fname}: in_axes has {len(in_axes)} entries but the function was "
                         f"called with {len(args)} positional arguments")
    leaves, in_tree = tree_flatten(args)
    axes = axes_per_leaf(in_axes, args, in_tree, fname, "in_axes")
    kw_leaves, kw_tree = tree_flatten(kwargs) if kwargs else ([], None)
    leaves = leaves + kw_leaves
    axes = axes + [0] * len(kw_leaves)
    name = axis_name if axis_name is not None else "<unnamed>"
    where = f"{fname} argument"
    mapped_in, moved = [], []   # (leaf index, shape, axis) of each mapped argument
    for i, (x, ax) in enumerate(zip(leaves, axes)):
        x = as_leaf(x, where)
        if ax is not None:
            a = get_aval(x)
            if a.ndim == 0:
                raise ValueError(f"{fname}: cannot map over axis {ax} of a 0-d argument "
                                 f"(leaf {i}); use in_axes=None for it")
            if not (type(ax) is int and 0 <= ax < a.ndim):  # the messages are built on errors only
                ax = canonical_axis(ax, a.ndim, f"argument leaf {i} with shape {a.shape}", name)
            mapped_in.append((i, a.shape, ax))
            x = bdim_to_front(x, ax)
        moved.append(x)
    if mapped_in:
        size = mapped_in[0][1][mapped_in[0][2]]
        if any(shape[ax] != size for _, shape, ax in mapped_in):
            check_batch_size([(f"argument leaf {i} (shape {shape}, axis {ax})", shape[ax])
                              for i, shape, ax in mapped_in], name)
        if axis_size is not None and axis_size != size:
            raise ValueError(f"{fname}: axis_size={axis_size} but mapped arguments have size {size}")
    elif axis_size is not None:
        size = axis_size
    else:
        raise not_mapped_error(name)
    trace = make_trace(core.current_trace(), size)
    ins = [BatchTracer(trace, x) if ax is not None else x for x, ax in zip(moved, axes)]
    n_pos = len(ins) - len(kw_leaves)
    call_args = tree_unflatten(in_tree, ins[:n_pos])
    call_kwargs = tree_unflatten(kw_tree, ins[n_pos:]) if kwargs else {}
    with core.use_trace(trace):
        out = fun(*call_args, **call_kwargs)
    out_leaves, out_tree = tree_flatten(out)
    oaxes = axes_per_leaf(out_axes, out, out_tree, fname, "out_axes")
    results = []
    for i, (o, ax) in enumerate(zip(out_leaves, oaxes)):
        o = as_out_leaf(o, fname)
        mapped = type(o) is BatchTracer and o._trace is trace
        if ax is None:
            if mapped:
                raise ValueError(
                    f"{fname}: output leaf {i} ({o.aval.str_short()}) varies over axis {name!r}, "
                    f"so it cannot be returned with out_axes=None. Return it with out_axes=0, or "
                    f"make it invariant first, e.g. with psum/pmean over {name!r} or "
                    f"grad(..., reduce_axes=({name!r},)).")
            results.append(o)
            continue
        if not mapped:
            # An invariant output leaves the map as one copy per instance; across MPI
            # ranks that is a pbroadcast, so its cotangent is summed over ranks too.
            o = o if trace.backend is None else trace.backend.pbroadcast(o)
        val = o.val if mapped else broadcast_batch(o, trace.local_size)
        ndim = get_aval(val).ndim
        if not (type(ax) is int and 0 <= ax < ndim):
            ax = canonical_axis(ax, ndim, f"output leaf {i}", name)
        results.append(bdim_from_front(val, ax))
    return tree_unflatten(out_tree, results)


_axes_cache: dict = {}  # (axes prefix, tree structure) -> one axis per leaf


def axes_per_leaf(prefix, tree, treedef, fname, what):
    """``broadcast_prefix(prefix, tree)``, remembered per structure for the usual prefixes
    (an int, None, or a flat tuple of them): it depends on the structure alone, and
    flattening the tree again costs more than the lookup. Only exact ints are keys, since
    False == 0 and 1.0 == 1 would otherwise hit an entry and skip their errors.

    >>> import numpy as np
    >>> from spmdgrad.tree_util import tree_structure
    >>> args = ({'w': np.ones(2), 'b': np.ones(1)}, np.ones(3))
    >>> axes_per_leaf((None, 0), args, tree_structure(args), "vmap", "in_axes")
    [None, None, 0]
    """
    if not (prefix is None or type(prefix) is int or (type(prefix) is tuple and all(
            a is None or type(a) is int for a in prefix))):
        return broadcast_prefix(prefix, tree, what=f"{fname} {what}")
    key = (prefix, treedef)
    axes = _axes_cache.get(key)
    if axes is None:
        axes = broadcast_prefix(prefix, tree, what=f"{fname} {what}")
        if len(_axes_cache) > 1024:
            _axes_cache.clear()
        _axes_cache[key] = axes
    return list(axes)
