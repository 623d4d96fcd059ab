"""recommend.MatrixFactorization: contract, bad input, ids, persistence, real-data quality."""
import gzip
import os

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError

from harpdaal.recommend import MatrixFactorization
from harpdaal.recommend._mf import REG_GRID


def low_rank_ratings(m=120, n=80, k=3, density=0.3, seed=0, noise=0.1, offset=3.0):
    rng = np.random.default_rng(seed)
    U, V = rng.normal(size=(m, k)), rng.normal(size=(n, k))
    mask = rng.random((m, n)) < density
    u, i = np.nonzero(mask)
    r = offset + np.einsum("ij,ij->i", U[u], V[i]) + noise * rng.normal(size=u.size)
    return u, i, r


def split(u, i, r, seed=1, frac=0.9):
    perm = np.random.default_rng(seed).permutation(r.size)
    n = int(frac * r.size)
    a, b = perm[:n], perm[n:]
    return (u[a], i[a], r[a]), (u[b], i[b], r[b])


@pytest.mark.parametrize("solver", ["sgd", "ccd"])
def test_learns_low_rank_structure(solver):
    tr, te = split(*low_rank_ratings())
    baseline = np.sqrt(np.mean((te[2] - tr[2].mean()) ** 2))
    m = MatrixFactorization(n_factors=8, solver=solver, n_epochs=30, random_state=0, n_jobs=2)
    m.fit(tr)
    assert m.rmse(te) < 0.5 * baseline
    assert m.score(te) == pytest.approx(-m.rmse(te))
    assert m.user_factors_.shape == (m.user_ids_.size, 8)
    assert m.item_factors_.shape == (m.item_ids_.size, 8)


def test_arbitrary_ids_and_input_forms_agree():
    u, i, r = low_rank_ratings(m=40, n=30)
    m1 = MatrixFactorization(n_factors=4, n_epochs=5, random_state=3, grid=4).fit((u, i, r))
    # ids shifted and spread out: same model up to the mapping
    m2 = MatrixFactorization(n_factors=4, n_epochs=5, random_state=3, grid=4)
    m2.fit((u * 7 + 1000, i * 3 + 5, r))
    np.testing.assert_array_equal(m1.user_factors_, m2.user_factors_)
    np.testing.assert_allclose(m1.predict(u[:10], i[:10]), m2.predict(u[:10] * 7 + 1000, i[:10] * 3 + 5))
    # scipy COO / CSR and an (n, 2) array with y
    coo = sp.coo_matrix((r, (u, i)))
    m3 = MatrixFactorization(n_factors=4, n_epochs=5, random_state=3, grid=4).fit(coo.tocsr())
    np.testing.assert_array_equal(m1.item_factors_, m3.item_factors_)
    m4 = MatrixFactorization(n_factors=4, n_epochs=5, random_state=3, grid=4)
    m4.fit(np.c_[u, i], r)
    np.testing.assert_array_equal(m1.item_factors_, m4.item_factors_)


def test_deterministic_across_threads_for_fixed_grid():
    u, i, r = low_rank_ratings()
    a = MatrixFactorization(n_factors=8, n_epochs=4, random_state=5, grid=6, n_jobs=1).fit((u, i, r))
    b = MatrixFactorization(n_factors=8, n_epochs=4, random_state=5, grid=6, n_jobs=2).fit((u, i, r))
    np.testing.assert_array_equal(a.user_factors_, b.user_factors_)
    c = MatrixFactorization(n_factors=8, n_epochs=4, random_state=6, grid=6, n_jobs=2).fit((u, i, r))
    assert not np.array_equal(a.user_factors_, c.user_factors_)


