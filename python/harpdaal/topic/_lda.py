"""LatentDirichletAllocation by collapsed Gibbs sampling (Harp's LDA-CGS, model rotation).

The corpus is held as token arrays (``_corpus.py``) with an int32 topic assignment per token.
The model is the word-topic count table (V x K, int32) and the topic totals (K, int64). The fit
runs through the fit driver (``harpdaal._driver``); each iteration sweeps every word slice once
(``_steps.py``): on one process the kernel rotates word slices between its threads; across MPI
ranks the slices rotate in a ring.
"""
from __future__ import annotations

import numbers
import time

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import _core
from .._checkpoint import for_estimator
from .._driver import FitLoop, agree, fit_communicator
from .._persist import PersistMixin, attribute, check, require
from .._threads import resolve_n_jobs
from ._corpus import TokenCorpus, as_token_corpus
from ._steps import LOGLIK, OneProcessSweeps, RotationSweeps

_K = _core.lda

# sampler="auto": the word-major sampler takes the first AUTO_WARP_SWEEPS sweeps of one-process
# fits with at least AUTO_WARP_MIN_TOPICS topics, the sparse sampler the rest (docs/lda.md).
AUTO_WARP_MIN_TOPICS = 300
AUTO_WARP_SWEEPS = 15


def _seed_from(random_state) -> int:
    if random_state is None:
        return int(np.random.default_rng().integers(2**62))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(2**31 - 1))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**62))
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be >= 0, got {random_state}")
        return int(random_state)
    raise TypeError(f"random_state must be None, an int or a numpy random generator, "
                    f"got {type(random_state).__name__}")


