"""``harpdaal lda``: fit LDA by collapsed Gibbs sampling on a corpus file, optionally on N ranks.

The corpus is a UCI bag-of-words file (docword.*.txt[.gz]: D, W, NNZ header, then
``doc word count``) or an lda-c file (``N id:count ...`` per document), told apart by the first
line. Every rank reads the file and keeps its contiguous share of the documents; the word-topic
table rotates between ranks (Harp's lda-rtt). Rank 0 writes the model
(``LatentDirichletAllocation.save``: an inference-only model file that ``harpdaal transform``
and ``LatentDirichletAllocation.load`` read) and a short JSON report.
"""
from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

from ..comm import current_communicator
from ..datasets import load_bow
from .launch import ranks_mismatch, relaunch_if_needed


def add_parser(sub):
    p = sub.add_parser("lda", help="fit LDA (collapsed Gibbs) on a UCI docword / lda-c corpus, "
                                   "--ranks N for MPI")
    p.add_argument("--data", required=True, help="UCI docword.*.txt[.gz] or lda-c file")
    p.add_argument("--vocab", default=None, help="vocabulary file, one word per line (optional)")
    p.add_argument("--test", default=None, help="held-out corpus (same format): report perplexity")
    p.add_argument("--n-topics", "-k", type=int, default=100)
    p.add_argument("--alpha", type=float, default=0.1, help="doc-topic prior")
    p.add_argument("--beta", type=float, default=0.01, help="topic-word prior")
    p.add_argument("--max-iter", type=int, default=100)
    p.add_argument("--sampler", choices=["auto", "sparse", "mh", "warp"], default="auto")
    p.add_argument("--mh-steps", type=int, default=4)
    p.add_argument("--random-state", type=int, default=0)
    p.add_argument("--n-jobs", type=int, default=None, help="threads per rank (default: all)")
    p.add_argument("--evaluate-every", type=int, default=10)
    p.add_argument("--top-words", type=int, default=10, help="top words per topic in the report")
    p.add_argument("--step-fraction", type=float, default=None,
                   help="timer-bounded steps: fraction of tokens to sample per rotation step "
                        "(0-1; Harp's dynamic rotation control; default: full steps)")
    p.add_argument("--ranks", type=int, default=1, help="MPI ranks (relaunches under mpiexec)")
    p.add_argument("--out", default="lda_model.npz", help="model file written by rank 0")
    p.add_argument("--report", default=None, help="JSON report (default: <out>.json)")
    p.add_argument("--verbose", "-v", action="store_true",
                   help="print the log-likelihood per token every --evaluate-every iterations")
    p.set_defaults(func=run)


def run(args) -> int:
    rc = relaunch_if_needed(args)
    if rc is not None:
        return rc

    from ..topic import LatentDirichletAllocation  # scikit-learn: not for the parser

    comm = current_communicator()
    rc = ranks_mismatch(args, comm)
    if rc is not None:
        return rc
    for opt, path in (("--data", args.data), ("--vocab", args.vocab), ("--test", args.test)):
        if path is not None and not os.path.isfile(path):
            print(f"harpdaal lda: {opt}: no such file: {path}", file=sys.stderr)
            return 2
    t_load = time.perf_counter()
    try:
        X, vocab = load_bow(args.data, args.vocab)
    except ValueError as exc:
        print(f"harpdaal lda: --data: {exc}", file=sys.stderr)
        return 2
    t_load = time.perf_counter() - t_load
    D = X.shape[0]
    lo, hi = D * comm.rank // comm.size, D * (comm.rank + 1) // comm.size
    model = LatentDirichletAllocation(
        args.n_topics, doc_topic_prior=args.alpha, topic_word_prior=args.beta,
        max_iter=args.max_iter, random_state=args.random_state, n_jobs=args.n_jobs,
        verbose=int(args.verbose), evaluate_every=args.evaluate_every, sampler=args.sampler,
        mh_steps=args.mh_steps, step_fraction=args.step_fraction)
    try:
        t_fit = time.perf_counter()
        model.fit(X[lo:hi])
        t_fit = time.perf_counter() - t_fit
    except (TypeError, ValueError) as exc:
        print(f"harpdaal lda: {exc}", file=sys.stderr)
        return 2
    perplexity = None
    if args.test is not None and comm.rank == 0:
        Xt, _ = load_bow(args.test, None, n_words=X.shape[1])
        perplexity = model.perplexity(Xt)
    model.save(args.out)  # collective: rank 0 writes the model `harpdaal transform` reads
    if comm.rank != 0:
        return 0
    report = {
        "data": os.path.abspath(args.data),
        "n_docs": int(D), "n_words": int(X.shape[1]), "n_tokens": int(model.n_tokens_),
        "n_topics": args.n_topics, "alpha": args.alpha, "beta": args.beta,
        "sampler": args.sampler, "max_iter": args.max_iter, "ranks": comm.size,
        "threads": args.n_jobs, "seconds_load": t_load, "seconds_fit": t_fit,
        "seconds_per_iter": t_fit / args.max_iter,
        "tokens_per_second": model.n_tokens_ * args.max_iter / t_fit,
        "loglik_per_token": model.loglik_per_token_,
        "loglik_history": [[int(i), float(v)] for i, v in model.loglik_history_],
        "heldout_perplexity": perplexity,
        "timings": model.timings_,
        "step_fraction": args.step_fraction,
        "step_history": model.step_history_,
        "top_words": model.top_words(vocab, args.top_words),
        "model": os.path.abspath(args.out),
    }
    path = args.report or os.path.splitext(args.out)[0] + ".json"
    with open(path, "w") as f:
        json.dump(report, f, indent=1)
    print(f"harpdaal lda: {model.n_tokens_} tokens, {args.n_topics} topics, {comm.size} rank(s): "
          f"{report['seconds_per_iter']:.3f} s/iter, {report['tokens_per_second'] / 1e6:.2f}M "
          f"tokens/s, log-likelihood per token {model.loglik_per_token_:.4f}"
          + (f", held-out perplexity {perplexity:.1f}" if perplexity is not None else "")
          + f"; model {args.out}, report {path}")
    return 0
