"""_core.common.top_k_rows against a numpy reference: best first, ties by the lower column."""
import numpy as np
import pytest

from harpdaal import _core


def _reference(s, k):
    order = np.lexsort((np.broadcast_to(np.arange(s.shape[1]), s.shape), -s), axis=1)[:, :k]
    return order, np.take_along_axis(s, order, axis=1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m,n,k", [(1, 1, 1), (7, 50, 10), (300, 1000, 10), (5, 20, 20),
                                   (40, 33, 1)])
@pytest.mark.parametrize("threads", [1, 2])
def test_top_k_rows_matches_numpy(dtype, m, n, k, threads):
    rng = np.random.default_rng(m * n + k)
    s = rng.integers(-5, 5, (m, n)).astype(dtype)  # many ties
    s[:, ::7] = -np.inf
    ids = np.empty((m, k), np.int32)
    best = np.empty((m, k), dtype)
    fn = _core.common.top_k_rows_f32 if dtype == np.float32 else _core.common.top_k_rows_f64
    fn(s, ids, best, threads)
    want_ids, want = _reference(s, k)
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_array_equal(best, want)


def test_top_k_rows_checks_its_arguments():
    s = np.zeros((3, 4), np.float32)
    with pytest.raises(ValueError, match="exceeds"):
        _core.common.top_k_rows_f32(s, np.empty((3, 5), np.int32), np.empty((3, 5), np.float32))
    with pytest.raises((TypeError, ValueError), match="ids"):
        _core.common.top_k_rows_f32(s, np.empty((2, 2), np.int32), np.empty((3, 2), np.float32))
    with pytest.raises((TypeError, ValueError), match="scores"):
        _core.common.top_k_rows_f32(s.astype(np.float64), np.empty((3, 2), np.int32),
                                    np.empty((3, 2), np.float32))
