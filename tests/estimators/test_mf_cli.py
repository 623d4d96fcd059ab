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
               "--no-early-stopping", "--model", str(model), "--report", str(report),
               "--verbose"])
    assert rc == 0
    rep = json.loads(report.read_text())
    assert rep["n_train"] + rep["n_test"] == n and rep["epochs"] == 3
    assert np.isfinite(rep["test_rmse"]) and len(rep["history"]) == 3
    assert rep["reg_search"] is None and (rep["reg_user"], rep["reg_item"]) == (0.04, 0.05)
    assert rep["updates_per_second"] > 0
    # verbose shows the test RMSE per epoch: the last is the reported one
    assert rep["history"][-1]["val_rmse"] == pytest.approx(rep["test_rmse"], rel=1e-4)
    m = MatrixFactorization.load(model)
    assert m.item_factors_.shape[1] == 4
    out = capsys.readouterr()
    assert "test RMSE" in out.out and "epoch   3" in out.err


def test_cli_defaults_search_the_regularisation_on_the_training_ratings(tmp_path, capsys):
    """Without options the CLI runs the estimator's defaults: early stopping on a held-out part
    of the training ratings (never the test set), the regularisation searched, a refit."""
    from harpdaal.recommend._mf import REG_GRID

    data = tmp_path / "r.txt"
    write_ratings(data, csv=False)
    report = tmp_path / "rep.json"
    rc = main(["mf", "--data", str(data), "--factors", "4", "--threads", "1", "--verbose",
               "--model", str(tmp_path / "m.npz"), "--report", str(report)])
    assert rc == 0
    rep = json.loads(report.read_text())
    assert rep["early_stopping"] is True
    assert [s["reg_user"] for s in rep["reg_search"]] == list(REG_GRID["sgd"])
    assert rep["reg_user"] in REG_GRID["sgd"] and rep["reg_user"] == rep["reg_item"]
    chosen = min(rep["reg_search"], key=lambda s: s["val_rmse"])
    assert rep["epochs"] == chosen["best_epoch"] == len(rep["history"])
    assert all("val_rmse" not in h for h in rep["history"])  # the refit: no held-out part
    assert rep["updates_per_second"] is None  # several fits: no single-fit speed
    assert "fit on all the ratings" in capsys.readouterr().err


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