class LatentDirichletAllocation(PersistMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin,
                                BaseEstimator):
    """Latent Dirichlet Allocation fitted by collapsed Gibbs sampling.

    A scikit-learn estimator (``clone``, ``get_params``/``set_params``, pipelines, pickling).
    ``X`` is a document-term matrix of non-negative integer counts (scipy.sparse or dense;
    non-integer values are rejected: the sampler draws one topic per token) or a list of
    token-id arrays, one per document. ``fit_transform`` returns the training documents'
    proportions from the chain's final sample; ``transform`` folds documents in by a new chain.

    Parameters
    ----------
    n_components : int, default 10
        Number of topics K.
    doc_topic_prior : float, default None
        Symmetric Dirichlet prior alpha on document-topic proportions (None: 1 / n_components,
        as scikit-learn).
    topic_word_prior : float, default None
        Symmetric Dirichlet prior beta on topic-word distributions (None: 1 / n_components).
    max_iter : int, default 100
        Gibbs sweeps over the corpus.
    random_state : None, int or numpy generator
        Seed: results are identical for a fixed seed and thread count (and rank count).
    n_jobs : int, default None
        Threads (None: all cores).
    verbose : int, default 0
        Progress on rank 0 (stderr): a progress bar on a terminal, else a line with the
        log-likelihood per token every ``evaluate_every`` iterations.
    evaluate_every : int, default 10
        Iterations between log-likelihood evaluations (recorded in ``loglik_history_``); 0 or
        negative evaluates only at the end.
    sampler : {"auto", "sparse", "mh", "warp"}, default "auto"
        "auto": "warp" for the first 15 sweeps, then "sparse", in one-process fits with at
        least 300 topics; "sparse" otherwise (several ranks, timer-bounded steps, fewer
        topics). On KOS, 20news and 20news in 30-40-token pieces it reached the sparse
        sampler's log-likelihood after 20 and 40 sweeps 1.2-1.7x sooner at K = 1000 and
        1.05-1.5x at K = 300; at K = 100 a warm-up cost up to 30%.
        "sparse": the document bucket is summed exactly over the document's non-zero topics
        (O(K_d) per token) and the smoothing bucket alpha (n_wk + beta) / (n_k + V beta) is
        drawn from per-word alias tables refreshed every sweep. "mh": LightLDA's cycle of
        word and document proposals with Metropolis-Hastings (O(1) per token, slower mixing).
        "warp": WarpLDA's word-major Metropolis-Hastings, a document phase and a word phase per
        sweep, each with its own side's counts exact (O(mh_steps) per token, independent of K;
        faster than "sparse" early in a fit with many topics, slower later).
        See docs/lda.md for the measurements behind the default.
    mh_steps : int, default 4
        For sampler="mh": (word proposal, doc proposal) pairs per token and sweep; for
        "warp" (and the warm-up of "auto"): proposals accepted per token in each of the two
        phases.
    transform_max_iter : int, default 30
        Fold-in sweeps for ``transform`` (the first third are burn-in).
    transform_sampler : {"mh", "exact"}, default "mh"
        How ``transform`` (and ``perplexity``) sample new documents against the fixed topics.
        "mh": one Metropolis-Hastings pair per token and sweep (a word proposal from a
        per-word alias table over the topic-word distribution, then a document proposal from
        the document's own tokens), O(1) per token. "exact": the conditional drawn exactly (a
        bucket over the document's topics and the word's prefix row), O(topics in the
        document) per token. Both chains have the same stationary distribution; at 30 sweeps
        "mh" ran 1.6-2.0x faster on 20news test and on short documents one document at a time
        (3.0-3.6x with 16 at once in AVX-512 lanes), its document-completion perplexity 1.2-1.7%
        higher (docs/lda.md). With more than 65,536 topics "mh" folds in exactly.
    checkpoint_dir : path or None, default None
        Folder for checkpoints (shared by all ranks); ``fit(X, resume=True)`` continues from
        the last one, bitwise as if never interrupted (needs an int random_state).
    checkpoint_every : int or str, default 1
        Iterations between checkpoints, or seconds as a string ('30s').
    step_fraction : float in (0, 1] or None, default None
        Timer-bounded steps (Harp's dynamic rotation control): each slice sampling gets a time
        budget, re-solved after every iteration by :class:`harpdaal.comm.RotationTimer` so that
        this fraction of all tokens is sampled per step; a slow rank samples part of its
        documents and passes the slice on instead of holding the others up. The first iteration
        is unbounded (it measures the rates). None: every step samples all tokens. Fits with
        timer-bounded steps depend on timing (not reproducible bit for bit).

    Attributes
    ----------
    components_ : ndarray (n_components, n_features)
        Topic-word pseudo-counts n_kw + beta (normalise rows for topic-word distributions).
    word_topic_ : ndarray (n_features, n_components) int32, topic_totals_ : ndarray int64
    loglik_per_token_ : float, log p(w, z) / tokens after the last iteration (MALLET's formula).
    loglik_history_ : list of (iteration, loglik_per_token).
    n_iter_ : iterations run (``max_iter`` unless a callback stopped the fit).
    n_features_in_, timings_ (seconds of the whole fit in compute / comm / glue, and total).
    step_history_ : list of dict, with step_fraction: per iteration the budget in seconds
        (None for the measuring iteration), the sampled fraction of all ranks' tokens and of this
        rank's, and the next budget.
    """

    def __init__(self, n_components=10, *, doc_topic_prior=None, topic_word_prior=None,
                 max_iter=100, random_state=None, n_jobs=None, verbose=0, evaluate_every=10,
                 sampler="auto", mh_steps=4, transform_max_iter=30, transform_sampler="mh",
                 checkpoint_dir=None, checkpoint_every=1, step_fraction=None):
        self.n_components = n_components
        self.doc_topic_prior = doc_topic_prior
        self.topic_word_prior = topic_word_prior
        self.max_iter = max_iter
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.evaluate_every = evaluate_every
        self.sampler = sampler
        self.mh_steps = mh_steps
        self.transform_max_iter = transform_max_iter
        self.transform_sampler = transform_sampler
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.step_fraction = step_fraction

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True   # counts
        tags.input_tags.sparse = True
        return tags

    @property
    def _n_features_out(self):
        """Output columns of transform (for get_feature_names_out): one per topic."""
        return self.components_.shape[0]

    # -- validation ---------------------------------------------------------------------------
    def _validated_params(self):
        K = self.n_components
        if not isinstance(K, numbers.Integral) or isinstance(K, bool):
            raise TypeError(f"n_components must be an int, got {type(K).__name__}")
        if K < 1:
            raise ValueError(f"n_components must be >= 1, got {K}")
        alpha = 1.0 / K if self.doc_topic_prior is None else self.doc_topic_prior
        beta = 1.0 / K if self.topic_word_prior is None else self.topic_word_prior
        for name, v in (("doc_topic_prior", alpha), ("topic_word_prior", beta)):
            if not isinstance(v, numbers.Real) or isinstance(v, bool):
                raise TypeError(f"{name} must be a float, got {type(v).__name__}")
            if not (v > 0 and np.isfinite(v)):
                raise ValueError(f"{name} must be > 0, got {v}")
        for name in ("max_iter", "mh_steps", "transform_max_iter"):
            v = getattr(self, name)
            if not isinstance(v, numbers.Integral) or isinstance(v, bool):
                raise TypeError(f"{name} must be an int, got {type(v).__name__}")
            if v < 1:
                raise ValueError(f"{name} must be >= 1, got {v}")
        f = self.step_fraction
        if f is not None:
            if not isinstance(f, numbers.Real) or isinstance(f, bool):
                raise TypeError(f"step_fraction must be None or a float, got {type(f).__name__}")
            if not 0 < f <= 1:
                hint = f" (a fraction: did you mean {f / 100:g}?)" if 1 < f <= 100 else ""
                raise ValueError(f"step_fraction must lie in (0, 1], got {f!r}{hint}")
        if self.sampler not in ("auto", "sparse", "mh", "warp"):
            raise ValueError(f"sampler must be 'auto', 'sparse', 'mh' or 'warp', got "
                             f"{self.sampler!r}")
        if self.sampler == "warp" and f is not None:
            raise ValueError("step_fraction (timer-bounded steps) works with sampler='sparse' or "
                             "'mh', not 'warp': a word phase samples whole words")
        self._fold_in_steps()
        return int(K), float(alpha), float(beta)

    def _kernel_steps(self) -> int:
        """sample_block's mh_steps: 0 (the sparse sampler) or the LightLDA pairs."""
        return int(self.mh_steps) if self.sampler == "mh" else 0

    def _warp_sweeps(self, K: int, n_ranks: int) -> int:
        """How many sweeps from the start the word-major sampler takes (docs/lda.md,
        "sampler='auto'")."""
        if self.sampler == "warp":
            return 2 ** 62
        if (self.sampler == "auto" and K >= AUTO_WARP_MIN_TOPICS and n_ranks == 1
                and self.step_fraction is None):
            return AUTO_WARP_SWEEPS
        return 0

    def _fold_in_steps(self) -> int:
        """The fold-in kernel's mh_steps: 0 (exact) or one Metropolis-Hastings pair."""
        if self.transform_sampler == "exact":
            return 0
        if self.transform_sampler == "mh":
            return 1
        raise ValueError(f"transform_sampler must be 'mh' or 'exact', got "
                         f"{self.transform_sampler!r}")

    def _corpus(self, X, *, reset, allow_empty=False) -> TokenCorpus:
        """The documents of X as a TokenCorpus. A document-term matrix goes through
        scikit-learn's validate_data (shape, NaN/inf, dtype and, with reset=False, the number of
        features of the fit); a TokenCorpus or a list of token-id arrays is taken as documents.
        allow_empty: accept zero documents (a rank may hold none under MPI)."""
        if isinstance(X, (TokenCorpus, list, tuple)):
            if reset and hasattr(self, "feature_names_in_"):
                del self.feature_names_in_   # documents have no feature names
            return as_token_corpus(X, n_features=None if reset else self.n_features_in_)
        X = validate_data(self, X, reset=reset, accept_sparse="csr", dtype="numeric",
                          ensure_min_samples=0 if allow_empty else 1)
        return as_token_corpus(X, n_features=None if reset else self.n_features_in_)

    def _check_fitted(self):
        check_is_fitted(self, "word_topic_")

    # -- fitting ------------------------------------------------------------------------------
    def fit(self, X, y=None, resume=False, *, callbacks=None):
        """Fit on a document-term count matrix (n_docs x n_words; scipy.sparse or dense) or a
        list of token-id arrays. Under MPI (several ranks), each rank passes its own documents
        and the same vocabulary size. ``resume=True`` continues from the last checkpoint in
        ``checkpoint_dir``. ``callbacks``: callables ``cb(info) -> bool`` called after every
        iteration with a :class:`harpdaal._driver.IterationInfo` (``info.metrics`` holds
        ``loglik_per_token`` on evaluated iterations); a true return value stops the fit."""
        t_start = time.perf_counter()
        comm = fit_communicator()
        K, alpha, beta = agree(comm, self._validated_params)
        n_threads = resolve_n_jobs(self.n_jobs)
        corpus = agree(comm, lambda: self._corpus(X, reset=True, allow_empty=comm.size > 1))
        if comm.size > 1:
            V = int(comm.allreduce_array(np.array([corpus.n_words], np.int64), op="max")[0])
            corpus = TokenCorpus(corpus.doc_ptr, corpus.words, V)
        seed = agree(comm, lambda: _seed_from(self.random_state))
        if comm.size > 1:
            if self.random_state is None:  # a fresh seed, the same on every rank
                seed = comm.bcast_object(seed, root=0)
            comm.check_same(seed, what="random_state")
        ck, saved = for_estimator(self, "LatentDirichletAllocation", resume=resume,
                                  data=(corpus.doc_ptr, corpus.words, np.array([corpus.n_words])),
                                  comm=comm if comm.size > 1 else None)
        sweeps = RotationSweeps if comm.size > 1 else OneProcessSweeps
        step = sweeps(comm, corpus, K, alpha, beta, seed, self._kernel_steps(), n_threads,
                      self.max_iter, self.evaluate_every,
                      None if self.step_fraction is None else float(self.step_fraction),
                      warp_sweeps=self._warp_sweeps(K, comm.size),
                      warp_steps=int(self.mh_steps))
        max_iter = self.max_iter

        def line(iteration, metrics):
            if LOGLIK in metrics:
                return (f"[lda] iteration {iteration}/{max_iter}: log-likelihood per token "
                        f"{metrics[LOGLIK]:.4f}")
            return None

        try:
            result = FitLoop(max_iter=max_iter, comm=comm, verbose=self.verbose,
                             desc="LatentDirichletAllocation", log=line, checkpointer=ck,
                             saved=saved, callbacks=callbacks).run(step)
            history = [(i + 1, rec[LOGLIK]) for i, rec in enumerate(result.history)
                       if LOGLIK in rec]
            if not history or history[-1][0] != result.n_iter:  # stopped by a callback
                history.append((result.n_iter, step.loglik_per_token()))
            word_topic = np.ascontiguousarray(step.word_topic_table(), dtype=np.int32)
            n_tokens = step.n_tokens()
        finally:
            step.close()
        total = time.perf_counter() - t_start
        compute, comm_s = step.compute_s, step.comm_s
        self.word_topic_ = word_topic
        self.topic_totals_ = step.totals
        self.components_ = word_topic.T.astype(np.float64) + beta
        self.n_features_in_ = corpus.n_words
        self.n_iter_ = result.n_iter
        self.loglik_per_token_ = history[-1][1]
        self.loglik_history_ = history
        self.timings_ = {"compute": compute, "comm": comm_s,
                         "glue": max(0.0, total - compute - comm_s), "total": total}
        self.step_history_ = step.step_history
        self.n_tokens_ = n_tokens
        self.train_topics_ = step.topics
        self._alpha, self._beta = alpha, beta
        self._last_corpus = corpus  # for fit_transform only: dropped before fit returns there
        return self

    def fit_transform(self, X, y=None):
        """Fit, then return the training documents' topic proportions (from the final sample)."""
        try:
            self.fit(X)
            return self._proportions_from_topics(self._last_corpus, self.train_topics_)
        finally:
            self.__dict__.pop("_last_corpus", None)

    def __getstate__(self):
        # the training corpus is never part of the model (pickle or save)
        state = dict(self.__dict__)
        state.pop("_last_corpus", None)
        return state

    # -- model files (npz + JSON header, no pickle): an inference-only model ---------------------
    def _model_arrays(self):
        self._check_fitted()
        return ({"word_topic": self.word_topic_, "topic_totals": self.topic_totals_},
                {"doc_topic_prior": self._alpha, "topic_word_prior": self._beta,
                 "n_features_in_": int(self.n_features_in_), "n_iter_": int(self.n_iter_),
                 "n_tokens_": int(self.n_tokens_),
                 "loglik_per_token_": float(self.loglik_per_token_),
                 "loglik_history_": [[int(i), float(v)] for i, v in self.loglik_history_]})

    @classmethod
    def _from_model(cls, est, header, arrays, where):
        K, _, _ = est._validated_params()
        V = attribute(header, "n_features_in_", where, int, low=1)
        alpha = attribute(header, "doc_topic_prior", where, float)
        beta = attribute(header, "topic_word_prior", where, float)
        check(np.isfinite(alpha) and alpha > 0 and np.isfinite(beta) and beta > 0, where,
              f"priors must be finite and > 0, got {alpha!r}, {beta!r}")
        word_topic = require(arrays, "word_topic", where, kind="i", shape=(V, K), low=0)
        totals = require(arrays, "topic_totals", where, kind="i", shape=(K,), low=0)
        check(word_topic.dtype == np.int32 and totals.dtype == np.int64, where,
              "word_topic must be int32 and topic_totals int64")
        check(np.array_equal(word_topic.sum(axis=0, dtype=np.int64), totals), where,
              "topic_totals differ from the column sums of word_topic (corrupt counts)")
        history = attribute(header, "loglik_history_", where, list)
        check(all(isinstance(h, list) and len(h) == 2 for h in history), where,
              "loglik_history_ must be a list of [iteration, value] pairs")
        est.word_topic_ = np.ascontiguousarray(word_topic)
        est.topic_totals_ = np.ascontiguousarray(totals)
        est.components_ = word_topic.T.astype(np.float64) + beta
        est.n_features_in_ = V
        est.n_iter_ = attribute(header, "n_iter_", where, int, low=0)
        est.n_tokens_ = attribute(header, "n_tokens_", where, int, low=0)
        est.loglik_per_token_ = attribute(header, "loglik_per_token_", where, float)
        est.loglik_history_ = [(int(i), float(v)) for i, v in history]
        est._alpha, est._beta = float(alpha), float(beta)

    def _proportions_from_topics(self, corpus, topics):
        K = self.n_components
        doc_of = np.repeat(np.arange(corpus.n_docs), corpus.doc_lengths())
        counts = np.bincount(doc_of * K + topics, minlength=corpus.n_docs * K).reshape(-1, K)
        theta = counts + self._alpha
        return theta / theta.sum(axis=1, keepdims=True)

    # -- inference ----------------------------------------------------------------------------
    def _fold_in(self, corpus: TokenCorpus, n_sweeps=None, seed=None, rng=None, first_doc=0):
        """Fold-in counts of `corpus`. A stream of chunks gives the same result as one call on
        their concatenation when every chunk passes the same `rng` (initial topics, drawn in
        token order) and its global `first_doc` (the sampler's per-document streams)."""
        K = self.n_components
        sweeps = self.transform_max_iter if n_sweeps is None else n_sweeps
        burn = sweeps // 3
        seed = _seed_from(self.random_state) if seed is None else seed
        if rng is None:
            rng = np.random.default_rng(seed)
        topics = rng.integers(0, K, corpus.n_tokens, dtype=np.int32)
        doc_topic = np.zeros((corpus.n_docs, K), np.float32)
        _K.fold_in(corpus.doc_ptr, corpus.words, topics, first_doc, self.word_topic_,
                   self.topic_totals_,
                   self._alpha, self._beta, seed, sweeps, burn, self._fold_in_steps(), doc_topic,
                   resolve_n_jobs(self.n_jobs))
        out = doc_topic.astype(np.float64)
        out /= sweeps - burn
        return out

    def transform(self, X):
        """Topic proportions of documents (n_docs x n_components) by fold-in Gibbs sampling
        against the learned topics (the model is not changed)."""
        self._check_fitted()
        corpus = self._corpus(X, reset=False)
        theta = self._fold_in(corpus)
        theta += self._alpha
        theta /= theta.sum(axis=1, keepdims=True)
        return theta

    def transform_stream(self, chunks):
        """transform() over an iterable of document chunks, one result per chunk: together the
        same rows as ``transform`` of all documents at once, with memory bounded by a chunk
        (``harpdaal transform`` streams files this way)."""
        self._check_fitted()
        rng = np.random.default_rng(_seed_from(self.random_state))
        first = 0
        for X in chunks:
            corpus = self._corpus(X, reset=False)
            theta = self._fold_in(corpus, rng=rng, first_doc=first)
            theta += self._alpha
            theta /= theta.sum(axis=1, keepdims=True)
            first += corpus.n_docs
            yield theta

    def topic_word_distribution(self) -> np.ndarray:
        """phi (n_components x n_features): (n_kw + beta) / (n_k + V beta)."""
        self._check_fitted()
        return self.components_ / self.components_.sum(axis=1, keepdims=True)

    def heldout_log_likelihood(self, X, *, seed=0) -> tuple[float, int]:
        """Document completion: each document's tokens are split in two at random (fixed
        ``seed``); topic proportions are folded in on the first half and the second half is
        scored: returns (sum of log p(w | first half), number of held-out tokens)."""
        self._check_fitted()
        corpus = self._corpus(X, reset=False)
        rng = np.random.default_rng(seed)
        lengths = corpus.doc_lengths()
        doc_of = np.repeat(np.arange(corpus.n_docs), lengths)
        observed = rng.random(corpus.n_tokens) < 0.5
        obs_len = np.bincount(doc_of[observed], minlength=corpus.n_docs)
        obs_ptr = np.zeros(corpus.n_docs + 1, np.int64)
        np.cumsum(obs_len, out=obs_ptr[1:])
        obs = TokenCorpus(obs_ptr, np.ascontiguousarray(corpus.words[observed]), corpus.n_words)
        counts = self._fold_in(obs, seed=seed)
        theta = counts + self._alpha
        theta /= theta.sum(axis=1, keepdims=True)
        phi = self.topic_word_distribution()
        held_doc = doc_of[~observed]
        held_word = corpus.words[~observed]
        total = 0.0
        step = max(1, 2**22 // max(1, self.n_components))
        for b in range(0, len(held_doc), step):
            d, w = held_doc[b:b + step], held_word[b:b + step]
            p = np.einsum("ik,ik->i", theta[d], phi[:, w].T)
            total += float(np.log(p).sum())
        return total, int(len(held_doc))

    def perplexity(self, X, *, seed=0) -> float:
        """Held-out perplexity by document completion (see heldout_log_likelihood)."""
        ll, n = self.heldout_log_likelihood(X, seed=seed)
        if n == 0:
            raise ValueError("X: no held-out tokens (all documents empty?)")
        return float(np.exp(-ll / n))

    def score(self, X, y=None) -> float:
        """Held-out log-likelihood per token by document completion (higher is better)."""
        ll, n = self.heldout_log_likelihood(X)
        return ll / max(n, 1)

    def coherence(self, X, top_n=10, measure="npmi", per_topic=False):
        """Topic coherence of the fitted topics on the documents X (usually the training
        corpus): over each topic's `top_n` most probable words, co-occurrence counted per
        document.

        ``"npmi"`` (Bouma 2009; Röder et al. 2015's C_NPMI with whole documents as the window):
        the mean over word pairs of log(P(a, b) / (P(a) P(b))) / -log P(a, b), in [-1, 1];
        pairs that never co-occur count -1. ``"umass"`` (Mimno et al. 2011): the sum over
        pairs, the lower-ranked word m against each higher-ranked word l, of
        log((D(m, l) + 1) / D(l)), D counting documents. Higher is better for both. Returns the
        mean over topics, or the per-topic array when `per_topic`."""
        self._check_fitted()
        if measure not in ("npmi", "umass"):
            raise ValueError(f"measure must be 'npmi' or 'umass', got {measure!r}")
        if isinstance(top_n, bool) or not isinstance(top_n, numbers.Integral) or top_n < 2:
            raise ValueError(f"top_n must be an int >= 2, got {top_n!r}")
        top_n = min(int(top_n), self.n_features_in_)
        corpus = self._corpus(X, reset=False)
        D = corpus.n_docs
        if D == 0:
            raise ValueError("coherence needs at least one document")
        # the top words of every topic, most probable first (ties: the lower word id)
        top = np.argsort(-self.word_topic_.T, axis=1, kind="stable")[:, :top_n]
        words = np.unique(top)
        col = np.full(self.n_features_in_, -1, np.int64)
        col[words] = np.arange(words.size)
        doc_of = np.repeat(np.arange(D), corpus.doc_lengths())
        keep = col[corpus.words] >= 0
        present = sp.csr_matrix((np.ones(int(keep.sum()), np.float64),
                                 (doc_of[keep], col[corpus.words[keep]])),
                                shape=(D, words.size))
        present.data[:] = 1.0
        present.sum_duplicates()
        present.data[:] = 1.0  # a word counts once per document
        co = (present.T @ present).toarray()  # co[a, b]: documents holding both
        df = np.diag(co).copy()
        scores = np.empty(top.shape[0])
        for k, row in enumerate(col[top]):
            a, b = np.triu_indices(row.size, 1)  # a ranked above b
            wa, wb = row[a], row[b]
            joint = co[wa, wb]
            if measure == "umass":
                with np.errstate(divide="ignore"):
                    scores[k] = float(np.sum(np.log((joint + 1.0) / np.maximum(df[wa], 1.0))))
            else:
                p_ab, p_a, p_b = joint / D, df[wa] / D, df[wb] / D
                with np.errstate(divide="ignore", invalid="ignore"):
                    npmi = np.where(joint > 0,
                                    np.log(p_ab / (p_a * p_b)) / -np.log(p_ab), -1.0)
                npmi = np.where((joint > 0) & (p_ab >= 1.0), 1.0, npmi)  # in every document
                scores[k] = float(np.mean(npmi))
        return scores if per_topic else float(scores.mean())

    def top_words(self, vocab=None, n=10) -> list[list]:
        """The n most probable words of each topic (as vocabulary entries, or word ids)."""
        self._check_fitted()
        if not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        if vocab is not None and len(vocab) != self.n_features_in_:
            raise ValueError(f"vocab: has {len(vocab)} entries, the model has "
                             f"{self.n_features_in_} words")
        order = np.argsort(-self.word_topic_.T, axis=1, kind="stable")[:, :n]
        if vocab is None:
            return [list(map(int, row)) for row in order]
        return [[vocab[i] for i in row] for row in order]

    def log_likelihood_per_token(self) -> float:
        """log p(w, z) / tokens of the final training sample (MALLET's modelLogLikelihood)."""
        self._check_fitted()
        return self.loglik_per_token_
