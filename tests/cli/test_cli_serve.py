"""``harpdaal transform`` and ``harpdaal recommend`` from saved models: streamed output equals
the in-process result; bad files and ids are refused with a message, never a traceback."""
import numpy as np
import pytest

from harpdaal.__main__ import main
from harpdaal.datasets.synthetic_lda import make_lda_corpus
from harpdaal.recommend import MatrixFactorization
from harpdaal.topic import LatentDirichletAllocation


@pytest.fixture(scope="module")
def lda_model(tmp_path_factory):
    X, _ = make_lda_corpus(150, 90, 4, 30, seed=2)
    m = LatentDirichletAllocation(5, max_iter=6, random_state=4, n_jobs=1).fit(X)
    path = tmp_path_factory.mktemp("m") / "lda.npz"
    m.save(path)
    return X, m, path


def _uci(path, X):
    c = X.tocoo()
    order = np.lexsort((c.col, c.row))
    with open(path, "w") as f:
        f.write(f"{X.shape[0]}\n{X.shape[1]}\n{X.nnz}\n")
        for r, w, v in zip(c.row[order], c.col[order], c.data[order]):
            f.write(f"{r + 1} {w + 1} {v}\n")


def _ldac(path, X):
    with open(path, "w") as f:
        for d in range(X.shape[0]):
            row = X[d]
            f.write(f"{row.nnz} " + " ".join(f"{w}:{v}" for w, v in zip(row.indices, row.data))
                    + "\n")


@pytest.mark.parametrize("fmt,out,chunk", [("uci", "npy", 7), ("uci", "csv", 1000),
                                           ("ldac", "npy", 16)])
def test_transform_streams_the_same_rows_as_transform(tmp_path, lda_model, fmt, out, chunk):
    X, m, model = lda_model
    data = tmp_path / "corpus.txt"
    (_uci if fmt == "uci" else _ldac)(data, X)
    dest = tmp_path / f"theta.{out}"
    rc = main(["transform", "--model", str(model), "--data", str(data), "--out", str(dest),
               "--chunk-docs", str(chunk), "--n-jobs", "1", "--no-progress"])
    assert rc == 0
    got = np.load(dest) if out == "npy" else np.loadtxt(dest, delimiter=",")
    m.set_params(n_jobs=1)
    want = m.transform(X)
    if out == "npy":
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-8)


@pytest.mark.parametrize("sampler", ["exact", "mh"])
def test_transform_sampler_option(tmp_path, lda_model, sampler):
    X, m, model = lda_model
    data = tmp_path / "corpus.txt"
    _uci(data, X)
    dest = tmp_path / "theta.npy"
    assert main(["transform", "--model", str(model), "--data", str(data), "--out", str(dest),
                 "--sampler", sampler, "--n-jobs", "1", "--no-progress"]) == 0
    m.set_params(n_jobs=1, transform_sampler=sampler)
    try:
        np.testing.assert_array_equal(np.load(dest), m.transform(X))
    finally:
        m.set_params(transform_sampler="mh")


def test_transform_refuses_bad_input(tmp_path, lda_model, capsys):
    X, m, model = lda_model
    data = tmp_path / "c.txt"
    data.write_text(f"1\n{X.shape[1] + 5}\n1\n1 {X.shape[1] + 3} 2\n")
    assert main(["transform", "--model", str(model), "--data", str(data),
                 "--out", str(tmp_path / "t.npy")]) == 2
    assert "vocabulary" in capsys.readouterr().err
    data.write_text("2\n10\n2\n2 1 1\n1 3 1\n")
    assert main(["transform", "--model", str(model), "--data", str(data),
                 "--out", str(tmp_path / "t.npy")]) == 2
    assert "out of order" in capsys.readouterr().err
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a model")
    assert main(["transform", "--model", str(bad), "--data", str(data),
                 "--out", str(tmp_path / "t.npy")]) == 2
    assert "not a harpdaal model file" in capsys.readouterr().err
    assert main(["transform", "--model", str(model), "--data", str(data),
                 "--out", str(tmp_path / "t.txt")]) == 2
    assert ".npy or .csv" in capsys.readouterr().err


@pytest.fixture(scope="module")
def mf_model(tmp_path_factory):
    rng = np.random.default_rng(1)
    keys = np.unique(rng.integers(0, 60 * 25, 700))
    u, i = keys // 25, keys % 25 + 1000
    m = MatrixFactorization(n_factors=4, n_epochs=4, random_state=0, n_jobs=1,
                            early_stopping=False).fit((u, i, rng.random(u.size) * 4 + 1))
    path = tmp_path_factory.mktemp("m") / "mf.npz"
    m.save(path)
    return m, path


