#!/usr/bin/env bash
# Lint and format check with ruff (rules in pyproject.toml's [tool.ruff]; ruff comes with the
# `test` extra). Fails on any finding. To fix what ruff can:
#   .venv/bin/ruff format . && .venv/bin/ruff check --fix .
set -euo pipefail
cd "$(dirname "$0")/.."

.venv/bin/ruff check .
.venv/bin/ruff format --check .
