"""Fuzz target: `harpdaal kmeans --data` file reader (csv and idx formats, chosen by the first
input byte) on arbitrary bytes."""
import atexit
import os
import sys

import atheris

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness  # noqa: E402
import numpy  # noqa: E402,F401  (imported first: only harpdaal is instrumented)
import scipy.sparse  # noqa: E402,F401

from harpdaal.cli.kmeans import load

import harpdaal.cli.kmeans as _km  # noqa: E402

_harness.instrument(_km)

PATHS = {"csv": _harness.input_path(".csv"), "idx": _harness.input_path(".idx")}
for _p in PATHS.values():
    atexit.register(os.unlink, _p)


def test_one_input(data: bytes):
    if not data:
        return
    fmt = "idx" if data[0] & 1 else "csv"
    path = PATHS[fmt]
    with open(path, "wb") as f:
        f.write(data[1:])
    try:
        X = load(path, fmt)
    except _harness.CLEAN:
        return
    assert X.ndim == 2


if __name__ == "__main__":
    _harness.run(test_one_input)
