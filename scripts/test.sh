#!/usr/bin/env bash
# README command 2: install (if needed) and run the test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install.sh
# Two pytest-xdist workers (the machine's 2 cores): many tests wait on subprocesses, loads and
# file stalls, so the suite takes about half the time of one process. PYTEST_WORKERS=0 runs it in
# one process (e.g. with -x or a debugger).
# duckdb 2.0's bindings list "leaked" objects at interpreter exit (nanobind's shutdown report,
# harmless); drop those lines so pytest's summary stays the last thing printed.
.venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" "$@" 2> >(grep -vE '^(nanobind: | - leaked | - \.\.\. skipped remainder|See https://nanobind)' >&2)
