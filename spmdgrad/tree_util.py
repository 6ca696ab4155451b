"""Pytrees: nested tuples, lists, dicts, namedtuples, None and registered nodes.

Pytrees stop at the public API: transformations flatten their arguments once,
work on flat lists, and unflatten the results.

>>> leaves, tree = tree_flatten({"b": (1, 2), "a": [3]})
>>> leaves
[3, 1, 2]
>>> tree_unflatten(tree, [30, 10, 20])
{'a': [30], 'b': (10, 20)}
"""
from __future__ import annotations

import collections
import functools

import numpy as np

_registry = {}


def register_pytree_node(nodetype, flatten_func, unflatten_func):
    """Register ``nodetype``: ``flatten_func(x) -> (children, aux)``,
    ``unflatten_func(aux, children) -> x``."""
    _registry[nodetype] = (flatten_func, unflatten_func)


register_pytree_node(tuple, lambda t: (t, None), lambda _, c: tuple(c))
register_pytree_node(list, lambda t: (t, None), lambda _, c: list(c))
register_pytree_node(type(None), lambda t: ((), None), lambda _, c: None)


def _dict_flatten(d):
    keys = sorted(d)
    return [d[k] for k in keys], keys


register_pytree_node(dict, _dict_flatten, lambda keys, c: dict(zip(keys, c, strict=True)))
register_pytree_node(
    collections.OrderedDict,
    lambda d: (list(d.values()), list(d.keys())),
    lambda keys, c: collections.OrderedDict(zip(keys, c, strict=True)))


def _node_of(x):
    t = type(x)
    entry = _registry.get(t)
    if entry is not None:
        return entry
    if isinstance(x, tuple) and hasattr(t, "_fields"):  # namedtuple
        return (lambda n: (tuple(n), None), lambda _, c, t=t: t(*c))
    return None


class PyTreeDef:
    """The structure of a pytree: node type, aux data and children, or a leaf."""
    __slots__ = ("kind", "aux", "children", "num_leaves", "_unflatten", "_hash")

    def __init__(self, kind, aux, children, unflatten=None):
        self.kind, self.aux, self.children = kind, aux, children
        self._unflatten = unflatten
        self.num_leaves = 1 if kind is None else sum(c.num_leaves for c in children)
        self._hash = None

    def __eq__(self, other):
        return self is other or (isinstance(other, PyTreeDef) and self.kind == other.kind
                                 and self.aux == other.aux and self.children == other.children)

    def __hash__(self):
        h = self._hash
        if h is None:
            h = self._hash = hash((self.kind, str(self.aux), self.children))
        return h

    def unflatten(self, leaves):
        """Rebuild a tree of this structure from ``leaves``."""
        return tree_unflatten(self, leaves)

    def flatten_up_to(self, tree):
        """The subtrees of ``tree`` at this structure's leaves."""
        return flatten_up_to(self, tree)

    def __repr__(self):
        if self.kind is None:
            return "*"
        inner = ", ".join(map(repr, self.children))
        return f"{self.kind.__name__}({inner})"


_LEAF = PyTreeDef(None, None, ())
_PLAIN_LEAVES = frozenset({np.ndarray, float, int, bool, complex, np.float64, np.float32})


# The recursions below are module-level functions with explicit accumulators: a
# recursive closure refers to itself through its cell, a reference cycle that would
# keep every leaf (often large arrays) alive until the garbage collector runs.

def tree_flatten(tree, is_leaf=None):
    """Return ``(leaves, treedef)``."""
    leaves = []
    return leaves, _flatten(tree, is_leaf, leaves)


def _flatten(x, is_leaf, leaves):
    if type(x) in _PLAIN_LEAVES and is_leaf is None:  # the common case, without the registry walk
        leaves.append(x)
        return _LEAF
    if is_leaf is not None and is_leaf(x):
        leaves.append(x)
        return _LEAF
    node = _node_of(x)
    if node is None:
        leaves.append(x)
        return _LEAF
    children, aux = node[0](x)
    return _treedef(type(x), aux, tuple(_flatten(c, is_leaf, leaves) for c in children), node[1])


