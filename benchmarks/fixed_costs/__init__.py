"""Fixed costs: what a user waits for around a load (issue 11).

Each CLI command, the definitions load of the demo project and of a generated 100 sources /
300 models project, a demo load and a no-op `ingest sync`, and the run start latency under
`dagster dev`, each measured in a fresh process next to bare `python -c "import dagster"` (and
`python -c pass`, `import yaml, pydantic`, `import dagster, dagster_dbt, dagster_dlt`) in the
same run, so ratios hold on a shared machine. Run with `.venv/bin/python -m benchmarks.fixed_costs`
(see benchmarks/README.md); results go to `benchmarks/results/fixed_costs.json`.
"""
