"""harpdaal.cluster.MiniBatchKMeans against scikit-learn's contract, a plain NumPy reference of
the same update on the same batches (tests/_minibatch_reference.py) and scikit-learn's
MiniBatchKMeans for quality."""
import numpy as np
import pytest
import scipy.sparse as sp
from _minibatch_reference import fit as reference_fit
from _minibatch_reference import step as reference_step
from _minibatch_reference import stream as reference_stream
from sklearn.cluster import MiniBatchKMeans as SKMiniBatchKMeans
from sklearn.utils.estimator_checks import parametrize_with_checks

from harpdaal.cluster import KMeans, MiniBatchKMeans
from harpdaal.cluster import _minibatch
from harpdaal.datasets import load_idx

# Expected failures, with reasons (scikit-learn's MiniBatchKMeans declares the same two):
_WEIGHT_REASON = ("batches are drawn with probability proportional to the weight, so a weighted "
                  "fit and a fit on repeated rows draw different batches (scikit-learn's "
                  "MiniBatchKMeans declares the same failure)")
EXPECTED_FAILED = {
    "check_sample_weight_equivalence_on_dense_data": _WEIGHT_REASON,
    "check_sample_weight_equivalence_on_sparse_data": _WEIGHT_REASON,
}


@parametrize_with_checks([MiniBatchKMeans(n_clusters=3, n_init=2, max_iter=5, batch_size=10,
                                          random_state=0)],
                         expected_failed_checks=lambda est: EXPECTED_FAILED)
def test_sklearn_contract(estimator, check):
    check(estimator)


def blobs(n=3000, d=6, centers=8, seed=0, spread=10.0):
    rng = np.random.default_rng(seed)
    means = rng.uniform(-spread, spread, (centers, d))
    return means[rng.integers(0, centers, n)] + rng.standard_normal((n, d))


def tol_abs(X, tol):
    return float(np.var(X, axis=0).mean() * tol)


