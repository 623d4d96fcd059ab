"""MF fit set-up kernels (dense id ranking, counter-based factor init, rating moments, the
bucketing) against NumPy references, and their independence of the thread count."""
import numpy as np
import pytest

from harpdaal import _core
from harpdaal.cluster._init import _mix as mix64  # splitmix64's finaliser, wrapping
from harpdaal.recommend import MatrixFactorization
from harpdaal.recommend import _ratings as R


# ---- dense_rank / map_ids -------------------------------------------------------------------
@pytest.mark.parametrize("threads", [1, 2])
def test_dense_rank_matches_np_unique(threads):
    rng = np.random.default_rng(0)
    ids = rng.choice(np.arange(0, 500_000, 7), size=300_000).astype(np.int64)  # gaps, repeats
    table = np.empty(int(ids.max()) + 1, np.int32)
    index = np.empty(ids.size, np.int32)
    n_unique = _core.mf.dense_rank(ids, table, index, threads)
    unique, inverse = np.unique(ids, return_inverse=True)
    assert n_unique == unique.size
    np.testing.assert_array_equal(index, inverse)
    np.testing.assert_array_equal(np.flatnonzero(table >= 0), unique)
    assert (table[table >= 0] == np.arange(unique.size)).all()


def test_dense_rank_reports_out_of_range_ids():
    ids = np.array([3, 0, 5, 3], np.int64)
    table, index = np.empty(6, np.int32), np.empty(4, np.int32)
    assert _core.mf.dense_rank(ids, table, index, 1) == 3
    np.testing.assert_array_equal(index, [1, 0, 2, 1])
    for bad in ([3, -1, 5], [3, 6, 5]):  # negative, or == len(table)
        b = np.array(bad, np.int64)
        assert _core.mf.dense_rank(b, table, np.empty(3, np.int32), 2) == -1
    assert _core.mf.dense_rank(np.zeros(0, np.int64), table, np.empty(0, np.int32), 1) == 0
    with pytest.raises(TypeError, match="ids"):
        _core.mf.dense_rank(ids.astype(np.int32), table, index, 1)
    with pytest.raises(ValueError, match="index"):
        _core.mf.dense_rank(ids, table, np.empty(3, np.int32), 1)


def _map_ids_reference(ids):
    unique, inverse = np.unique(ids, return_inverse=True)
    return unique, inverse.astype(np.int32)


@pytest.mark.parametrize("case", ["dense", "huge", "negative", "int32", "single"])
def test_map_ids_dense_path_equals_general_path(case):
    rng = np.random.default_rng(1)
    ids = rng.integers(0, 5000, 20_000).astype(np.int64)
    if case == "huge":  # beyond the table limit: the np.unique path
        ids[7] = R.dense_id_limit(ids.size) + 123
    elif case == "negative":  # the C++ table reports it; np.unique handles it
        ids[3] = -42
    elif case == "int32":
        ids = ids.astype(np.int32)
    elif case == "single":
        ids = np.full(9, 77, np.int64)
    want_u, want_i = _map_ids_reference(ids)
    for threads in (1, 2):
        got_u, got_i = R.map_ids(ids, threads)
        np.testing.assert_array_equal(got_u, want_u)
        np.testing.assert_array_equal(got_i, want_i)
        assert got_i.dtype == np.int32 and got_i.shape == ids.shape


def test_map_ids_empty():
    u, i = R.map_ids(np.zeros(0, np.int64), 2)
    assert u.size == 0 and i.dtype == np.int32 and i.size == 0


