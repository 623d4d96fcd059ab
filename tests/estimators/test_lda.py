"""harpdaal.topic.LatentDirichletAllocation: topic recovery, inference, bad input."""
import pickle

import numpy as np
import pytest
import scipy.sparse as sp

from harpdaal.datasets.synthetic_lda import make_lda_corpus
from harpdaal.topic import LatentDirichletAllocation


def best_match_cosine(learned, true):
    a = learned / np.linalg.norm(learned, axis=1, keepdims=True)
    b = true / np.linalg.norm(true, axis=1, keepdims=True)
    return float((b @ a.T).max(axis=1).mean())


@pytest.fixture(scope="module")
def synthetic():
    return make_lda_corpus(2000, 1000, 20, 100, 0.1, 0.01, seed=3)


@pytest.fixture(scope="module")
def fitted(synthetic):
    X, _ = synthetic
    return LatentDirichletAllocation(20, doc_topic_prior=0.1, topic_word_prior=0.01, max_iter=100,
                                     random_state=0, n_jobs=2, evaluate_every=20).fit(X)


def test_recovers_known_topics(synthetic, fitted):
    _, true = synthetic
    assert best_match_cosine(fitted.components_, true) >= 0.9
    assert fitted.components_.shape == (20, 1000)
    hist = [ll for _, ll in fitted.loglik_history_]
    assert hist[-1] > hist[0]
    assert fitted.loglik_per_token_ == hist[-1]
    # the model's counts are consistent with the corpus
    assert fitted.topic_totals_.sum() == fitted.n_tokens_ == synthetic[0].sum()
    np.testing.assert_array_equal(fitted.word_topic_.sum(0), fitted.topic_totals_)


def test_transform_and_perplexity(synthetic, fitted):
    X, true = synthetic
    Xt, _ = make_lda_corpus(200, 1000, 20, 100, 0.1, 0.01, seed=3)  # same topics (same seed)
    theta = fitted.transform(Xt[:50])
    assert theta.shape == (50, 20)
    np.testing.assert_allclose(theta.sum(1), 1.0, rtol=1e-6)
    # documents are dominated by few topics: fold-in must find concentrated proportions
    assert np.median(theta.max(1)) > 0.4
    p = fitted.perplexity(Xt)
    uniform = 1000.0
    assert 1.0 < p < 0.5 * uniform
    assert fitted.score(Xt) == pytest.approx(-np.log(p), rel=1e-9)


def test_transform_samplers_agree_and_validate(synthetic, fitted):
    """transform_sampler="mh" (the default) and "exact" fold documents in to the same
    proportions up to sampling noise, with close document-completion perplexity; a clone
    with an unknown sampler name is refused before any sampling."""
    import copy
    Xt, _ = make_lda_corpus(200, 1000, 20, 100, 0.1, 0.01, seed=3)
    assert fitted.get_params()["transform_sampler"] == "mh"
    exact = copy.deepcopy(fitted).set_params(transform_sampler="exact")
    t_mh, t_exact = fitted.transform(Xt), exact.transform(Xt)
    assert not np.array_equal(t_mh, t_exact)
    assert np.abs(t_mh - t_exact).sum(1).mean() < 0.1
    # the dominant topic of a document is the same for nearly all documents
    assert (t_mh.argmax(1) == t_exact.argmax(1)).mean() > 0.95
    assert fitted.perplexity(Xt) == pytest.approx(exact.perplexity(Xt), rel=0.03)
    bad = copy.deepcopy(fitted).set_params(transform_sampler="gibbs")
    with pytest.raises(ValueError, match="transform_sampler"):
        bad.transform(Xt)


def test_deterministic_and_pickles(synthetic):
    X, _ = synthetic
    X = X[:300]
    a = LatentDirichletAllocation(5, max_iter=5, random_state=7, n_jobs=2).fit(X)
    b = LatentDirichletAllocation(5, max_iter=5, random_state=7, n_jobs=2).fit(X)
    np.testing.assert_array_equal(a.word_topic_, b.word_topic_)
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(c.components_, a.components_)
    assert c.get_params() == a.get_params()


