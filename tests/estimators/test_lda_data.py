"""LDA on the real corpora in HARPDAAL_DATA (20news UCI bag-of-words, Reuters lda-c)."""
import numpy as np
import pytest

from harpdaal.datasets import load_20news, load_bow, load_reuters
from harpdaal.topic import LatentDirichletAllocation

pytestmark = pytest.mark.data


def test_reuters_ldac(data_file):
    data_file("reuters/reuters.ldac")
    X, vocab = load_reuters(data_file("reuters/reuters.ldac").parent)
    assert X.shape == (395, 4258) and len(vocab) == 4258 and X.sum() == 84010
    X2, _ = load_bow(data_file("reuters/reuters.ldac"))
    assert X2.sum() == 84010
    m = LatentDirichletAllocation(20, doc_topic_prior=0.1, topic_word_prior=0.01, max_iter=60,
                                  random_state=0, n_jobs=2, evaluate_every=10).fit(X[:300])
    hist = [ll for _, ll in m.loglik_history_]
    assert hist[-1] > hist[0] + 0.3
    assert -9.5 < hist[-1] < -6.0
    # held-out documents are predicted better than by the smoothed unigram model
    counts = np.asarray(X[:300].sum(0)).ravel()
    p = (counts + 0.01) / (counts.sum() + 0.01 * len(counts))
    test = np.asarray(X[300:].sum(0)).ravel()
    unigram = np.exp(-(test * np.log(p)).sum() / test.sum())
    assert m.perplexity(X[300:]) < 0.9 * unigram
    top = m.top_words(vocab, 5)
    assert len(top) == 20 and all(len(t) == 5 for t in top)


def test_20news_uci(data_file):
    data_file("20news/docword.train.txt.gz")
    X, vocab = load_20news(data_file("20news/vocab.txt.gz").parent, "train")
    assert X.shape == (11269, 61188) and X.sum() == 2765300 and len(vocab) == 61188
    sub = X[:1500]
    m = LatentDirichletAllocation(20, doc_topic_prior=0.1, topic_word_prior=0.01, max_iter=20,
                                  random_state=0, n_jobs=2, evaluate_every=5).fit(sub)
    assert m.topic_totals_.sum() == sub.sum()
    hist = [ll for _, ll in m.loglik_history_]
    assert hist[-1] > hist[0]
    assert np.isfinite(m.perplexity(X[1500:1700]))