@pytest.mark.parametrize("bad, exc, msg", [
    ((np.array([0, 1]), np.array([0, 1]), np.array([1.0, np.nan])), ValueError, "NaN or infinite"),
    ((np.array([0, 1]), np.array([0, 1]), np.array([1.0, np.inf])), ValueError, "NaN or infinite"),
    ((np.array([0, -1]), np.array([0, 1]), np.array([1.0, 2.0])), ValueError, "users: ids must be >= 0"),
    ((np.array([0, 1]), np.array([-3, 1]), np.array([1.0, 2.0])), ValueError, "items: ids must be >= 0"),
    ((np.array([], int), np.array([], int), np.array([])), ValueError, "empty"),
    ((np.array([0, 1]), np.array([0]), np.array([1.0, 2.0])), ValueError, "same length"),
    ((np.array([0.5, 1]), np.array([0, 1]), np.array([1.0, 2.0])), TypeError, "integers"),
    ((np.array([0, 1]), np.array([0, 1]), np.array(["a", "b"])), TypeError, "real numbers"),
])
def test_bad_ratings_raise_clear_errors(bad, exc, msg):
    with pytest.raises(exc, match=msg):
        MatrixFactorization(n_epochs=1).fit(bad)


def test_empty_sparse_matrix_and_bad_types():
    with pytest.raises(ValueError, match="empty"):
        MatrixFactorization().fit(sp.csr_matrix((5, 4)))
    with pytest.raises(TypeError, match="X: expected"):
        MatrixFactorization().fit((np.arange(3), np.arange(3)))
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
        MatrixFactorization().fit([1, 2, 3])


@pytest.mark.parametrize("param, value, exc", [
    ("n_factors", 0, ValueError), ("n_factors", 2.5, TypeError), ("solver", "als", ValueError),
    ("learning_rate", 0.0, ValueError), ("reg", -1.0, ValueError), ("n_epochs", 0, ValueError),
    ("duplicates", "sum", ValueError), ("learning_rate_schedule", "cosine", ValueError),
    ("validation_fraction", 1.0, ValueError), ("n_jobs", 0, ValueError),
    ("random_state", "x", TypeError), ("reg_item", float("nan"), ValueError),
    ("refit", 1, TypeError), ("early_stopping", "yes", TypeError),
])
def test_bad_parameters(param, value, exc):
    u, i, r = low_rank_ratings(m=10, n=10)
    with pytest.raises(exc, match=param):
        MatrixFactorization(**{param: value}).fit((u, i, r))


def test_duplicate_policy():
    u = np.array([0, 0, 1, 1, 0])
    i = np.array([0, 1, 0, 1, 0])
    r = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    with pytest.raises(ValueError, match=r"duplicate rating for \(user 0, item 0\)"):
        MatrixFactorization(n_epochs=1).fit((u, i, r))
    kw = dict(n_factors=2, n_epochs=1, random_state=0)
    mean = MatrixFactorization(duplicates="mean", **kw).fit((u, i, r))
    last = MatrixFactorization(duplicates="last", **kw).fit((u, i, r))
    assert mean.global_mean_ == pytest.approx((3.0 + 2 + 3 + 4) / 4)
    assert last.global_mean_ == pytest.approx((5.0 + 2 + 3 + 4) / 4)


def test_negative_ratings_jester_style():
    u, i, r = low_rank_ratings(offset=-2.0)
    r = np.clip(r * 3, -10, 10)
    assert (r < 0).mean() > 0.3
    tr, te = split(u, i, r)
    m = MatrixFactorization(n_factors=8, n_epochs=20, random_state=0).fit(tr)
    pred = m.predict(te[0], te[1])
    assert np.all(np.isfinite(pred)) and pred.min() < 0
    assert m.rmse(te) < 0.6 * np.std(te[2])


def test_unknown_ids_use_fallback_rule():
    u, i, r = low_rank_ratings(m=30, n=20)
    m = MatrixFactorization(n_factors=4, n_epochs=3, random_state=0).fit((u, i, r))
    item = int(i[0])
    k = int(np.searchsorted(m.item_ids_, item))
    p = m.predict([10**9, 10**9], [item, 10**9])
    assert p[0] == pytest.approx(m.global_mean_ + m.item_bias_[k], rel=1e-6)
    assert p[1] == pytest.approx(m.global_mean_, rel=1e-6)