def test_recommend_matches_the_estimator(tmp_path, mf_model):
    m, model = mf_model
    users = np.array([0, 5, 17, 12345])  # the last was never seen: popularity by bias
    np.savetxt(tmp_path / "users.txt", users, fmt="%d")
    blocked = m.recommend(5, n=2)[0]
    np.save(tmp_path / "blocked.npy", blocked)
    dest, scores = tmp_path / "rec.npy", tmp_path / "scores.csv"
    rc = main(["recommend", "--model", str(model), "--users", str(tmp_path / "users.txt"),
               "-n", "4", "--filter-items", str(tmp_path / "blocked.npy"), "--out", str(dest),
               "--scores-out", str(scores), "--chunk-users", "3"])
    assert rc == 0
    ids = np.load(dest)
    got_scores = np.loadtxt(scores, delimiter=",")
    assert ids.shape == (4, 4) and got_scores.shape == (4, 4)
    for row, u in enumerate(users):
        want_ids, want = m.recommend(int(u), n=20)
        keep = ~np.isin(want_ids, blocked)
        np.testing.assert_array_equal(ids[row], want_ids[keep][:4])
        np.testing.assert_allclose(got_scores[row], want[keep][:4], rtol=1e-8)
    assert not np.isin(ids, blocked).any()
    rc = main(["recommend", "--model", str(model), "--user", "0", "-n", "30", "--include-seen",
               "--out", str(tmp_path / "all.csv")])
    assert rc == 0
    row = np.loadtxt(tmp_path / "all.csv", delimiter=",", dtype=np.int64)
    assert row.shape == (30,) and (row[:25] >= 1000).all() and (row[25:] == -1).all()


def test_recommend_refuses_bad_input(tmp_path, mf_model, lda_model, capsys):
    m, model = mf_model
    (tmp_path / "u.txt").write_text("1\nx\n")
    assert main(["recommend", "--model", str(model), "--users", str(tmp_path / "u.txt"),
                 "--out", str(tmp_path / "r.npy")]) == 2
    assert "one integer id per line" in capsys.readouterr().err
    assert main(["recommend", "--model", str(lda_model[2]), "--user", "1",
                 "--out", str(tmp_path / "r.npy")]) == 2
    assert "not a recommender" in capsys.readouterr().err
    assert main(["recommend", "--model", str(model), "--user", "1", "-n", "0",
                 "--out", str(tmp_path / "r.npy")]) == 2
    assert "-n must be" in capsys.readouterr().err


@pytest.mark.parametrize("fmt,output,out", [("npy", "labels", "npy"), ("csv", "distances", "csv"),
                                            ("npy", "distances", "npy")])
def test_predict_streams_the_same_rows_as_predict(tmp_path, fmt, output, out):
    from harpdaal.cluster import KMeans

    rng = np.random.default_rng(3)
    X = (rng.uniform(-5, 5, (4, 6))[rng.integers(0, 4, 1000)]
         + rng.standard_normal((1000, 6))).astype(np.float32)
    km = KMeans(4, random_state=0, n_jobs=1).fit(X)
    model = tmp_path / "km.npz"
    km.save(model)
    data = tmp_path / f"x.{fmt}"
    if fmt == "npy":
        np.save(data, X)
    else:
        np.savetxt(data, X, delimiter=",", fmt="%.9g")
    dest = tmp_path / f"out.{out}"
    rc = main(["predict", "--model", str(model), "--data", str(data), "--out", str(dest),
               "--output", output, "--chunk-rows", "77", "--no-progress"])
    assert rc == 0
    got = np.load(dest) if out == "npy" else np.loadtxt(dest, delimiter=",")
    want = km.predict(X) if output == "labels" else km.transform(X)
    if out == "npy":
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_predict_refuses_mismatched_data(tmp_path, capsys):
    from harpdaal.cluster import KMeans

    X = np.random.default_rng(0).random((50, 3))
    model = tmp_path / "km.npz"
    KMeans(2, random_state=0, n_jobs=1).fit(X).save(model)
    np.save(tmp_path / "x.npy", np.zeros((5, 4)))
    assert main(["predict", "--model", str(model), "--data", str(tmp_path / "x.npy"),
                 "--out", str(tmp_path / "l.npy")]) == 2
    assert "4 columns, the model 3" in capsys.readouterr().err


def test_recommend_from_an_als_model(tmp_path, capsys):
    import scipy.sparse as sp

    from harpdaal.recommend import ImplicitALS

    rng = np.random.default_rng(5)
    rows, cols = rng.integers(0, 40, 400), rng.integers(0, 30, 400)
    R = sp.csr_matrix((np.ones(400, np.float32), (rows, cols)), shape=(40, 30))
    R.sum_duplicates()
    als = ImplicitALS(factors=4, iterations=3, random_state=0, n_jobs=1).fit(R)
    model = tmp_path / "als.npz"
    als.save(model)
    c = R.tocoo()
    np.savetxt(tmp_path / "inter.txt", np.c_[c.row, c.col, c.data], fmt="%d")
    dest = tmp_path / "rec.npy"
    rc = main(["recommend", "--model", str(model), "--user", "0", "3", "7", "-n", "5",
               "--interactions", str(tmp_path / "inter.txt"), "--out", str(dest)])
    assert rc == 0
    want, _ = als.recommend(np.array([0, 3, 7]), R[[0, 3, 7]], N=5)
    np.testing.assert_array_equal(np.load(dest), want)
    assert main(["recommend", "--model", str(model), "--user", "0", "--out", str(dest)]) == 2
    assert "--interactions" in capsys.readouterr().err
    assert main(["recommend", "--model", str(model), "--user", "99", "--include-seen",
                 "--out", str(dest)]) == 2
    assert "not a user of the model" in capsys.readouterr().err
