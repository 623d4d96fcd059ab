"""Inference speed from fitted models, against the peers, in one run.

- LDA: documents per second of ``transform`` against tomotopy's ``infer(together=True)`` (its
  fastest mode), the same number of topics, training iterations and inference iterations,
  workers = threads, on 20news test documents and on short documents (20news test cut into
  30-40-token pieces), with the document-completion perplexity of both (each held-out document's
  tokens split in two at random: topic proportions from the first half, log-likelihood of the
  second under the model's topics).
- Batch recommend: top-10 for every user of an implicit-feedback model (pinterest-20, or a
  synthetic set), harpdaal ``ImplicitALS.recommend`` against ``implicit``'s ``recommend`` on the
  same factors, and the GEMM bound (users x items x factors x 2 flops at the sgemm rate measured
  in the same run).
- K-means ``predict``: GFLOP/s (2 n k d per call) against the fit's per-iteration rate on the
  same data and centers.

    python benchmarks/bench_serving.py --data-dir "$HARPDAAL_DATA" --threads 2 --out serving.json

``--lda-corpus kos`` runs the LDA part on KOS instead (a model fitted on 2,400 of its documents,
the other 1,030 and 30-40-token pieces of them folded in).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import scipy.sparse as sp


def _median_time(fn, repeat):
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out), out


# ---- LDA ---------------------------------------------------------------------------------------
def _short_docs(X, rng, lo=30, hi=40, limit=5000):
    """Documents of lo..hi tokens cut from the rows of X (in order), at most `limit`."""
    from harpdaal.bench.cases.lda import short_documents

    return short_documents(X, rng, lo, hi, limit)


def _halves(X, rng):
    """(observed, held-out) CSR: each document's tokens split in two at random."""
    obs, held = [], []
    for d in range(X.shape[0]):
        r = X[d]
        tokens = np.repeat(r.indices, r.data)
        rng.shuffle(tokens)
        h = tokens.size // 2
        obs.append(tokens[h:]), held.append(tokens[:h])

    def csr(lists):
        rows = np.repeat(np.arange(len(lists)), [t.size for t in lists])
        cols = np.concatenate(lists)
        return sp.csr_matrix((np.ones(cols.size, np.int64), (rows, cols)),
                             shape=(len(lists), X.shape[1]))

    return csr(obs), csr(held)


def _completion_perplexity(theta, phi, held):
    """exp(-log p(held-out tokens | theta, phi) / tokens)."""
    ll, n = 0.0, 0
    held = held.tocsr()
    for d in range(held.shape[0]):
        r = held[d]
        if r.nnz == 0:
            continue
        p = theta[d] @ phi[:, r.indices]
        ll += float(np.log(np.maximum(p, 1e-300)) @ r.data)
        n += int(r.data.sum())
    return float(np.exp(-ll / max(n, 1)))


def _tomotopy_docs(X):
    return [np.repeat(X[d].indices, X[d].data).astype(str).tolist() for d in range(X.shape[0])]


def _lda_corpus(data_dir, corpus):
    """(training documents, unseen documents, name of the unseen set): 20news train and test, or
    KOS split at random (seed 5) into 2,400 training and 1,030 unseen documents."""
    if corpus == "20news":
        from harpdaal.datasets import load_20news

        Xtr, _ = load_20news(os.path.join(data_dir, "20news"), "train")
        Xte, _ = load_20news(os.path.join(data_dir, "20news"), "test")
        return Xtr, Xte[:, :Xtr.shape[1]].tocsr(), "20news-test"
    from harpdaal.datasets import load_uci_docword

    X, _ = load_uci_docword(os.path.join(data_dir, "kos", "docword.kos.txt.gz"))
    X = X.tocsr()
    perm = np.random.default_rng(5).permutation(X.shape[0])
    return X[perm[:2400]], X[perm[2400:]], "kos-unseen"