def test_recommend_excludes_seen_and_ranks():
    u, i, r = low_rank_ratings(m=30, n=25, density=0.4)
    m = MatrixFactorization(n_factors=4, n_epochs=5, random_state=0).fit((u, i, r))
    user = int(u[0])
    items, scores = m.recommend(user, n=5)
    assert items.size == 5 and np.all(np.diff(scores) <= 0)
    assert not set(items.tolist()) & set(i[u == user].tolist())
    np.testing.assert_allclose(m.predict(np.full(5, user), items), scores, rtol=1e-5)
    all_items, _ = m.recommend(user, n=1000, exclude_seen=False)
    assert all_items.size == m.item_ids_.size
    with pytest.raises(ValueError, match="n must be"):
        m.recommend(user, n=0)


def test_save_load_roundtrip_without_pickle(tmp_path):
    u, i, r = low_rank_ratings(m=30, n=20)
    m = MatrixFactorization(n_factors=5, n_epochs=3, random_state=0).fit((u, i, r))
    path = tmp_path / "model.npz"
    m.save(path)
    with np.load(path, allow_pickle=False) as z:  # no object arrays inside
        assert all(z[name].dtype != object for name in z.files)
    m2 = MatrixFactorization.load(path)
    np.testing.assert_array_equal(m.predict(u, i), m2.predict(u, i))
    np.testing.assert_array_equal(m.recommend(int(u[0]), 3)[0], m2.recommend(int(u[0]), 3)[0])
    assert m2.get_params() == m.get_params()


def biased_ratings(seed=0, m=150, n=100, density=0.25):
    """Low-rank ratings plus strong user and item biases."""
    u, i, r = low_rank_ratings(m=m, n=n, density=density, seed=seed, noise=0.3)
    rng = np.random.default_rng(seed + 10)
    bu, bi = rng.normal(0, 1.0, m), rng.normal(0, 1.0, n)
    return u, i, r + bu[u] + bi[i]


def test_ccd_learns_biases_and_a_global_offset():
    tr, te = split(*biased_ratings())
    kw = dict(n_factors=4, solver="ccd", reg=0.05, n_epochs=15, early_stopping=False,
              random_state=0, n_jobs=1)
    m = MatrixFactorization(**kw).fit(tr)
    plain = MatrixFactorization(use_bias=False, **kw).fit(tr)
    assert plain.user_bias_ is None and plain.item_bias_ is None
    assert plain.global_mean_ == pytest.approx(tr[2].mean(), abs=1e-9)
    assert m.user_bias_.shape == (m.user_ids_.size,) and m.item_bias_.shape == (m.item_ids_.size,)
    assert m.global_mean_ != plain.global_mean_  # the learnt offset, folded into the mean
    assert m.rmse(te) < 0.9 * plain.rmse(te)
    # the learnt biases follow the planted ones
    true_bu = np.random.default_rng(10).normal(0, 1.0, 150)[m.user_ids_]
    assert np.corrcoef(m.user_bias_, true_bu)[0, 1] > 0.9
    # predict, score and recommend use mean + b_u + b_i + p . q
    u, i = m._map_known(te[0], te[1])
    manual = (m.global_mean_ + m.user_bias_[u] + m.item_bias_[i]
              + np.einsum("ij,ij->i", m.user_factors_[u], m.item_factors_[i]))
    np.testing.assert_allclose(m.predict(te[0], te[1]), manual, rtol=1e-5, atol=1e-5)
    items, scores = m.recommend(int(te[0][0]), n=5, exclude_seen=False)
    np.testing.assert_allclose(m.predict(np.full(5, te[0][0]), items), scores, rtol=1e-5)
    # an unknown user: the mean plus the item's bias
    assert m.predict([10**6], [te[1][0]])[0] == pytest.approx(
        m.global_mean_ + m.item_bias_[i[0]], rel=1e-5)
    # reg_bias shrinks the biases (b = sum e / (n + reg_bias))
    tight = MatrixFactorization(reg_bias=1e4, **kw).fit(tr)
    assert np.abs(tight.user_bias_).max() < 0.1 * np.abs(m.user_bias_).max()


