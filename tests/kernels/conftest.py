"""Fixtures shared by the kernel tests."""
import numpy as np
import pytest


@pytest.fixture
def random_ratings():
    """make(seed, m, n, nnz) -> (users, items, ratings, user_perm, item_perm): uniform int32 ids
    in [0, m) x [0, n), float64 ratings ~ N(3, 1) and a random relabelling of each side."""
    def make(seed, m, n, nnz):
        rng = np.random.default_rng(seed)
        u = rng.integers(0, m, nnz).astype(np.int32)
        i = rng.integers(0, n, nnz).astype(np.int32)
        r = rng.normal(3.0, 1.0, nnz)
        up, ip = rng.permutation(m).astype(np.int32), rng.permutation(n).astype(np.int32)
        return u, i, r, up, ip
    return make
