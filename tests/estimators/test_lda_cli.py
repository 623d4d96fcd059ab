"""``harpdaal lda`` on small corpus files (lda-c and UCI docword)."""
import gzip
import json

import numpy as np
import pytest

from harpdaal.__main__ import main
from harpdaal.datasets import load_bow
from harpdaal.datasets.synthetic_lda import make_lda_corpus


@pytest.fixture
def corpus_files(tmp_path):
    X, _ = make_lda_corpus(120, 60, 4, 30, 0.1, 0.05, seed=1)
    ldac = tmp_path / "c.ldac"
    with open(ldac, "w") as f:
        for d in range(X.shape[0]):
            row = X[d]
            f.write(f"{row.nnz} " + " ".join(f"{w}:{c}" for w, c in zip(row.indices, row.data))
                    + "\n")
    uci = tmp_path / "docword.c.txt.gz"
    coo = X.tocoo()
    with gzip.open(uci, "wt") as f:
        f.write(f"{X.shape[0]}\n{X.shape[1]}\n{coo.nnz}\n")
        for d, w, c in zip(coo.row, coo.col, coo.data):
            f.write(f"{d + 1} {w + 1} {c}\n")
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("".join(f"w{i}\n" for i in range(60)))
    return X, ldac, uci, vocab


def test_loaders_agree(corpus_files):
    X, ldac, uci, vocab = corpus_files
    A, v = load_bow(ldac, vocab)
    B, _ = load_bow(uci)
    assert v[:2] == ["w0", "w1"]
    np.testing.assert_array_equal(A.toarray(), X.toarray())
    np.testing.assert_array_equal(B.toarray(), X.toarray())


def test_cli_fits_and_writes_model_and_report(corpus_files, tmp_path, capsys):
    X, ldac, uci, vocab = corpus_files
    out = tmp_path / "m.npz"
    rc = main(["lda", "--data", str(uci), "--vocab", str(vocab), "-k", "4", "--max-iter", "15",
               "--evaluate-every", "5", "--verbose", "--out", str(out), "--test", str(ldac),
               "--n-jobs", "2"])
    assert rc == 0
    err = capsys.readouterr().err
    assert "iteration 5/15: log-likelihood per token" in err
    model = np.load(out)
    assert model["word_topic"].shape == (60, 4) and model["word_topic"].sum() == X.sum()
    report = json.loads((tmp_path / "m.json").read_text())
    assert report["n_tokens"] == X.sum() and report["ranks"] == 1
    assert report["loglik_per_token"] == report["loglik_history"][-1][1]
    assert report["heldout_perplexity"] > 1 and report["top_words"][0][0].startswith("w")


def test_cli_bad_input(tmp_path, capsys):
    assert main(["lda", "--data", str(tmp_path / "missing.txt")]) == 2
    bad = tmp_path / "bad.ldac"
    bad.write_text("2 0:1 1:-3\n")
    assert main(["lda", "--data", str(bad), "-k", "2", "--out", str(tmp_path / "x.npz")]) == 2
    assert "negative" in capsys.readouterr().err
    ok = tmp_path / "ok.ldac"
    ok.write_text("2 0:1 1:3\n")
    assert main(["lda", "--data", str(ok), "-k", "0", "--out", str(tmp_path / "x.npz")]) == 2


def test_cli_step_fraction(corpus_files, tmp_path, capsys):
    X, ldac, uci, vocab = corpus_files
    out = tmp_path / "t.npz"
    rc = main(["lda", "--data", str(ldac), "-k", "4", "--max-iter", "4", "--n-jobs", "1",
               "--step-fraction", "0.5", "--out", str(out)])
    assert rc == 0
    report = json.loads((tmp_path / "t.json").read_text())
    assert report["step_fraction"] == 0.5
    assert [h["iteration"] for h in report["step_history"]] == [1, 2, 3, 4]
    assert np.load(out)["word_topic"].sum() == X.sum()
    assert main(["lda", "--data", str(ldac), "-k", "4", "--step-fraction", "50",
                 "--out", str(out)]) == 2
    assert "did you mean 0.5" in capsys.readouterr().err
