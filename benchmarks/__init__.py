"""Benchmarks (data under benchmarks/data)."""
