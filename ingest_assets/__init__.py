"""Dagster asset project: `sources.yml` -> one dlt asset group per source -> dbt models on DuckDB."""
