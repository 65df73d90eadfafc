#!/usr/bin/env bash
# Create .venv (Python 3.11+) and install the project with the exact versions of requirements.lock.
# Re-running is cheap: uv only installs what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "install: Python 3.11 or newer is needed; set PYTHON=/path/to/python3.11 (found: $("$PYTHON" --version 2>&1))" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# uv installs the ~200 pinned packages in seconds; pip would take minutes.
.venv/bin/python -m pip install --quiet --disable-pip-version-check "uv>=0.5,<1"
# --compile-bytecode: with PYTHONDONTWRITEBYTECODE set (as on the shared dev machine) Python would
# otherwise compile dagster, dlt and dbt (~2,500 modules) from source in every process, ~10 s each.
.venv/bin/uv pip install --quiet --compile-bytecode --python .venv/bin/python -r requirements.lock
# A venv installed before that flag: compile it once.
if ! ls .venv/lib/python3*/site-packages/dagster/__pycache__ >/dev/null 2>&1; then
  .venv/bin/python -m compileall -q -j 0 .venv/lib/python3*/site-packages >/dev/null 2>&1 || true
fi
.venv/bin/uv pip install --quiet --python .venv/bin/python --no-deps -e .
