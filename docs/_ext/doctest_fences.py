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


class PublicReExports(griffe.Extension):
    """A public module's own API is partly imported from private modules (for example
    ``spmdgrad.grad`` from ``spmdgrad.api``). Document those names where users import
    them: an import of a public spmdgrad object into a public module is public."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: object) -> None:
        self._mark(pkg)

    def _mark(self, obj: griffe.Object) -> None:
        if any(part.startswith("_") for part in obj.path.split(".")):
            return   # private modules: their objects are documented where they are imported
        dunders = [n for n in obj.members if n.startswith("__") and n.endswith("__")]
        for name in [n for n in dunders if n not in ("__init__", "__call__")]:
            del obj.members[name]   # what inspection finds: __file__, __slots__, __module__...
        for name, member in obj.members.items():
            if member.is_alias:
                if (obj.is_module and obj.exports is None
                        and member.target_path.startswith("spmdgrad.")):
                    member.public = True   # __all__, when present, says what is public
            elif member.is_module or member.is_class:
                self._mark(member)
