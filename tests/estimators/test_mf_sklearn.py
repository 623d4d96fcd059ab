"""recommend.MatrixFactorization under scikit-learn's contract: estimator checks, clone,
get_params / set_params, pickling, and the rating-matrix input forms the checks feed."""
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

from harpdaal.recommend import MatrixFactorization

# X with two columns and a y is MF's id-pair form (rows of (user, item) ids, ratings in y): the
# checks' random floats in two columns are not ids, so fit refuses them.
_PAIRS = ("two float columns with a y are read as (user, item) id pairs with ratings y; "
          "floats that are not integers are refused as ids (TypeError)")
# The rows of a rating matrix are users by position, not independent samples.
_ROWS_ARE_USERS = ("the rows of a rating matrix are users by position: reordering or "
                   "subsetting the rows changes which user each row is, so predictions move")
EXPECTED_FAILED = {
    "check_estimators_overwrite_params": _PAIRS,
    "check_estimators_fit_returns_self": _PAIRS,
    "check_readonly_memmap_input": _PAIRS,
    "check_fit_idempotent": _PAIRS,
    "check_fit_check_is_fitted": _PAIRS,
    "check_n_features_in": _PAIRS,
    "check_n_features_in_after_fitting": (
        "no n_features_in_: the columns of a rating matrix are item ids, not features, and a "
        "matrix to predict or score may have any width (unseen items get the fallback rule)"),
    "check_estimator_sparse_array": (
        "predict(R) on a rating matrix returns one prediction per rated entry, in R's sparse "
        "form, not one value per row"),
    "check_estimator_sparse_matrix": (
        "predict(R) on a rating matrix returns one prediction per rated entry, in R's sparse "
        "form, not one value per row"),
    "check_methods_sample_order_invariance": _ROWS_ARE_USERS,
    "check_methods_subset_invariance": _ROWS_ARE_USERS,
}


@parametrize_with_checks(
    [MatrixFactorization(n_factors=3, n_epochs=3, random_state=0, n_jobs=1),
     MatrixFactorization(n_factors=3, n_epochs=3, solver="ccd", random_state=0, n_jobs=1)],
    expected_failed_checks=lambda est: EXPECTED_FAILED)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
def test_expected_failures_still_fail():
    """Every declared failure is real: a check that starts passing must leave the list."""
    from sklearn.utils.estimator_checks import check_estimator

    est = MatrixFactorization(n_factors=3, n_epochs=3, random_state=0, n_jobs=1)
    results = check_estimator(est, on_fail=None)
    failed = {r["check_name"] for r in results if r["status"] == "failed"}
    passed = {r["check_name"] for r in results if r["status"] == "passed"}
    assert failed == set(EXPECTED_FAILED)
    assert len(passed) >= 25


def ratings(m=40, n=30, density=0.4, seed=0):
    rng = np.random.default_rng(seed)
    U, V = rng.normal(size=(m, 3)), rng.normal(size=(n, 3))
    u, i = np.nonzero(rng.random((m, n)) < density)
    return u, i, 3.0 + np.einsum("ij,ij->i", U[u], V[i]) + 0.1 * rng.normal(size=u.size)


def fitted_arrays(est):
    return [est.user_factors_, est.item_factors_, est.user_ids_, est.item_ids_] + (
        [] if est.user_bias_ is None else [est.user_bias_, est.item_bias_])


