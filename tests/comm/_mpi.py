from __future__ import annotations

import pytest


def mpi_or_skip():
    return pytest.importorskip("mpi4py.MPI", reason="mpi4py is not installed")