# ---- normal_rows ------------------------------------------------------------------------------
def test_normal_rows_independent_of_threads_and_row_ranges():
    k, ld = 37, 48
    full = np.full((5000, ld), np.nan, np.float32)
    _core.mf.normal_rows(full, k, 0.5, 1234, 0, 0, 1)
    two = np.full_like(full, np.nan)
    _core.mf.normal_rows(two, k, 0.5, 1234, 0, 0, 2)
    np.testing.assert_array_equal(full, two)
    assert not full[:, k:].any()  # padding written as zeros
    part = np.full((1000, ld), np.nan, np.float32)  # rows 2000..2999 drawn on their own
    _core.mf.normal_rows(part, k, 0.5, 1234, 0, 2000, 2)
    np.testing.assert_array_equal(part, full[2000:3000])
    other = np.empty_like(full)
    _core.mf.normal_rows(other, k, 0.5, 1234, 1, 0, 2)  # another stream
    assert np.mean(other[:, :k] == full[:, :k]) < 1e-3
    _core.mf.normal_rows(other, k, 0.5, 1235, 0, 0, 2)  # another seed
    assert np.mean(other[:, :k] == full[:, :k]) < 1e-3


_G, _R = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xD1B54A32D192ED03)


def normal_rows_reference(rows, k, std, seed, stream, first_row=0):
    """NumPy (float64) statement of normal_rows: pair p of row r hashes (seed, stream, r, p) to
    64 bits; u1 = (bits >> 40 + 1) / 2^24, u2 = (bits & (2^24 - 1)) / 2^24; Box-Muller gives
    entries 2p (cosine) and 2p + 1 (sine)."""
    with np.errstate(over="ignore"):
        key = mix64(np.uint64(seed) ^ mix64(np.uint64(stream) + _G))
        row_keys = mix64(key + np.arange(first_row, first_row + rows, dtype=np.uint64) * _R)
        pairs = (k + 1) // 2
        bits = mix64(row_keys[:, None] + np.arange(pairs, dtype=np.uint64)[None, :] * _G)
    u1 = ((bits >> np.uint64(40)).astype(np.float64) + 1) / 2**24
    u2 = (bits & np.uint64(0xFFFFFF)).astype(np.float64) / 2**24
    rad = np.sqrt(-2 * np.log(u1)) * std
    z = np.empty((rows, 2 * pairs))
    z[:, 0::2] = rad * np.cos(2 * np.pi * u2)
    z[:, 1::2] = rad * np.sin(2 * np.pi * u2)
    return z[:, :k]


@pytest.mark.parametrize("k,ld", [(37, 48), (32, 32), (1, 16), (130, 144)])
def test_normal_rows_match_a_numpy_box_muller(k, ld):
    # the kernel's float32 log and sine/cosine polynomials against float64 NumPy: within a few
    # float32 roundings of every value (up to ~5 standard deviations here)
    out = np.full((3000, ld), np.nan, np.float32)
    _core.mf.normal_rows(out, k, 0.5, 99, 3, 500, 2)
    want = normal_rows_reference(3000, k, 0.5, 99, 3, first_row=500)
    np.testing.assert_allclose(out[:, :k], want, rtol=0, atol=0.5 * 1e-6)
    assert not out[:, k:].any()


def test_normal_rows_are_normal_with_the_given_std():
    x = np.empty((20_000, 32), np.float32)
    _core.mf.normal_rows(x, 32, 0.01, 7, 0, 0, 2)
    v = x.astype(np.float64).ravel() / 0.01
    assert abs(v.mean()) < 0.01 and abs(v.std() - 1.0) < 0.01
    # tails and shape: fractions within 1 and 2 sigma, excess kurtosis ~ 0
    assert abs(np.mean(np.abs(v) < 1) - 0.6827) < 0.005
    assert abs(np.mean(np.abs(v) < 2) - 0.9545) < 0.003
    assert abs(np.mean(v**4) - 3.0) < 0.05
    # neighbouring entries (the two halves of a Box-Muller pair, adjacent rows) uncorrelated
    assert abs(np.corrcoef(x[:, 0], x[:, 1])[0, 1]) < 0.03
    assert abs(np.corrcoef(x[:-1, 0], x[1:, 0])[0, 1]) < 0.03