# Structures are interned (one object per distinct structure), so comparing the
# structure of a call with a cached one (jit, pmap) is mostly an identity test.
_interned: dict = {}


def _treedef(kind, aux, children, unflatten):
    try:
        key = (kind, tuple(aux) if type(aux) is list else aux, children)
        td = _interned.get(key)
    except TypeError:  # unhashable aux data: not interned
        return PyTreeDef(kind, aux, children, unflatten)
    if td is None:
        if len(_interned) > 4096:
            _interned.clear()
        td = _interned[key] = PyTreeDef(kind, aux, children, unflatten)
    return td


def tree_unflatten(treedef, leaves):
    """Rebuild a tree of ``treedef``'s structure from ``leaves``."""
    it = iter(leaves)
    try:
        out = _unflatten(treedef, it)
    except StopIteration:
        raise ValueError(f"too few leaves ({len(leaves)}) for tree structure {treedef}, which has "
                         f"{treedef.num_leaves}") from None
    if next(it, _sentinel) is not _sentinel:
        raise ValueError(f"too many leaves for tree structure {treedef}")
    return out


def _unflatten(td, it):
    if td.kind is None:
        return next(it)
    return td._unflatten(td.aux, [_unflatten(c, it) for c in td.children])


_sentinel = object()


def tree_leaves(tree, is_leaf=None):
    """The leaves of ``tree``, in flattening order.

    >>> tree_leaves({"a": [1, 2], "b": None})
    [1, 2]
    """
    return tree_flatten(tree, is_leaf)[0]


def tree_structure(tree, is_leaf=None):
    """The :class:`PyTreeDef` of ``tree``.

    >>> tree_structure((1, [2, 3]))
    tuple(*, list(*, *))
    """
    return tree_flatten(tree, is_leaf)[1]


def tree_map(f, tree, *rest, is_leaf=None):
    """Apply ``f`` leafwise over ``tree``; each tree in ``rest`` has ``tree``'s structure
    as a prefix (its subtree at a leaf of ``tree`` is passed whole), as in JAX.

    >>> tree_map(lambda x, y: x + y, {"a": 1, "b": (2, 3)}, {"a": 10, "b": (20, 30)})
    {'a': 11, 'b': (22, 33)}
    """
    leaves, treedef = tree_flatten(tree, is_leaf)
    if not rest:
        return tree_unflatten(treedef, [f(x) for x in leaves])
    others = [flatten_up_to(treedef, r, what="tree_map") for r in rest]
    return tree_unflatten(treedef, [f(*xs) for xs in zip(leaves, *others, strict=True)])


def tree_reduce(function, tree, initializer=_sentinel, is_leaf=None):
    """``functools.reduce`` over the leaves of ``tree``.

    >>> tree_reduce(lambda a, b: a + b, {"x": 1, "y": [2, 3]})
    6
    """
    leaves = tree_leaves(tree, is_leaf)
    if initializer is _sentinel:
        if not leaves:
            raise TypeError("tree_reduce: empty tree and no initializer")
        return functools.reduce(function, leaves)
    return functools.reduce(function, leaves, initializer)


def tree_all(tree, is_leaf=None):
    """True when every leaf is truthy.

    >>> tree_all([True, {"a": 1}]), tree_all([True, 0])
    (True, False)
    """
    return all(tree_leaves(tree, is_leaf))


def flatten_up_to(treedef, tree, what="tree"):
    """The subtrees of ``tree`` at the leaves of ``treedef`` (a prefix of ``tree``'s structure).

    A mismatch raises ``ValueError`` naming the key path and the missing or extra keys.

    >>> flatten_up_to(tree_structure([0, 0]), [(1, 2), 3])
    [(1, 2), 3]
    """
    out = []
    _up_to(treedef, tree, (), what, out)
    return out


