"""Fuzz target: `harpdaal kmeans --data` file reader (csv and idx formats, chosen by the first
input byte) on arbitrary bytes."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness  # noqa: E402

import harpdaal.cli.kmeans as _km  # noqa: E402

_harness.instrument(_km)
PATHS = {"csv": _harness.input_path(".csv"), "idx": _harness.input_path(".idx")}


def test_one_input(data: bytes):
    if not data:
        return
    fmt = "idx" if data[0] & 1 else "csv"
    X = _harness.load(PATHS[fmt], data[1:], _km.load, fmt)
    if X is None:
        return
    assert X.ndim == 2


if __name__ == "__main__":
    _harness.run(test_one_input)
