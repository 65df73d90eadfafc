#!/usr/bin/env bash
# README command 2: install (if needed) and run the test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install.sh
# duckdb 2.0's bindings list "leaked" objects at interpreter exit (nanobind's shutdown report,
# harmless); drop those lines so pytest's summary stays the last thing printed.
.venv/bin/python -m pytest "$@" 2> >(grep -vE '^(nanobind: | - leaked | - \.\.\. skipped remainder|See https://nanobind)' >&2)