def _up_to(td, t, path, what, out):
    if td.kind is None:
        out.append(t)
        return
    where = keystr(path) or "the root"
    node = _node_of(t)
    if node is None or type(t) is not td.kind:
        raise ValueError(f"{what}: at {where}, expected a {td.kind.__name__} node, got {_describe(t)}")
    children, aux = node[0](t)
    if aux != td.aux or len(children) != len(td.children):
        raise ValueError(f"{what}: at {where}, {_mismatch(td, aux, children)}")
    for key, c, ctd in zip(_keys(td.kind, td.aux, len(children), t), children, td.children, strict=True):
        _up_to(ctd, c, path + (key,), what, out)


def _describe(t):
    return "None" if t is None else f"a {type(t).__name__}" + (
        f" of length {len(t)}" if isinstance(t, list | tuple) else "")


def _mismatch(td, aux, children):
    if isinstance(td.aux, list) and isinstance(aux, list):  # dict keys
        missing = [k for k in td.aux if k not in aux]
        extra = [k for k in aux if k not in td.aux]
        parts = []
        if missing:
            parts.append(f"missing key(s) {', '.join(map(repr, missing))}")
        if extra:
            parts.append(f"extra key(s) {', '.join(map(repr, extra))}")
        return (" and ".join(parts) or f"keys in another order: {aux} vs {td.aux}") + (
            f" (expected keys {td.aux})")
    if len(children) != len(td.children):
        return (f"a {td.kind.__name__} of {len(children)} children where the structure has "
                f"{len(td.children)}")
    return f"node data {aux!r} differs from the structure's {td.aux!r}"


# ---------------------------------------------------------------- key paths

class DictKey(collections.namedtuple("DictKey", ["key"])):
    """Path entry for a dict's key: ``['key']``."""
    def __str__(self):
        return f"[{self.key!r}]"


class SequenceKey(collections.namedtuple("SequenceKey", ["idx"])):
    """Path entry for a tuple's or list's index: ``[0]``."""
    def __str__(self):
        return f"[{self.idx!r}]"


class GetAttrKey(collections.namedtuple("GetAttrKey", ["name"])):
    """Path entry for a namedtuple's field: ``.name``."""
    def __str__(self):
        return f".{self.name}"


class FlattenedIndexKey(collections.namedtuple("FlattenedIndexKey", ["key"])):
    """Path entry for the i-th child of a registered node: ``[<flat index i>]``."""
    def __str__(self):
        return f"[<flat index {self.key}>]"


def keystr(path):
    """A key path as a string.

    >>> keystr((DictKey("a"), SequenceKey(0)))
    "['a'][0]"
    """
    return "".join(str(k) for k in path)


def _keys(kind, aux, n, node=None):
    if kind in (dict, collections.OrderedDict):
        return [DictKey(k) for k in aux]
    if kind in (tuple, list):
        return [SequenceKey(i) for i in range(n)]
    fields = getattr(kind, "_fields", None)
    if fields is not None and issubclass(kind, tuple):
        return [GetAttrKey(f) for f in fields]
    return [FlattenedIndexKey(i) for i in range(n)]


def tree_flatten_with_path(tree, is_leaf=None):
    """``([(key_path, leaf), ...], treedef)``.

    >>> tree_flatten_with_path({"a": (1, 2)})[0]
    [((DictKey(key='a'), SequenceKey(idx=0)), 1), ((DictKey(key='a'), SequenceKey(idx=1)), 2)]
    """
    leaves, treedef = tree_flatten(tree, is_leaf)
    return list(zip(_paths(treedef, ()), leaves, strict=True)), treedef


def _paths(td, path):
    if td.kind is None:
        return [path]
    out = []
    for key, c in zip(_keys(td.kind, td.aux, len(td.children)), td.children, strict=True):
        out.extend(_paths(c, path + (key,)))
    return out


def tree_leaves_with_path(tree, is_leaf=None):
    """``[(key_path, leaf), ...]``.

    >>> [keystr(p) for p, _ in tree_leaves_with_path([1, {"b": 2}])]
    ['[0]', "[1]['b']"]
    """
    return tree_flatten_with_path(tree, is_leaf)[0]


