"""Streaming input and output for the serving commands (predict, transform, recommend).

Inputs are read a chunk at a time, so memory is bounded by the chunk size and the output, never
by the input: ``.npy`` files through a memory map, CSV a block of lines at a time, bag-of-words
corpora a block of documents at a time. Outputs go to ``.npy`` (written in place through a
memory map of the final file, its row count known before the first chunk) or ``.csv``
(appended chunk by chunk).
"""
from __future__ import annotations

import gzip
import os
import sys
import warnings

import numpy as np
import scipy.sparse as sp

from ..datasets import load_idx


def progress(total: int, desc: str, show: bool | None):
    """A tqdm bar on stderr (``show`` None: only when stderr is a terminal)."""
    from tqdm.auto import tqdm

    if show is None:
        show = sys.stderr.isatty()
    return tqdm(total=total, desc=desc, unit="rows", disable=not show, file=sys.stderr)


def _open_text(path):
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rt") if gz else open(path)


def _format(path: str, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    name = path.lower()
    if name.endswith(".npy"):
        return "npy"
    if ".idx" in name or name.endswith(("-ubyte", "-ubyte.gz")):
        return "idx"
    if name.endswith((".csv", ".csv.gz", ".txt", ".txt.gz")):
        return "csv"
    raise ValueError(f"cannot tell the format of {path}; pass --format")


def _count_rows(path) -> int:
    n = 0
    with _open_text(path) as f:
        for line in f:
            n += bool(line.strip())
    return n


def row_chunks(path: str, fmt: str, chunk_rows: int):
    """(n_rows, n_columns, iterator over 2-d float chunks) of a csv / npy / idx table."""
    if not os.path.isfile(path):
        raise ValueError(f"--data: no such file: {path}")
    fmt = _format(path, fmt)
    if fmt == "npy":
        try:
            X = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise ValueError(f"--data: {path}: not a readable .npy file ({exc})") from exc
        if X.ndim == 1:
            X = X[:, None]
        if X.ndim != 2:
            raise ValueError(f"--data: expected a 2-d table, got shape {X.shape}")
        return X.shape[0], X.shape[1], (np.asarray(X[i:i + chunk_rows])
                                        for i in range(0, X.shape[0], chunk_rows))
    if fmt == "idx":
        X = load_idx(path)
        X = X.reshape(len(X), -1)
        return X.shape[0], X.shape[1], (X[i:i + chunk_rows] for i in range(0, len(X), chunk_rows))
    n = _count_rows(path)
    if n == 0:
        raise ValueError(f"--data: {path} holds no rows")
    with _open_text(path) as f:
        first = np.loadtxt([f.readline()], delimiter=",", ndmin=2)
    d = first.shape[1]

    def chunks():
        with _open_text(path) as f, warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the empty read at the end
            done = 0
            while done < n:
                try:
                    block = np.loadtxt(f, delimiter=",", ndmin=2, max_rows=chunk_rows)
                except ValueError as exc:
                    raise ValueError(f"--data: {path}: {exc}") from exc
                if block.shape[0] == 0:
                    break
                if block.shape[1] != d:
                    raise ValueError(f"--data: {path}: rows of {block.shape[1]} and {d} columns")
                done += block.shape[0]
                yield block

    return n, d, chunks()


def bow_chunks(path: str, n_words: int, chunk_docs: int):
    """(n_docs, iterator over CSR chunks of documents) of a UCI docword or lda-c corpus, read a
    block of documents at a time. UCI files must list documents in increasing order (as UCI's
    do); lda-c is one document per line."""
    if not os.path.isfile(path):
        raise ValueError(f"--data: no such file: {path}")
    with _open_text(path) as f:
        first = f.readline().split()
    if len(first) == 1:
        return _uci_chunks(path, n_words, chunk_docs)
    return _ldac_chunks(path, n_words, chunk_docs)


def _csr(docs, n_words, path):
    indptr, indices, data = [0], [], []
    for words, counts in docs:
        indices.extend(words)
        data.extend(counts)
        indptr.append(len(indices))
    idx = np.asarray(indices, np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= n_words):
        raise ValueError(f"--data: {path}: word id {int(idx.max()) if idx.max() >= n_words else int(idx.min())} "
                         f"outside the model's vocabulary of {n_words} words")
    return sp.csr_matrix((np.asarray(data, np.int64), idx, np.asarray(indptr, np.int64)),
                         shape=(len(docs), n_words))


def _ldac_chunks(path, n_words, chunk_docs):
    n = _count_rows(path)

    def chunks():
        docs = []
        with _open_text(path) as f:
            for lineno, line in enumerate(f, 1):
                parts = line.split()
                if not parts:
                    continue
                try:
                    pairs = [p.split(":") for p in parts[1:]]
                    words = [int(w) for w, _ in pairs]
                    counts = [int(c) for _, c in pairs]
                except ValueError as exc:
                    raise ValueError(f"--data: {path}:{lineno}: not an lda-c line") from exc
                if int(parts[0]) != len(pairs) or any(c < 0 for c in counts):
                    raise ValueError(f"--data: {path}:{lineno}: not an lda-c line")
                docs.append((words, counts))
                if len(docs) == chunk_docs:
                    yield _csr(docs, n_words, path)
                    docs = []
        if docs:
            yield _csr(docs, n_words, path)

    return n, chunks()


def _uci_chunks(path, n_words, chunk_docs):
    with _open_text(path) as f:
        try:
            D, W, _ = (int(f.readline()) for _ in range(3))
        except ValueError as exc:
            raise ValueError(f"--data: {path}: not a UCI docword file") from exc
    if W > n_words:
        raise ValueError(f"--data: {path}: a vocabulary of {W} words, the model has {n_words}")

    def chunks():
        docs = [([], []) for _ in range(min(chunk_docs, D))]
        base, last = 0, 0
        with _open_text(path) as f:
            for _ in range(3):
                f.readline()
            for lineno, line in enumerate(f, 4):
                parts = line.split()
                if not parts:
                    continue
                try:
                    d, w, c = (int(x) for x in parts)
                except ValueError as exc:
                    raise ValueError(f"--data: {path}:{lineno}: expected 'doc word count'") \
                        from exc
                if not (1 <= d <= D and 1 <= w <= W and c >= 0) or d < last:
                    raise ValueError(f"--data: {path}:{lineno}: ids out of range or documents "
                                     "out of order")
                last = d
                while d - 1 >= base + len(docs):
                    yield _csr(docs, n_words, path)
                    base += len(docs)
                    docs = [([], []) for _ in range(min(chunk_docs, D - base))]
                docs[d - 1 - base][0].append(w - 1)
                docs[d - 1 - base][1].append(c)
        while base < D:
            yield _csr(docs, n_words, path)
            base += len(docs)
            docs = [([], []) for _ in range(min(chunk_docs, D - base))]

    return D, chunks()


class Output:
    """Rows written chunk by chunk to .npy (n_rows known up front) or .csv."""

    def __init__(self, path: str, n_rows: int, n_cols: int | None, dtype, fmt: str = "%.9g"):
        self.path, self.done = path, 0
        shape = (n_rows,) if n_cols is None else (n_rows, n_cols)
        if path.lower().endswith(".npy"):
            self.npy = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
            self.csv = None
        elif path.lower().endswith(".csv"):
            self.npy = None
            self.csv = open(path, "w")
            self.fmt = "%d" if np.dtype(dtype).kind in "iu" else fmt
        else:
            raise ValueError(f"--out: {path}: write .npy or .csv")

    def write(self, block: np.ndarray) -> None:
        if self.npy is not None:
            self.npy[self.done:self.done + len(block)] = block
        else:
            np.savetxt(self.csv, block.reshape(len(block), -1), fmt=self.fmt, delimiter=",")
        self.done += len(block)

    def close(self) -> None:
        if self.npy is not None:
            self.npy.flush()
            del self.npy
            self.npy = None
        elif self.csv is not None:
            self.csv.close()
            self.csv = None
