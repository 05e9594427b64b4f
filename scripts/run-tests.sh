#!/usr/bin/env bash
# Runs the whole suite; pytest's "no tests collected" (exit 5) is a failure here, not a pass.
set -uo pipefail
cd "$(dirname "$0")/.."
# Fast feedback first: unit, DAG integrity, integration (real broker/Spark/Delta), then end to end.
.venv/bin/pytest --durations=15 tests/unit tests/dags tests/integration tests/e2e "$@"
code=$?
if [ "$code" -eq 5 ]; then
  echo "error: pytest collected no tests" >&2
  exit 1
fi
exit "$code"
