"""Deterministic per-rank data: every rank can compute what every other rank contributed."""
from __future__ import annotations

import numpy as np


def contribution(rank: int, shape, dtype, salt: int = 0) -> np.ndarray:
    rng = np.random.default_rng([salt, rank, 12345])
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    return rng.integers(-1000, 1000, size=shape).astype(dtype)