def test_token_lists_and_empty_documents():
    docs = [[0, 1, 1, 2], [], [3, 3, 4], [], [0, 4]]
    m = LatentDirichletAllocation(2, max_iter=5, random_state=0, n_jobs=1).fit(docs)
    assert m.n_features_in_ == 5 and m.topic_totals_.sum() == 9
    theta = m.transform([[], [1, 2]])
    np.testing.assert_allclose(theta[0], 0.5)  # empty document -> the prior
    X = sp.csr_matrix(np.array([[0, 0, 0], [1, 2, 0], [0, 0, 0]]))
    m2 = LatentDirichletAllocation(2, max_iter=3, random_state=0).fit(X)
    assert m2.topic_totals_.sum() == 3
    assert m2.top_words(["a", "b", "c"], 2)[0][0] in {"a", "b"}


@pytest.mark.parametrize("X, msg", [
    (sp.csr_matrix(np.array([[1, -1]])), "non-negative"),
    (sp.csr_matrix(np.array([[1.5, 1.0]])), "integers"),
    (np.array([[1.0, np.nan]]), "contains NaN"),
    (np.array([[1.0, np.inf]]), "contains infinity"),
    ([[0, -1]], ">= 0"),
    (np.ones(3), "Expected 2D array"),
    ([[0.5, 1]], "word ids must be integers"),
])
def test_bad_input(X, msg):
    with pytest.raises(ValueError, match=msg):
        LatentDirichletAllocation(2, max_iter=1).fit(X)


@pytest.mark.parametrize("params, msg", [
    ({"n_components": 0}, "n_components"),
    ({"doc_topic_prior": 0.0}, "doc_topic_prior"),
    ({"topic_word_prior": -1.0}, "topic_word_prior"),
    ({"max_iter": 0}, "max_iter"),
    ({"sampler": "exact"}, "sampler"),
    ({"transform_sampler": "sparse"}, "transform_sampler"),
])
def test_bad_parameters(params, msg):
    with pytest.raises(ValueError, match=msg):
        LatentDirichletAllocation(**{"n_components": 2, **params}).fit([[0, 1]])


def test_word_ids_outside_vocabulary_on_transform():
    m = LatentDirichletAllocation(2, max_iter=2, random_state=0).fit([[0, 1, 2]])
    with pytest.raises(ValueError, match="outside the vocabulary"):
        m.transform([[0, 3]])
    with pytest.raises(ValueError, match="features"):
        m.transform(sp.csr_matrix(np.ones((1, 4))))
    with pytest.raises(AttributeError, match="not fitted"):
        LatentDirichletAllocation(2).transform([[0]])


def _small():
    X, _ = make_lda_corpus(150, 120, 4, 30, 0.2, 0.05, seed=8)
    return X


def test_callback_stops_the_fit_where_a_shorter_fit_ends():
    X = _small()
    seen = []

    def stop_at_3(info):
        seen.append((info.iteration, dict(info.metrics)))
        return info.iteration == 3

    params = dict(max_iter=10, random_state=3, n_jobs=1, evaluate_every=2)
    stopped = LatentDirichletAllocation(4, **params).fit(X, callbacks=[stop_at_3])
    short = LatentDirichletAllocation(4, **{**params, "max_iter": 3}).fit(X)
    assert [i for i, _ in seen] == [1, 2, 3]
    assert "loglik_per_token" in seen[1][1] and "loglik_per_token" not in seen[0][1]
    assert stopped.n_iter_ == 3 and short.n_iter_ == 3
    np.testing.assert_array_equal(stopped.word_topic_, short.word_topic_)
    np.testing.assert_array_equal(stopped.train_topics_, short.train_topics_)
    # the stopped fit's last sample is evaluated even though 3 is not a multiple of 2
    assert stopped.loglik_history_ == short.loglik_history_
    assert stopped.loglik_history_[-1][0] == 3
    assert stopped.loglik_per_token_ == short.loglik_per_token_


def test_verbose_lines_and_timings(capsys):
    X = _small()
    m = LatentDirichletAllocation(4, max_iter=4, random_state=0, n_jobs=1, evaluate_every=2,
                                  verbose=1).fit(X)
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("[lda]")]
    assert [ln.split(":")[0] for ln in lines] == ["[lda] iteration 2/4", "[lda] iteration 4/4"]
    assert f"{m.loglik_per_token_:.4f}" in lines[-1]
    t = m.timings_
    assert set(t) == {"compute", "comm", "glue", "total"}
    assert t["compute"] > 0 and t["total"] >= t["compute"] + t["comm"]