# ---- the NumPy reference: same batches, same rule ---------------------------------------------
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("tol, max_no_improvement", [(0.0, None), (0.0, 3), (1e-3, None)])
def test_fit_matches_numpy_reference(weighted, sparse, tol, max_no_improvement):
    X = blobs(n=1500, d=5, centers=6, seed=1)
    w = np.random.default_rng(2).uniform(0.2, 3, len(X)) if weighted else None
    init = X[:6].copy()
    est = MiniBatchKMeans(6, init=init, batch_size=100, max_iter=4, random_state=7, tol=tol,
                          max_no_improvement=max_no_improvement)
    est.fit(sp.csr_matrix(X) if sparse else X, sample_weight=w)
    centers, counts, done, ewa = reference_fit(
        [X], init, est._seed, batch_size=100, max_iter=4, weights=None if w is None else [w],
        tol=tol_abs(X, tol), max_no_improvement=max_no_improvement)
    assert est.n_steps_ == done
    if max_no_improvement is None and tol == 0:
        assert done == 4 * len(X) // 100
    else:
        assert done < 4 * len(X) // 100  # stopped early
    np.testing.assert_allclose(est.cluster_centers_, centers, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(est._counts, counts, rtol=1e-12)
    assert est.n_iter_ == -(-(done * 100) // len(X))
    labels = np.argmin(((X[:, None] - centers[None]) ** 2).sum(axis=2), axis=1)
    assert np.array_equal(est.labels_, labels)


def test_reassignment_matches_numpy_reference():
    """Many small clusters, a high ratio: centers are reassigned onto batch rows often."""
    X = blobs(n=800, d=3, centers=4, seed=3)
    init = X[:30].copy()
    kw = dict(batch_size=40, max_iter=3, max_no_improvement=None)
    est = MiniBatchKMeans(30, init=init, random_state=1, reassignment_ratio=0.5, **kw).fit(X)
    centers, counts, done, _ = reference_fit([X], init, est._seed, ratio=0.5, **kw)
    np.testing.assert_allclose(est.cluster_centers_, centers, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(est._counts, counts, rtol=1e-12)
    # the reassignment really ran: without it the centers end elsewhere
    none = MiniBatchKMeans(30, init=init, random_state=1, reassignment_ratio=0, **kw).fit(X)
    assert np.abs(none.cluster_centers_ - est.cluster_centers_).max() > 1


def test_float32_kept_and_close_to_float64():
    X = blobs(seed=4)
    init = X[:8].copy()
    a = MiniBatchKMeans(8, init=init, random_state=0, batch_size=256).fit(X)
    b = MiniBatchKMeans(8, init=init, random_state=0, batch_size=256).fit(X.astype(np.float32))
    assert b.cluster_centers_.dtype == np.float32 and b.transform(X[:5].astype(np.float32)) \
        .dtype == np.float32
    np.testing.assert_allclose(b.cluster_centers_, a.cluster_centers_, rtol=1e-4, atol=1e-4)
    assert np.array_equal(a.labels_, b.labels_)
    assert a.n_steps_ == b.n_steps_


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_same_bits_every_run(n_jobs):
    X = blobs(n=5000, d=8, centers=10, seed=5).astype(np.float32)
    fits = [MiniBatchKMeans(10, random_state=3, batch_size=200, n_jobs=n_jobs).fit(X)
            for _ in range(2)]
    assert fits[0].cluster_centers_.tobytes() == fits[1].cluster_centers_.tobytes()
    assert fits[0].n_steps_ == fits[1].n_steps_ and fits[0].inertia_ == fits[1].inertia_
    other = MiniBatchKMeans(10, random_state=4, batch_size=200, n_jobs=n_jobs).fit(X)
    assert other.cluster_centers_.tobytes() != fits[0].cluster_centers_.tobytes()


def test_sparse_matches_dense():
    X = blobs(n=2000, d=10, seed=6)
    X[np.abs(X) < 1] = 0
    w = np.random.default_rng(0).uniform(0.5, 1.5, len(X))
    a = MiniBatchKMeans(8, random_state=2, batch_size=128).fit(X, sample_weight=w)
    b = MiniBatchKMeans(8, random_state=2, batch_size=128).fit(sp.csr_matrix(X), sample_weight=w)
    assert np.array_equal(a.labels_, b.labels_) and a.n_steps_ == b.n_steps_
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, rtol=1e-10, atol=1e-10)


def test_zero_weight_rows_never_drawn():
    X = blobs(n=600, d=3, centers=3, seed=7)
    w = np.ones(len(X))
    w[::2] = 0
    X[::2] = 1e6  # far away: a drawn zero-weight row would pull a center there
    est = MiniBatchKMeans(3, random_state=0, batch_size=50, init=X[1:6:2].copy(),
                          max_no_improvement=None).fit(X, sample_weight=w)
    assert np.abs(est.cluster_centers_).max() < 100


# ---- partial_fit ---------------------------------------------------------------------------------
def test_partial_fit_matches_numpy_reference():
    X = blobs(n=1200, d=4, centers=5, seed=8)
    init = X[:5].copy()
    est = MiniBatchKMeans(5, init=init, random_state=0, reassignment_ratio=0.3)
    centers = init.copy()
    counts = np.zeros(5)
    n_since = 0
    for i, chunk in enumerate(np.array_split(X, 12)):
        est.partial_fit(chunk)
        if i == 0:
            b = len(chunk)  # scikit-learn counts the first call's size for every call
        n_since += b
        reassign = bool((counts == 0).any() or n_since >= 10 * 5)
        if reassign:
            n_since = 0
        centers, _ = reference_step([chunk], [np.ones(len(chunk))], centers, counts, reassign,
                                    0.3, reference_stream(est._seed, i, 1))
        np.testing.assert_allclose(est.cluster_centers_, centers, rtol=1e-10, atol=1e-10)
    assert est.n_steps_ == 12
    np.testing.assert_allclose(est._counts, counts, rtol=1e-12)
    assert est.labels_.shape == (100,)


def test_partial_fit_streaming_reaches_fit_quality():
    X = blobs(n=20000, d=8, centers=10, seed=9)
    rng = np.random.default_rng(0)
    est = MiniBatchKMeans(10, random_state=0, compute_labels=False)
    for _ in range(3):  # three passes over a shuffled stream of 500-row chunks
        for chunk in np.array_split(X[rng.permutation(len(X))], 40):
            est.partial_fit(chunk)
    assert est.n_steps_ == 120 and not hasattr(est, "labels_")
    full = KMeans(10, random_state=0).fit(X)
    assert -est.score(X) <= 1.02 * full.inertia_


def test_partial_fit_after_fit_continues_and_keeps_dtype():
    X = blobs(seed=10)
    est = MiniBatchKMeans(8, random_state=0).fit(X.astype(np.float32))
    steps = est.n_steps_
    est.partial_fit(X[:100])  # float64 rows: cast to the model's float32
    assert est.n_steps_ == steps + 1 and est.cluster_centers_.dtype == np.float32


# ---- quality against scikit-learn ----------------------------------------------------------------
def test_inertia_close_to_sklearn_on_blobs():
    X = blobs(n=30000, d=16, centers=20, seed=11, spread=6.0).astype(np.float32)
    ratios = []
    for seed in range(3):
        ours = MiniBatchKMeans(20, random_state=seed).fit(X)
        ref = SKMiniBatchKMeans(20, random_state=seed).fit(X)
        ratios.append(ours.inertia_ / ref.inertia_)
    assert abs(np.median(ratios) - 1) <= 0.03, ratios


def read_idx_images(path):
    X = load_idx(path)
    return X.reshape(len(X), -1)


@pytest.mark.data
def test_fashion_mnist_inertia_close_to_sklearn(data_file):
    X = np.vstack([read_idx_images(data_file("fashion-mnist/train-images-idx3-ubyte.gz")),
                   read_idx_images(data_file("fashion-mnist/t10k-images-idx3-ubyte.gz"))])
    X = X.astype(np.float32) / 255.0
    assert X.shape == (70000, 784)
    ratios = []
    for seed in range(3):
        ours = MiniBatchKMeans(10, random_state=seed).fit(X)
        ref = SKMiniBatchKMeans(10, random_state=seed).fit(X)
        ratios.append(ours.inertia_ / ref.inertia_)
    assert abs(np.median(ratios) - 1) <= 0.03, ratios


# ---- behaviour -----------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, X, match", [
    ({}, np.array([[0.0, 1.0], [np.nan, 2.0]] * 10), "NaN"),
    ({}, np.zeros(20), "2D array"),
    ({"n_clusters": 30}, np.zeros((20, 2)), r"n_samples=20 should be >= n_clusters=30"),
    ({"batch_size": 0}, np.zeros((20, 2)), "batch_size must be an int >= 1"),
    ({"batch_size": -5}, np.zeros((20, 2)), "batch_size must be an int >= 1"),
    ({"max_iter": 0}, np.zeros((20, 2)), "max_iter must be an int >= 1"),
    ({"init_size": 0}, np.zeros((20, 2)), "init_size must be an int >= 1"),
    ({"reassignment_ratio": -1}, np.zeros((20, 2)), "reassignment_ratio must be"),
    ({"max_no_improvement": -1}, np.zeros((20, 2)), "max_no_improvement must be"),
    ({"tol": -1.0}, np.zeros((20, 2)), "tol must be"),
    ({"init": np.zeros((3, 2))}, np.zeros((20, 2)), "does not match the number of clusters"),
    ({"init": np.zeros((8, 5))}, np.zeros((20, 2)), "number of features"),
    ({"init": "kmeans"}, np.zeros((20, 2)), "init must be"),
    ({"method": "blas"}, np.zeros((20, 2)), "method must be"),
])
@pytest.mark.parametrize("fit", ["fit", "partial_fit"])
def test_bad_input_raises_value_error(kwargs, X, match, fit):
    with pytest.raises(ValueError, match=match):
        getattr(MiniBatchKMeans(**kwargs), fit)(X)


