"""The README's Python example runs and its assertions hold."""
import pathlib
import re


def test_readme_python_blocks_run():
    page = pathlib.Path(__file__).resolve().parents[1] / "README.md"
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)
    assert blocks, "the README has no python example"
    namespace = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)
    assert namespace["per_example"].shape == (8, 3, 2)
