"""Loaders for bag-of-words corpora: UCI (docword.*.txt[.gz] + vocab) and lda-c (Blei's format).

Both return a scipy.sparse CSR document-term count matrix (int64 counts, n_docs x n_words) that
``harpdaal.topic.LatentDirichletAllocation.fit`` takes directly.
"""
from __future__ import annotations

import gzip
import io
import os

import numpy as np
import scipy.sparse as sp


def _open_text(path):
    path = os.fspath(path)
    if path.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return open(path, encoding="utf-8")


def read_vocab(path) -> list[str]:
    """One word per line (UCI vocab.*.txt, lda-c vocabulary / reuters.tokens)."""
    with _open_text(path) as f:
        return [line.rstrip("\n").strip() for line in f if line.strip()]


def load_uci_docword(path, vocab_path=None, n_words: int | None = None):
    """UCI bag-of-words: header lines D, W, NNZ, then ``doc word count`` triples (1-based).

    Returns (X, vocab): X is CSR (D x W); vocab is a list of words or None. ``n_words`` overrides
    W (use the training vocabulary size for a test file)."""
    with _open_text(path) as f:
        try:
            D = int(f.readline())
            W = int(f.readline())
            nnz = int(f.readline())
        except ValueError:
            raise ValueError(f"{path}: not a UCI docword file (expected D, W, NNZ header lines)")
        for name, v in (("D", D), ("W", W), ("NNZ", nnz)):
            # int32 word ids; also keeps a corrupt header from asking for petabytes
            if not 0 <= v < 2**31:
                raise ValueError(f"{path}: header {name}={v} is outside [0, 2**31)")
        data = np.loadtxt(f, dtype=np.int64, ndmin=2) if nnz else np.zeros((0, 3), np.int64)
    if data.shape[1] != 3:
        raise ValueError(f"{path}: expected 'doc word count' triples")
    if len(data) != nnz:
        raise ValueError(f"{path}: header says {nnz} entries, found {len(data)}")
    W = W if n_words is None else n_words
    docs, words, counts = data[:, 0] - 1, data[:, 1] - 1, data[:, 2]
    if len(data) and (docs.min() < 0 or docs.max() >= D):
        raise ValueError(f"{path}: document ids outside [1, {D}]")
    if len(data) and (words.min() < 0 or words.max() >= W):
        raise ValueError(f"{path}: word ids outside [1, {W}]")
    if len(data) and counts.min() < 0:
        raise ValueError(f"{path}: negative counts")
    try:
        X = sp.csr_matrix((counts, (docs, words)), shape=(D, W), dtype=np.int64)
    except MemoryError:  # a header claiming billions of (empty) documents
        raise ValueError(f"{path}: header D={D} documents: too large to allocate") from None
    vocab = read_vocab(vocab_path) if vocab_path is not None else None
    return X, vocab


def load_ldac(path, vocab_path=None, n_words: int | None = None):
    """lda-c: one document per line, ``N id:count id:count ...`` (0-based word ids).

    Returns (X, vocab); the vocabulary size is len(vocab), else n_words, else max id + 1."""
    indptr, indices, counts = [0], [], []
    with _open_text(path) as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            n = int(parts[0])
            if n != len(parts) - 1:
                raise ValueError(f"{path}:{lineno}: says {n} terms, has {len(parts) - 1}")
            for p in parts[1:]:
                w, c = p.split(":")
                w, c = int(w), int(c)
                if w < 0 or c < 0:
                    raise ValueError(f"{path}:{lineno}: negative word id or count ({p})")
                if w >= 2**31 or c >= 2**63:
                    raise ValueError(f"{path}:{lineno}: word id {w} or count {c} out of range")
                indices.append(w)
                counts.append(c)
            indptr.append(len(indices))
    vocab = read_vocab(vocab_path) if vocab_path is not None else None
    indices = np.asarray(indices, np.int64)
    counts = np.asarray(counts, np.int64)
    W = len(vocab) if vocab is not None else (n_words if n_words is not None else
                                               (int(indices.max()) + 1 if len(indices) else 1))
    if len(indices) and (indices.min() < 0 or indices.max() >= W):
        raise ValueError(f"{path}: word ids outside [0, {W})")
    if len(counts) and counts.min() < 0:
        raise ValueError(f"{path}: negative counts")
    X = sp.csr_matrix((counts, indices, np.asarray(indptr, np.int64)), shape=(len(indptr) - 1, W))
    X.sum_duplicates()
    return X, vocab


def load_bow(path, vocab_path=None, n_words: int | None = None):
    """UCI docword or lda-c, chosen by the file's first line (one integer: UCI)."""
    with _open_text(path) as f:
        first = f.readline().split()
    if len(first) == 1:
        return load_uci_docword(path, vocab_path, n_words)
    return load_ldac(path, vocab_path, n_words)


def load_20news(data_dir, subset="train"):
    """(X, vocab) of 20 Newsgroups from a folder holding docword.{train,test}.txt.gz + vocab."""
    d = os.fspath(data_dir)
    return load_uci_docword(os.path.join(d, f"docword.{subset}.txt.gz"),
                            os.path.join(d, "vocab.txt.gz"))


def load_reuters(data_dir):
    """(X, vocab) of the lda package's Reuters sample (lda-c + tokens)."""
    d = os.fspath(data_dir)
    return load_ldac(os.path.join(d, "reuters.ldac"), os.path.join(d, "reuters.tokens"))
