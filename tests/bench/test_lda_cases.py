"""harpdaal.bench.cases.lda: the real-corpus cases and the short-document cutter."""
from __future__ import annotations

import gzip

import numpy as np
import pytest
import scipy.sparse as sp

from harpdaal.bench.cases import lda as C


def _rows(n_docs=40, n_words=30, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(n_docs, n_words, density=0.5, random_state=seed, format="csr")
    X.data = rng.integers(1, 6, X.data.size).astype(np.int64)
    return X


def test_short_documents_are_cut_from_their_rows():
    X = _rows()
    S = C.short_documents(X, np.random.default_rng(3), lo=5, hi=8)
    lengths = np.asarray(S.sum(axis=1)).ravel()
    assert S.shape[1] == X.shape[1] and S.shape[0] > X.shape[0]
    assert lengths.min() >= 5 and lengths.max() <= 8
    # pieces come from the rows in order: each row's pieces add up to at most the row
    src = np.asarray(X.sum(axis=1)).ravel()
    assert lengths.sum() <= src.sum() and lengths.sum() > src.sum() - 5 * X.shape[0]
    assert (S.toarray().sum(axis=0) <= X.toarray().sum(axis=0)).all()
    again = C.short_documents(X, np.random.default_rng(3), lo=5, hi=8)
    assert (S != again).nnz == 0
    assert C.short_documents(X, np.random.default_rng(3), lo=5, hi=8, limit=7).shape[0] == 7


def test_short_documents_drop_rows_shorter_than_lo():
    X = sp.csr_matrix(np.array([[1, 1, 0], [5, 5, 5]], np.int64))
    S = C.short_documents(X, np.random.default_rng(0), lo=4, hi=4)
    assert S.shape[0] == 3 and (np.asarray(S.sum(axis=1)).ravel() == 4).all()


def _write_docword(path, X):
    X = X.tocoo()
    with gzip.open(path, "wt") as f:
        f.write(f"{X.shape[0]}\n{X.shape[1]}\n{X.nnz}\n")
        for d, w, c in zip(X.row, X.col, X.data):
            f.write(f"{d + 1} {w + 1} {c}\n")


def test_real_corpus_cases_from_a_data_folder(tmp_path):
    assert [c["name"] for c in C.cases("small", None)] == ["lda-synth-k100", "lda-synth-k1000"]
    (tmp_path / "20news").mkdir()
    (tmp_path / "kos").mkdir()
    X = _rows(n_docs=30, n_words=25, seed=1)
    X.data *= 20   # rows long enough to cut into 30-40-token pieces
    _write_docword(tmp_path / "20news" / "docword.train.txt.gz", X)
    _write_docword(tmp_path / "kos" / "docword.kos.txt.gz", _rows(seed=2))
    cases = {c["name"]: c for c in C.cases("small", str(tmp_path))}
    assert set(cases) >= {"lda-20news-k100", "lda-20news-k1000", "lda-20news-short-k100",
                          "lda-kos-k100"}
    short = C.load_corpus(cases["lda-20news-short-k100"]["params"])
    lengths = np.asarray(short.sum(axis=1)).ravel()
    assert lengths.min() >= 30 and lengths.max() <= 40
    kos = C.load_corpus(cases["lda-kos-k100"]["params"])
    assert kos.shape == (40, 30) and int(kos.sum()) == int(_rows(seed=2).sum())
    with pytest.raises(ValueError, match="size must be one of"):
        C.cases("huge", str(tmp_path))
