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
    __slots__ = ("kind", "aux", "children", "num_leaves", "_unflatten")

    def __init__(self, kind, aux, children, unflatten=None):
        self.kind, self.aux, self.children = kind, aux, children
        self._unflatten = unflatten
        self.num_leaves = 1 if kind is None else sum(c.num_leaves for c in children)

    def __eq__(self, other):
        return (isinstance(other, PyTreeDef) and self.kind == other.kind
                and self.aux == other.aux and self.children == other.children)

    def __hash__(self):
        return hash((self.kind, str(self.aux), tuple(self.children)))

    def __repr__(self):
        if self.kind is None:
            return "*"
        inner = ", ".join(map(repr, self.children))
        return f"{self.kind.__name__}({inner})"


_LEAF = PyTreeDef(None, None, ())


# The recursions below are module-level functions with explicit accumulators: a
# recursive closure refers to itself through its cell, a reference cycle that would
# keep every leaf (often large arrays) alive until the garbage collector runs.

def tree_flatten(tree, is_leaf=None):
    """Return ``(leaves, treedef)``."""
    leaves = []
    return leaves, _flatten(tree, is_leaf, leaves)


def _flatten(x, is_leaf, leaves):
    if is_leaf is not None and is_leaf(x):
        leaves.append(x)
        return _LEAF
    node = _node_of(x)
    if node is None:
        leaves.append(x)
        return _LEAF
    children, aux = node[0](x)
    return PyTreeDef(type(x), aux, tuple(_flatten(c, is_leaf, leaves) for c in children), node[1])


def tree_unflatten(treedef, leaves):
    """Rebuild a tree of ``treedef``'s structure from ``leaves``."""
    it = iter(leaves)
    out = _unflatten(treedef, it)
    if next(it, _sentinel) is not _sentinel:
        raise ValueError(f"too many leaves for tree structure {treedef}")
    return out


def _unflatten(td, it):
    if td.kind is None:
        return next(it)
    return td._unflatten(td.aux, [_unflatten(c, it) for c in td.children])


_sentinel = object()


def tree_leaves(tree, is_leaf=None):
    return tree_flatten(tree, is_leaf)[0]


def tree_structure(tree, is_leaf=None):
    return tree_flatten(tree, is_leaf)[1]


def tree_map(f, tree, *rest, is_leaf=None):
    """Apply ``f`` leafwise over ``tree`` and the trees in ``rest`` (same structure)."""
    leaves, treedef = tree_flatten(tree, is_leaf)
    others = []
    for r in rest:
        rl, rd = tree_flatten(r, is_leaf)
        if rd != treedef:
            raise ValueError(f"tree_map: structures differ: {treedef} vs {rd}")
        others.append(rl)
    return tree_unflatten(treedef, [f(*xs) for xs in zip(leaves, *others, strict=True)])


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
