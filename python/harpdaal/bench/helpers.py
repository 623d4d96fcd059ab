"""Small helpers for case modules: peer imports that report absence, and timed calls."""
from __future__ import annotations

import importlib
import time

from .errors import PeerUnavailable


def require(import_name: str, pip_name: str | None = None):
    """Import a peer or raise PeerUnavailable saying how to install it.

    ``require("faiss", "faiss-cpu")`` -> the faiss module. Only a missing module counts as
    absent; a peer that is installed but fails to import is a failure (its error propagates).
    """
    try:
        return importlib.import_module(import_name)
    except ModuleNotFoundError as exc:
        if exc.name is None or import_name.split(".")[0] != exc.name.split(".")[0]:
            raise
        pip = pip_name or import_name
        raise PeerUnavailable(f"{pip} is not installed (pip install {pip})") from None


def timed(fn, *args, **kwargs):
    """(seconds, fn(*args, **kwargs)) with a monotonic high-resolution clock."""
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out
