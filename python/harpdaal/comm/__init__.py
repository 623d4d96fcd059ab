"""Harp's collective communication over MPI (mpi4py, imported lazily) or a single process.

See docs/comm.md. ``current_communicator()`` is the one way to get the communicator.
"""
from __future__ import annotations

from ._current import current_communicator, under_mpi
from ._arrays import SharedRows
from .base import Communicator, Event, RotateHandle
from .local import LocalCommunicator
from .mpi import MPICommunicator  # needs mpi4py only when one is made
from .rotator import ModelRotator
from .table import Partition, Table
from .timer import RotationTimer

__all__ = [
    "Communicator",
    "Event",
    "LocalCommunicator",
    "MPICommunicator",
    "ModelRotator",
    "Partition",
    "RotateHandle",
    "RotationTimer",
    "SharedRows",
    "Table",
    "current_communicator",
    "under_mpi",
]
