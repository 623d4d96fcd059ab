"""Model files (harpdaal._persist): round trips, and every kind of bad file refused cleanly."""
import io
import json
import os
import zipfile

import numpy as np
import pytest
from sklearn.base import BaseEstimator

from harpdaal._persist import (FORMAT_VERSION, ModelFileError, PersistMixin, attribute, require,
                               save_model)


class Toy(PersistMixin, BaseEstimator):
    def __init__(self, n_rows=3, scale=1.0, name="toy"):
        self.n_rows = n_rows
        self.scale = scale
        self.name = name

    def fit(self):
        self.weights_ = np.arange(self.n_rows * 2, dtype=np.float32).reshape(self.n_rows, 2)
        self.ids_ = np.arange(self.n_rows, dtype=np.int64)[::-1].copy()
        self.n_iter_ = 4
        self.loss_ = 0.25
        return self

    def _model_arrays(self):
        return ({"weights": self.weights_, "ids": self.ids_},
                {"n_iter_": self.n_iter_, "loss_": self.loss_})

    @classmethod
    def _from_model(cls, est, header, arrays, where):
        est.weights_ = require(arrays, "weights", where, ndim=2, shape=(est.n_rows, 2))
        est.ids_ = require(arrays, "ids", where, kind="i", shape=(est.n_rows,), low=0,
                           high=est.n_rows)
        est.n_iter_ = attribute(header, "n_iter_", where, int, low=0)
        est.loss_ = attribute(header, "loss_", where, float)


def _saved(tmp_path, est=None):
    path = tmp_path / "toy.npz"
    (est or Toy(n_rows=5, scale=2.5).fit()).save(path)
    return path


def test_round_trip_path_and_file_object(tmp_path):
    est = Toy(n_rows=5, scale=2.5, name="x").fit()
    path = _saved(tmp_path, est)
    back = Toy.load(path)
    assert back.get_params() == est.get_params()
    assert np.array_equal(back.weights_, est.weights_) and back.weights_.dtype == np.float32
    assert np.array_equal(back.ids_, est.ids_) and back.n_iter_ == 4 and back.loss_ == 0.25
    buf = io.BytesIO()
    est.save(buf)
    buf.seek(0)
    again = Toy.load(buf)
    assert np.array_equal(again.weights_, est.weights_)
    with np.load(path, allow_pickle=False) as z:  # a plain npz for numpy too
        header = json.loads(z["header"].tobytes())
        assert z["weights"].dtype == np.float32
    assert header["format_version"] == FORMAT_VERSION and header["estimator"] == "Toy"
    assert header["harpdaal_version"] and header["params"]["scale"] == 2.5


def test_no_pickle_and_numeric_arrays_only(tmp_path):
    est = Toy().fit()
    with pytest.raises(TypeError, match="numeric arrays only"):
        save_model(est, tmp_path / "x.npz", arrays={"a": np.array(["s"], dtype=object)},
                   attributes={})
    with pytest.raises(TypeError, match="cannot be stored"):
        save_model(est, tmp_path / "x.npz", arrays={}, attributes={"f": object()})
    assert not (tmp_path / "x.npz").exists()


def _rewrite(path, header=None, arrays=None, drop=(), compress=False, extra=None):
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    if header is not None:
        members["header.npy"] = _npy(np.frombuffer(json.dumps(header).encode(), np.uint8))
    for name, a in (arrays or {}).items():
        buf = io.BytesIO()
        np.lib.format.write_array(buf, a, allow_pickle=True)
        members[name + ".npy"] = buf.getvalue()
    for n in drop:
        members.pop(n)
    members.update(extra or {})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as zf:
        for n, b in members.items():
            zf.writestr(n, b)


def _npy(a):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, a, allow_pickle=True)
    return buf.getvalue()


def _header(path):
    with np.load(path, allow_pickle=False) as z:
        return json.loads(z["header"].tobytes())


def _bad(tmp_path, match, **kw):
    path = _saved(tmp_path)
    _rewrite(path, **kw)
    with pytest.raises(ModelFileError, match=match):
        Toy.load(path)


