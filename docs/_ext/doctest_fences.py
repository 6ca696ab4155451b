"""A griffe extension for the API reference: docstring examples written as doctests
(``>>>`` lines and their expected output) are shown as Python code blocks, and
reST roles (:func:`x`) and double-backtick literals as Markdown code."""
from __future__ import annotations

import re

import griffe

_ROLE = re.compile(r":(?:func|class|mod|meth|attr|data|exc|obj):`~?([^`]+)`")
_LITERAL = re.compile(r"``([^`]+)``")


def fence(text: str) -> str:
    """Wrap each run of doctest lines (a ``>>>`` line up to the next blank line) in a
    fenced python block; turn reST roles and literals into Markdown code."""
    out, in_block, indent = [], False, ""
    for line in text.splitlines():
        stripped = line.lstrip()
        if not in_block and stripped.startswith(">>>"):
            indent = line[:len(line) - len(stripped)]
            out.append(f"{indent}```python")
            in_block = True
        elif in_block and not stripped:
            out.append(f"{indent}```")
            in_block = False
        if not in_block:
            line = _LITERAL.sub(r"`\1`", _ROLE.sub(r"`\1`", line))
        out.append(line)
    if in_block:
        out.append(f"{indent}```")
    return "\n".join(out)


class DoctestFences(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs: object) -> None:
        if obj.docstring is not None:
            obj.docstring.value = fence(obj.docstring.value)


def _is_module(alias: griffe.Alias) -> bool:
    try:
        return alias.final_target.is_module
    except griffe.AliasResolutionError:
        return False


class PublicReExports(griffe.Extension):
    """A public package's API is partly imported from other modules (for example
    ``spmdgrad.grad`` from ``spmdgrad.autodiff``). Document those names where users
    import them: what a public package's ``__init__`` imports from spmdgrad is public."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: object) -> None:
        self._mark(pkg)

    def _mark(self, obj: griffe.Object) -> None:
        if any(part.startswith("_") for part in obj.path.split(".")):
            return   # private modules: their objects are documented where they are imported
        dunders = [n for n in obj.members if n.startswith("__") and n.endswith("__")]
        for name in [n for n in dunders if n not in ("__init__", "__call__")]:
            del obj.members[name]   # what inspection finds: __file__, __slots__, __module__...
        for member in obj.members.values():
            if member.is_alias:
                # A package's __init__ re-exports its API (__all__, when present, says what);
                # what a leaf module imports is its own business.
                if obj.is_module and not obj.is_init_module:
                    member.public = False
                elif (obj.is_module and obj.exports is None
                        and member.target_path.startswith("spmdgrad.") and not _is_module(member)):
                    member.public = True
            elif member.is_module or member.is_class:
                self._mark(member)
