"""Fuzz target: the rating reader (text / CSV; harpdaal.datasets.load_ratings, used by
`harpdaal mf`), then a one-epoch fit on what it accepted (ids and ratings from a file must be
validated before they reach a kernel)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness  # noqa: E402

import harpdaal.datasets.ratings as _reader  # noqa: E402
import harpdaal.recommend._ratings as _ratings  # noqa: E402
from harpdaal.recommend import MatrixFactorization  # noqa: E402

_harness.instrument(_reader, _ratings)
PATH = _harness.input_path(".csv")


def test_one_input(data: bytes):
    loaded = _harness.load(PATH, data, _reader.load_ratings)
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
