"""LatentDirichletAllocation by collapsed Gibbs sampling (Harp's LDA-CGS, model rotation).

The corpus is held as compact arrays: ``doc_ptr`` (int64, CSR offsets), ``words`` (int32 word id
per token, sorted within each document) and ``topics`` (int32 assignment per token). The model is
the word-topic count table (V x K, int32) and the topic totals (K, int64). Each iteration sweeps
every word slice once: on one process the kernel rotates word slices between its threads; across
MPI ranks the slices rotate in a ring (see ``_rotation.py``).
"""
from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp
from scipy.special import gammaln
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import _core
from .._threads import resolve_n_jobs

_K = _core.lda


class TokenCorpus:
    """Documents as CSR token arrays (see module docstring)."""

    __slots__ = ("doc_ptr", "words", "n_words")

    def __init__(self, doc_ptr: np.ndarray, words: np.ndarray, n_words: int):
        self.doc_ptr = doc_ptr
        self.words = words
        self.n_words = int(n_words)

    @property
    def n_docs(self) -> int:
        return len(self.doc_ptr) - 1

    @property
    def n_tokens(self) -> int:
        return int(self.doc_ptr[-1])

    def doc_lengths(self) -> np.ndarray:
        return np.diff(self.doc_ptr)


def _check_counts(data: np.ndarray, name: str) -> np.ndarray:
    data = np.asarray(data)
    if data.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected numeric counts, got dtype {data.dtype}")
    if data.size and data.dtype.kind == "f" and not np.all(np.isfinite(data)):
        raise ValueError(f"{name}: counts must be finite")
    if data.size and data.min() < 0:
        # scikit-learn's wording (check_non_negative), which its estimator checks look for
        raise ValueError(f"Negative values in data passed to {name}: counts must be "
                         f"non-negative")
    if data.size and data.dtype.kind == "f" and np.any(data != np.floor(data)):
        raise ValueError(f"{name}: counts must be integers (got non-integer values)")
    if data.size and data.max() >= 2**31:
        # one document-word count of 2^31 tokens would be an 8 GB token array: a corrupt input
        raise ValueError(f"{name}: count {data.max()} is too large (counts must be < 2**31)")
    return data.astype(np.int64, copy=False)


def as_token_corpus(X, n_features: int | None = None, name: str = "X") -> TokenCorpus:
    """Convert a document-term count matrix (scipy.sparse or dense) or a list of token-id arrays
    into a :class:`TokenCorpus`. ``n_features`` fixes the vocabulary size (word ids must lie in
    ``[0, n_features)``)."""
    if isinstance(X, TokenCorpus):
        corpus = X
        if n_features is not None and corpus.n_words != n_features:
            raise ValueError(f"{name}: corpus has {corpus.n_words} words, model has {n_features}")
        return corpus
    if isinstance(X, (list, tuple)):
        docs = []
        for i, doc in enumerate(X):
            a = np.asarray(doc)
            if a.ndim != 1:
                raise ValueError(f"{name}[{i}]: a document must be a 1-d sequence of word ids")
            if a.size and a.dtype.kind not in "iu":
                if a.dtype.kind == "f" and np.all(a == np.floor(a)):
                    a = a.astype(np.int64)
                else:
                    raise ValueError(f"{name}[{i}]: word ids must be integers")
            docs.append(np.sort(a.astype(np.int64, copy=False)))
        lengths = np.array([len(d) for d in docs], dtype=np.int64)
        words = np.concatenate(docs) if docs else np.zeros(0, np.int64)
        if words.size and words.min() < 0:
            raise ValueError(f"{name}: word ids must be >= 0")
        if words.size and words.max() >= 2**31 - 1:
            # word ids are int32 (and the vocabulary sizes V < 2**31, as for sparse input)
            raise ValueError(f"{name}: word id {int(words.max())} does not fit the int32 "
                             f"vocabulary (ids must be < 2**31 - 1)")
        V = int(words.max()) + 1 if (n_features is None and words.size) else (n_features or 1)
        if words.size and words.max() >= V:
            raise ValueError(f"{name}: word id {int(words.max())} is outside the vocabulary "
                             f"[0, {V})")
        doc_ptr = np.zeros(len(docs) + 1, np.int64)
        np.cumsum(lengths, out=doc_ptr[1:])
        return TokenCorpus(doc_ptr, words.astype(np.int32), V)
    if sp.issparse(X):
        X = sp.csr_matrix(X)
    else:
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"{name}: expected a 2-d document-term matrix, got {X.ndim}-d")
        X = sp.csr_matrix(X)
    if X.ndim != 2:
        raise ValueError(f"{name}: expected a 2-d document-term matrix")
    data = _check_counts(X.data, name)
    X = sp.csr_matrix((data, X.indices, X.indptr), shape=X.shape)
    X.sum_duplicates()
    X.sort_indices()
    V = X.shape[1]
    if n_features is not None and V != n_features:
        raise ValueError(f"{name}: has {V} features (words), the model was fitted with "
                         f"{n_features}")
    if V < 1:
        raise ValueError(f"{name}: needs at least one word (column)")
    if V >= 2**31:
        raise ValueError(f"{name}: vocabulary too large for int32 word ids")
    counts = X.data.astype(np.int64)
    words = np.repeat(X.indices.astype(np.int32), counts)
    lengths = np.asarray(X.sum(axis=1), dtype=np.int64).ravel()
    doc_ptr = np.zeros(X.shape[0] + 1, np.int64)
    np.cumsum(lengths, out=doc_ptr[1:])
    return TokenCorpus(doc_ptr, np.ascontiguousarray(words, dtype=np.int32), V)


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


