"""The word-major Metropolis-Hastings kernels (lda.warp_doc_phase / warp_word_phase)."""
import numpy as np
import pytest

from harpdaal import _core
from harpdaal.datasets.synthetic_lda import make_lda_corpus
from harpdaal.topic import as_token_corpus

lda = _core.lda


def _state(K, M, seed=0, n_docs=120, V=90):
    X, _ = make_lda_corpus(n_docs, V, 5, 25, 0.2, 0.05, seed=seed)
    c = as_token_corpus(X)
    topics = np.random.default_rng(seed).integers(0, K, c.n_tokens, dtype=np.int32)
    word_ptr = np.empty(c.n_words + 1, np.int64)
    order = np.empty(c.n_tokens, np.int64)
    lda.word_order(c.words, word_ptr, order)
    wt = np.zeros((c.n_words, K), np.int32)
    totals = np.zeros(K, np.int64)
    lda.accumulate_counts(c.words, topics, wt, 0, totals)
    return dict(c=c, topics=topics, word_ptr=word_ptr, order=order, by_word=topics[order].copy(),
                props=np.zeros((c.n_tokens, 2 * M), np.int32), wt=wt, totals=totals)


def _sweep(s, it, threads, seed=7):
    c = s["c"]
    lda.warp_doc_phase(c.doc_ptr, s["topics"], s["props"], it > 0, s["totals"], 0.1, 0.05,
                       c.n_words, seed, it, 0, threads)
    lda.warp_word_phase(s["word_ptr"], s["order"], s["topics"], s["by_word"], s["props"],
                        s["wt"], 0, s["totals"], 0.1, 0.05, c.n_words, seed, it, 0, threads)


def _recount(s, K):
    c = s["c"]
    wt = np.zeros_like(s["wt"])
    np.add.at(wt, (c.words, s["topics"]), 1)
    return wt, np.bincount(s["topics"], minlength=K)


def test_word_order_is_a_stable_sort_by_word():
    s = _state(7, 1)
    c = s["c"]
    np.testing.assert_array_equal(s["order"], np.argsort(c.words, kind="stable"))
    np.testing.assert_array_equal(s["word_ptr"],
                                  np.concatenate([[0], np.cumsum(np.bincount(c.words,
                                                                             minlength=c.n_words))]))


@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("M", [1, 2, 5])
def test_counts_exact_after_every_sweep(threads, M):
    K = 9
    s = _state(K, M)
    moved = []
    before = s["topics"].copy()
    for it in range(6):
        _sweep(s, it, threads)
        wt, totals = _recount(s, K)
        np.testing.assert_array_equal(s["wt"], wt)
        np.testing.assert_array_equal(s["totals"], totals)
        np.testing.assert_array_equal(s["by_word"], s["topics"][s["order"]])
        assert ((s["props"] >= 0) & (s["props"] < K)).all()
        moved.append(int((s["topics"] != before).sum()))
        before = s["topics"].copy()
    assert min(moved) > 0  # the chain moves


def test_result_does_not_depend_on_the_thread_count():
    """Topic totals are fixed within a phase and every word (document) is one thread's, so a
    sweep is the same at any thread count."""
    runs = []
    for threads in (1, 2, 4):
        s = _state(12, 2, seed=3)
        for it in range(4):
            _sweep(s, it, threads)
        runs.append(s)
    for s in runs[1:]:
        np.testing.assert_array_equal(s["topics"], runs[0]["topics"])
        np.testing.assert_array_equal(s["props"], runs[0]["props"])
        np.testing.assert_array_equal(s["wt"], runs[0]["wt"])


def test_seed_and_stream_change_the_chain():
    a, b, c = (_state(8, 2, seed=1) for _ in range(3))
    for it in range(3):
        _sweep(a, it, 1, seed=7)
        _sweep(b, it, 1, seed=8)
    c_corpus = c["c"]
    for it in range(3):
        lda.warp_doc_phase(c_corpus.doc_ptr, c["topics"], c["props"], it > 0, c["totals"], 0.1,
                           0.05, c_corpus.n_words, 7, it, 5, 1)
        lda.warp_word_phase(c["word_ptr"], c["order"], c["topics"], c["by_word"], c["props"],
                            c["wt"], 0, c["totals"], 0.1, 0.05, c_corpus.n_words, 7, it, 5, 1)
    assert (a["topics"] != b["topics"]).any()
    assert (a["topics"] != c["topics"]).any()


