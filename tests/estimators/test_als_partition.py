"""How a distributed ImplicitALS fit splits the row solves over ranks (one process: the pieces
alone)."""
import numpy as np

from harpdaal.recommend._als import _balanced_bounds, _solve_cost


def test_bounds_balance_the_modelled_cost():
    rng = np.random.default_rng(0)
    nnz = np.sort(rng.zipf(1.3, 5000))[::-1].astype(np.int64)  # popular rows first
    cost = _solve_cost(nnz, nnz % 2 == 0, 64, 10**6)
    for parts in (2, 3, 4, 7):
        b = _balanced_bounds(cost, parts)
        assert b[0] == 0 and b[-1] == nnz.size and all(x <= y for x, y in zip(b[:-1], b[1:]))
        shares = np.array([cost[lo:hi].sum() for lo, hi in zip(b[:-1], b[1:])])
        # each slice is within one row's cost of an equal share
        assert np.all(np.abs(shares - cost.sum() / parts) <= cost.max())
        counts = np.diff(b)
        assert counts[0] < counts[-1]  # the popular first slice has fewer rows


def test_cost_model_prefers_long_rows_of_a_large_table():
    nnz = np.array([1, 100, 10_000, 100_000])
    for weighted in (np.ones(4, bool), np.zeros(4, bool)):
        small = _solve_cost(nnz, weighted, 64, 1000)        # the other table fits in cache
        large = _solve_cost(nnz, weighted, 64, 10**7)       # it does not
        assert np.all(large > small)
    weighted = np.ones(4, bool)
    per_entry = (_solve_cost(nnz, weighted, 64, 10**7)
                 - _solve_cost(np.zeros(4, np.int64), weighted, 64, 10**7)) / nnz
    assert per_entry[3] > per_entry[2] > per_entry[1]
    # rows of confidence-1 entries only make one pass over them: cheaper per entry
    assert np.all(_solve_cost(nnz, ~weighted, 64, 10**7) < _solve_cost(nnz, weighted, 64, 10**7))


def test_bounds_of_empty_and_tiny_inputs():
    assert _balanced_bounds(np.zeros(0), 3) == [0, 0, 0, 0]
    b = _balanced_bounds(np.ones(2), 4)
    assert b[0] == 0 and b[-1] == 2 and sorted(b) == b