@pytest.mark.parametrize("solver", ["sgd", "ccd"])
def test_clone_params_and_pickle_roundtrip(solver):
    m = MatrixFactorization(n_factors=5, solver=solver, reg=0.2, n_epochs=4, random_state=1,
                            n_jobs=1)
    c = clone(m)
    assert c is not m and c.get_params() == m.get_params()
    assert "n_factors=5" in repr(m) and "reg=0.2" in repr(m)
    assert set(m.get_params()) >= {"n_factors", "solver", "checkpoint_dir", "rotation_timer"}
    assert m.set_params(n_factors=6) is m and m.n_factors == 6
    with pytest.raises(ValueError, match="Invalid parameter 'n_factor'"):
        m.set_params(n_factor=3)
    u, i, r = ratings()
    m.fit((u, i, r))
    # the fitted model survives pickling bitwise, and predicts and recommends the same
    m2 = pickle.loads(pickle.dumps(m))
    for a, b in zip(fitted_arrays(m), fitted_arrays(m2)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(m.predict(u, i), m2.predict(u, i))
    np.testing.assert_array_equal(m.recommend(int(u[0]), 4)[0], m2.recommend(int(u[0]), 4)[0])
    # a clone of a fitted estimator is unfitted, with the same parameters
    c = clone(m)
    assert c.get_params() == m.get_params()
    with pytest.raises(NotFittedError, match="not fitted"):
        c.predict([0], [0])


def test_dense_and_sparse_rating_matrices_fit_as_the_triplets():
    u, i, r = ratings()
    kw = dict(n_factors=4, n_epochs=4, random_state=2, n_jobs=1)
    ref = MatrixFactorization(**kw).fit((u, i, r))
    dense = np.full((u.max() + 1, i.max() + 1), np.nan)
    dense[u, i] = r
    # the matrix forms are sorted row by row; the triplets above come from np.nonzero, the same
    for X in (dense, sp.csr_matrix((r, (u, i))), sp.coo_array((r, (u, i)))):
        m = MatrixFactorization(**kw).fit(X, y=np.zeros(3))  # y ignored with a matrix
        for a, b in zip(fitted_arrays(ref), fitted_arrays(m)):
            np.testing.assert_array_equal(a, b)
        assert m.score(X) == ref.score((u, i, r))


def test_dense_rating_matrix_rejects_inf_and_a_matrix_of_nothing():
    X = np.array([[1.0, np.nan], [np.inf, 2.0], [3.0, 4.0]])
    with pytest.raises(ValueError, match="X contains infinity"):
        MatrixFactorization(n_epochs=1).fit(X)
    with pytest.raises(ValueError, match="no ratings"):
        MatrixFactorization(n_epochs=1).fit(np.full((3, 4), np.nan))
    with pytest.raises(ValueError, match="Complex data not supported"):
        MatrixFactorization(n_epochs=1).fit(np.ones((3, 4)) * 1j)
    with pytest.raises(ValueError, match="Expected 2D array"):
        MatrixFactorization(n_epochs=1).fit(np.ones(4))


def test_predict_on_rating_matrices_keeps_their_form():
    u, i, r = ratings()
    m = MatrixFactorization(n_factors=4, n_epochs=3, random_state=0, n_jobs=1).fit((u, i, r))
    pairs = m.predict(u, i)
    csr = sp.csr_matrix((r, (u, i)))
    out = m.predict(csr)
    assert sp.issparse(out) and out.format == "csr" and not isinstance(out, sp.sparray)
    np.testing.assert_array_equal(out.toarray()[u, i], pairs)
    out = m.predict(sp.csc_array((r, (u, i))))
    assert isinstance(out, sp.sparray) and out.format == "csc"
    np.testing.assert_array_equal(out.toarray()[u, i], pairs)
    dense = np.full((u.max() + 1, i.max() + 3), np.nan)  # two items never seen in fit
    dense[u, i] = r
    dense[0, -1] = 1.0
    out = m.predict(dense)
    assert out.shape == dense.shape and out.dtype == np.float32
    np.testing.assert_array_equal(np.isnan(out), np.isnan(dense))
    np.testing.assert_array_equal(out[u, i], pairs)
    assert out[0, -1] == pytest.approx(m.predict([0], [10**9])[0])  # the fallback rule
    with pytest.raises(ValueError, match="Reshape your data"):
        m.predict(np.ones(5))


def test_pipeline_and_grid_search_on_id_pairs():
    u, i, r = ratings(m=60, n=40)
    X = np.c_[u, i]
    search = GridSearchCV(MatrixFactorization(n_factors=3, n_epochs=5, random_state=0, n_jobs=1),
                          {"reg": [0.01, 1.0]}, cv=3).fit(X, r)
    assert search.best_params_["reg"] in (0.01, 1.0)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert np.all(search.cv_results_["mean_test_score"] < 0)  # negative RMSE
    pipe = make_pipeline(FunctionTransformer(), MatrixFactorization(n_factors=3, n_epochs=3,
                                                                    random_state=0, n_jobs=1))
    dense = np.full((u.max() + 1, i.max() + 1), np.nan)
    dense[u, i] = r
    pipe.fit(dense, np.arange(dense.shape[0]))  # a y passed through the Pipeline is ignored
    np.testing.assert_array_equal(pipe.predict(dense)[u, i], pipe[-1].predict(u, i))
