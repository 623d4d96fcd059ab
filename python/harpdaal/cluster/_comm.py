"""The communicator the estimators use: harpdaal.comm.current_communicator() (see
docs/COMM_API.md). Until the comm layer is importable, a size-1 stand-in with the same
methods keeps every estimator usable in one process."""
from __future__ import annotations

import numpy as np


class _SingleProcess:
    """Size-1 communicator: every collective is the identity (matches the COMM_API contract)."""

    rank = 0
    size = 1

    def barrier(self):
        pass

    def allreduce_array(self, a, op="sum"):
        return a

    def broadcast_array(self, a, root=0):
        return a

    def reduce_array(self, a, op="sum", root=0):
        return a

    def allgather_array(self, a):
        return np.asarray(a)[np.newaxis].copy()

    def allgatherv_rows(self, a):
        return np.array(a, copy=True)

    def bcast_object(self, obj, root=0):
        return obj

    def allgather_object(self, obj):
        return [obj]

    def check_same(self, value, what="value"):
        return value

    def allreduce(self, table):
        return table

    def broadcast(self, table, root=0):
        return table

    def reduce(self, table, root=0):
        return table

    def allgather(self, table):
        return table

    def regroup(self, table, partitioner=None):
        return table

    def push(self, local_table, global_table, partitioner=None):
        for pid in local_table.ids():
            global_table.add(_Partition(pid, np.array(local_table[pid], copy=True)))

    def pull(self, global_table, local_table):
        for pid in local_table.ids():
            local_table.replace(pid, global_table[pid])

    def rotate(self, table, mapping=None):
        return table


class _Partition:
    def __init__(self, pid, array):
        self.id = pid
        self.array = array


class _Table:
    """Minimal Table(combiner='sum') for the single-process stand-in."""

    def __init__(self, combiner="sum"):
        self._parts = {}

    def add(self, partition):
        if partition.id in self._parts:
            self._parts[partition.id] = self._parts[partition.id] + partition.array
        else:
            self._parts[partition.id] = partition.array

    def replace(self, pid, array):
        self._parts[pid] = array

    def ids(self):
        return sorted(self._parts)

    def __getitem__(self, pid):
        return self._parts[pid]

    def __len__(self):
        return len(self._parts)


def _mpi_world_size() -> int:
    import os

    for key in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE"):
        if os.environ.get(key, "").isdigit():
            return int(os.environ[key])
    return 1


def current_communicator():
    try:
        from ..comm import current_communicator as _current  # noqa: PLC0415
    except ImportError:
        if _mpi_world_size() > 1:
            # fitting each rank's rows alone would be silently wrong
            raise RuntimeError("running under mpiexec with several ranks, but harpdaal.comm is "
                               "not available in this build: cannot fit across ranks") from None
        return _SingleProcess()
    return _current()


def table_types():
    """(Partition, Table) classes of the comm layer, or the stand-ins."""
    try:
        from ..comm import Partition, Table  # noqa: PLC0415
    except ImportError:
        return _Partition, _Table
    return Partition, Table
