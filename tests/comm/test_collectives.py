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


@pytest.mark.mpi
def test_large_reductions_go_in_pieces_with_identical_results(monkeypatch):
    """MPICommunicator splits reductions above _REDUCE_PIECE_BYTES (16 MiB) into pieces; here the
    piece is shrunk to 40 bytes so that small arrays take the same path."""
    import numpy as np

    from harpdaal.comm import mpi as mpi_backend

    from .collective_checks import assert_close, expected_reduce
    from ._data import contribution

    MPI = mpi_or_skip()
    monkeypatch.setattr(mpi_backend, "_REDUCE_PIECE_BYTES", 40)
    pieces = mpi_backend._pieces(np.zeros((7, 3), np.float64))  # 21 elements, 5 per piece
    assert [p.size for p in pieces] == [5, 5, 5, 5, 1]
    comm = mpi_backend.MPICommunicator(MPI.COMM_WORLD)
    for op in ("sum", "max"):
        a = contribution(comm.rank, (7, 3), np.float64, 5).copy()
        comm.allreduce_array(a, op=op)
        assert_close(a, expected_reduce(comm.size, (7, 3), np.float64, op, 5))
        b = contribution(comm.rank, (13,), np.int32, 6).copy()
        comm.reduce_array(b, op=op, root=comm.size - 1)
        want = expected_reduce(comm.size, (13,), np.int32, op, 6) \
            if comm.rank == comm.size - 1 else contribution(comm.rank, (13,), np.int32, 6)
        assert_close(b, want)
