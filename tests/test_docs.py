"""Every ```python block of README.md and docs/*.md runs. A file's blocks run in order
in one namespace (later blocks build on earlier ones). Blocks that cannot run here
are listed in SKIP with the reason, which pytest shows."""
import pathlib
import re
import warnings

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
FENCE = re.compile(r"^```python\n(.*?)^```", flags=re.DOTALL | re.MULTILINE)

# (page, a text the block contains) -> why it does not run as it stands.
SKIP = {
    ("docs/mpi.md", "x_local = X[r * k:(r + 1) * k]"):
        "a fragment: X, k, loss and params are the reader's own (the README's pmap example and "
        "tests/mpi/test_readme_mpi.py cover the same call at several ranks)",
    ("docs/architecture.md", 'erf_p = unary("erf"'):
        "a fragment: one line of spmdgrad/primitives/elementwise.py, shown as a pattern",
}


def blocks(page):
    rel = page.relative_to(ROOT).as_posix()
    for i, code in enumerate(FENCE.findall(page.read_text())):
        reason = next((why for (p, text), why in SKIP.items() if p == rel and text in code), None)
        yield i, code, reason


def test_skips_name_existing_blocks():
    for (page, text) in SKIP:
        assert text in (ROOT / page).read_text(), f"stale SKIP entry for {page}: {text!r}"


@pytest.mark.parametrize("page", [p for p in PAGES if FENCE.search(p.read_text())],
                         ids=lambda p: p.relative_to(ROOT).as_posix())
def test_python_blocks_run(page):
    namespace = {"__name__": "__docs__"}
    skipped = []
    for i, code, reason in blocks(page):
        if reason:
            skipped.append(f"block {i}: {reason}")
            continue
        exec(compile(code, f"{page.name}, python block {i}", "exec"), namespace)  # noqa: S102
    if skipped and len(skipped) == len(list(blocks(page))):
        pytest.skip("; ".join(skipped))
    for note in skipped:
        warnings.warn(f"{page.name}, {note}", UserWarning, stacklevel=1)   # shown in the summary


def test_api_pages_cover_every_public_module():
    nav = (ROOT / "mkdocs.yml").read_text()
    for module in ["spmdgrad", "spmdgrad.numpy", "spmdgrad.numpy.linalg", "spmdgrad.nn",
                   "spmdgrad.lax", "spmdgrad.tree_util", "spmdgrad.test_util", "spmdgrad.mpi",
                   "spmdgrad.sharding", "spmdgrad.testing", "spmdgrad.testing.plugin",
                   "spmdgrad.launcher", "spmdgrad.random", "spmdgrad.nn.initializers",
                   "spmdgrad.scipy.special", "spmdgrad.scipy.linalg", "spmdgrad.scipy.stats",
                   "spmdgrad.example_libraries.stax", "spmdgrad.example_libraries.optimizers",
                   "spmdgrad.dp", "spmdgrad.dp.privacy"]:
        page = ROOT / "docs" / "api" / f"{module}.md"
        assert f"::: {module}" in page.read_text(), module
        assert f"api/{module}.md" in nav, module
    for page in (ROOT / "docs").glob("*.md"):
        assert f": {page.name}" in nav, f"docs/{page.name} is not in mkdocs.yml's nav"
