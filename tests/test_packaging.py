"""Package metadata and contents: license, classifiers, typed marker, console script,
pytest plugin entry point, and an sdist that carries its tests and docs. Building
and installing the wheel is CI's `wheel` job (.ci/run)."""
import pathlib

import pytest

import spmdgrad

tomllib = pytest.importorskip("tomllib")   # Python 3.11+

ROOT = pathlib.Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_license_and_classifiers():
    meta = PROJECT["project"]
    assert meta["license"] == "MIT" and meta["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    classifiers = set(meta["classifiers"])
    for minor in (10, 11, 12, 13):
        assert f"Programming Language :: Python :: 3.{minor}" in classifiers
    assert meta["requires-python"] == ">=3.10"
    assert "Typing :: Typed" in classifiers


def test_version_matches():
    assert spmdgrad.__version__ == PROJECT["project"]["version"]


def test_typed_marker_is_shipped():
    assert (ROOT / "spmdgrad" / "py.typed").exists()
    assert "py.typed" in PROJECT["tool"]["setuptools"]["package-data"]["spmdgrad"]


def test_entry_points():
    meta = PROJECT["project"]
    assert meta["scripts"]["spmdrun"] == "spmdgrad.launcher:main"
    # Named like the module, so `-p spmdgrad.testing.plugin` (pyproject's addopts, for
    # checkouts) and the installed entry point are one plugin, not two.
    assert meta["entry-points"]["pytest11"] == {"spmdgrad.testing.plugin": "spmdgrad.testing.plugin"}
    assert "-p spmdgrad.testing.plugin" in PROJECT["tool"]["pytest"]["ini_options"]["addopts"]


def test_extras():
    extras = PROJECT["project"]["optional-dependencies"]
    assert set(extras) >= {"mpi", "test", "demo", "docs"}
    assert any(r.startswith("scikit-learn") for r in extras["demo"])


def test_sdist_manifest_carries_tests_and_docs():
    lines = (ROOT / "MANIFEST.in").read_text().splitlines()
    for line in ("graft tests", "graft docs", "graft tools", "include LICENSE README.md mkdocs.yml"):
        assert line in lines


def test_demos_are_in_the_package():
    for name in ("train_digits", "dpsgd"):
        assert (ROOT / "spmdgrad" / "examples" / f"{name}.py").exists()
