"""The dg defs folder: `sources/defs.yaml` (the sources of sources.yml), `dbt/defs.yaml` (the
dbt models) and `policy.py` (resources, executor, dead-run recovery)."""
