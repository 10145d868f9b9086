"""Benchmarks of the directive-tracking engine (not part of the installed package)."""
