"""Shared fixtures. Real data sets come from $HARPDAAL_DATA (the folder of the real data sets):
unset -> data tests skip with a message; set but missing files -> they fail."""
from __future__ import annotations

import os
import pathlib

import pytest

DATA_ENV = "HARPDAAL_DATA"


@pytest.fixture(scope="session")
def data_dir() -> pathlib.Path:
    root = os.environ.get(DATA_ENV)
    if not root:
        pytest.skip(f"{DATA_ENV} is not set: real-data tests need the shared data sets")
    path = pathlib.Path(root)
    if not path.is_dir():
        pytest.fail(f"{DATA_ENV}={root!r} is set but is not a directory")
    return path


@pytest.fixture(scope="session")
def data_file(data_dir):
    """data_file('20news/docword.train.txt.gz') -> path, failing if it is missing."""

    def get(relative: str) -> pathlib.Path:
        p = data_dir / relative
        if not p.is_file():
            pytest.fail(f"{DATA_ENV} is set but {p} is missing")
        return p

    return get
