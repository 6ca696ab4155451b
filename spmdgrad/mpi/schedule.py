"""Where each collective comes from: the user's call, read off the Python stack.

The consistency check fingerprints the whole collective schedule. Shapes alone
cannot tell two same-shaped psums apart, so each MPI collective also carries its
*site*: the public function the user called (``pmean``, ``all_gather(tiled=True)``,
...), with its parameters, the key paths of its leaves, and the user's
``file:line``. A collective the transformations emit on their own (the
``reduce_axes`` psum of a backward pass, the transpose of an implicit broadcast) has
no public call; its site is the user's line that started that dataflow, marked
``via <spmdgrad function>``.

The site is found when the MPI primitive is bound (the owner rule asks
:func:`tag` for the communicator), so a ``jit`` trace records it in the program
and a replay checks the same schedule as eager code. The frame walk is cheap: a
per-code-object cache says which frames are spmdgrad's, and the site text is
cached per call site.

>>> s = site()             # called from a doctest: the doctest line is the user's line
>>> s.where.startswith("<doctest")
True
"""
from __future__ import annotations

import os
import sys

import numpy as np

from ..core import Tracer
from ..tree_util import tree_structure

_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep

# Public functions whose parameters change what the ranks exchange or compute,
# beyond the operand shapes the MPI primitive sees.
_PARAMS = {
    "psum": ("axis_name",), "pmean": ("axis_name",), "pmax": ("axis_name",),
    "pmin": ("axis_name",), "all_gather": ("axis_name", "axis", "tiled"),
    "psum_scatter": ("axis_name", "scatter_dimension", "tiled"),
    "all_to_all": ("axis_name", "split_axis", "concat_axis", "tiled"),
    "ppermute": ("axis_name", "perm"), "pshuffle": ("axis_name", "perm"),
    "pswapaxes": ("axis_name", "axis"), "pdot": ("axis_name",), "pbroadcast": ("axis_name",),
    "pvary": ("axis_name",),
}
_TREE_ARG = "x"

_internal = {}   # code object -> True when it belongs to spmdgrad
_texts = {}      # (user code, line, entry code, params) -> Site
_paths = {}      # PyTreeDef -> key paths of its leaves
_CACHE_LIMIT = 4096


class Site:
    """A collective's origin: ``call`` (what the user called, with parameters),
    ``where`` (the user's ``file:line (function)``) and ``paths`` (key paths of the
    leaves, or None)."""
    __slots__ = ("call", "where", "paths")

    def __init__(self, call, where, paths=None):
        self.call, self.where, self.paths = call, where, paths

    def __eq__(self, other):
        return (isinstance(other, Site) and self.call == other.call and self.where == other.where
                and self.paths == other.paths)

    def __hash__(self):
        return hash((self.call, self.where, self.paths))

    def text(self, with_where=True):
        if not with_where:
            return self.call
        return f"{self.call} at {self.where}" if self.call else f"at {self.where}"

    def __repr__(self):
        return f"Site({self.text()!r})"


def _is_internal(code):
    v = _internal.get(code)
    if v is None:
        f = code.co_filename
        v = _internal[code] = f.startswith(_PKG) and "doctest" not in f
    return v


def site(depth=1):
    """The :class:`Site` of the spmdgrad call that is running: the first frame
    outside spmdgrad is the user's, the spmdgrad frame it called is the entry."""
    f = sys._getframe(depth)
    entry = None
    while f is not None and _is_internal(f.f_code):
        entry = f
        f = f.f_back
    if f is None:
        return Site("top level", "<unknown>")
    name = entry.f_code.co_name if entry is not None else "<direct>"
    wanted = _PARAMS.get(name)
    params = ()
    tree = None
    if wanted is not None:
        loc = entry.f_locals
        params = tuple((p, _short(loc.get(p))) for p in wanted if p in loc)
        tree = loc.get(_TREE_ARG)
    key = (f.f_code, f.f_lineno, entry.f_code if entry is not None else None, params)
    s = _texts.get(key)
    if s is None:
        if len(_texts) > _CACHE_LIMIT:
            _texts.clear()
        where = f"{os.path.basename(f.f_code.co_filename)}:{f.f_lineno} (in {f.f_code.co_name})"
        if wanted is not None:
            call = f"{name}({', '.join(f'{p}={v}' for p, v in params)})"
        else:   # made by a transformation (or through jit): the user's line is the site
            call = ""
        s = _texts[key] = Site(call, where)
    if tree is not None and not _is_leaf(tree):
        s = Site(s.call, s.where, leaf_paths(tree))
    return s


def _short(v):
    return repr(v) if not isinstance(v, tuple | list) or len(v) < 16 else f"<{len(v)} entries>"


def _is_leaf(x):
    return not isinstance(x, tuple | list | dict)


def leaf_paths(tree):
    """Key paths (``['w'][0]``-style) of ``tree``'s leaves, in flattening order.

    >>> leaf_paths({'b': (1, 2), 'a': [3]})
    ("['a'][0]", "['b'][0]", "['b'][1]")
    """
    flat = _flat_key(tree)
    if flat is not None:
        out = _paths.get(flat)
        if out is not None:
            return out
    td = tree_structure(tree)
    out = _paths.get(td)
    if out is None:
        if len(_paths) > _CACHE_LIMIT:
            _paths.clear()
        acc = []
        _walk(td, "", acc)
        out = _paths[td] = tuple(acc)
        if flat is not None:
            _paths[flat] = out
    return out


def _flat_key(tree):
    """A cheap cache key for the common operand, a flat list, tuple or dict of arrays
    (a pytree whose structure is then fixed by its type and length or keys), else None.
    It spares the flattening and the deep hash of a structure on every collective."""
    t = type(tree)
    if t is list or t is tuple:
        values, what = tree, len(tree)
    elif t is dict:
        values, what = tree.values(), tuple(sorted(tree))
    else:
        return None
    for v in values:
        if not isinstance(v, np.ndarray | Tracer):
            return None
    return (t, what)


def _walk(td, prefix, acc):
    if td.kind is None:
        acc.append(prefix or "<root>")
        return
    if td.kind is dict or (isinstance(td.aux, list) and len(td.aux) == len(td.children)):
        keys = td.aux
    elif hasattr(td.kind, "_fields"):
        keys = [f".{n}" for n in td.kind._fields]
    else:
        keys = range(len(td.children))
    for k, child in zip(keys, td.children, strict=True):
        part = k if isinstance(k, str) and k.startswith(".") and hasattr(td.kind, "_fields") else f"[{k!r}]"
        _walk(child, prefix + part, acc)
