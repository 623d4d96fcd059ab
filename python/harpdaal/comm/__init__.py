"""Harp's collective communication over MPI (mpi4py, imported lazily) or a single process.

See docs/comm.md. ``current_communicator()`` is what estimators use.
"""
from __future__ import annotations

import threading

from .base import Communicator, Event, RotateHandle
from .local import LocalCommunicator
from .rotator import ModelRotator
from .timer import RotationTimer
from .table import Partition, Table

__all__ = [
    "Communicator",
    "Event",
    "LocalCommunicator",
    "MPICommunicator",
    "ModelRotator",
    "Partition",
    "RotateHandle",
    "RotationTimer",
    "Table",
    "current_communicator",
]

_default = None
_default_lock = threading.Lock()


def __getattr__(name):
    if name == "MPICommunicator":  # lazy: importing it must not need mpi4py
        from .mpi import MPICommunicator

        return MPICommunicator
    raise AttributeError(f"module 'harpdaal.comm' has no attribute {name!r}")


def _world_or_local() -> Communicator:
    from ..cli.launch import under_mpi

    if under_mpi():
        try:
            from mpi4py import MPI  # noqa: PLC0415
        except ImportError:
            MPI = None
        if MPI is not None and MPI.COMM_WORLD.Get_size() > 1:
            from .mpi import MPICommunicator

            return MPICommunicator(MPI.COMM_WORLD)
    return LocalCommunicator()


def current_communicator() -> Communicator:
    """The communicator set by ``harpdaal.config_context(comm=...)``; else MPI COMM_WORLD when
    running under mpiexec with more than one rank; else a LocalCommunicator (size 1)."""
    from .._context import get_config

    comm = get_config()["comm"]
    if comm is not None:
        return comm
    global _default
    with _default_lock:
        if _default is None:
            _default = _world_or_local()
        return _default
