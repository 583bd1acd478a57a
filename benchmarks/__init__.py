"""Benchmark scripts (see README.md); importable so that tests can reuse their logic."""
