"""current_communicator / config_context, and ``import harpdaal`` without mpi4py."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import harpdaal
from harpdaal.comm import Communicator, LocalCommunicator, current_communicator


def test_config_context_sets_and_restores():
    default = current_communicator()
    assert isinstance(default, Communicator)
    mine = LocalCommunicator()
    with harpdaal.config_context(comm=mine):
        assert current_communicator() is mine
        assert harpdaal.get_config()["comm"] is mine
    assert current_communicator() is default
    assert harpdaal.get_config()["comm"] is None


def test_config_context_wraps_mpi4py_comm():
    MPI = pytest.importorskip("mpi4py.MPI", reason="mpi4py is not installed")
    from harpdaal.comm import MPICommunicator

    with harpdaal.config_context(comm=MPI.COMM_SELF):
        c = current_communicator()
        assert isinstance(c, MPICommunicator) and c.size == 1 and c.mpi_comm == MPI.COMM_SELF


def test_config_context_rejects_other_types():
    with pytest.raises(TypeError, match="comm"):
        with harpdaal.config_context(comm="world"):
            pass
    with pytest.raises(TypeError, match="comm"):
        harpdaal.set_config(comm=3)


def test_import_without_mpi4py():
    code = textwrap.dedent("""
        import sys
        sys.modules["mpi4py"] = None          # any import of mpi4py now raises ImportError
        import numpy as np
        import harpdaal, harpdaal.comm
        from harpdaal.comm import current_communicator, Table, Partition
        c = current_communicator()
        assert type(c).__name__ == "LocalCommunicator", c
        t = Table("max"); t.add(Partition(0, np.arange(3.0))); c.allreduce(t)
        assert t[0].tolist() == [0.0, 1.0, 2.0]
        harpdaal.show_config()
        try:
            harpdaal.comm.MPICommunicator()
        except ImportError as e:
            assert "mpi4py" in str(e)
        else:
            raise AssertionError("MPICommunicator without mpi4py should raise ImportError")
        assert "mpi4py.MPI" not in sys.modules
        print("OK")
    """)
    env = {k: v for k, v in __import__("os").environ.items()
           if not k.startswith(("PMI_", "HYDRA_", "OMPI_", "PMIX_"))}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("OK")