def test_word_phase_on_a_slice_touches_only_its_rows():
    K = 6
    s = _state(K, 2, seed=4)
    c = s["c"]
    lda.warp_doc_phase(c.doc_ptr, s["topics"], s["props"], False, s["totals"], 0.1, 0.05,
                       c.n_words, 1, 0, 0, 1)
    lo, hi = 20, 50
    block = s["wt"][lo:hi].copy()
    outside = s["topics"][(c.words < lo) | (c.words >= hi)].copy()
    lda.warp_word_phase(s["word_ptr"], s["order"], s["topics"], s["by_word"], s["props"], block,
                        lo, s["totals"], 0.1, 0.05, c.n_words, 1, 0, 0, 2)
    np.testing.assert_array_equal(s["topics"][(c.words < lo) | (c.words >= hi)], outside)
    wt, _ = _recount(s, K)
    np.testing.assert_array_equal(block, wt[lo:hi])


def test_binding_rejects_bad_arrays():
    K, M = 5, 2
    s = _state(K, M)
    c = s["c"]
    args = lambda **kw: {**dict(word_ptr=s["word_ptr"], order=s["order"], topics=s["topics"],
                                topics_by_word=s["by_word"], props=s["props"], word_topic=s["wt"],
                                word_begin=0, topic_totals=s["totals"], alpha=0.1, beta=0.05,
                                n_words_total=c.n_words, seed=0, iteration=0, stream=0), **kw}
    with pytest.raises(ValueError, match="props"):
        lda.warp_word_phase(**args(props=np.zeros((c.n_tokens, 3), np.int32)))
    bad = s["props"].copy()
    bad[3, 1] = K
    with pytest.raises(ValueError, match="props"):
        lda.warp_word_phase(**args(props=bad))
    order = s["order"].copy()
    order[0] = c.n_tokens
    with pytest.raises(ValueError, match="order"):
        lda.warp_word_phase(**args(order=order))
    ptr = s["word_ptr"].copy()
    ptr[1] = ptr[2] + 1
    with pytest.raises(ValueError, match="word_ptr"):
        lda.warp_word_phase(**args(word_ptr=ptr))
    by_word = s["by_word"].copy()
    by_word[0] = -1
    with pytest.raises(ValueError, match="topics_by_word"):
        lda.warp_word_phase(**args(topics_by_word=by_word))
    with pytest.raises(TypeError, match="props"):
        lda.warp_doc_phase(c.doc_ptr, s["topics"], s["props"].astype(np.int64), True,
                           s["totals"], 0.1, 0.05, c.n_words, 0, 0, 0)
    with pytest.raises(ValueError, match="props"):
        lda.warp_doc_phase(c.doc_ptr, s["topics"], bad, True, s["totals"], 0.1, 0.05,
                           c.n_words, 0, 0, 0)
    with pytest.raises(ValueError, match="words"):
        lda.word_order(np.array([0, 9], np.int32), np.empty(4, np.int64), np.empty(2, np.int64))


def test_correction_ratios_are_one_when_the_rows_are_this_callers_own():
    """corr (several ranks) holds (n_wk + b) / (m_wk + b) per token: with every token of every
    word local it is exactly 1, and the chain is the one without corr."""
    K, M = 7, 2
    a, b = _state(K, M, seed=5), _state(K, M, seed=5)
    corr = np.full((a["c"].n_tokens, M + 1), 2.0, np.float32)
    c = a["c"]
    for it in range(4):
        for s, cr in ((a, corr), (b, None)):
            lda.warp_doc_phase(c.doc_ptr, s["topics"], s["props"], it > 0, s["totals"], 0.1, 0.05,
                               c.n_words, 3, it, 0, 1, cr)
            lda.warp_word_phase(s["word_ptr"], s["order"], s["topics"], s["by_word"], s["props"],
                                s["wt"], 0, s["totals"], 0.1, 0.05, c.n_words, 3, it, 0, 1, cr)
        assert (corr == 1.0).all()
        np.testing.assert_array_equal(a["topics"], b["topics"])
    with pytest.raises(ValueError, match="corr"):
        lda.warp_doc_phase(c.doc_ptr, a["topics"], a["props"], True, a["totals"], 0.1, 0.05,
                           c.n_words, 3, 9, 0, 1, np.zeros((c.n_tokens, M + 1), np.float32))
    with pytest.raises(ValueError, match="corr"):
        lda.warp_word_phase(a["word_ptr"], a["order"], a["topics"], a["by_word"], a["props"],
                            a["wt"], 0, a["totals"], 0.1, 0.05, c.n_words, 3, 9, 0, 1,
                            np.ones((c.n_tokens, M), np.float32))
