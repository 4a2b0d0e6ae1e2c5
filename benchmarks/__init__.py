"""Benchmarks: the perf_analyzer harness (perf.py), the client load test and their helpers."""
