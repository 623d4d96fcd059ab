"""Fuzz target: harpdaal.datasets.bow.load_ldac on arbitrary bytes."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness  # noqa: E402

import harpdaal.datasets.bow as _bow  # noqa: E402

_harness.instrument(_bow)
PATH = _harness.input_path(".ldac")


def test_one_input(data: bytes):
    loaded = _harness.load(PATH, data, _bow.load_ldac)
    if loaded is None:
        return
    X, _ = loaded
    assert X.format == "csr" and X.ndim == 2
    assert X.nnz == 0 or X.data.min() >= 0
    assert X.shape[1] >= 1


if __name__ == "__main__":
    _harness.run(test_one_input)