def topic_log_likelihood(topic_totals: np.ndarray, n_words: int, beta: float) -> float:
    """The topic part of log p(w|z): K lgamma(V beta) - sum_k lgamma(n_k + V beta)."""
    vb = n_words * beta
    return float(len(topic_totals) * gammaln(vb) - gammaln(topic_totals + vb).sum())


class LatentDirichletAllocation(ClassNamePrefixFeaturesOutMixin, TransformerMixin,
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
        Print the log-likelihood per token every ``evaluate_every`` iterations.
    evaluate_every : int, default 10
        Iterations between log-likelihood evaluations (recorded in ``loglik_history_``); 0 or
        negative evaluates only at the end.
    sampler : {"sparse", "mh"}, default "sparse"
        "sparse": the document bucket is summed exactly over the document's non-zero topics
        (O(K_d) per token) and the smoothing bucket alpha (n_wk + beta) / (n_k + V beta) is
        drawn from per-word alias tables refreshed every sweep. "mh": LightLDA's cycle of
        word and document proposals with Metropolis-Hastings (O(1) per token, slower mixing).
        See docs/lda.md for the measurements behind the default.
    mh_steps : int, default 4
        For sampler="mh": (word proposal, doc proposal) pairs per token and sweep.
    transform_max_iter : int, default 30
        Fold-in sweeps for ``transform`` (the first third are burn-in).
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
    n_iter_, n_features_in_, timings_ (seconds in compute / comm / glue).
    step_history_ : list of dict, with step_fraction: per iteration the budget in seconds
        (None for the measuring iteration), the sampled fraction of all ranks' tokens and of this
        rank's, and the next budget.
    """

    def __init__(self, n_components=10, *, doc_topic_prior=None, topic_word_prior=None,
                 max_iter=100, random_state=None, n_jobs=None, verbose=0, evaluate_every=10,
                 sampler="sparse", mh_steps=4, transform_max_iter=30, checkpoint_dir=None,
                 checkpoint_every=1, step_fraction=None):
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
        if self.sampler not in ("sparse", "mh"):
            raise ValueError(f"sampler must be 'sparse' or 'mh', got {self.sampler!r}")
        return int(K), float(alpha), float(beta)

    def _kernel_steps(self) -> int:
        return 0 if self.sampler == "sparse" else int(self.mh_steps)

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
    def fit(self, X, y=None, resume=False):
        """Fit on a document-term count matrix (n_docs x n_words; scipy.sparse or dense) or a
        list of token-id arrays. Under MPI (several ranks), each rank passes its own documents
        and the same vocabulary size. ``resume=True`` continues from the last checkpoint in
        ``checkpoint_dir``."""
        from .._checkpoint import for_estimator
        from ._rotation import fit_rotation, get_communicator

        K, alpha, beta = self._validated_params()
        n_threads = resolve_n_jobs(self.n_jobs)
        comm = get_communicator()
        corpus = self._corpus(X, reset=True, allow_empty=comm.size > 1)
        if comm.size > 1:
            V = int(comm.allreduce_array(np.array([corpus.n_words], np.int64), op="max")[0])
            corpus = TokenCorpus(corpus.doc_ptr, corpus.words, V)
        seed = _seed_from(self.random_state)
        if comm.size > 1:
            comm.check_same(seed, what="random_state")
        checkpoint = for_estimator(self, "LatentDirichletAllocation", resume=resume,
                                   data=(corpus.doc_ptr, corpus.words, np.array([corpus.n_words])),
                                   comm=comm if comm.size > 1 else None)
        result = fit_rotation(comm, corpus, K, alpha, beta, self.max_iter, seed, self._kernel_steps(),
                              n_threads, self.evaluate_every, self.verbose, checkpoint,
                              step_fraction=(None if self.step_fraction is None
                                             else float(self.step_fraction)))
        self.word_topic_ = result.word_topic
        self.topic_totals_ = result.topic_totals
        self.components_ = result.word_topic.T.astype(np.float64) + beta
        self.n_features_in_ = corpus.n_words
        self.n_iter_ = self.max_iter
        self.loglik_per_token_ = result.loglik_history[-1][1]
        self.loglik_history_ = result.loglik_history
        self.timings_ = result.timings
        self.step_history_ = result.step_history
        self.n_tokens_ = result.n_tokens
        self.train_topics_ = result.topics
        self.train_corpus_ = corpus
        self._alpha, self._beta = alpha, beta
        return self

    def fit_transform(self, X, y=None):
        """Fit, then return the training documents' topic proportions (from the final sample)."""
        self.fit(X)
        c = self.train_corpus_
        return self._proportions_from_topics(c, self.train_topics_)

    def _proportions_from_topics(self, corpus, topics):
        K = self.n_components
        doc_of = np.repeat(np.arange(corpus.n_docs), corpus.doc_lengths())
        counts = np.bincount(doc_of * K + topics, minlength=corpus.n_docs * K).reshape(-1, K)
        theta = counts + self._alpha
        return theta / theta.sum(axis=1, keepdims=True)

    # -- inference ----------------------------------------------------------------------------
    def _fold_in(self, corpus: TokenCorpus, n_sweeps=None, seed=None):
        K = self.n_components
        sweeps = self.transform_max_iter if n_sweeps is None else n_sweeps
        burn = sweeps // 3
        seed = _seed_from(self.random_state) if seed is None else seed
        rng = np.random.default_rng(seed)
        topics = rng.integers(0, K, corpus.n_tokens, dtype=np.int32)
        doc_topic = np.zeros((corpus.n_docs, K), np.float32)
        _K.fold_in(corpus.doc_ptr, corpus.words, topics, 0, self.word_topic_, self.topic_totals_,
                   self._alpha, self._beta, seed, sweeps, burn, self._kernel_steps(), doc_topic,
                   resolve_n_jobs(self.n_jobs))
        kept = sweeps - burn
        return (doc_topic / kept).astype(np.float64)

    def transform(self, X):
        """Topic proportions of documents (n_docs x n_components) by fold-in Gibbs sampling
        against the learned topics (the model is not changed)."""
        self._check_fitted()
        corpus = self._corpus(X, reset=False)
        counts = self._fold_in(corpus)
        theta = counts + self._alpha
        return theta / theta.sum(axis=1, keepdims=True)

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
