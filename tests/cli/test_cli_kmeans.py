"""``harpdaal kmeans`` end to end on small files in every format."""
import gzip
import json

import numpy as np
import pytest

from harpdaal.__main__ import main
from harpdaal.cluster import KMeans


def blobs():
    rng = np.random.default_rng(0)
    return rng.uniform(-9, 9, (3, 4))[rng.integers(0, 3, 300)] + rng.standard_normal((300, 4))


@pytest.mark.parametrize("fmt", ["csv", "npy", "idx"])
def test_kmeans_command_writes_model_and_report(tmp_path, fmt, capsys):
    X = blobs()
    if fmt == "csv":
        path = tmp_path / "x.csv"
        np.savetxt(path, X, delimiter=",")
    elif fmt == "npy":
        path = tmp_path / "x.npy"
        np.save(path, X)
    else:
        X = np.clip(X * 10 + 128, 0, 255).astype(np.uint8)
        path = tmp_path / "x-idx2-ubyte.gz"
        header = bytes([0, 0, 0x08, 2]) + (300).to_bytes(4, "big") + (4).to_bytes(4, "big")
        with gzip.open(path, "wb") as f:
            f.write(header + X.tobytes())
    out = tmp_path / "model.npz"
    rc = main(["kmeans", "--data", str(path), "--n-clusters", "3", "--random-state", "0",
               "--dtype", "float64", "--out", str(out), "--verbose"])
    assert rc == 0
    assert "Iteration 0" in capsys.readouterr().out
    model = KMeans.load(out)
    ref = KMeans(3, random_state=0).fit(X.astype(np.float64))
    np.testing.assert_allclose(model.cluster_centers_, ref.cluster_centers_, rtol=1e-9)
    np.testing.assert_array_equal(model.predict(X.astype(np.float64)),
                                  ref.predict(X.astype(np.float64)))
    report = json.loads((tmp_path / "model.json").read_text())
    assert report["n_samples"] == 300 and report["n_features"] == 4
    assert report["inertia"] == pytest.approx(ref.inertia_)


def test_kmeans_command_bad_file(tmp_path, capsys):
    assert main(["kmeans", "--data", str(tmp_path / "missing.csv")]) == 2
    assert "no such file" in capsys.readouterr().err
