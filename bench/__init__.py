"""Benchmark scripts (not tests: they measure and report, they assert nothing)."""
