"""Fuzz target: the NCF test-negatives reader (harpdaal.datasets.load_ncf_negatives, used by
`harpdaal als --negatives` and the ALS benchmark) on arbitrary bytes; what it accepts must be
non-negative ids, one entry per user."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness  # noqa: E402

import harpdaal.datasets.ncf as _ncf  # noqa: E402

_harness.instrument(_ncf)
PATH = _harness.input_path(".negative")


def test_one_input(data: bytes):
    loaded = _harness.load(PATH, data, _ncf.load_ncf_negatives)
    if loaded is None:
        return
    assert loaded
    for user, (item, negatives) in loaded.items():
        assert user >= 0 and item >= 0
        assert negatives.dtype == np.int64 and negatives.ndim == 1
        assert negatives.size == 0 or negatives.min() >= 0


if __name__ == "__main__":
    _harness.run(test_one_input)
