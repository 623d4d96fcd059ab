"""The LDA sweep kernel alone (no estimator glue): ns/token per iteration and the final
LL/token, against tomotopy on the same synthetic corpus (5,000 documents, V = 10,000, ~1M tokens
from 100 topics) in the same run. docs/lda.md quotes its figures.

    python benchmarks/lda_kernel_bench.py --k 100 --iters 50 --threads 1 [--tomotopy]
"""
import argparse
import time

import numpy as np

from harpdaal import _core
from harpdaal.bench.cases.lda import loglik_per_token, tomotopy_loglik_per_token
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


def main():
    p = parser(__doc__)
    p.add_argument("--mh", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tomotopy", action="store_true")
    a = p.parse_args()
    X, doc_ptr, words = tokens(a.docs)
    D, V = X.shape
    K = a.k
    N = len(words)
    rng = np.random.default_rng(a.seed)
    topics = rng.integers(0, K, N).astype(np.int32)
    wt = np.zeros((V, K), np.int32)
    np.add.at(wt, (words, topics), 1)
    tot = wt.sum(axis=0).astype(np.int64)
    times = []
    c0 = time.process_time()
    for it in range(a.iters):
        t0 = time.perf_counter()
        _core.lda.sample_block(doc_ptr, words, topics, 0, wt, 0, tot, 0.1, 0.01, V, a.seed, it,
                               a.mh, a.threads)
        times.append(time.perf_counter() - t0)
    print(f"harpdaal cpu {(time.process_time() - c0) / a.iters / N * 1e9:.1f} ns/token")
    doc_of = np.repeat(np.arange(D), np.diff(doc_ptr))
    dt = np.bincount(doc_of * K + topics, minlength=D * K).reshape(D, K)
    ll = loglik_per_token(wt, dt, 0.1, 0.01, V)
    print(f"harpdaal K={K} T={a.threads}: {np.median(times) / N * 1e9:.1f} ns/token (median iter), "
          f"total {sum(times):.2f}s, LL/token {ll:.4f}")
    if a.tomotopy:
        import tomotopy as tp
        mdl = tp.LDAModel(k=K, alpha=0.1, eta=0.01, seed=a.seed)
        for d in range(D):
            mdl.add_doc([str(w) for w in words[doc_ptr[d]:doc_ptr[d + 1]]])
        mdl.train(0, workers=a.threads)
        t0 = time.perf_counter()
        c0 = time.process_time()
        mdl.train(a.iters, workers=a.threads, parallel=tp.ParallelScheme.PARTITION)
        s = time.perf_counter() - t0
        print(f"tomotopy cpu {(time.process_time() - c0) / a.iters / N * 1e9:.1f} ns/token")
        print(f"tomotopy K={K} T={a.threads}: {s / a.iters / N * 1e9:.1f} ns/token (mean iter), "
              f"total {s:.2f}s, LL/token {tomotopy_loglik_per_token(mdl, V, 0.1, 0.01):.4f}")


if __name__ == "__main__":
    main()