def test_bad_input_after_fit():
    est = MiniBatchKMeans(3, random_state=0).fit(blobs(n=200, d=4))
    with pytest.raises(ValueError, match="features"):
        est.predict(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="features"):
        est.partial_fit(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="NaN"):
        est.partial_fit(np.full((5, 4), np.nan))
    with pytest.raises(ValueError, match="non-zero"):
        MiniBatchKMeans(3).fit(np.ones((10, 2)), sample_weight=np.zeros(10))


def test_predict_transform_score_consistent():
    X = blobs(n=1000, seed=12)
    est = MiniBatchKMeans(8, random_state=0, batch_size=100)
    labels = est.fit_predict(X)
    assert np.array_equal(labels, est.predict(X))
    D = est.transform(X)
    assert np.array_equal(np.argmin(D, axis=1), labels)
    np.testing.assert_allclose(-est.score(X), (D.min(axis=1) ** 2).sum(), rtol=1e-9)
    np.testing.assert_allclose(est.inertia_, -est.score(X), rtol=1e-9)
    assert list(est.get_feature_names_out()) == [f"minibatchkmeans{i}" for i in range(8)]


def test_verbose_lines(capsys):
    X = blobs(n=2000, seed=13)
    MiniBatchKMeans(8, random_state=0, batch_size=100, verbose=1, init="random", n_init=2,
                    reassignment_ratio=0.3).fit(X)
    out = capsys.readouterr().out
    assert "Init 1/2 with method random" in out and "Inertia for init 2/2: " in out
    assert "Minibatch step 1/" in out and "ewa inertia: " in out
    assert "Converged (lack of improvement in inertia) at step" in out


