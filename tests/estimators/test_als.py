"""harpdaal.recommend.ImplicitALS: the model it fits, determinism, the recommend family,
fold-in, save/load, checkpoints, and clear errors on bad input."""
import io
import os

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from harpdaal.recommend import ImplicitALS, ParameterWarning


def power_law(seed=0, n_users=300, n_items=120, nnz=3000):
    rng = np.random.default_rng(seed)
    items = np.minimum(rng.zipf(1.6, nnz) - 1, n_items - 1)
    users = rng.integers(0, n_users, nnz)
    r = sp.coo_matrix((rng.integers(1, 5, nnz).astype(np.float64), (users, items)),
                      shape=(n_users, n_items)).tocsr()
    r.sum_duplicates()
    return r


def normal_equation_residual(rows, factors, other, reg, alpha):
    """max over rows of |A x - b| for the exact half-step system (float64)."""
    O = other.astype(np.float64)
    G = O.T @ O + reg * np.eye(O.shape[1])
    worst = 0.0
    for u in range(rows.shape[0]):
        lo, hi = rows.indptr[u], rows.indptr[u + 1]
        idx, c = rows.indices[lo:hi], alpha * rows.data[lo:hi].astype(np.float64)
        A = G + (O[idx].T * (c - 1)) @ O[idx]
        b = O[idx].T @ c
        worst = max(worst, np.abs(A @ factors[u] - b).max())
    return worst


def test_params_are_stored_and_cloneable():
    m = ImplicitALS(factors=8, regularization=0.1, alpha=2.0, iterations=3, random_state=1,
                    n_jobs=1, solver="cholesky", cg_steps=4)
    assert clone(m).get_params() == m.get_params()
    assert m.user_factors is None and m.item_factors is None


def test_fit_shapes_and_fixed_point():
    R = power_law()
    m = ImplicitALS(factors=6, regularization=0.5, alpha=3.0, iterations=20, random_state=0,
                    solver="cholesky").fit(R)
    assert m.fit(R) is m
    assert m.user_factors_.shape == (300, 6) and m.item_factors_.shape == (120, 6)
    assert m.user_factors_.dtype == np.float32 and m.n_iter_ == 20
    assert m.user_factors is m.user_factors_
    # the last half-step solved the items exactly given the users
    res = normal_equation_residual(R.T.tocsr(), m.item_factors_, m.user_factors_, 0.5, 3.0)
    assert res < 1e-3


@pytest.mark.parametrize("solver", ["cg", "cholesky"])
def test_same_bits_for_same_seed_at_any_thread_count(solver):
    R = power_law(1)
    fits = [ImplicitALS(factors=8, iterations=4, random_state=5, n_jobs=t, solver=solver).fit(R)
            for t in (1, 2, 1)]
    for f in fits[1:]:
        assert np.array_equal(f.user_factors_, fits[0].user_factors_)
        assert np.array_equal(f.item_factors_, fits[0].item_factors_)
    other = ImplicitALS(factors=8, iterations=4, random_state=6, solver=solver).fit(R)
    assert not np.array_equal(other.item_factors_, fits[0].item_factors_)


def test_training_loss_decreases_and_cg_approaches_cholesky():
    R = power_law(2)
    kw = dict(factors=8, regularization=0.1, alpha=2.0, iterations=12, random_state=0,
              calculate_training_loss=True)
    cg = ImplicitALS(**kw).fit(R)
    exact = ImplicitALS(solver="cholesky", **kw).fit(R)
    losses = [h["loss"] for h in exact.history_]
    assert all(b <= a * (1 + 1e-6) for a, b in zip(losses, losses[1:]))
    assert cg.history_[-1]["loss"] == pytest.approx(losses[-1], rel=0.05)


def test_recommend_batch_matches_brute_force():
    R = power_law(3)
    m = ImplicitALS(factors=8, iterations=5, random_state=0).fit(R)
    users = np.array([0, 5, 17, 299])
    ids, scores = m.recommend(users, R[users], N=7)
    assert ids.shape == scores.shape == (4, 7)
    full = m.user_factors_[users] @ m.item_factors_.T
    for row, u in enumerate(users):
        s = full[row].copy()
        s[R[u].indices] = -np.inf
        want = np.argsort(-s, kind="stable")[:7]
        assert np.array_equal(np.sort(ids[row]), np.sort(want))
        np.testing.assert_allclose(scores[row], s[ids[row]], rtol=1e-5, atol=1e-6)
        assert np.all(np.diff(scores[row]) <= 0)
        one_ids, one_scores = m.recommend(int(u), R[u], N=7)
        assert np.array_equal(one_ids, ids[row])  # (BLAS may round one row differently)
        np.testing.assert_allclose(one_scores, scores[row], rtol=1e-6)


