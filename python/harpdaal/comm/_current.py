"""Which communicator a fit uses: the one chosen with ``harpdaal.config_context(comm=...)``,
else MPI COMM_WORLD when started by mpiexec with more than one rank, else one process.

The choice is stored here, per thread; ``harpdaal.config_context`` / ``set_config`` /
``get_config`` read and write it through this module (the dependency goes one way:
``harpdaal._context`` imports ``harpdaal.comm``, never the reverse).
"""
from __future__ import annotations

import os
import threading

from .base import Communicator
from .local import LocalCommunicator
from .mpi import MPICommunicator

# Set in every rank's environment by the launchers: MPICH/Hydra, Open MPI, PMIx (Slurm).
_LAUNCHER_VARIABLES = ("PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK",
                       "HYDRA_CONTROL_FD")

_configured = threading.local()  # .comm: this thread's config_context choice (None = default)
_default = None
_default_lock = threading.Lock()


def under_mpi() -> bool:
    """True inside a process started by mpiexec (MPICH/Hydra, Open MPI, Slurm PMI)."""
    return any(k in os.environ for k in _LAUNCHER_VARIABLES)


def as_communicator(comm) -> Communicator | None:
    """``comm`` itself (a Communicator), an mpi4py communicator wrapped in an MPICommunicator,
    or None; TypeError for anything else."""
    if comm is None or isinstance(comm, Communicator):
        return comm
    if type(comm).__module__.startswith("mpi4py"):
        return MPICommunicator(comm)
    raise TypeError(
        "comm: expected a harpdaal.comm.Communicator or an mpi4py communicator, got "
        f"{type(comm).__name__}"
    )


def configured_communicator() -> Communicator | None:
    """This thread's ``config_context(comm=...)`` choice, or None when none is set."""
    return getattr(_configured, "comm", None)


def set_configured_communicator(comm: Communicator | None) -> None:
    """Set (or with None clear) this thread's choice; ``comm`` is already a Communicator."""
    _configured.comm = comm


def _world_or_local() -> Communicator:
    if under_mpi():
        try:
            from mpi4py import MPI  # noqa: PLC0415 (lazy: MPI is optional)
        except ImportError:
            MPI = None
        if MPI is not None and MPI.COMM_WORLD.Get_size() > 1:
            return MPICommunicator(MPI.COMM_WORLD)
    return LocalCommunicator()


def current_communicator() -> Communicator:
    """The communicator set by ``harpdaal.config_context(comm=...)``; else MPI COMM_WORLD when
    running under mpiexec with more than one rank; else a LocalCommunicator (size 1)."""
    comm = configured_communicator()
    if comm is not None:
        return comm
    global _default
    with _default_lock:
        if _default is None:
            _default = _world_or_local()
        return _default