def test_compute_labels_false_uses_ewa():
    X = blobs(n=2000, seed=14)
    est = MiniBatchKMeans(8, random_state=0, compute_labels=False, batch_size=200).fit(X)
    assert not hasattr(est, "labels_")
    assert 0.5 < est.inertia_ / -est.score(X) < 2


def test_checkpointed_and_resumed_fits_give_the_plain_fit(tmp_path):
    X = blobs(n=3000, d=5, seed=15)
    kw = dict(n_clusters=8, random_state=5, batch_size=100, max_iter=2,
              max_no_improvement=None)
    plain = MiniBatchKMeans(**kw).fit(X)
    ck = MiniBatchKMeans(**kw, checkpoint_dir=str(tmp_path), checkpoint_every=7).fit(X)
    # resume from the last checkpoint the fit left (step 56 of 60)
    resumed = MiniBatchKMeans(**kw, checkpoint_dir=str(tmp_path), checkpoint_every=7)
    resumed.fit(X, resume=True)
    for est in (ck, resumed):
        assert est.cluster_centers_.tobytes() == plain.cluster_centers_.tobytes()
        assert est.n_steps_ == plain.n_steps_ == 60 and est.inertia_ == plain.inertia_


def test_model_file_round_trip_and_partial_fit_continues(tmp_path):
    X = blobs(n=500, seed=16)
    est = MiniBatchKMeans(8, random_state=0, batch_size=64).fit(X)
    est.save(tmp_path / "m.npz")
    back = MiniBatchKMeans.load(tmp_path / "m.npz")
    assert back.cluster_centers_.tobytes() == est.cluster_centers_.tobytes()
    assert back.n_steps_ == est.n_steps_ and back.get_params() == est.get_params()
    assert back.inertia_ == est.inertia_ and back.n_iter_ == est.n_iter_
    assert np.array_equal(back.predict(X), est.predict(X))
    for chunk in np.array_split(X, 4):  # the loaded model continues as the saved one would
        est.partial_fit(chunk)
        back.partial_fit(chunk)
    assert back.cluster_centers_.tobytes() == est.cluster_centers_.tobytes()
    assert back._counts.tobytes() == est._counts.tobytes()
    # a partial_fit-only model without labels (no inertia_, no n_iter_) saves and loads too
    streamed = MiniBatchKMeans(8, random_state=0, compute_labels=False).partial_fit(X)
    streamed.save(tmp_path / "s.npz")
    again = MiniBatchKMeans.load(tmp_path / "s.npz")
    assert again.n_steps_ == 1 and not hasattr(again, "inertia_")


def test_step_functions_update_counts_in_place():
    centers = np.array([[0.0, 0.0], [10.0, 10.0]])
    counts = np.array([3.0, 0.0])
    sums = np.array([[2.0, 2.0], [0.0, 0.0]])
    weights = np.array([1.0, 0.0])
    _minibatch.update_centers(centers, counts, sums, weights)
    np.testing.assert_array_equal(centers, [[0.5, 0.5], [10.0, 10.0]])
    np.testing.assert_array_equal(counts, [4.0, 0.0])
    assert _minibatch.reassign_due(0, np.array([1.0, 0.0]), 5, 2) == (0, True)
    assert _minibatch.reassign_due(5, np.array([1.0, 1.0]), 5, 2) == (10, False)
    assert _minibatch.reassign_due(15, np.array([1.0, 1.0]), 5, 2) == (0, True)
