#!/usr/bin/env bash
# README command 2: install (if needed) and run the test suite, every marker (unit, integration,
# e2e) unless told otherwise. Extra arguments go to pytest: `./scripts/test.sh -m unit` is the inner loop.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install.sh
# Two pytest-xdist workers (the machine's 2 cores): many tests wait on subprocesses, loads and
# file stalls, so the suite takes about half the time of one process. PYTEST_WORKERS=0 runs it in
# one process (e.g. with -x or a debugger).
workers="${PYTEST_WORKERS:-2}"
# `-m unit` (the inner loop) needs seconds of CPU: a second worker would only import and collect
# everything once more, so it runs in one process unless PYTEST_WORKERS says otherwise.
if [ -z "${PYTEST_WORKERS:-}" ] && [[ " $* " == *" -m unit "* ]]; then
  workers=0
fi
# duckdb 2.0's bindings list "leaked" objects at interpreter exit (nanobind's shutdown report,
# harmless); drop those lines so pytest's summary stays the last thing printed.
.venv/bin/python -m pytest -n "$workers" "$@" 2> >(grep -vE '^(nanobind: | - leaked | - \.\.\. skipped remainder|See https://nanobind)' >&2)
