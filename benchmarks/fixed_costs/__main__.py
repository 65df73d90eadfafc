"""`python -m benchmarks.fixed_costs`: the fixed-costs suite (see the package docstring)."""

from benchmarks.fixed_costs.run import main

main()
