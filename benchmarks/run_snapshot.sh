#!/bin/sh
# Run a benchmark on a clean export of a commit (default HEAD), so other people's
# uncommitted edits in the working tree cannot change or break the figures.
#   benchmarks/run_snapshot.sh [--rev REV] bench_per_example.py [args...]
#   benchmarks/run_snapshot.sh --mpi 2 bench_allreduce.py [args...]
set -eu
cd "$(dirname "$0")/.."
REPO=$(pwd)
REV=HEAD
NP=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rev) REV=$2; shift 2 ;;
    --mpi) NP=$2; shift 2 ;;
    *) break ;;
  esac
done
SCRIPT=$1; shift
SNAP=$(mktemp -d /tmp/spmdgrad-snap.XXXXXX)
trap 'rm -rf "$SNAP"' EXIT
git archive "$REV" | tar -x -C "$SNAP"
git rev-parse --short "$REV" > "$SNAP/COMMIT"
cd "$SNAP"
if [ -n "$NP" ]; then
  timeout 900 "$REPO/.venv/bin/mpiexec" -n "$NP" "$REPO/.venv/bin/python" -m mpi4py "benchmarks/$SCRIPT" "$@"
else
  "$REPO/.venv/bin/python" "benchmarks/$SCRIPT" "$@"
fi
