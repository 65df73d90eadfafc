#!/usr/bin/env bash
# README command 2: install (if needed) and run the test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install.sh
.venv/bin/python -m pytest "$@"
