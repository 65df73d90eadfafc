"""dlt sources the benchmarks load; copied into a throw-away project's `custom_sources/`."""