def test_resume_with_more_iterations_continues_the_chain(tmp_path):
    X = _small()
    params = dict(random_state=5, n_jobs=1, evaluate_every=1, checkpoint_dir=tmp_path / "ck")
    LatentDirichletAllocation(4, max_iter=4, **params).fit(X)   # last checkpoint: iteration 3
    resumed = LatentDirichletAllocation(4, max_iter=6, **params).fit(X, resume=True)
    plain = LatentDirichletAllocation(4, max_iter=6, random_state=5, n_jobs=1,
                                      evaluate_every=1).fit(X)
    np.testing.assert_array_equal(resumed.word_topic_, plain.word_topic_)
    np.testing.assert_array_equal(resumed.train_topics_, plain.train_topics_)
    assert resumed.loglik_history_ == plain.loglik_history_
    assert resumed.n_iter_ == 6


def test_rotator_slices_of_unequal_size():
    """LDA's word slices have equal token mass, not equal row counts (ModelRotator's
    slice_bounds); on one process the slots hold the given row ranges."""
    from harpdaal.comm import LocalCommunicator, ModelRotator

    model = np.arange(5 * 3, dtype=np.int32).reshape(5, 3)
    rot = ModelRotator(model, comm=LocalCommunicator(), slices_per_rank=2,
                       slice_bounds=np.array([0, 1, 5]))
    assert rot.rows(0) == (0, 1) and rot.rows(1) == (1, 5)
    np.testing.assert_array_equal(rot.get(1), model[1:])
    rot.get(1)[...] += 1
    np.testing.assert_array_equal(rot.assemble()[1:], model[1:] + 1)
    for bad in ([0, 3, 2], [0, 5], [0, 2, 4], [1, 2, 5], [0.0, 1.0, 5.0]):
        with pytest.raises(ValueError, match="slice_bounds"):
            ModelRotator(model, comm=LocalCommunicator(), slices_per_rank=2, slice_bounds=bad)


def test_coherence_against_a_direct_count():
    import itertools

    from harpdaal.datasets.synthetic_lda import make_lda_corpus

    X, _ = make_lda_corpus(200, 120, 4, 40, seed=5)
    m = LatentDirichletAllocation(4, max_iter=30, random_state=0, n_jobs=1).fit(X)
    B = (X.toarray() > 0)
    D = B.shape[0]
    top = np.argsort(-m.word_topic_.T, axis=1, kind="stable")[:, :6]
    want_u, want_n = [], []
    for row in top:
        u = n = 0.0
        for ia, ib in itertools.combinations(range(6), 2):
            a, b = row[ia], row[ib]
            both, da, db = np.sum(B[:, a] & B[:, b]), B[:, a].sum(), B[:, b].sum()
            u += np.log((both + 1) / da)
            n += (np.log((both / D) / ((da / D) * (db / D))) / -np.log(both / D)
                  if both else -1.0)
        want_u.append(u)
        want_n.append(n / 15)
    np.testing.assert_allclose(m.coherence(X, top_n=6, measure="umass", per_topic=True), want_u)
    np.testing.assert_allclose(m.coherence(X, top_n=6, per_topic=True), want_n)
    assert -1 <= m.coherence(X, top_n=6) <= 1
    # learned topics are more coherent than random word sets of the same size
    shuffled = LatentDirichletAllocation(4, max_iter=1, random_state=0, n_jobs=1).fit(X)
    assert m.coherence(X, top_n=6) > shuffled.coherence(X, top_n=6)
    with pytest.raises(ValueError, match="measure"):
        m.coherence(X, measure="cv")
    with pytest.raises(ValueError, match="top_n"):
        m.coherence(X, top_n=1)


