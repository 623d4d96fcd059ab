"""Fuzz target: the idx reader (harpdaal.datasets.load_idx: MNIST / fashion-mnist files, plain
or gzip) on arbitrary bytes; what it accepts must match the dimensions its header states."""
import gzip
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness  # noqa: E402

import harpdaal.datasets.idx as _idx  # noqa: E402

_harness.instrument(_idx)
PATH = _harness.input_path(".idx")


def test_one_input(data: bytes):
    if not data:
        return
    body = data[1:]
    if data[0] & 1:  # half the inputs gzip-compressed: the gzip path sees valid streams too
        body = gzip.compress(body, mtime=0)
    X = _harness.load(PATH, body, _idx.load_idx)
    if X is None:
        return
    raw = data[1:]
    ndim = raw[3]
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    assert X.shape == dims and X.dtype.isnative
    assert X.nbytes == len(raw) - 4 - 4 * ndim


if __name__ == "__main__":
    _harness.run(test_one_input)
