"""Documents as token arrays: the input form of the LDA sampler.

A corpus is held as compact arrays: ``doc_ptr`` (int64, CSR offsets), ``words`` (int32 word id
per token, sorted within each document). :func:`as_token_corpus` builds one from a
document-term count matrix or from lists of token ids.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp


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
