from __future__ import annotations

import pytest

from harpdaal.comm import LocalCommunicator
from harpdaal.comm.demo import run_demo


def test_demo_local():
    lines = run_demo(LocalCommunicator())
    assert len(lines) == 6 and all(" ok " in line for line in lines)


@pytest.mark.mpi
def test_demo_world():
    MPI = pytest.importorskip("mpi4py.MPI", reason="mpi4py is not installed")
    from harpdaal.comm import MPICommunicator

    lines = run_demo(MPICommunicator(MPI.COMM_WORLD))
    assert len(lines) == 6 and all(f"({MPI.COMM_WORLD.Get_size()} rank" in line for line in lines)
