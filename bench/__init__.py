"""Benchmarks: each `bench_*.py` module has a `main()` that prints a table of figures and
ratios measured side by side in one run. `make bench` runs them all; `python -m bench NAME`
runs those whose name contains NAME."""
