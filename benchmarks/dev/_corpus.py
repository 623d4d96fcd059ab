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
