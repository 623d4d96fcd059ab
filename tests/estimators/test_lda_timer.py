"""Timer-bounded steps (step_fraction) on one process: parameters, counts, history."""
import numpy as np
import pytest

from harpdaal.datasets.synthetic_lda import make_lda_corpus
from harpdaal.topic import LatentDirichletAllocation


def test_step_fraction_fit_is_consistent_and_recorded():
    X, _ = make_lda_corpus(1500, 800, 10, 60, 0.1, 0.01, seed=3)
    m = LatentDirichletAllocation(10, doc_topic_prior=0.1, topic_word_prior=0.01, max_iter=6,
                                  random_state=0, n_jobs=1, evaluate_every=1,
                                  step_fraction=0.5).fit(X)
    assert m.word_topic_.sum() == X.sum() == m.n_tokens_
    np.testing.assert_array_equal(m.word_topic_.sum(0), m.topic_totals_)
    words = np.repeat(X.tocsr().indices, X.tocsr().data)
    recount = np.zeros_like(m.word_topic_)
    np.add.at(recount, (words, m.train_topics_), 1)
    np.testing.assert_array_equal(recount, m.word_topic_)
    h = m.step_history_
    assert [e["iteration"] for e in h] == list(range(1, 7))
    assert h[0]["budget_s"] is None and h[0]["sampled_fraction"] == 1.0  # measuring iteration
    assert all(e["budget_s"] > 0 for e in h[1:])
    assert all(0 <= e["sampled_fraction"] <= 1 for e in h)
    # a budget aimed at half the tokens leaves some out in at least one later iteration
    assert min(e["sampled_fraction"] for e in h[1:]) < 1.0
    assert m.loglik_history_[-1][1] > m.loglik_history_[0][1]


def test_no_step_fraction_has_no_history():
    X, _ = make_lda_corpus(100, 100, 3, 20, 0.1, 0.01, seed=1)
    m = LatentDirichletAllocation(3, max_iter=2, random_state=0, n_jobs=1).fit(X)
    assert m.step_history_ == []


@pytest.mark.parametrize("bad, exc, match", [
    (70, ValueError, "did you mean 0.7"), (0.0, ValueError, r"\(0, 1\]"),
    (1.5, ValueError, r"\(0, 1\]"), ("half", TypeError, "step_fraction"),
    (True, TypeError, "step_fraction")])
def test_step_fraction_validation(bad, exc, match):
    X, _ = make_lda_corpus(20, 30, 2, 10, 0.1, 0.01, seed=1)
    with pytest.raises(exc, match=match):
        LatentDirichletAllocation(2, max_iter=1, step_fraction=bad).fit(X)
