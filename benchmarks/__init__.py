"""Benchmarks of the file, dict and orchestration paths against DuckDB-native baselines.

Not part of the test run (pytest's testpaths is `tests/`). Entry point: `python -m benchmarks.run`.
"""
