"""The sparse-row kernels (CSR transpose, merge of row-aligned parts) against scipy / NumPy."""
import numpy as np
import pytest
import scipy.sparse as sp

from harpdaal._core import common


def _csr(seed, n_rows=50, n_cols=30, density=0.2):
    R = sp.random(n_rows, n_cols, density=density, format="csr", random_state=seed,
                  dtype=np.float32)
    return (R.indptr.astype(np.int64), R.indices.astype(np.int32), R.data.astype(np.float32), R)


@pytest.mark.parametrize("first", [0, 1000])
def test_transpose_matches_scipy(first):
    indptr, indices, data, R = _csr(0)
    n_cols = R.shape[1]
    out = (np.empty(n_cols + 1, np.int64), np.empty(data.size, np.int32),
           np.empty(data.size, np.float32))
    common.transpose_csr(indptr, indices, data, n_cols, first, *out)
    T = R.T.tocsr()
    T.sort_indices()
    np.testing.assert_array_equal(out[0], T.indptr)
    np.testing.assert_array_equal(out[1], T.indices + first)
    np.testing.assert_array_equal(out[2], T.data)


def test_transpose_of_empty_and_rejects_bad_ids():
    out = (np.empty(4, np.int64), np.empty(0, np.int32), np.empty(0, np.float32))
    common.transpose_csr(np.zeros(3, np.int64), np.empty(0, np.int32), np.empty(0, np.float32),
                         3, 0, *out)
    assert out[0].tolist() == [0, 0, 0, 0]
    indptr = np.array([0, 2], np.int64)
    bad = np.array([0, 3], np.int32)
    with pytest.raises(ValueError, match="column id"):
        common.transpose_csr(indptr, bad, np.ones(2, np.float32), 3, 0, np.empty(4, np.int64),
                             np.empty(2, np.int32), np.empty(2, np.float32))
    with pytest.raises(ValueError, match="indptr"):
        common.transpose_csr(np.array([0, 5], np.int64), bad, np.ones(2, np.float32), 4, 0,
                             np.empty(5, np.int64), np.empty(5, np.int32),
                             np.empty(5, np.float32))


def test_merge_parts_in_part_order():
    rng = np.random.default_rng(1)
    n_parts, n_rows = 3, 40
    lengths = rng.integers(0, 4, (n_parts, n_rows)).astype(np.int64)
    lengths[1, :10] = 0  # a part that covers only some rows
    total = int(lengths.sum())
    ids = rng.integers(0, 1000, total).astype(np.int32)
    values = rng.random(total, dtype=np.float32)
    out = (np.empty(n_rows + 1, np.int64), np.empty(total, np.int32), np.empty(total, np.float32))
    common.merge_csr_parts(lengths, ids, values, *out)
    # reference: split each part into rows, then concatenate row by row in part order
    starts = np.concatenate([[0], np.cumsum(lengths.reshape(-1))])
    want_ids, want_values, want_ptr = [], [], [0]
    for r in range(n_rows):
        for p in range(n_parts):
            a, b = starts[p * n_rows + r], starts[p * n_rows + r + 1]
            want_ids.extend(ids[a:b])
            want_values.extend(values[a:b])
        want_ptr.append(len(want_ids))
    np.testing.assert_array_equal(out[0], want_ptr)
    np.testing.assert_array_equal(out[1], want_ids)
    np.testing.assert_array_equal(out[2], np.array(want_values, np.float32))


def test_merge_rejects_inconsistent_sizes():
    lengths = np.array([[1, 2]], np.int64)
    with pytest.raises(ValueError, match="ids"):
        common.merge_csr_parts(lengths, np.zeros(2, np.int32), np.zeros(3, np.float32),
                               np.empty(3, np.int64), np.empty(3, np.int32),
                               np.empty(3, np.float32))
    with pytest.raises(ValueError, match="negative"):
        common.merge_csr_parts(np.array([[-1, 1]], np.int64), np.zeros(0, np.int32),
                               np.zeros(0, np.float32), np.empty(3, np.int64),
                               np.empty(0, np.int32), np.empty(0, np.float32))