def test_normal_rows_rejects_bad_arguments():
    x = np.empty((4, 16), np.float32)
    with pytest.raises(ValueError, match="n_factors"):
        _core.mf.normal_rows(x, 17, 0.1, 0)
    with pytest.raises(ValueError, match="stddev"):
        _core.mf.normal_rows(x, 4, -1.0, 0)
    with pytest.raises(TypeError, match="out"):
        _core.mf.normal_rows(x.astype(np.float64), 4, 0.1, 0)
    with pytest.raises(ValueError, match="out"):
        _core.mf.normal_rows(x[:, ::2], 4, 0.1, 0)  # not C-contiguous


# ---- mean_std ---------------------------------------------------------------------------------
def test_mean_std_matches_numpy_for_any_threads():
    x = np.random.default_rng(3).normal(3.5, 1.25, 1_000_003)
    m1, s1 = _core.mf.mean_std(x, 1)
    m2, s2 = _core.mf.mean_std(x, 2)
    assert (m1, s1) == (m2, s2)  # fixed chunks: bitwise the same
    assert m1 == pytest.approx(x.mean(), rel=1e-12)
    assert s1 == pytest.approx(x.std(), rel=1e-12)
    assert _core.mf.mean_std(np.zeros(0), 1) == (0.0, 0.0)
    with pytest.raises(TypeError, match="x"):
        _core.mf.mean_std(x.astype(np.float32), 1)


# ---- bucketing --------------------------------------------------------------------------------
def bucket_reference(u, i, r, n_users, n_items, grid, ways):
    """NumPy statement of the bucket order: by block; inside a block the users (in user order,
    each with its ratings in item order, ties in input order) are list-scheduled onto `ways`
    slots (the next user takes the slot that frees first, the lower slot on a tie) and the
    ratings are emitted round by round, slot by slot."""
    import heapq

    row = u.astype(np.int64) * grid // n_users
    col = i.astype(np.int64) * grid // n_items
    block = row * grid + col
    order = np.lexsort((np.arange(u.size), i, u, block))
    b, us = block[order], u[order]
    new_user = np.r_[True, (b[1:] != b[:-1]) | (us[1:] != us[:-1])]
    new_block = np.r_[True, b[1:] != b[:-1]]
    starts = np.flatnonzero(new_user)
    counts = np.diff(np.r_[starts, u.size])
    start_round = np.empty(starts.size, np.int64)
    slot = np.empty(starts.size, np.int64)
    slots = []
    for x, (s, c) in enumerate(zip(starts, counts)):
        if new_block[s]:
            slots = [(0, w) for w in range(ways)]  # (free from round, slot)
        free, w = heapq.heappop(slots)
        start_round[x], slot[x] = free, w
        heapq.heappush(slots, (free + c, w))
    user_of = np.cumsum(new_user) - 1  # (block, user) run of each sorted rating
    j = np.arange(u.size) - starts[user_of]  # rating's rank within its user's run
    final = order[np.lexsort((slot[user_of], start_round[user_of] + j, b))]
    ptr = np.searchsorted(np.sort(block), np.arange(grid * grid + 1))
    return u[final], i[final], r[final], ptr


@pytest.mark.parametrize("ways", [1, 4, 3])
def test_bucket_matches_numpy_reference_for_any_threads(ways):
    rng = np.random.default_rng(5)
    m, n, nnz, grid = 3000, 700, 400_000, 8  # > 65536 ratings: several parallel chunks
    u = (rng.pareto(1.5, nnz) * 200).astype(np.int64) % m  # skewed, like real ratings
    u = u.astype(np.int32)
    i = rng.integers(0, n, nnz).astype(np.int32)
    r = rng.normal(0, 1, nnz).astype(np.float32)
    want = bucket_reference(u, i, r, m, n, grid, ways)
    for threads in (1, 2):
        got = R.bucket(u, i, r, m, n, grid, threads, ways)
        for a, b in zip(want, got):
            np.testing.assert_array_equal(a, b)


