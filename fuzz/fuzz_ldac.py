"""Fuzz target: harpdaal.datasets.bow.load_ldac on arbitrary bytes."""
import atexit
import os
import sys

import atheris

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness  # noqa: E402
import numpy  # noqa: E402,F401  (imported first: only harpdaal is instrumented)
import scipy.sparse  # noqa: E402,F401

from harpdaal.datasets.bow import load_ldac

import harpdaal.datasets.bow as _bow  # noqa: E402

_harness.instrument(_bow)

PATH = _harness.input_path(".ldac")
atexit.register(os.unlink, PATH)


def test_one_input(data: bytes):
    with open(PATH, "wb") as f:
        f.write(data)
    try:
        X, _ = load_ldac(PATH)
    except _harness.CLEAN:
        return
    assert X.format == "csr" and X.ndim == 2
    assert X.nnz == 0 or X.data.min() >= 0
    assert X.shape[1] >= 1


if __name__ == "__main__":
    _harness.run(test_one_input)