def test_recommend_without_filter_and_with_items():
    R = power_law(4)
    m = ImplicitALS(factors=4, iterations=3, random_state=0).fit(R)
    ids, _ = m.recommend(0, None, N=5, filter_already_liked_items=False)
    assert ids.shape == (5,)
    ids, scores = m.recommend(1, R[1], N=200, items=[3, 1, 2])
    assert sorted(ids.tolist()) == [1, 2, 3] and scores.shape == (3,)
    with pytest.raises(ValueError, match="items and filter_items"):
        m.recommend(1, R[1], items=[1, 2], filter_items=[3])


def test_partial_fit_users_and_items():
    R = power_law(5)
    m = ImplicitALS(factors=6, regularization=0.2, iterations=5, random_state=0).fit(R)
    new_rows = R[[3, 4]]
    m.partial_fit_users(np.array([3, 305]), new_rows)
    assert m.user_factors_.shape == (306, 6)
    assert np.all(m.user_factors_[300:305] == 0)
    np.testing.assert_allclose(m.user_factors_[305], m.recalculate_user(305, R[4]), atol=0)
    res = normal_equation_residual(new_rows.tocsr(), m.user_factors_[[3, 305]],
                                   m.item_factors_, 0.2, 1.0)
    assert res < 1e-3
    item_rows = R.T.tocsr()[[0]]
    m.partial_fit_items(np.array([120]), sp.csr_matrix(
        (item_rows.data, item_rows.indices, item_rows.indptr), shape=(1, 306)))
    assert m.item_factors_.shape == (121, 6)
    with pytest.raises(ValueError, match="one row for every id"):
        m.partial_fit_users(np.array([1, 2]), R[[1]])


def test_similar_items_first_is_itself():
    R = power_law(6)
    m = ImplicitALS(factors=8, iterations=5, random_state=0).fit(R)
    ids, scores = m.similar_items(np.arange(5), N=4)
    assert ids.shape == (5, 4)
    assert np.array_equal(ids[:, 0], np.arange(5))
    np.testing.assert_allclose(scores[:, 0], 1.0, rtol=1e-5)
    uid, _ = m.similar_users(2, N=3)
    assert uid[0] == 2


def test_save_load_round_trip_path_and_file(tmp_path):
    R = power_law(7)
    m = ImplicitALS(factors=5, iterations=3, random_state=0).fit(R)
    m.save(tmp_path / "m.npz")
    a = ImplicitALS.load(tmp_path / "m.npz")
    buf = io.BytesIO()
    m.save(buf)
    buf.seek(0)
    b = ImplicitALS.load(buf)
    for r in (a, b):
        assert r.get_params() == m.get_params()
        assert np.array_equal(r.item_factors_, m.item_factors_)
        assert np.array_equal(r.recommend(3, R[3])[0], m.recommend(3, R[3])[0])


def test_load_rejects_bad_files(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="not a readable"):
        ImplicitALS.load(bad)
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match="header"):
        ImplicitALS.load(tmp_path / "other.npz")
    # well-formed files whose factor tables this model cannot have
    for name, value, match in [("item_factors_", np.zeros((4, 2), np.float32), "shape"),
                               ("user_factors_", np.full((2, 3), np.nan, np.float32), "NaN"),
                               ("user_factors_", np.zeros((2, 3), np.float64), "float32")]:
        m = ImplicitALS(factors=3, iterations=1, random_state=0).fit(power_law(8))
        setattr(m, name, value)
        m.save(tmp_path / "broken.npz")
        with pytest.raises(ValueError, match=match):
            ImplicitALS.load(tmp_path / "broken.npz")


def test_save_rejects_unstorable_params(tmp_path):
    m = ImplicitALS(random_state=np.random.RandomState(0))
    with pytest.raises(TypeError, match="RandomState cannot be stored"):
        m.save(tmp_path / "m.npz")


