"""How much of NumPy's public array-function surface ``spmdgrad.numpy`` covers.

A *public array function* is a public callable of ``numpy`` or ``numpy.linalg`` that is
not a class (dtypes, scalar types, ``ndarray``, ``vectorize``, ... are classes), and not
in one of the groups of ``spmdgrad.numpy._missing.EXCLUDED``: file I/O, printing,
configuration/testing, datetime, memory layout, dtype introspection. Constants are not
callable. A function is covered when ``spmdgrad.numpy`` (or ``spmdgrad.numpy.linalg``)
defines it; every other one raises ``NotImplementedError`` naming it.

Run: ``python tools/numpy_coverage.py`` (``--markdown`` prints the table for docs/ops.md).
"""
from __future__ import annotations

import argparse
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # run from a checkout
import spmdgrad.numpy as jnp  # noqa: E402
from spmdgrad.numpy._missing import EXCLUDED  # noqa: E402


def public_array_functions(module):
    """Sorted public callables of ``module`` that are not classes and not excluded."""
    excluded = {n for names in EXCLUDED.values() for n in names}
    return sorted(n for n in dir(module) if not n.startswith("_") and n not in excluded
                  and callable(getattr(module, n)) and not isinstance(getattr(module, n), type))


def coverage():
    """Rows ``(qualified numpy name, covered)`` for numpy and numpy.linalg."""
    rows = [(f"numpy.{n}", hasattr(jnp, n)) for n in public_array_functions(np)]
    rows += [(f"numpy.linalg.{n}", hasattr(jnp.linalg, n))
             for n in public_array_functions(np.linalg) if n != "test"]
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    args = parser.parse_args()
    rows = coverage()
    covered = sum(c for _, c in rows)
    pct = 100.0 * covered / len(rows)
    missing = [n for n, c in rows if not c]
    if args.markdown:
        print(f"Covered: **{covered} of {len(rows)} ({pct:.1f}%)** public array functions of "
              f"`numpy` and `numpy.linalg` (NumPy {np.__version__}).\n")
        print("| missing | what `spmdgrad.numpy` raises |")
        print("|---|---|")
        for n in missing:
            try:
                getattr(jnp.linalg if ".linalg." in n else jnp, n.split(".")[-1])
            except NotImplementedError as e:
                print(f"| `{n}` | {str(e).split(': ', 1)[1]} |")
        print("\n| covered | functions |")
        print("|---|---|")
        groups = {}
        for n, c in rows:
            if c:
                key = "linalg" if ".linalg." in n else n.split(".")[-1][0]
                groups.setdefault(key, []).append(n.split(".")[-1])
        for key, names in groups.items():
            print(f"| {key} | {', '.join(names)} |")
    else:
        print(f"numpy {np.__version__}: {covered} of {len(rows)} public array functions covered "
              f"({pct:.1f}%)")
        print("missing:", ", ".join(missing) if missing else "none")


if __name__ == "__main__":
    main()
