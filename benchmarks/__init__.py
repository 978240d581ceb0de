"""Benchmarks, run by hand from the repository root as modules (`python -m
benchmarks.clean_speed`), so that they import this checkout and `tests`' fixtures by name."""
