"""Synthetic corpora drawn from the LDA generative model (W-LDA in docs/bench.md)."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def make_lda_corpus(n_docs=2000, n_words=1000, n_topics=20, doc_length=100, alpha=0.1,
                    beta=0.01, seed=0, return_assignments=False):
    """Draw documents from LDA with symmetric priors.

    Returns (X, topic_word): X is CSR (n_docs x n_words, int64 counts), topic_word the true
    topic-word distributions (n_topics x n_words). Document lengths are Poisson(doc_length).
    With return_assignments, also (doc_ids, word_ids, topic_ids) of every token."""
    rng = np.random.default_rng(seed)
    topic_word = rng.dirichlet(np.full(n_words, beta), size=n_topics)
    theta = rng.dirichlet(np.full(n_topics, alpha), size=n_docs)
    lengths = rng.poisson(doc_length, size=n_docs)
    doc_topic_counts = np.stack([rng.multinomial(n, p) for n, p in zip(lengths, theta)])
    docs = np.repeat(np.repeat(np.arange(n_docs), n_topics), doc_topic_counts.ravel())
    topics = np.repeat(np.tile(np.arange(n_topics), n_docs), doc_topic_counts.ravel())
    words = np.empty(len(topics), np.int64)
    for k in range(n_topics):
        sel = np.flatnonzero(topics == k)
        words[sel] = rng.choice(n_words, size=len(sel), p=topic_word[k])
    X = sp.csr_matrix((np.ones(len(words), np.int64), (docs, words)), shape=(n_docs, n_words))
    X.sum_duplicates()
    if return_assignments:
        return X, topic_word, (docs, words, topics)
    return X, topic_word
