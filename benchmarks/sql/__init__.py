"""The `sql` benchmark suite: TPC-H `lineitem` copied out of PostgreSQL and MariaDB into DuckDB.

Run it with `.venv/bin/python -m benchmarks.sql --sf 1` (see benchmarks/README.md, section SQL).
"""
