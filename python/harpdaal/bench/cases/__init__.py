"""Benchmark case modules: one per workload, discovered by harpdaal.bench (see docs/bench.md)."""
