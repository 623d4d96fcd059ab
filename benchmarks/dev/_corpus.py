"""The synthetic corpus and command-line options shared by the LDA dev timings: documents as a
flat token array with document offsets, the form the sweep kernel takes."""
import argparse

import numpy as np

from harpdaal.datasets.synthetic_lda import make_lda_corpus


def parser(doc: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=doc)
    p.add_argument("--k", type=int, default=100)
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--docs", type=int, default=5000)
    return p


def tokens(docs: int):
    """(X, doc_ptr, words): the CSR corpus, document offsets and the flat word ids."""
    X, _ = make_lda_corpus(docs, 10000, 100, 200, 0.1, 0.01, seed=0)
    X = X.tocsr()
    lens = np.asarray(X.sum(axis=1)).ravel().astype(np.int64)
    doc_ptr = np.zeros(X.shape[0] + 1, np.int64)
    np.cumsum(lens, out=doc_ptr[1:])
    words = np.concatenate([np.repeat(X.indices[X.indptr[d]:X.indptr[d + 1]],
                                      X.data[X.indptr[d]:X.indptr[d + 1]])
                            for d in range(X.shape[0])]).astype(np.int32)
    return X, doc_ptr, words


def tomotopy_loglik_per_token(mdl, K: int, V: int, alpha: float = 0.1, beta: float = 0.01) -> float:
    """log p(w, z) per token of a trained tomotopy LDAModel's current assignments, computed the
    same way as harpdaal's (from the word-topic and document-topic counts)."""
    from harpdaal.bench.cases.lda import loglik_per_token

    w2 = np.concatenate([np.asarray(d.words, np.int64) for d in mdl.docs])
    t2 = np.concatenate([np.asarray(d.topics, np.int64) for d in mdl.docs])
    l2 = np.array([len(d.words) for d in mdl.docs])
    do2 = np.repeat(np.arange(len(l2)), l2)
    wt2 = np.bincount(w2 * K + t2, minlength=V * K).reshape(V, K)
    dt2 = np.bincount(do2 * K + t2, minlength=len(l2) * K).reshape(-1, K)
    return loglik_per_token(wt2, dt2, alpha, beta, V)