def bench_lda(data_dir, threads, repeat, K, train_iter, infer_iter, corpus="20news"):
    import tomotopy as tp

    from harpdaal.topic import LatentDirichletAllocation

    Xtr, Xte, test_name = _lda_corpus(data_dir, corpus)
    rng = np.random.default_rng(0)
    ours = LatentDirichletAllocation(K, doc_topic_prior=0.1, topic_word_prior=0.01,
                                     max_iter=train_iter, random_state=0, n_jobs=threads,
                                     evaluate_every=0, transform_max_iter=infer_iter).fit(Xtr)
    mdl = tp.LDAModel(k=K, alpha=0.1, eta=0.01, seed=0)
    mdl.optim_interval = 0
    for words in _tomotopy_docs(Xtr):
        if words:
            mdl.add_doc(words)
    mdl.train(train_iter, workers=threads)
    vocab = {w: i for i, w in enumerate(mdl.used_vocabs)}
    phi_tp = np.zeros((K, Xtr.shape[1]))
    cols = np.array([int(w) for w in mdl.used_vocabs])
    for k in range(K):
        phi_tp[k, cols] = mdl.get_topic_word_dist(k)
    phi_ours = ours.topic_word_distribution()
    out = {}
    short_name = "short-30-40" if corpus == "20news" else f"{corpus}-short-30-40"
    for name, X in ((test_name, Xte[np.asarray(Xte.sum(axis=1)).ravel() >= 2]),
                    (short_name, _short_docs(Xte, rng))):
        obs, held = _halves(X, np.random.default_rng(1))
        t_ours, runs_ours = _median_time(lambda: ours.transform(obs), repeat)
        theta_ours = ours.transform(obs)
        words = [[w for w in doc if w in vocab] for doc in _tomotopy_docs(obs)]
        keep = [i for i, w in enumerate(words) if w]
        docs = [mdl.make_doc(words[i]) for i in keep]

        def infer():
            return mdl.infer(docs, iterations=infer_iter, together=True, workers=threads)

        t_tp, runs_tp = _median_time(infer, repeat)
        res, _ = infer()
        theta_tp = np.full((obs.shape[0], K), 1.0 / K)
        # tomotopy >= 0.13 returns the (smoothed) distributions, older versions the documents
        theta_tp[keep] = np.array([d if isinstance(d, np.ndarray) else d.get_topic_dist()
                                   for d in res])
        # tomotopy's topics have no entry for a word unseen in training: score both tools on
        # the held-out tokens of words seen in training
        seen = np.zeros(held.shape[1], np.int64)
        seen[cols] = 1
        held = (held @ sp.diags(seen)).tocsr()
        held.eliminate_zeros()
        out[name] = {
            "docs": int(X.shape[0]), "tokens": int(obs.sum()),
            "harpdaal_docs_per_s": X.shape[0] / t_ours, "tomotopy_docs_per_s": X.shape[0] / t_tp,
            "ratio": t_tp / t_ours, "harpdaal_seconds": runs_ours, "tomotopy_seconds": runs_tp,
            "harpdaal_perplexity": _completion_perplexity(theta_ours, phi_ours, held),
            "tomotopy_perplexity": _completion_perplexity(theta_tp, phi_tp, held),
        }
        print(f"lda {name}: harpdaal {out[name]['harpdaal_docs_per_s']:.0f} docs/s, tomotopy "
              f"{out[name]['tomotopy_docs_per_s']:.0f} docs/s ({out[name]['ratio']:.2f}x); "
              f"perplexity {out[name]['harpdaal_perplexity']:.1f} / "
              f"{out[name]['tomotopy_perplexity']:.1f}", flush=True)
    return out


# ---- batch recommend -----------------------------------------------------------------------------
def _sgemm_gflops(threads):
    from threadpoolctl import threadpool_limits

    a = np.random.default_rng(0).random((2048, 2048), dtype=np.float32)
    with threadpool_limits(limits=threads):
        t, _ = _median_time(lambda: a @ a, 5)
    return 2 * 2048 ** 3 / t / 1e9


