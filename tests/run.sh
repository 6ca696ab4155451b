#!/usr/bin/env bash
# The whole test suite: single-process, then multi-rank at 1, 2 and 3 ranks.
# Usage: bash tests/run.sh        (creates .venv and installs spmdgrad if needed)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
if [ ! -x "$VENV/bin/mpiexec" ] || ! "$VENV/bin/python" -c "import spmdgrad, pytest, mpi4py.MPI" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -e ".[mpi,test,demo,dp]"
fi
[ -x "$VENV/bin/ruff" ] || "$VENV/bin/pip" install -q ruff
PY="$VENV/bin/python"
export OMPI_MCA_btl="^ofi,uct" PYTHONHASHSEED=0

echo "== lint (ruff)"
"$VENV/bin/ruff" check .

echo "== single-process suite"
"$PY" -m pytest -q tests --ignore=tests/mpi --doctest-modules spmdgrad "$@"
"$PY" -m pytest -q --with-mpi -p no:cacheprovider --doctest-modules spmdgrad/mpi  # pytest-mpi skips a package named mpi without --with-mpi

for n in 1 2 3; do
  echo "== multi-rank suite, $n rank(s)"
  timeout 300 "$VENV/bin/mpiexec" -n "$n" "$PY" -m mpi4py -m pytest -q --with-mpi \
    -p no:cacheprovider tests/mpi
done
