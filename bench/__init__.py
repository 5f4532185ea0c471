"""Benchmarks: commands that print tables (``python -m bench.assembly``). See README.md."""
