"""Fuzz target: harpdaal.datasets.bow.load_uci_docword / load_bow on arbitrary bytes."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness  # noqa: E402

import harpdaal.datasets.bow as _bow  # noqa: E402

_harness.instrument(_bow)
PATH = _harness.input_path(".txt")


def huge_header(data: bytes) -> bool:
    """A header claiming more than 10^6 documents or words is valid but allocates (D + 1)
    offsets: a resource question, not a parsing one, so it is not fuzzed."""
    try:
        return any(abs(int(x)) > 10**6 for x in data.split(b"\n", 2)[:2])
    except ValueError:
        return False


def test_one_input(data: bytes):
    if huge_header(data):
        return
    for loader in (_bow.load_uci_docword, _bow.load_bow):
        loaded = _harness.load(PATH, data, loader)
        if loaded is None:
            continue
        X, _ = loaded
        # accepted: a CSR count matrix of the header's shape with non-negative counts
        assert X.format == "csr" and X.ndim == 2
        assert X.nnz == 0 or X.data.min() >= 0


if __name__ == "__main__":
    _harness.run(test_one_input)
