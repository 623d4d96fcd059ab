"""``harpdaal als`` on small generated files (model, report, HR/NDCG), and on pinterest-20 when
the shared data sets are available."""
import gzip
import json

import numpy as np
import pytest

from harpdaal.__main__ import main
from harpdaal.cli.als import hit_ratio_ndcg, interactions_matrix
from harpdaal.datasets import load_ncf_negatives
from harpdaal.recommend import ImplicitALS


def write_files(tmp_path, n_users=80, n_items=60):
    """Two taste groups (even/odd items); each user's held-out item is of its own group."""
    rng = np.random.default_rng(0)
    train, negatives = [], []
    for u in range(n_users):
        own = np.arange(u % 2, n_items, 2)
        liked = rng.choice(own, 12, replace=False)
        held, liked = liked[0], liked[1:]
        train += [f"{u}\t{i}\t1\t0" for i in liked]
        other = np.arange(1 - u % 2, n_items, 2)
        negatives.append(f"({u},{held})\t" + "\t".join(str(i) for i in other[:20]))
    data = tmp_path / "train.rating.gz"
    with gzip.open(data, "wt") as fh:
        fh.write("\n".join(train) + "\n")
    neg = tmp_path / "test.negative"
    neg.write_text("\n".join(negatives) + "\n")
    return data, neg, len(train)


def test_cli_writes_model_and_report(tmp_path, capsys):
    data, neg, nnz = write_files(tmp_path)
    model, report = tmp_path / "m.npz", tmp_path / "rep.json"
    rc = main(["als", "--data", str(data), "--negatives", str(neg), "--factors", "8",
               "--iterations", "4", "--threads", "1", "--model", str(model), "--report",
               str(report), "--verbose"])
    assert rc == 0
    rep = json.loads(report.read_text())
    assert rep["nnz"] == nnz and rep["n_users"] == 80 and len(rep["history"]) == 4
    # chance: 10 of 21 candidates -> HR 0.48
    assert rep["hr@10"] > 0.75 and 0 < rep["ndcg@10"] <= rep["hr@10"]
    m = ImplicitALS.load(model)
    assert m.item_factors_.shape == (60, 8)
    out = capsys.readouterr()
    assert "HR@10" in out.out and "loss" in out.err


def test_readers_reject_bad_files(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("0 1 1\n-3 2 1\n")
    with pytest.raises(ValueError, match="ids"):
        interactions_matrix(bad)
    for text, match in [("(0,x)\t1\t2\n", "line 1"), ("(0,1)\t2\n(0,3)\t4\n", "twice"),
                        ("(0,1)\t-2\n", "ids must lie"),
                        ("(0,1)\t" + "9" * 30 + "\n", "ids must lie"), ("(-1,1)\t2\n", "ids must lie"), ("\n", "no test users")]:
        neg = tmp_path / "neg.txt"
        neg.write_text(text)
        with pytest.raises(ValueError, match=match):
            load_ncf_negatives(neg)
    neg = tmp_path / "ok.txt"
    neg.write_text("(3,7)\t1\t2\t9\n")
    item, negs = load_ncf_negatives(neg)[3]
    assert item == 7 and negs.tolist() == [1, 2, 9]


def test_hit_ratio_ndcg_by_hand():
    users = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    items = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [2.0, 0.0]], np.float32)
    # user 0: item 0 scores 1, negatives 1 (0) and 3 (2): rank 1 -> hit@2, ndcg 1/log2(3)
    # user 1: item 1 scores 1, negatives 0 (0), 2 (0.5): rank 0
    hr, ndcg = hit_ratio_ndcg(users, items, {0: (0, np.array([1, 3])), 1: (1, np.array([0, 2]))},
                              top=2)
    assert hr == 1.0 and ndcg == pytest.approx((1 / np.log2(3) + 1.0) / 2)
    hr, _ = hit_ratio_ndcg(users, items, {0: (0, np.array([1, 3]))}, top=1)
    assert hr == 0.0


@pytest.mark.data
def test_pinterest_quality(data_file):
    R = interactions_matrix(data_file("pinterest-20/pinterest-20.train.rating.gz"))
    negatives = load_ncf_negatives(data_file("pinterest-20/pinterest-20.test.negative.gz"))
    m = ImplicitALS(factors=16, regularization=0.01, iterations=4, random_state=0).fit(R)
    hr, ndcg = hit_ratio_ndcg(m.user_factors_, m.item_factors_, negatives)
    assert hr > 0.75 and ndcg > 0.45  # NCF reports ~0.86 / ~0.54 for its best models at k=64
