"""Process-wide settings that estimators read at fit time: ``config_context``, ``get_config``.

The communicator is a setting, not an estimator parameter: an MPI communicator cannot be cloned
or pickled, so ``harpdaal.config_context(comm=...)`` chooses it for every estimator in the block
(the scikit-learn ``config_context`` pattern). Settings are per thread.
"""
from __future__ import annotations

import contextlib
import threading

_DEFAULTS = {"comm": None}
_local = threading.local()


def _settings() -> dict:
    s = getattr(_local, "settings", None)
    if s is None:
        s = dict(_DEFAULTS)
        _local.settings = s
    return s


def get_config() -> dict:
    """A copy of the current settings: ``{'comm': Communicator or None}`` (None = default)."""
    return dict(_settings())


def _as_communicator(comm):
    if comm is None:
        return None
    from .comm import Communicator, MPICommunicator  # noqa: PLC0415 (comm imports us lazily)

    if isinstance(comm, Communicator):
        return comm
    if type(comm).__module__.startswith("mpi4py"):
        return MPICommunicator(comm)
    raise TypeError(
        "comm: expected a harpdaal.comm.Communicator or an mpi4py communicator, got "
        f"{type(comm).__name__}"
    )


def set_config(comm=None) -> None:
    """Set the communicator every estimator uses (None restores the default choice)."""
    _settings()["comm"] = _as_communicator(comm)


@contextlib.contextmanager
def config_context(*, comm=None):
    """Use ``comm`` (a Communicator, or an mpi4py communicator to wrap) inside the block."""
    new = _as_communicator(comm)
    s = _settings()
    old = dict(s)
    s["comm"] = new
    try:
        yield
    finally:
        s.clear()
        s.update(old)
