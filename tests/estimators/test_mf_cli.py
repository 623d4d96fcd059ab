"""``harpdaal mf`` on small generated files: text and CSV input, model and report written."""
import json

import numpy as np
import pytest

from harpdaal.__main__ import main
from harpdaal.recommend import MatrixFactorization


def write_ratings(path, csv):
    rng = np.random.default_rng(0)
    u, i = np.nonzero(rng.random((60, 40)) < 0.3)
    r = np.round(rng.uniform(-10, 10, u.size), 2)  # Jester-like, negative ratings
    with open(path, "w") as fh:
        if csv:
            fh.write("userId,movieId,rating,timestamp\n")
            for a, b, c in zip(u, i, r):
                fh.write(f"{a + 1},{b * 10},{c},123\n")
        else:
            for a, b, c in zip(u, i, r):
                fh.write(f"{a} {b} {c}\n")
    return u.size


@pytest.mark.parametrize("csv", [False, True])
def test_cli_writes_model_and_report(tmp_path, csv, capsys):
    data = tmp_path / ("r.csv" if csv else "r.txt")
    n = write_ratings(data, csv)
    model, report = tmp_path / "m.npz", tmp_path / "rep.json"
    rc = main(["mf", "--data", str(data), "--factors", "4", "--epochs", "3", "--threads", "1",
               "--model", str(model), "--report", str(report), "--verbose"])
    assert rc == 0
    rep = json.loads(report.read_text())
    assert rep["n_train"] + rep["n_test"] == n and rep["epochs"] == 3
    assert np.isfinite(rep["test_rmse"]) and len(rep["history"]) == 3
    m = MatrixFactorization.load(model)
    assert m.item_factors_.shape[1] == 4
    out = capsys.readouterr()
    assert "test RMSE" in out.out and "epoch   3" in out.err


def test_cli_rejects_missing_file(tmp_path):
    with pytest.raises(OSError):
        main(["mf", "--data", str(tmp_path / "nope.txt")])


def test_cli_passes_rotation_options(tmp_path):
    data = tmp_path / "r.txt"
    write_ratings(data, csv=False)
    report = tmp_path / "rep.json"
    rc = main(["mf", "--data", str(data), "--factors", "4", "--epochs", "2", "--threads", "1",
               "--slices-per-rank", "3", "--model", str(tmp_path / "m.npz"),
               "--report", str(report)])
    assert rc == 0
    rep = json.loads(report.read_text())
    assert rep["slices_per_rank"] == 3 and rep["rotation_timer"] is None


def test_cli_rejects_bad_rotation_timer(tmp_path):
    data = tmp_path / "r.txt"
    write_ratings(data, csv=False)
    with pytest.raises(ValueError, match="rotation_timer"):
        main(["mf", "--data", str(data), "--factors", "4", "--epochs", "1",
              "--rotation-timer", "1.5", "--model", str(tmp_path / "m.npz"),
              "--report", str(tmp_path / "rep.json")])
