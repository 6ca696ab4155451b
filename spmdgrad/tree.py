"""``spmdgrad.tree``: JAX's short pytree names (``jax.tree.map`` and the rest).

>>> import spmdgrad
>>> spmdgrad.tree.map(lambda x: x * 2, {"a": 1, "b": (2, 3)})
{'a': 2, 'b': (4, 6)}
>>> spmdgrad.tree.leaves([1, (2, None)])
[1, 2]
"""
from .tree_util import tree_all as all  # noqa: F401,A004
from .tree_util import tree_flatten as flatten  # noqa: F401
from .tree_util import tree_flatten_with_path as flatten_with_path  # noqa: F401
from .tree_util import tree_leaves as leaves  # noqa: F401
from .tree_util import tree_leaves_with_path as leaves_with_path  # noqa: F401
from .tree_util import tree_map as map  # noqa: F401,A004
from .tree_util import tree_map_with_path as map_with_path  # noqa: F401
from .tree_util import tree_reduce as reduce  # noqa: F401
from .tree_util import tree_structure as structure  # noqa: F401
from .tree_util import tree_transpose as transpose  # noqa: F401
from .tree_util import tree_unflatten as unflatten  # noqa: F401
