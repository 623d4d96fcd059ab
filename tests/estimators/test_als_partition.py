"""How a distributed ImplicitALS fit splits the row solves over ranks (one process: the pieces
alone)."""
import numpy as np

from harpdaal.recommend._als import _balanced_bounds, _rebalanced_bounds, _solve_cost


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


def test_recut_by_measured_seconds():
    # the model says equal halves; rank 0 measured twice rank 1's seconds for them: a row of
    # rank 0's slice now weighs 2/150 s, one of rank 1's 1/150 s, and the cut falls at 1.5 s of
    # the 3 s (row 112.5); the slowest rank is predicted at 1.5 s + a part row, not 2 s
    cost = np.ones(300)
    bounds, slowest = _rebalanced_bounds(cost, [0, 150, 300], [2.0, 1.0], 2)
    assert bounds == [0, 112, 300]
    assert abs(slowest - (38 * 2 / 150 + 1.0)) < 1e-9
    # measured as modelled: at most a row moves (rounding), and no gain is predicted
    bounds, slowest = _rebalanced_bounds(cost, [0, 150, 300], [1.5, 1.5], 2)
    assert abs(bounds[1] - 150) <= 1 and slowest >= 1.5 - 1e-9


def test_recut_with_an_empty_slice():
    # a rank without rows measured nothing: its rows (none yet) count at the mean scale
    cost = np.arange(1.0, 11.0)
    bounds, slowest = _rebalanced_bounds(cost, [0, 10, 10], [5.0, 0.0], 2)
    assert bounds[0] == 0 and bounds[-1] == 10 and 0 < bounds[1] < 10
    assert slowest < 5.0
    assert _rebalanced_bounds(np.zeros(0), [0, 0, 0], [0.0, 0.0], 2)[0] == [0, 0, 0]
