"""harpdaal.datasets readers on good files and bad ones: idx (MNIST) and ratings."""
from __future__ import annotations

import gzip

import numpy as np
import pytest

from harpdaal.datasets import load_idx, load_ratings


def idx_bytes(X: np.ndarray, code: int) -> bytes:
    header = bytes([0, 0, code, X.ndim]) + b"".join(n.to_bytes(4, "big") for n in X.shape)
    return header + X.astype(X.dtype.newbyteorder(">")).tobytes()


# ---- idx ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("dtype,code", [(np.uint8, 0x08), (np.int8, 0x09), (np.int16, 0x0B),
                                        (np.int32, 0x0C), (np.float32, 0x0D),
                                        (np.float64, 0x0E)])
def test_idx_round_trip(tmp_path, dtype, code, compress):
    X = (np.arange(2 * 3 * 4) * 7 % 100 - (0 if dtype == np.uint8 else 40)).astype(dtype)
    X = X.reshape(2, 3, 4)
    data = idx_bytes(X, code)
    p = tmp_path / "images-idx3-ubyte"
    p.write_bytes(gzip.compress(data) if compress else data)
    got = load_idx(p)
    assert got.dtype == np.dtype(dtype) and got.dtype.isnative and got.shape == (2, 3, 4)
    np.testing.assert_array_equal(got, X)
    got[0, 0, 0] = 1  # a writable array of its own


def test_idx_gzip_recognised_by_content_not_name(tmp_path):
    X = np.arange(6, dtype=np.uint8).reshape(3, 2)
    p = tmp_path / "labels.idx"  # no .gz suffix
    p.write_bytes(gzip.compress(idx_bytes(X, 0x08)))
    np.testing.assert_array_equal(load_idx(str(p)), X)


def test_idx_one_dimension(tmp_path):
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    p = tmp_path / "labels-idx1-ubyte"
    p.write_bytes(idx_bytes(labels, 0x08))
    np.testing.assert_array_equal(load_idx(p), labels)


GOOD = idx_bytes(np.arange(12, dtype=np.uint8).reshape(3, 4), 0x08)


@pytest.mark.parametrize("data,match", [
    (b"", "shorter than the 4-byte magic"),
    (b"\x00\x00\x08", "shorter than the 4-byte magic"),
    (b"PK\x03\x04" + GOOD[4:], "magic number starts with 0x504b"),
    (b"\x00\x00\x07\x02" + GOOD[4:], "type code 0x07"),
    (b"\x00\x00\x08\x00", "0 dimensions"),
    (GOOD[:9], "truncated idx header: 2 dimensions need 12 bytes"),
    (GOOD[:-1], r"truncated idx file: dimensions \(3, 4\) of uint8 need 12 bytes .* has 11"),
    (GOOD + b"\x00\x00", "2 bytes after the 12 bytes"),
    (b"\x00\x00\x08\x01\xff\xff\xff\xff", "truncated idx file"),
])
def test_idx_bad_files(tmp_path, data, match):
    p = tmp_path / "bad.idx"
    p.write_bytes(data)
    with pytest.raises(ValueError, match=match) as info:
        load_idx(p)
    assert str(p) in str(info.value)


def test_idx_truncated_gzip(tmp_path):
    p = tmp_path / "bad.idx.gz"
    p.write_bytes(gzip.compress(GOOD)[:-6])
    with pytest.raises(ValueError, match="not a readable gzip file"):
        load_idx(p)


def test_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_idx(tmp_path / "missing.idx")


@pytest.mark.data
def test_fashion_mnist_files(data_file):
    X = load_idx(data_file("fashion-mnist/train-images-idx3-ubyte.gz"))
    y = load_idx(data_file("fashion-mnist/train-labels-idx1-ubyte.gz"))
    assert X.shape == (60000, 28, 28) and X.dtype == np.uint8
    assert y.shape == (60000,) and set(np.unique(y)) == set(range(10))


# ---- ratings ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,text", [
    ("r.csv", "userId,movieId,rating,timestamp\n1,10,4.0,964982703\n2,10,3.5,964982224\n"),
    ("r.csv", "1,10,4.0\n2,10,3.5\n"),
    ("r.txt", "1 10 4.0\n2\t10   3.5 extra\n"),
])
def test_ratings_good_files(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    u, i, r = load_ratings(p)
    assert u.dtype == i.dtype == np.int64 and r.dtype == np.float64
    assert u.tolist() == [1, 2] and i.tolist() == [10, 10] and r.tolist() == [4.0, 3.5]


def test_ratings_gzip(tmp_path):
    p = tmp_path / "r.csv.gz"
    p.write_bytes(gzip.compress(b"u,i,r\n5,6,1.5\n"))
    u, i, r = load_ratings(str(p))
    assert (u.tolist(), i.tolist(), r.tolist()) == ([5], [6], [1.5])


@pytest.mark.parametrize("text,match", [
    ("", "empty file"),
    ("user,item,rating\n", "no ratings"),
    ("1,2.5,3\n", r"rating 1: ids must be integers"),
    ("1,2,3\n-1,2,3\n", r"rating 2: ids must be integers in \[0, 2\*\*63\)"),
    ("1,2,nan\n", "ratings must be finite"),
    ("1,2\n", "r.csv: invalid column index 2"),
    ("1,2,3\n1,2,x\n", "r.csv: could not convert"),
])
def test_ratings_bad_files(tmp_path, text, match):
    p = tmp_path / "r.csv"
    p.write_text(text)
    with pytest.raises(ValueError, match=match):
        load_ratings(p)


def test_ratings_corrupt_gzip(tmp_path):
    p = tmp_path / "r.csv.gz"
    p.write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(ValueError, match="not a readable gzip file"):
        load_ratings(p)


@pytest.mark.data
def test_movielens_small(data_file):
    u, i, r = load_ratings(data_file("ml-latest-small/ratings.csv"))
    assert u.size == i.size == r.size == 100836
    assert r.min() == 0.5 and r.max() == 5.0
