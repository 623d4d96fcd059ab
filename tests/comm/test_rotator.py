"""ModelRotator on LocalCommunicator, MPI COMM_SELF, and COMM_WORLD under mpiexec."""
from __future__ import annotations

import pytest

from harpdaal.comm import LocalCommunicator

from ._mpi import mpi_or_skip
from .rotator_checks import RotatorChecks


class TestLocalRotator(RotatorChecks):
    @pytest.fixture
    def comm(self):
        return LocalCommunicator()


class TestSelfRotator(RotatorChecks):
    @pytest.fixture
    def comm(self):
        MPI = mpi_or_skip()
        from harpdaal.comm import MPICommunicator

        return MPICommunicator(MPI.COMM_SELF)


@pytest.mark.mpi
class TestWorldRotator(RotatorChecks):
    @pytest.fixture
    def comm(self):
        MPI = mpi_or_skip()
        from harpdaal.comm import MPICommunicator

        return MPICommunicator(MPI.COMM_WORLD)
