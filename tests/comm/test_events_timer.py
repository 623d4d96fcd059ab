"""Events and RotationTimer on LocalCommunicator, MPI COMM_SELF, and COMM_WORLD (mpiexec)."""
from __future__ import annotations

import pytest

from harpdaal.comm import LocalCommunicator

from ._mpi import mpi_or_skip
from .events_timer_checks import (  # noqa: F401 (module-level tests run here too)
    EventChecks,
    TimerChecks,
    test_solve_budget_matches_definition,
    test_timer_rejects_percentages,
)


class TestLocal(EventChecks, TimerChecks):
    @pytest.fixture
    def comm(self):
        return LocalCommunicator()


class TestSelf(EventChecks, TimerChecks):
    @pytest.fixture
    def comm(self):
        MPI = mpi_or_skip()
        from harpdaal.comm import MPICommunicator

        return MPICommunicator(MPI.COMM_SELF)


@pytest.mark.mpi
class TestWorld(EventChecks, TimerChecks):
    @pytest.fixture
    def comm(self):
        MPI = mpi_or_skip()
        from harpdaal.comm import MPICommunicator

        return MPICommunicator(MPI.COMM_WORLD)
