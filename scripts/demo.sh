#!/usr/bin/env bash
# README command 1: install, generate the Jaffle Shop demo data, materialize every asset
# (dlt loads + dbt build with tests) and print what the warehouse holds. Safe to re-run:
# files already loaded are not loaded again.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install.sh
export DAGSTER_HOME="$PWD/dagster_home"   # project-local instance: the duckdb pool (limit 1) applies

.venv/bin/ingest demo-data   # first, so that validate finds the landing folder it checks
.venv/bin/ingest validate
log="$DAGSTER_HOME/last_materialize.log"
echo "materializing every asset (dagster asset materialize --select '*'); log: $log"
if ! .venv/bin/dagster asset materialize -m ingest_assets.definitions --select '*' >"$log" 2>&1; then
  grep -E "STEP_FAILURE|Error|error" "$log" | tail -n 20 >&2 || true
  echo "materialize failed; full log: $log" >&2
  exit 1
fi
.venv/bin/ingest summary
