"""ModelRotator on LocalCommunicator, MPI COMM_SELF, and COMM_WORLD under mpiexec."""
from __future__ import annotations

import functools

import pytest

from harpdaal.comm import LocalCommunicator, ModelRotator

from . import rotator_checks
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
    @pytest.fixture(autouse=True, params=["messages", "auto"])
    def transport(self, request, monkeypatch):
        # every check once with messages (the data moves) and once with the default, which
        # on one node hands slices over in shared memory
        monkeypatch.setattr(rotator_checks, "ModelRotator",
                            functools.partial(ModelRotator, transport=request.param))
        return request.param

    @pytest.fixture
    def comm(self):
        MPI = mpi_or_skip()
        from harpdaal.comm import MPICommunicator

        return MPICommunicator(MPI.COMM_WORLD)
