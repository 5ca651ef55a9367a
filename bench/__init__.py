"""Benchmarks (run with `python -m bench`); timing lives here, never in unit tests."""
