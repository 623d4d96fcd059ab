"""save / load of every estimator through harpdaal._persist: same predictions after a round
trip, no pickle, and a file whose contents the model cannot have is refused by name."""
import io
import json
import zipfile

import numpy as np
import pytest
import scipy.sparse as sp

from harpdaal._persist import ModelFileError
from harpdaal.datasets.synthetic_lda import make_lda_corpus
from harpdaal.recommend import MatrixFactorization
from harpdaal.topic import LatentDirichletAllocation


def _npy(a):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, a)
    return buf.getvalue()


def _tamper(raw: bytes, arrays=None, header=None) -> io.BytesIO:
    """The model file `raw` with some arrays (and optionally the header) replaced."""
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    with np.load(io.BytesIO(raw)) as z:
        h = json.loads(z["header"].tobytes())
    for name, a in (arrays or {}).items():
        members[name + ".npy"] = _npy(a)
        h["arrays"][name] = {"dtype": a.dtype.str, "shape": list(a.shape)}
    if header:
        header(h)
    members["header.npy"] = _npy(np.frombuffer(json.dumps(h).encode(), np.uint8))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for n, b in members.items():
            zf.writestr(n, b)
    out.seek(0)
    return out


@pytest.fixture(scope="module")
def lda():
    X, _ = make_lda_corpus(120, 80, 4, 40, seed=0)
    return X, LatentDirichletAllocation(6, max_iter=8, random_state=3, n_jobs=1).fit(X)


@pytest.fixture(scope="module")
def mf():
    rng = np.random.default_rng(0)
    keys = np.unique(rng.integers(0, 40 * 30, 500))
    u, i = keys // 30 + 100, keys % 30
    r = rng.random(u.size) * 4 + 1
    return (u, i, r), MatrixFactorization(n_factors=4, n_epochs=3, random_state=0, n_jobs=1,
                                          early_stopping=False).fit((u, i, r))


def _raw(est):
    buf = io.BytesIO()
    est.save(buf)
    return buf.getvalue()


def test_lda_round_trip_is_inference_only(tmp_path, lda):
    X, m = lda
    path = tmp_path / "lda.npz"
    m.save(path)
    back = LatentDirichletAllocation.load(path)
    np.testing.assert_array_equal(back.transform(X[:15]), m.transform(X[:15]))
    np.testing.assert_array_equal(back.components_, m.components_)
    assert back.get_params() == m.get_params() and back.loglik_history_ == m.loglik_history_
    with np.load(path, allow_pickle=False) as z:
        assert sorted(z.files) == ["header", "topic_totals", "word_topic"]  # no corpus
    assert not hasattr(back, "train_topics_")


def test_lda_refuses_counts_it_cannot_have(lda):
    _, m = lda
    raw = _raw(m)
    wt = m.word_topic_.copy()
    wt[0, 0] = -1
    with pytest.raises(ModelFileError, match="word_topic.*below 0"):
        LatentDirichletAllocation.load(_tamper(raw, {"word_topic": wt}))
    wt = m.word_topic_.copy()
    wt[0, 0] += 5
    with pytest.raises(ModelFileError, match="column sums"):
        LatentDirichletAllocation.load(_tamper(raw, {"word_topic": wt}))
    with pytest.raises(ModelFileError, match="shape"):
        LatentDirichletAllocation.load(_tamper(raw, {"word_topic": m.word_topic_[:, :3].copy()}))
    with pytest.raises(ModelFileError, match="priors"):
        LatentDirichletAllocation.load(_tamper(
            raw, header=lambda h: h["attributes"].update(doc_topic_prior=-1.0)))
    with pytest.raises(ModelFileError, match="LatentDirichletAllocation"):
        MatrixFactorization.load(io.BytesIO(raw))


def test_mf_round_trip(tmp_path, mf):
    (u, i, r), m = mf
    path = tmp_path / "mf.npz"
    m.save(path)
    back = MatrixFactorization.load(path)
    np.testing.assert_array_equal(back.predict(u, i), m.predict(u, i))
    for user in (int(u[0]), int(u[-1]), 99999):
        a, b = m.recommend(user, n=5), back.recommend(user, n=5)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
    assert back.n_epochs_ == m.n_epochs_ and back.history_ == m.history_


def test_mf_refuses_values_it_cannot_have(mf):
    _, m = mf
    raw = _raw(m)
    P = m.user_factors_.copy()
    P[1, 2] = np.nan
    with pytest.raises(ModelFileError, match="user_factors.*NaN"):
        MatrixFactorization.load(_tamper(raw, {"user_factors": P}))
    seen = m._seen_items.copy()
    seen[0] = m.item_ids_.size + 7
    with pytest.raises(ModelFileError, match="seen_items.*out of range"):
        MatrixFactorization.load(_tamper(raw, {"seen_items": seen}))
    with pytest.raises(ModelFileError, match="sorted and unique"):
        MatrixFactorization.load(_tamper(raw, {"user_ids": m.user_ids_[::-1].copy()}))
    with pytest.raises(ModelFileError, match="item_factors"):
        MatrixFactorization.load(_tamper(raw, {"item_factors": m.item_factors_[:-1].copy()}))
    with pytest.raises(ModelFileError, match="n_factors_"):
        MatrixFactorization.load(_tamper(raw, header=lambda h: h["attributes"].update(
            n_factors_="4")))


def test_unfitted_estimators_cannot_be_saved(tmp_path):
    for est in (MatrixFactorization(), LatentDirichletAllocation()):
        with pytest.raises(Exception, match="not fitted"):
            est.save(tmp_path / "x.npz")
    assert not (tmp_path / "x.npz").exists()


def test_sparse_input_for_lda_file_round_trip(lda):
    X, m = lda
    back = LatentDirichletAllocation.load(io.BytesIO(_raw(m)))
    np.testing.assert_array_equal(back.transform(sp.csr_matrix(X[:5])), m.transform(X[:5]))


def test_kmeans_round_trip_and_refusals(tmp_path):
    from harpdaal.cluster import KMeans

    X = np.random.default_rng(0).random((200, 5)).astype(np.float32)
    init = X[:3].copy()
    km = KMeans(3, init=init, n_init=1, random_state=0, n_jobs=1).fit(X)
    raw = _raw(km)
    back = KMeans.load(io.BytesIO(raw))
    np.testing.assert_array_equal(back.predict(X), km.predict(X))
    np.testing.assert_array_equal(back.transform(X), km.transform(X))
    assert back.n_iter_ == km.n_iter_ and back.inertia_ == km.inertia_
    np.testing.assert_array_equal(back.init, init)  # an array init is kept as a parameter
    bad = km.cluster_centers_.copy()
    bad[0, 0] = np.inf
    with pytest.raises(ModelFileError, match="cluster_centers.*NaN or infinite"):
        KMeans.load(_tamper(raw, {"cluster_centers": bad}))
    with pytest.raises(ModelFileError, match="shape"):
        KMeans.load(_tamper(raw, {"cluster_centers": km.cluster_centers_[:2].copy()}))
    with pytest.raises(ModelFileError, match="cluster_centers.*dtype int32"):
        KMeans.load(_tamper(raw, {"cluster_centers": np.zeros((3, 5), np.int32)}))
    with pytest.raises(TypeError, match="cannot be stored"):
        KMeans(3, init=lambda X, k, random_state: X[:k]).fit(X).save(tmp_path / "k.npz")
