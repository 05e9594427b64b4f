#!/usr/bin/env bash
# Runs the whole suite; pytest's "no tests collected" (exit 5) is a failure here, not a pass.
#
# Without arguments the end-to-end tests (one platform: make demo, Airflow runs, mostly waiting on
# the scheduler, Spark drivers and the broker) run beside the unit, DAG and integration tests, in
# their own data roots and on their own free ports; their output follows at the end. With pytest
# arguments (e.g. -k NAME) everything runs in one pytest, one test at a time.
set -uo pipefail
cd "$(dirname "$0")/.."
pytest=(.venv/bin/pytest --durations=15)
# The reduced form of every chaos scenario runs here (tests/chaos: stream SIGKILL, the broker
# SIGKILLed mid-replay and mid-backlog, retention overtaking a stopped stream, 10,000 malformed
# records, the finaliser overtaken by a stream batch and the two writing one day for 30 s, late
# events, the random stress steps, a small driver heap on a backlog), the Airflow one in tests/e2e.
fast=(tests/unit tests/dags tests/integration tests/chaos)
# The benchmarks' smoke runs (each a platform of its own for minutes, about 12 together) run after
# the end-to-end tests, in their lane, to balance the two: on a fresh clone (2026-12-07) with two of
# them there, this lane took 38 minutes and that one 25; with all of them there, 44 and 38.
later=(tests/integration/test_bench_smoke.py)

verdict() {  # exit code of one pytest run -> exit code of this script
  if [ "$1" -eq 5 ]; then
    echo "error: pytest collected no tests ($2)" >&2
    return 1
  fi
  return "$1"
}

if [ "$#" -gt 0 ]; then
  "${pytest[@]}" "${fast[@]}" tests/e2e "$@"
  verdict "$?" "tests/"
  exit $?
fi

e2e_log="$(mktemp -t stockstream-e2e.XXXXXX.log)"
echo "end-to-end tests started beside the others; their output follows at the end ($e2e_log)"
"${pytest[@]}" tests/e2e "${later[@]}" >"$e2e_log" 2>&1 &
e2e_pid=$!
trap 'kill "$e2e_pid" 2>/dev/null' INT TERM

"${pytest[@]}" "${fast[@]}" "${later[@]/#/--deselect=}"
verdict "$?" "unit, dags, integration, chaos"
fast_code=$?

wait "$e2e_pid"
e2e_code=$?
echo
echo "==================== end-to-end tests (tests/e2e) and the benchmark smoke runs ===================="
cat "$e2e_log"
verdict "$e2e_code" "tests/e2e and the benchmark smoke runs"
e2e_code=$?

[ "$fast_code" -eq 0 ] && [ "$e2e_code" -eq 0 ]
