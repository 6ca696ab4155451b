"""The house rules of docs/architecture.md, checked on the code itself: no import cycle
(function-local imports included), the interpreters import only core, no module over 600
lines, and the generated import graph in docs/architecture.md is current."""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import import_graph  # noqa: E402

MODS = import_graph.modules()
EDGES = import_graph.edges(MODS)


def test_no_cycle_and_no_function_local_import_of_spmdgrad():
    assert import_graph.problems(MODS, EDGES) == []


@pytest.mark.parametrize("interpreter", ["spmdgrad.ad", "spmdgrad.batching", "spmdgrad.recording"])
def test_interpreters_import_only_core(interpreter):
    # ad records its tangents with the recording trace, another interpreter; no op module.
    imported = {b for a, b, _, _ in EDGES if a == interpreter}
    assert imported <= {"spmdgrad.core", "spmdgrad.recording"} - {interpreter}, imported


def test_modules_stay_small():
    big = {m: n for m, p in MODS.items() if (n := sum(1 for _ in open(p, encoding="utf-8"))) > 600}
    assert not big, f"modules over 600 lines (one idea per module): {big}"


def test_architecture_doc_is_current():
    doc = open(import_graph.DOC, encoding="utf-8").read()
    assert import_graph.generated_section(MODS, EDGES) in doc, \
        "run: python tools/import_graph.py --write"
