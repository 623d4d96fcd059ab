"""Shared by the benchmark-script tests: a script under benchmarks/ imported as a module."""
from __future__ import annotations

import importlib.util
import pathlib

import pytest

BENCHMARKS = pathlib.Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture
def bench_script():
    """bench_script("scaling") -> benchmarks/scaling.py imported as a fresh module."""

    def load(name: str):
        spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod

    return load
