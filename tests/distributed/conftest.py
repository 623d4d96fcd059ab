"""The job's communicator for the gold tests: under plain pytest (one rank) they skip."""
import pytest


@pytest.fixture(scope="module")
def comm():
    comm_mod = pytest.importorskip("harpdaal.comm", reason="the comm layer is not in this build")
    c = comm_mod.current_communicator()
    if c.size == 1:
        pytest.skip("needs several MPI ranks (mpiexec -n 2 python -m pytest -m mpi)")
    return c