def test_bucket_relabel_independent_of_threads(random_ratings):
    m, n, nnz, grid = 5000, 900, 300_000, 8
    u, i, r, up, ip = random_ratings(6, m, n, nnz)
    outs = []
    for threads in (1, 2):
        got = (np.empty(nnz, np.int32), np.empty(nnz, np.int32), np.empty(nnz, np.float32),
               np.empty(grid * grid + 1, np.int64))
        dups = _core.mf.bucket_relabel(u, i, r, up, ip, 3.0, 1.0, grid, *got, 4, threads)
        outs.append((dups,) + got)
    assert outs[0][0] == outs[1][0]
    for a, b in zip(outs[0][1:], outs[1][1:]):
        np.testing.assert_array_equal(a, b)


# ---- the estimator's set-up -------------------------------------------------------------------
def test_fit_is_the_same_for_any_n_jobs():
    """Init, moments, id mapping and bucketing are thread-count independent, and the grid is
    fixed: the fitted model is bitwise the same with 1 and 2 threads."""
    rng = np.random.default_rng(8)
    key = rng.choice(400 * 300, size=20_000, replace=False)
    u, i = key // 300 * 3 + 10, key % 300  # sparse-ish user ids
    r = rng.normal(3.0, 1.0, key.size)
    fits = [MatrixFactorization(n_factors=8, n_epochs=3, grid=8, random_state=4, n_jobs=nt)
            .fit((u, i, r)) for nt in (1, 2)]
    np.testing.assert_array_equal(fits[0].user_factors_, fits[1].user_factors_)
    np.testing.assert_array_equal(fits[0].item_factors_, fits[1].item_factors_)
    np.testing.assert_array_equal(fits[0].user_bias_, fits[1].user_bias_)
    assert fits[0].global_mean_ == fits[1].global_mean_


def test_initial_factors_have_init_std():
    """One epoch at a vanishing learning rate leaves the counter-based init visible."""
    rng = np.random.default_rng(9)
    key = rng.choice(500 * 200, size=5000, replace=False)
    u, i, r = key // 200, key % 200, rng.normal(3.0, 1.0, key.size)
    m = MatrixFactorization(n_factors=16, n_epochs=1, learning_rate=1e-9, init_std=0.2,
                            random_state=0, n_jobs=1).fit((u, i, r))
    # factors come back in rating units: multiplied by sqrt(rating std)
    scale = np.sqrt(r.std())
    for f in (m.user_factors_, m.item_factors_):
        assert f.std() / scale == pytest.approx(0.2, rel=0.05)
        assert abs(f.mean()) / scale < 0.02
    m2 = MatrixFactorization(n_factors=16, n_epochs=1, learning_rate=1e-9, init_std=0.2,
                             random_state=1, n_jobs=1).fit((u, i, r))
    assert not np.allclose(m.user_factors_, m2.user_factors_)


@pytest.mark.parametrize("n,ld", [(3000, 48), (1, 16), (5, 32), (0, 16)])
def test_permute_rows_matches_numpy_in_place(n, ld):
    rng = np.random.default_rng(10)
    src = rng.normal(size=(n, ld)).astype(np.float32)
    cases = [rng.permutation(n), np.arange(n)]  # a random permutation (long cycles), the identity
    if n >= 4:  # fixed points and 2-cycles among longer cycles
        p = rng.permutation(n)
        p[[0, 1]] = p[[1, 0]]
        p[2:4] = np.arange(2, 4)
        cases.append(np.argsort(p))
    for perm in cases:
        perm = perm.astype(np.int32)
        rows = src.copy()
        address = rows.ctypes.data
        _core.mf.permute_rows(rows, perm, 1.5)
        assert rows.ctypes.data == address  # in place
        np.testing.assert_array_equal(rows, src[perm] * np.float32(1.5))


