"""Benchmarks, run by hand and never timed by the test suite: ``python -m bench`` runs them
all side by side (see BENCHMARKS.md); ``python -m bench.tally_export`` runs the tally export
benchmark on its own."""
