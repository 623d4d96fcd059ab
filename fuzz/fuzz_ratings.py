"""Fuzz target: the MF rating reader (text / CSV) of `harpdaal mf`, then a one-epoch fit on
what it accepted (ids and ratings from a file must be validated before they reach a kernel)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness  # noqa: E402

import harpdaal.cli.mf as _mf  # noqa: E402
import harpdaal.recommend._ratings as _ratings  # noqa: E402
from harpdaal.recommend import MatrixFactorization  # noqa: E402

_harness.instrument(_mf, _ratings)
PATH = _harness.input_path(".csv")


def test_one_input(data: bytes):
    loaded = _harness.load(PATH, data, _mf.read_ratings)
    if loaded is None:
        return
    users, items, ratings = loaded
    assert users.shape == items.shape == ratings.shape and users.size >= 1
    if users.size > 5000:
        return
    try:
        MatrixFactorization(n_factors=2, n_epochs=1, grid=2, n_jobs=1, random_state=0,
                            duplicates="mean").fit((users, items, ratings))
    except _harness.CLEAN:
        pass


if __name__ == "__main__":
    _harness.run(test_one_input)