def test_not_a_model_file(tmp_path):
    for content in (b"", b"hello", b"PK\x03\x04garbage"):
        p = tmp_path / "f.npz"
        p.write_bytes(content)
        with pytest.raises(ModelFileError, match="not a harpdaal model file"):
            Toy.load(p)
    with pytest.raises(ModelFileError, match="folder"):
        Toy.load(tmp_path)
    with pytest.raises(FileNotFoundError):
        Toy.load(tmp_path / "missing.npz")
    with pytest.raises(TypeError, match="path or a binary file"):
        Toy.load(3)


def test_truncated_file(tmp_path):
    path = _saved(tmp_path)
    data = path.read_bytes()
    for cut in (10, len(data) // 2, len(data) - 5):
        path.write_bytes(data[:cut])
        with pytest.raises(ModelFileError):
            Toy.load(path)


def test_flipped_bytes_never_escape_as_other_errors(tmp_path):
    path = _saved(tmp_path)
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(0)
    for _ in range(1000):
        bad = bytearray(data)
        for j in rng.integers(0, len(bad), 3):
            bad[j] = int(rng.integers(0, 256))
        path.write_bytes(bytes(bad))
        try:
            Toy.load(path)
        except ValueError:
            pass


def test_header_problems(tmp_path):
    path = _saved(tmp_path)
    h = _header(path)
    _bad(tmp_path, "format version 99", header={**h, "format_version": 99})
    _bad(tmp_path, "not a harpdaal model file", header={**h, "format": "other"})
    _bad(tmp_path, "'KMeans' model, not Toy", header={**h, "estimator": "KMeans"})
    _bad(tmp_path, "'params' missing", header={k: v for k, v in h.items() if k != "params"})
    _bad(tmp_path, "unknown Toy parameter", header={**h, "params": {**h["params"], "evil": 1}})
    _bad(tmp_path, "no header", drop=("header.npy",))
    _bad(tmp_path, "not JSON", extra={"header.npy": _npy(np.frombuffer(b"{nope", np.uint8))})
    _bad(tmp_path, "not a byte array", extra={"header.npy": _npy(np.zeros(3))})
    _bad(tmp_path, "malformed", header={**h, "arrays": {**h["arrays"], "ids": {"dtype": "<i8"}}})


def test_array_problems(tmp_path):
    path = _saved(tmp_path)
    h = _header(path)
    _bad(tmp_path, "numeric arrays only",
         header={**h, "arrays": {**h["arrays"], "ids": {"dtype": "|O", "shape": [5]}}},
         arrays={"ids": np.array([1, 2, 3, 4, 5], dtype=object)})
    _bad(tmp_path, "missing", drop=("ids.npy",))
    _bad(tmp_path, "undeclared", extra={"evil.npy": b"x"})
    _bad(tmp_path, "compressed", compress=True)
    # a header that claims a huge array: refused before anything is allocated
    _bad(tmp_path, "needs", header={**h, "arrays": {**h["arrays"],
                                                    "ids": {"dtype": "<i8", "shape": [10**12]}}})
    _bad(tmp_path, "declares", header={**h, "arrays": {**h["arrays"],
                                                       "ids": {"dtype": "<f8", "shape": [5]}}})


def test_meaning_checked_by_the_estimator(tmp_path):
    _bad(tmp_path, "NaN", arrays={"weights": np.full((5, 2), np.nan, np.float32)})
    _bad(tmp_path, "out of range", arrays={"ids": np.array([0, 1, 2, 3, 9], np.int64)})
    _bad(tmp_path, "declares", arrays={"weights": np.zeros((4, 2), np.float32)})
    path = _saved(tmp_path)
    h = _header(path)
    _bad(tmp_path, "has shape \\[4, 2\\], expected \\[5, 2\\]",
         arrays={"weights": np.zeros((4, 2), np.float32)},
         header={**h, "arrays": {**h["arrays"], "weights": {"dtype": "<f4", "shape": [4, 2]}}})
    _bad(tmp_path, "n_iter_", header={**h, "attributes": {**h["attributes"], "n_iter_": -1}})


def test_save_is_atomic(tmp_path, monkeypatch):
    path = _saved(tmp_path)
    before = path.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(np.lib.format, "write_array", boom)
    with pytest.raises(OSError, match="disk full"):
        Toy(n_rows=5).fit().save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["toy.npz"]