def test_ccd_without_biases_is_the_bias_free_kernel():
    """use_bias=False runs the CCD++ kernel without biases exactly as fits did before CCD++
    learnt them: the model equals the kernel driven by hand from the same start, bitwise."""
    from harpdaal import _core
    from harpdaal.recommend import _ratings as R

    u, i, r = biased_ratings(seed=2)
    k, epochs = 5, 4
    m = MatrixFactorization(n_factors=k, solver="ccd", use_bias=False, reg_user=0.03,
                            reg_item=0.07, n_epochs=epochs, early_stopping=False,
                            random_state=4, n_jobs=1).fit((u, i, r))
    mean, std = _core.mf.mean_std(np.ascontiguousarray(r, dtype=np.float64), 1)
    P = R.normal_factors(m.user_ids_.size, k, 0.01, R.init_seed(np.random.default_rng(4)), 0)
    Q = R.aligned_empty((m.item_ids_.size, P.shape[1]))
    rs = ((r - mean) / std).astype(np.float32)
    csr = sp.csr_matrix((np.arange(r.size) + 1.0, (u, i)), shape=(P.shape[0], Q.shape[0]))
    csr.sort_indices()
    src = csr.data.astype(np.int64) - 1
    csc = sp.csc_matrix((np.arange(r.size) + 1.0, (u[src], i[src])), shape=csr.shape)
    csc.sort_indices()
    res = np.ascontiguousarray(rs[src])
    for _ in range(epochs):
        _core.mf.ccd_epoch(csr.indptr.astype(np.int64), csr.indices.astype(np.int32),
                           csc.indptr.astype(np.int64), csc.indices.astype(np.int32),
                           csc.data.astype(np.int64) - 1, res, P, Q, k, 0.03, 0.07, 1, 1)
    root = np.float32(np.sqrt(std))
    assert (P[:, :k] * root).tobytes() == m.user_factors_.tobytes()
    assert (Q[:, :k] * root).tobytes() == m.item_factors_.tobytes()


@pytest.mark.parametrize("use_bias", [True, False])
def test_ccd_is_deterministic_across_threads(use_bias):
    u, i, r = biased_ratings(seed=3, m=400, n=300, density=0.1)
    kw = dict(n_factors=6, solver="ccd", use_bias=use_bias, random_state=1)
    a = MatrixFactorization(n_jobs=1, **kw).fit((u, i, r))
    b = MatrixFactorization(n_jobs=2, **kw).fit((u, i, r))
    assert_same_model(a, b)


