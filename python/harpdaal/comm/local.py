"""The single-process backend: size 1, the same API and validations as MPI, no MPI needed."""
from __future__ import annotations

import numpy as np

from .base import Communicator, RotateHandle


class LocalCommunicator(Communicator):
    """A communicator of one rank: collectives copy locally (or do nothing)."""

    def __init__(self):
        self.rank = 0
        self.size = 1

    def _barrier(self):
        pass

    def _allgather_obj(self, obj):
        return [obj]

    def _bcast_obj(self, obj, root):
        return obj

    def _allreduce_buf(self, a, op):
        pass

    def _reduce_buf(self, a, op, root):
        pass

    def _bcast_buf(self, a, root):
        pass

    def _allgather_buf(self, a, out):
        out[0] = a

    def _allgatherv_buf(self, a, out, counts, displs):
        out.reshape(-1)[displs[0]:displs[0] + counts[0]] = a.reshape(-1)

    def _allgatherv_inplace_buf(self, out, counts, displs):
        pass  # one rank: its rows are the whole table

    def _gatherv_buf(self, a, out, counts, displs, root):
        out.reshape(-1)[displs[0]:displs[0] + counts[0]] = a.reshape(-1)

    def _alltoallv_buf(self, send, scounts, sdispls, recv, rcounts, rdispls):
        recv[rdispls[0]:rdispls[0] + rcounts[0]] = send[sdispls[0]:sdispls[0] + scounts[0]]

    def _sendrecv_buf(self, send, dest, recv, source):
        recv[...] = send

    def _irotate(self, send, dest, recv, source):
        np.copyto(recv.reshape(-1), send.reshape(-1))
        return RotateHandle()

    def _send_event_to(self, payload, dest):  # size 1: only events to self, handled by base
        raise ValueError(f"dest: {dest} is not a rank of this communicator (size 1)")

    def _poll_event(self):
        return None