def tree_map_with_path(f, tree, *rest, is_leaf=None):
    """Like :func:`tree_map`, with the leaf's key path as ``f``'s first argument.

    >>> tree_map_with_path(lambda p, x: keystr(p), {"a": [0]})
    {'a': ["['a'][0]"]}
    """
    pairs, treedef = tree_flatten_with_path(tree, is_leaf)
    others = [flatten_up_to(treedef, r, what="tree_map_with_path") for r in rest]
    return tree_unflatten(treedef, [f(p, x, *xs) for (p, x), *xs in zip(pairs, *others, strict=True)])


def tree_transpose(outer_treedef, inner_treedef, pytree_to_transpose):
    """Turn a tree of structure outer-of-inner into one of inner-of-outer.

    ``inner_treedef=None`` takes the inner structure from the first outer leaf.

    >>> tree_transpose(tree_structure([0, 0]), tree_structure((0, 0)), [(1, 2), (3, 4)])
    ([1, 3], [2, 4])
    """
    subtrees = flatten_up_to(outer_treedef, pytree_to_transpose, what="tree_transpose")
    if inner_treedef is None:
        if not subtrees:
            raise ValueError("tree_transpose: inner_treedef=None needs at least one outer leaf")
        inner_treedef = tree_structure(subtrees[0])
    columns = [flatten_up_to(inner_treedef, s, what="tree_transpose (inner)") for s in subtrees]
    rows = [tree_unflatten(outer_treedef, [col[i] for col in columns])
            for i in range(inner_treedef.num_leaves)]
    return tree_unflatten(inner_treedef, rows)


def register_pytree_node_class(cls):
    """Class decorator: register ``cls`` with its ``tree_flatten`` method and
    ``tree_unflatten`` classmethod.

    >>> @register_pytree_node_class
    ... class Pair:
    ...     def __init__(self, a, b): self.a, self.b = a, b
    ...     def tree_flatten(self): return (self.a, self.b), None
    ...     @classmethod
    ...     def tree_unflatten(cls, aux, children): return cls(*children)
    >>> tree_leaves(Pair(1, [2]))
    [1, 2]
    """
    register_pytree_node(cls, lambda x: x.tree_flatten(), cls.tree_unflatten)
    return cls


class Partial(functools.partial):
    """``functools.partial`` as a pytree: the bound arguments are its leaves.

    >>> tree_leaves(Partial(max, 1, 2))
    [1, 2]
    """


register_pytree_node(
    Partial,
    lambda p: ((p.args, p.keywords), p.func),
    lambda func, c: Partial(func, *c[0], **c[1]))


def all_leaves(iterable, is_leaf=None):
    """True when every element of ``iterable`` is a leaf.

    >>> all_leaves([1, 2.0]), all_leaves([1, (2,)])
    (True, False)
    """
    return all(tree_structure(x, is_leaf).kind is None for x in iterable)


# ravel_pytree (spmdgrad.flatten_util) is also exported here by spmdgrad/__init__.py: it needs
# spmdgrad.numpy, which sits above this module.


def broadcast_prefix(prefix, tree, is_leaf=None, what="in_axes"):
    """Expand ``prefix`` (a tree prefix of ``tree``, e.g. in_axes) to one entry per leaf."""
    out = []
    _prefix(prefix, tree, is_leaf, what, out)
    return out


def _prefix(p, t, is_leaf, what, out):
    pnode = _node_of(p) if p is not None else None
    if pnode is None:  # p is a leaf of the prefix (int or None): covers all of t
        out.extend([p] * len(tree_leaves(t, is_leaf)))
        return
    tnode = _node_of(t)
    if tnode is None or type(p) is not type(t):
        raise ValueError(f"{what} structure {p!r} does not match the argument structure "
                         f"{tree_structure(t)}")
    pc, paux = pnode[0](p)
    tc, taux = tnode[0](t)
    if len(pc) != len(tc) or paux != taux:
        raise ValueError(f"{what} structure {p!r} does not match the argument structure "
                         f"{tree_structure(t)}")
    for a, b in zip(pc, tc, strict=True):
        _prefix(a, b, is_leaf, what, out)