def test_ccd_model_file_roundtrip_with_biases_and_old_files_without(tmp_path):
    import json

    u, i, r = biased_ratings(seed=4, m=40, n=30, density=0.4)
    kw = dict(n_factors=3, solver="ccd", n_epochs=4, early_stopping=False, random_state=0)
    m = MatrixFactorization(**kw).fit((u, i, r))
    path = tmp_path / "ccd.npz"
    m.save(path)
    m2 = MatrixFactorization.load(path)
    np.testing.assert_array_equal(m2.user_bias_, m.user_bias_)
    np.testing.assert_array_equal(m2.item_bias_, m.item_bias_)
    assert m2.global_mean_ == m.global_mean_
    np.testing.assert_array_equal(m.predict(u, i), m2.predict(u, i))
    np.testing.assert_array_equal(m.recommend(u[:4], 3)[1], m2.recommend(u[:4], 3)[1])
    # a file of a release whose CCD++ had no biases: use_bias=True in its parameters, no bias
    # arrays; it loads as the bias-free model it is
    old = MatrixFactorization(use_bias=False, **kw).fit((u, i, r))
    old_path = tmp_path / "old.npz"
    old.save(old_path)
    with np.load(old_path) as z:
        members = {name: z[name] for name in z.files}
    header = json.loads(members["header"].tobytes())
    assert "user_bias" not in header["arrays"]
    header["params"].update(use_bias=True, reg_bias=0.02)
    members["header"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    np.savez(old_path, **members)
    loaded = MatrixFactorization.load(old_path)
    assert loaded.use_bias and loaded.user_bias_ is None
    np.testing.assert_array_equal(loaded.predict(u, i), old.predict(u, i))
    np.testing.assert_array_equal(loaded.recommend(u[:4], 3)[0], old.recommend(u[:4], 3)[0])


def test_early_stopping_and_history(capsys):
    tr, te = split(*low_rank_ratings(noise=1.0))
    m = MatrixFactorization(n_factors=30, reg=0.0, n_epochs=60, early_stopping=True,
                            n_iter_no_change=2, refit=False, random_state=0, verbose=1).fit(tr)
    assert m.n_epochs_ < 60
    assert 1 <= m.best_epoch_ <= m.n_epochs_
    vals = [h["val_rmse"] for h in m.history_]
    assert min(vals) == pytest.approx(vals[m.best_epoch_ - 1])
    err = capsys.readouterr().err
    assert "validation RMSE" in err and "epoch   1" in err


def fitted(m):
    return {"P": m.user_factors_, "Q": m.item_factors_, "bu": m.user_bias_, "bi": m.item_bias_}


def assert_same_model(a, b):
    for name, x in fitted(a).items():
        y = fitted(b)[name]
        assert (x is None and y is None) or x.tobytes() == y.tobytes(), name
    assert [{k: v for k, v in h.items() if k != "seconds"} for h in a.history_] == \
        [{k: v for k, v in h.items() if k != "seconds"} for h in b.history_]
    assert (a.n_epochs_, a.best_epoch_) == (b.n_epochs_, b.best_epoch_)
    assert a.global_mean_ == b.global_mean_  # CCD++ learns an offset to it


@pytest.mark.parametrize("solver", ["sgd", "ccd"])
def test_callbacks_see_every_epoch_and_can_stop_the_fit(solver):
    tr, te = split(*low_rank_ratings())
    seen = []

    def cb(info):
        seen.append((info.iteration, info.metrics["epoch"], info.metrics["val_rmse"]))
        return info.iteration == 4

    kw = dict(n_factors=4, solver=solver, random_state=0, n_jobs=1)
    m = MatrixFactorization(n_epochs=10, **kw).fit(tr, eval_set=te, callbacks=[cb])
    assert m.n_epochs_ == 4 and [s[:2] for s in seen] == [(e, e) for e in range(1, 5)]
    assert [h["val_rmse"] for h in m.history_] == [s[2] for s in seen]
    # stopping after epoch 4 leaves the model of a 4-epoch fit, bitwise
    assert_same_model(m, MatrixFactorization(n_epochs=4, **kw).fit(tr, eval_set=te))
    assert {"compute", "comm", "glue", "total"} <= set(m.timings_)
    assert m.timings_["compute"] > 0 and m.timings_["comm"] == 0.0
    with pytest.raises(TypeError, match="callbacks"):
        MatrixFactorization(n_epochs=2, **kw).fit(tr, callbacks=[1])


@pytest.mark.parametrize("solver", ["sgd", "ccd"])
def test_early_stopping_resumed_from_a_checkpoint_restores_the_same_best_epoch(tmp_path, solver):
    """The checkpoint of an epoch after the best one carries the best model: a fit killed there
    and resumed stops at the same epoch and restores the same best epoch, bitwise."""
    tr, _ = split(*low_rank_ratings(noise=1.0))
    kw = dict(n_factors=30, reg=0.0, n_epochs=60, solver=solver, early_stopping=True,
              n_iter_no_change=3, refit=False, random_state=0, n_jobs=1)
    ref = MatrixFactorization(**kw).fit(tr)
    assert ref.best_epoch_ + 3 == ref.n_epochs_ < 60  # stopped early, restored an earlier epoch
    # the model kept is the best epoch's: that of a fit (same held-out part) ending there
    best = MatrixFactorization(**{**kw, "n_epochs": ref.best_epoch_}).fit(tr)
    for name, a in fitted(best).items():
        assert a is None or a.tobytes() == fitted(ref)[name].tobytes(), name
    ck = str(tmp_path / "ck")
    stop_at = ref.best_epoch_ + 2  # checkpoints up to best + 1: the best model is a snapshot
    cut = MatrixFactorization(checkpoint_dir=ck, checkpoint_every=1, **kw).fit(
        tr, callbacks=[lambda info: info.iteration == stop_at])
    assert cut.n_epochs_ == stop_at
    resumed = MatrixFactorization(checkpoint_dir=ck, **kw).fit(tr, resume=True)
    assert_same_model(ref, resumed)


@pytest.mark.parametrize("solver", ["sgd", "ccd"])
def test_defaults_search_the_regularisation_and_refit_on_all_ratings(solver):
    """The defaults: one early-stopped fit per regularisation of REG_GRID on the same internal
    split, the best by its validation RMSE, then a fit on all the ratings for its best epoch
    count (the model)."""
    tr, te = split(*low_rank_ratings(noise=0.5))
    m = MatrixFactorization(n_factors=8, solver=solver, random_state=0, n_jobs=1).fit(tr)
    grid = REG_GRID[solver]
    assert [(s["reg_user"], s["reg_item"]) for s in m.reg_search_] == [(r, r) for r in grid]
    won = min(m.reg_search_, key=lambda s: s["val_rmse"])
    assert (m.reg_user_, m.reg_item_) == (won["reg_user"], won["reg_item"])
    assert 1 <= won["best_epoch"] <= won["n_epochs"] <= 100
    # each search entry is the early-stopped fit with that regularisation (same split)
    kw = dict(n_factors=8, solver=solver, random_state=0, n_jobs=1)
    for s in m.reg_search_:
        one = MatrixFactorization(reg=s["reg_user"], refit=False, **kw).fit(tr)
        assert (one.best_epoch_, one.n_epochs_) == (s["best_epoch"], s["n_epochs"])
        assert one.history_[one.best_epoch_ - 1]["val_rmse"] == s["val_rmse"]
        assert one.n_epochs_ == 100 or one.best_epoch_ + 5 == one.n_epochs_  # patience 5
    # the model: trained on every rating for the winner's best epoch count, no held-out part
    assert m.n_epochs_ == m.best_epoch_ == won["best_epoch"] == len(m.history_)
    assert all("val_rmse" not in h for h in m.history_)
    refit = MatrixFactorization(reg=m.reg_user_, early_stopping=False, n_epochs=m.n_epochs_,
                                **kw).fit(tr)
    assert_same_model(m, refit)
    np.testing.assert_array_equal(np.sort(m.user_ids_), np.unique(tr[0]))
    # timings and fit_time_ cover the whole fit, search included
    tm = m.timings_
    assert tm["total"] == m.fit_time_ and {"compute", "comm", "glue"} <= set(tm)
    assert tm["compute"] + tm["comm"] + tm["glue"] == pytest.approx(m.fit_time_)


def test_defaults_are_deterministic_for_a_seed_and_fit_well():
    tr, te = split(*low_rank_ratings(noise=0.5))
    a = MatrixFactorization(n_factors=8, random_state=4).fit(tr)
    b = MatrixFactorization(n_factors=8, random_state=4).fit(tr)
    assert_same_model(a, b)
    assert a.reg_search_ == b.reg_search_
    # better than the fixed 20-epoch fit with the fixed regularisation on this small, noisy set
    fixed = MatrixFactorization(n_factors=8, random_state=4, early_stopping=False, n_epochs=20)
    assert a.rmse(te) < fixed.fit(tr).rmse(te)


def test_explicit_parameters_keep_their_meaning():
    tr, te = split(*low_rank_ratings())
    kw = dict(n_factors=6, random_state=2, n_jobs=1)
    # no early stopping: one fit, reg None is the fixed 0.04 / 0.05
    plain = MatrixFactorization(early_stopping=False, n_epochs=20, **kw).fit(tr)
    assert not hasattr(plain, "reg_search_") and plain.n_epochs_ == 20
    assert (plain.reg_user_, plain.reg_item_) == (0.04, 0.05)
    assert_same_model(plain, MatrixFactorization(early_stopping=False, n_epochs=20,
                                                 reg_user=0.04, reg_item=0.05, **kw).fit(tr))
    # a given regularisation is not searched: one early-stopped fit, then the refit
    given = MatrixFactorization(reg=0.07, **kw).fit(tr)
    assert [(s["reg_user"], s["reg_item"]) for s in given.reg_search_] == [(0.07, 0.07)]
    assert (given.reg_user_, given.reg_item_) == (0.07, 0.07)
    assert given.n_epochs_ == given.reg_search_[0]["best_epoch"]
    sep = MatrixFactorization(reg_user=0.02, **kw).fit(tr)
    assert [(s["reg_user"], s["reg_item"]) for s in sep.reg_search_] == [(0.02, 0.05)]
    # an eval_set steers early stopping itself: no search, no refit
    ev = MatrixFactorization(**kw).fit(tr, eval_set=te)
    assert not hasattr(ev, "reg_search_") and (ev.reg_user_, ev.reg_item_) == (0.04, 0.05)
    assert ev.history_[ev.best_epoch_ - 1]["val_rmse"] == min(h["val_rmse"] for h in ev.history_)
    # refit=False: the model is the winning early-stopped fit on the internal split
    nore = MatrixFactorization(refit=False, **kw).fit(tr)
    won = min(nore.reg_search_, key=lambda s: s["val_rmse"])
    assert_same_model(nore, MatrixFactorization(reg=won["reg_user"], refit=False, **kw).fit(tr))
    assert nore.history_[nore.best_epoch_ - 1]["val_rmse"] == won["val_rmse"]
    # a fitted estimator refitted without the search has no stale reg_search_
    assert not hasattr(nore.set_params(early_stopping=False).fit(tr), "reg_search_")


def test_defaults_checkpoint_only_the_model_fit(tmp_path):
    """checkpoint_dir is used by the model's fit only; resuming reruns the search (the same,
    seeded) and continues the refit from its checkpoint, bitwise."""
    tr, _ = split(*low_rank_ratings(noise=0.5))
    ck = str(tmp_path / "ck")
    kw = dict(n_factors=6, random_state=1, n_jobs=1, checkpoint_dir=ck, checkpoint_every=1)
    ref = MatrixFactorization(**kw).fit(tr)
    files = [f for f in os.listdir(ck) if f.startswith("state.")]
    assert files == [f"state.r00000-of-00001.i{ref.n_epochs_ - 1:09d}.npz"]  # the refit's
    resumed = MatrixFactorization(**kw).fit(tr, resume=True)
    assert_same_model(ref, resumed)
    assert resumed.reg_search_ == ref.reg_search_
    with pytest.raises(ValueError, match="random_state to be an int"):
        MatrixFactorization(**{**kw, "random_state": None}).fit(tr)
    with pytest.raises(ValueError, match="resume=True needs checkpoint_dir"):
        MatrixFactorization(n_factors=6, random_state=1).fit(tr, resume=True)


def test_too_few_ratings_for_the_default_split_names_the_way_out():
    with pytest.raises(ValueError, match="early_stopping=False"):
        MatrixFactorization().fit(([0], [0], [3.0]))
    m = MatrixFactorization(early_stopping=False, n_epochs=2).fit(([0], [0], [3.0]))
    assert m.predict([0], [0]).shape == (1,)


def test_sklearn_contract():
    sklearn = pytest.importorskip("sklearn")
    from sklearn.base import clone

    m = MatrixFactorization(n_factors=7, reg=0.2)
    c = clone(m)
    assert c.get_params() == m.get_params() and c is not m
    assert "n_factors=7" in repr(m)
    with pytest.raises(NotFittedError, match="not fitted"):
        m.predict([0], [0])
    assert sklearn.__version__


# ---- real data (HARPDAAL_DATA) ------------------------------------------------------------------
def fixed_split(u, i, r):
    perm = np.random.default_rng(7).permutation(r.size)
    n = int(0.9 * r.size)
    a, b = perm[:n], perm[n:]
    return (u[a], i[a], r[a]), (u[b], i[b], r[b])


@pytest.mark.data
def test_libmf_demo_real_matrix(data_file):
    tr = np.loadtxt(data_file("libmf-demo/real_matrix.tr.txt"))
    te = np.loadtxt(data_file("libmf-demo/real_matrix.te.txt"))
    as_t = lambda d: (d[:, 0].astype(int), d[:, 1].astype(int), d[:, 2])  # noqa: E731
    m = MatrixFactorization(random_state=0).fit(as_t(tr))
    # ~3 ratings per user: close to noise. PyPI libmf 0.9.2 (k=8, best l2 of 0.05/0.1/0.2,
    # 20 iterations, NaN rows replaced by the mean) reaches 1.003 here; the global mean 0.997.
    assert m.rmse(as_t(te)) <= 1.003


@pytest.mark.data
def test_ml_latest_small_beats_libmf(data_file):
    d = np.loadtxt(data_file("ml-latest-small/ratings.csv"), delimiter=",", skiprows=1,
                   usecols=(0, 1, 2))
    tr, te = fixed_split(d[:, 0].astype(int), d[:, 1].astype(int), d[:, 2])
    m = MatrixFactorization(n_factors=40, random_state=0).fit(tr)
    assert m.rmse(te) <= 0.867  # LIBMF's best over its grid (docs/mf.md)


@pytest.mark.data
def test_jester5k_beats_libmf(data_file):
    with gzip.open(data_file("jester5k/ratings.txt.gz"), "rt") as fh:
        d = np.loadtxt(fh)
    tr, te = fixed_split(d[:, 0].astype(int), d[:, 1].astype(int), d[:, 2])
    m = MatrixFactorization(n_factors=40, random_state=0).fit(tr)
    assert m.rmse(te) <= 4.08


def test_batch_recommend_family_against_brute_force():
    u, i, r = low_rank_ratings(m=40, n=30, density=0.3)
    m = MatrixFactorization(n_factors=4, n_epochs=5, random_state=0, early_stopping=False,
                            n_jobs=1).fit((u, i, r))
    users = np.array([int(u[0]), int(u[5]), 10**9, int(u[-1])])  # one never seen
    ids, scores = m.recommend(users, n=6)
    assert ids.shape == scores.shape == (4, 6)
    for row, user in enumerate(users):
        # brute force: every item's prediction, seen ones out, best first
        all_scores = m.predict(np.full(m.item_ids_.size, user), m.item_ids_)
        seen = set(i[u == user].tolist())
        cand = [(-s, pos) for pos, s in enumerate(all_scores) if m.item_ids_[pos] not in seen]
        want = [m.item_ids_[p] for _, p in sorted(cand)[:6]]
        np.testing.assert_array_equal(ids[row], want)
        np.testing.assert_allclose(scores[row], m.predict(np.full(6, user), ids[row]),
                                   rtol=1e-6)
        one_ids, one_scores = m.recommend(int(user), n=6)
        np.testing.assert_array_equal(one_ids, ids[row])
        np.testing.assert_array_equal(one_scores, scores[row])
    blocked = ids[0, :2]
    f_ids, _ = m.recommend(users, n=6, filter_items=blocked)
    assert not np.isin(f_ids, blocked).any()
    np.testing.assert_array_equal(f_ids[0, :4], ids[0, 2:])
    subset = m.item_ids_[::3]
    s_ids, s_scores = m.recommend(users, n=3, items=subset, exclude_seen=False)
    assert np.isin(s_ids, subset).all()
    np.testing.assert_allclose(s_scores[0], np.sort(m.predict(np.full(subset.size, users[0]),
                                                              subset))[::-1][:3], rtol=1e-6)
    with pytest.raises(ValueError, match="not in the training ratings"):
        m.recommend(users, filter_items=[10**9])
    with pytest.raises(ValueError, match="cannot both"):
        m.recommend(users, filter_items=subset, items=subset)


def test_similar_items_by_cosine():
    u, i, r = low_rank_ratings(m=40, n=30, density=0.3)
    m = MatrixFactorization(n_factors=4, n_epochs=5, random_state=0, early_stopping=False,
                            n_jobs=1).fit((u, i, r))
    Q = m.item_factors_.astype(np.float64)
    cos = (Q @ Q.T) / np.outer(np.linalg.norm(Q, axis=1), np.linalg.norm(Q, axis=1))
    item = int(m.item_ids_[3])
    ids, scores = m.similar_items(item, n=5)
    assert ids[0] == item and scores[0] == pytest.approx(1.0)
    np.testing.assert_array_equal(ids, m.item_ids_[np.argsort(-cos[3], kind="stable")[:5]])
    many, _ = m.similar_items(m.item_ids_[:4], n=5)
    assert many.shape == (4, 5) and (many[:, 0] == m.item_ids_[:4]).all()