def test_callback_and_progress(capsys):
    R = power_law(9)
    seen = []

    def stop_at_three(iteration, elapsed, loss):
        seen.append((iteration, loss))
        return iteration == 2

    m = ImplicitALS(factors=4, iterations=10, random_state=0, calculate_training_loss=True)
    m.fit(R, callback=stop_at_three, show_progress=True)
    assert m.n_iter_ == 3 and [s[0] for s in seen] == [0, 1, 2]
    assert all(isinstance(s[1], float) for s in seen)
    err = capsys.readouterr().err
    assert "iteration 3" in err and "loss" in err


def test_checkpoint_resume_gives_the_uninterrupted_fit(tmp_path):
    R = power_law(10)
    kw = dict(factors=4, iterations=6, random_state=3, n_jobs=1)
    whole = ImplicitALS(**kw).fit(R)
    stopped = ImplicitALS(checkpoint_dir=str(tmp_path), **kw)
    stopped.fit(R, callback=lambda it, *_: it == 3)  # checkpoints after iterations 1..3
    assert stopped.n_iter_ == 4
    resumed = ImplicitALS(checkpoint_dir=str(tmp_path), **kw).fit(R, resume=True)
    assert resumed.n_iter_ == 6
    assert np.array_equal(resumed.user_factors_, whole.user_factors_)
    assert np.array_equal(resumed.item_factors_, whole.item_factors_)


@pytest.mark.parametrize("data,match", [
    (sp.csr_matrix(np.array([[1.0, -2.0]])), "must be >= 0"),
    (sp.csr_matrix(np.array([[1.0, np.nan]])), "finite"),
    (sp.csr_matrix((0, 5)), "no users"),
    (sp.csr_matrix((3, 0)), "no items"),
    (sp.csr_matrix((3, 4)), "no interactions"),
    ([[1, 2]], "CSR"),
])
def test_bad_input_raises(data, match):
    with pytest.raises(ValueError, match=match):
        ImplicitALS(factors=2, iterations=1).fit(data)


def test_dense_and_coo_input_warn_and_fit():
    R = power_law(11)
    with pytest.warns(ParameterWarning, match="converting"):
        a = ImplicitALS(factors=3, iterations=2, random_state=0).fit(R.toarray())
    b = ImplicitALS(factors=3, iterations=2, random_state=0).fit(R)
    assert np.array_equal(a.item_factors_, b.item_factors_)


def test_explicit_zeros_and_duplicates_are_canonicalised():
    R = power_law(12)
    coo = R.tocoo()
    rows = np.concatenate([coo.row, coo.row[:5], [0]])
    cols = np.concatenate([coo.col, coo.col[:5], [119]])
    vals = np.concatenate([coo.data, np.zeros(5), [0.0]])
    messy = sp.csr_matrix((vals, (rows, cols)), shape=R.shape)  # duplicates kept
    messy.has_canonical_format = False
    a = ImplicitALS(factors=3, iterations=2, random_state=0).fit(messy)
    b = ImplicitALS(factors=3, iterations=2, random_state=0).fit(R)
    assert np.array_equal(a.item_factors_, b.item_factors_)


@pytest.mark.parametrize("params,exc,match", [
    (dict(factors=0), ValueError, "factors"),
    (dict(factors=2.5), TypeError, "factors"),
    (dict(solver="lu"), ValueError, "solver"),
    (dict(cg_steps=0), ValueError, "cg_steps"),
    (dict(regularization=-1.0), ValueError, "regularization"),
    (dict(alpha=float("nan")), ValueError, "alpha"),
    (dict(n_jobs=0), ValueError, "n_jobs"),
])
def test_bad_params_raise(params, exc, match):
    with pytest.raises(exc, match=match):
        ImplicitALS(**params).fit(power_law(13))


def test_recommend_errors():
    R = power_law(14)
    m = ImplicitALS(factors=3, iterations=1, random_state=0)
    with pytest.raises(NotFittedError):
        m.recommend(0, R[0])
    m.fit(R)
    with pytest.raises(IndexError, match="userid"):
        m.recommend(300, R[0])
    with pytest.raises(IndexError, match="userid"):
        m.recommend(-1, R[0])
    with pytest.raises(ValueError, match="one row for every id"):
        m.recommend(np.array([0, 1]), R[0])
    with pytest.raises(ValueError, match="columns"):
        m.recommend(0, R[0][:, :10])
    with pytest.raises(IndexError, match="filter_items"):
        m.recommend(0, R[0], filter_items=[500])
    with pytest.raises(ValueError, match="CSR"):
        m.recommend(0, R[0].tocoo())
    with pytest.raises(IndexError):
        m.similar_items(120)