def test_permute_rows_refuses_what_is_not_a_permutation():
    src = np.arange(48, dtype=np.float32).reshape(6, 8)
    for bad in ([0, 1, 2, 3, 4, 4], [0, 1, 2, 3, 4, 6], [0, 1, 2, 3, 4, -1]):
        rows = src.copy()
        with pytest.raises(ValueError, match="perm must be a permutation"):
            _core.mf.permute_rows(rows, np.array(bad, np.int32), 2.0)
        np.testing.assert_array_equal(rows, src)  # untouched
    with pytest.raises(ValueError, match="perm"):
        _core.mf.permute_rows(src, np.arange(5, dtype=np.int32), 1.0)
    with pytest.raises(ValueError, match="read-only"):
        ro = src.copy()
        ro.flags.writeable = False
        _core.mf.permute_rows(ro, np.arange(6, dtype=np.int32), 1.0)


@pytest.mark.parametrize("threads", [1, 2])
def test_bucket_id_check_reports_the_range(threads):
    n = 200_000  # several chunks of the parallel range scan
    u = np.zeros(n, np.int32)
    u[150_001] = -3
    i = np.zeros(n, np.int32)
    with pytest.raises(ValueError, match=r"users: ids must lie in \[0, 10\), got range \[-3, 0\]"):
        R.bucket(u, i, np.zeros(n, np.float32), 10, 5, 2, threads)
    u[150_001] = 0
    i[-1] = 5
    with pytest.raises(ValueError, match=r"items: ids must lie in \[0, 5\), got range \[0, 5\]"):
        R.bucket(u, i, np.zeros(n, np.float32), 10, 5, 2, threads)


def test_as_triplets_finiteness_check():
    u = np.arange(4)
    ok = np.array([1e308, 1e308, -1.0, 2.0])  # finite, but the sum overflows
    assert R.as_triplets((u, u, ok))[2] is not None
    for bad in (np.nan, np.inf, -np.inf):
        r = np.array([1.0, bad, 2.0, 3.0])
        with pytest.raises(ValueError, match="1 value"):
            R.as_triplets((u, u, r))
    with pytest.raises(ValueError, match="2 value"):
        R.as_triplets((u, u, np.array([np.inf, -np.inf, 1.0, 2.0])))


def test_bucket_outputs_must_not_alias_inputs():
    rng = np.random.default_rng(11)
    n, m, k, grid = 1000, 50, 30, 2
    u = rng.integers(0, m, n).astype(np.int32)
    i = rng.integers(0, k, n).astype(np.int32)
    r = rng.normal(size=n).astype(np.float32)
    ptr = np.empty(grid * grid + 1, np.int64)
    with pytest.raises(ValueError, match="share memory"):
        _core.mf.bucket(u, i, r, m, k, grid, u, np.empty(n, np.int32), np.empty(n, np.float32),
                        ptr)
    big = np.empty(2 * n, np.float32)  # an output overlapping part of an input
    with pytest.raises(ValueError, match="share memory"):
        _core.mf.bucket(u, i, big[:n], m, k, grid, np.empty(n, np.int32),
                        np.empty(n, np.int32), big[n // 2 : n // 2 + n], ptr)
    up = rng.permutation(m).astype(np.int32)
    ip = rng.permutation(k).astype(np.int32)
    with pytest.raises(ValueError, match="share memory"):  # out_users is the items input
        _core.mf.bucket_relabel(u, i, r.astype(np.float64), up, ip, 0.0, 1.0, grid, i,
                                np.empty(n, np.int32), np.empty(n, np.float32), ptr, 1, 1)
    buf = np.empty(m + n, np.int32)  # out_items overlaps the user permutation's last entry
    buf[:m] = up
    with pytest.raises(ValueError, match="share memory"):
        _core.mf.bucket_relabel(u, i, r.astype(np.float64), buf[:m], ip, 0.0, 1.0, grid,
                                np.empty(n, np.int32), buf[m - 1 : m - 1 + n],
                                np.empty(n, np.float32), ptr, 1, 1)