def test_warp_sampler_recovers_topics_with_exact_counts(synthetic):
    X, true = synthetic
    m = LatentDirichletAllocation(20, doc_topic_prior=0.1, topic_word_prior=0.01, max_iter=100,
                                  random_state=0, n_jobs=2, evaluate_every=20,
                                  sampler="warp").fit(X)
    assert best_match_cosine(m.components_, true) >= 0.9
    hist = [ll for _, ll in m.loglik_history_]
    assert hist[-1] > hist[0]
    assert m.topic_totals_.sum() == m.n_tokens_ == X.sum()
    np.testing.assert_array_equal(m.word_topic_.sum(0), m.topic_totals_)
    np.testing.assert_array_equal(np.bincount(np.repeat(X.indices, X.data), minlength=1000),
                                  m.word_topic_.sum(1))


def test_warp_sampler_is_the_same_at_any_thread_count_and_resumes(tmp_path):
    X = _small()
    params = dict(random_state=5, evaluate_every=1, sampler="warp", mh_steps=2)
    one = LatentDirichletAllocation(4, max_iter=6, n_jobs=1, **params).fit(X)
    two = LatentDirichletAllocation(4, max_iter=6, n_jobs=2, **params).fit(X)
    np.testing.assert_array_equal(one.train_topics_, two.train_topics_)
    assert one.loglik_history_ == two.loglik_history_
    ck = dict(checkpoint_dir=tmp_path / "ck", n_jobs=1, **params)
    LatentDirichletAllocation(4, max_iter=4, **ck).fit(X)
    resumed = LatentDirichletAllocation(4, max_iter=6, **ck).fit(X, resume=True)
    np.testing.assert_array_equal(resumed.train_topics_, one.train_topics_)
    np.testing.assert_array_equal(resumed.word_topic_, one.word_topic_)
    assert resumed.loglik_history_ == one.loglik_history_


def test_warp_sampler_rejects_timer_bounded_steps():
    with pytest.raises(ValueError, match="step_fraction"):
        LatentDirichletAllocation(2, sampler="warp", step_fraction=0.5).fit([[0, 1]])


def test_auto_sampler_is_sparse_below_the_topic_threshold():
    from harpdaal.topic import _lda
    X = _small()
    K = _lda.AUTO_WARP_MIN_TOPICS - 1
    a = LatentDirichletAllocation(K, max_iter=3, random_state=2, n_jobs=1).fit(X)
    b = LatentDirichletAllocation(K, max_iter=3, random_state=2, n_jobs=1,
                                  sampler="sparse").fit(X)
    assert a.get_params()["sampler"] == "auto"
    np.testing.assert_array_equal(a.train_topics_, b.train_topics_)


def test_auto_sampler_warms_up_with_warp_then_samples_sparse(tmp_path, monkeypatch):
    """Above the threshold: the first AUTO_WARP_SWEEPS sweeps are warp's (the same chain as
    sampler='warp' up to there), the rest the sparse sampler's; resuming on either side of the
    switch continues the same chain."""
    from harpdaal.topic import _lda, _steps
    X = _small()
    K = _lda.AUTO_WARP_MIN_TOPICS
    W = _lda.AUTO_WARP_SWEEPS
    params = dict(random_state=3, n_jobs=1, evaluate_every=0)
    warm = LatentDirichletAllocation(K, max_iter=W, **params).fit(X)
    warp = LatentDirichletAllocation(K, max_iter=W, sampler="warp", **params).fit(X)
    np.testing.assert_array_equal(warm.train_topics_, warp.train_topics_)
    calls = []
    real = _steps._K.sample_block
    monkeypatch.setattr(_steps._K, "sample_block",
                        lambda *a, **kw: calls.append(a[12]) or real(*a, **kw))
    full = LatentDirichletAllocation(K, max_iter=W + 3, **params).fit(X)
    assert calls == [0, 0, 0]  # three sparse sweeps (mh_steps 0) after the warm-up
    assert (full.train_topics_ != warm.train_topics_).any()
    assert full.topic_totals_.sum() == X.sum()
    np.testing.assert_array_equal(full.word_topic_.sum(0), full.topic_totals_)
    for stop in (W - 2, W + 1):
        ck = dict(params, checkpoint_dir=tmp_path / f"ck{stop}")
        LatentDirichletAllocation(K, max_iter=stop + 1, **ck).fit(X)
        resumed = LatentDirichletAllocation(K, max_iter=W + 3, **ck).fit(X, resume=True)
        np.testing.assert_array_equal(resumed.train_topics_, full.train_topics_)
        np.testing.assert_array_equal(resumed.word_topic_, full.word_topic_)
