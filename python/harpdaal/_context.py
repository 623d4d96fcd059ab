"""Process-wide settings that estimators read at fit time: ``config_context``, ``get_config``.

The communicator is a setting, not an estimator parameter: an MPI communicator cannot be cloned
or pickled, so ``harpdaal.config_context(comm=...)`` chooses it for every estimator in the block
(the scikit-learn ``config_context`` pattern). Settings are per thread. The choice itself is
kept by ``harpdaal.comm`` (``current_communicator()`` reads it there).
"""
from __future__ import annotations

import contextlib

from .comm._current import (as_communicator, configured_communicator,
                            set_configured_communicator)


def get_config() -> dict:
    """A copy of the current settings: ``{'comm': Communicator or None}`` (None = default)."""
    return {"comm": configured_communicator()}


def set_config(comm=None) -> None:
    """Set the communicator every estimator uses (None restores the default choice)."""
    set_configured_communicator(as_communicator(comm))


@contextlib.contextmanager
def config_context(*, comm=None):
    """Use ``comm`` (a Communicator, or an mpi4py communicator to wrap) inside the block."""
    new = as_communicator(comm)
    old = configured_communicator()
    set_configured_communicator(new)
    try:
        yield
    finally:
        set_configured_communicator(old)
