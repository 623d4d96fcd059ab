"""Every collective on LocalCommunicator and on MPI COMM_SELF (plain pytest), and on
COMM_WORLD under mpiexec (``-m mpi``; at size 1 it runs like COMM_SELF)."""
from __future__ import annotations

import pytest

from harpdaal.comm import LocalCommunicator

from .collective_checks import CollectiveChecks
from ._mpi import mpi_or_skip


class TestLocal(CollectiveChecks):
    @pytest.fixture
    def comm(self):
        return LocalCommunicator()


class TestMPISelf(CollectiveChecks):
    @pytest.fixture
    def comm(self):
        MPI = mpi_or_skip()
        from harpdaal.comm import MPICommunicator

        return MPICommunicator(MPI.COMM_SELF)


@pytest.mark.mpi
class TestMPIWorld(CollectiveChecks):
    @pytest.fixture
    def comm(self):
        MPI = mpi_or_skip()
        from harpdaal.comm import MPICommunicator

        return MPICommunicator(MPI.COMM_WORLD)