def bench_recommend(data_dir, threads, repeat, factors):
    import implicit
    from threadpoolctl import threadpool_limits

    from harpdaal.datasets import load_ratings
    from harpdaal.recommend import ImplicitALS

    path = os.path.join(data_dir, "pinterest-20", "pinterest-20.train.rating.gz")
    u, i, v = load_ratings(path)
    R = sp.csr_matrix((np.ones(u.size, np.float32), (u, i)))
    ours = ImplicitALS(factors=factors, iterations=3, random_state=0, n_jobs=threads).fit(R)
    peer = implicit.cpu.als.AlternatingLeastSquares(factors=factors, random_state=0)
    peer.user_factors = np.ascontiguousarray(ours.user_factors, np.float32)
    peer.item_factors = np.ascontiguousarray(ours.item_factors, np.float32)
    users = np.arange(R.shape[0])
    with threadpool_limits(limits=threads):
        t_ours, runs_ours = _median_time(lambda: ours.recommend(users, R, N=10), repeat)
        t_peer, runs_peer = _median_time(
            lambda: peer.recommend(users, R, N=10, filter_already_liked_items=True), repeat)
    a_ids, _ = ours.recommend(users, R, N=10)
    b_ids, _ = peer.recommend(users, R, N=10, filter_already_liked_items=True)
    agree = float(np.mean(a_ids == b_ids))
    gflops = _sgemm_gflops(threads)
    bound = 2.0 * R.shape[0] * R.shape[1] * factors / (gflops * 1e9)
    out = {"users": int(R.shape[0]), "items": int(R.shape[1]), "factors": factors,
           "harpdaal_seconds": runs_ours, "implicit_seconds": runs_peer,
           "ratio": t_peer / t_ours, "same_top10_fraction": agree, "sgemm_gflops": gflops,
           "gemm_bound_seconds": bound, "fraction_of_gemm_bound": bound / t_ours}
    print(f"recommend top-10 for {R.shape[0]} users x {R.shape[1]} items, k={factors}: harpdaal "
          f"{t_ours:.3f} s, implicit {t_peer:.3f} s ({out['ratio']:.2f}x); GEMM bound "
          f"{bound:.3f} s ({100 * bound / t_ours:.0f}% of it); same ids {100 * agree:.1f}%",
          flush=True)
    return out


# ---- K-means predict -----------------------------------------------------------------------------
def bench_kmeans_predict(data_dir, threads, repeat, k):
    from harpdaal.cluster import KMeans
    from harpdaal.datasets import load_idx

    d = os.path.join(data_dir, "fashion-mnist")
    X = np.vstack([load_idx(os.path.join(d, f)).reshape(-1, 784)
                   for f in ("train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz")])
    X = np.ascontiguousarray(X, np.float32) / 255.0
    init = X[np.random.default_rng(0).choice(len(X), k, replace=False)]
    fits = [KMeans(k, init=init, n_init=1, max_iter=10, tol=0.0, n_jobs=threads).fit(X)
            for _ in range(repeat)]
    per_iter = statistics.median(f.timings_["compute"] / f.n_iter_ for f in fits)
    km = fits[0]
    t, runs = _median_time(lambda: km.predict(X), repeat)
    flops = 2.0 * X.shape[0] * k * X.shape[1]
    out = {"n": int(X.shape[0]), "d": 784, "k": k, "predict_seconds": runs,
           "predict_gflops": flops / t / 1e9, "fit_iteration_gflops": flops / per_iter / 1e9}
    out["ratio"] = out["predict_gflops"] / out["fit_iteration_gflops"]
    print(f"kmeans predict fashion-mnist k={k}: {out['predict_gflops']:.1f} GFLOP/s, fit "
          f"iteration {out['fit_iteration_gflops']:.1f} GFLOP/s ({100 * out['ratio']:.0f}%)",
          flush=True)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", default=os.environ.get("HARPDAAL_DATA"), required=False)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", nargs="*", choices=("lda", "recommend", "kmeans"),
                    default=["lda", "recommend", "kmeans"])
    ap.add_argument("--lda-topics", type=int, default=100)
    ap.add_argument("--lda-train-iter", type=int, default=100)
    ap.add_argument("--lda-infer-iter", type=int, default=30)
    ap.add_argument("--lda-corpus", choices=("20news", "kos"), default="20news",
                    help="20news train / test, or KOS split into 2,400 training and 1,030 unseen "
                         "documents")
    ap.add_argument("--factors", type=int, default=64)
    ap.add_argument("--kmeans-k", type=int, default=100)
    ap.add_argument("--out", help="write the results as JSON here")
    args = ap.parse_args(argv)
    if not args.data_dir:
        ap.error("--data-dir (or HARPDAAL_DATA) is required")
    from harpdaal.bench.machine import machine_info

    result = {"machine": machine_info(), "threads": args.threads,
              "load_before": os.getloadavg()}
    if "lda" in args.only:
        result["lda"] = bench_lda(args.data_dir, args.threads, args.repeat, args.lda_topics,
                                  args.lda_train_iter, args.lda_infer_iter, args.lda_corpus)
    if "recommend" in args.only:
        result["recommend"] = bench_recommend(args.data_dir, args.threads, args.repeat,
                                              args.factors)
    if "kmeans" in args.only:
        result["kmeans_predict"] = bench_kmeans_predict(args.data_dir, args.threads,
                                                        args.repeat, args.kmeans_k)
    result["load_after"] = os.getloadavg()
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
