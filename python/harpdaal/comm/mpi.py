"""The MPI backend over an mpi4py communicator (mpi4py is imported only when one is made).

Array payloads move through mpi4py's upper-case (buffer) methods on the numpy memory itself
(``IN_PLACE`` where MPI allows it): no pickling, no extra copies. Tables are packed once into one
contiguous buffer (C++, GIL released) so each collective moves one buffer.

User-callable combiners are not turned into ``MPI.Op.Create`` operators: MPI calls such an op on
arbitrary chunks, possibly from inside the library, and a Python op there holds the GIL and cannot
see partition boundaries. Tables with a callable combiner (or with layouts that differ between
ranks) are instead allgathered (or gathered to the root for ``reduce``) as packed buffers and
folded locally in rank order; every rank then computes the identical result. That costs
``size`` times the table's memory on the receiving side; use the built-in combiners (one MPI
reduction of the packed buffer) for large tables.
"""
from __future__ import annotations

import os
import sys
import threading
import time
import traceback

from .base import Communicator, Event, RotateHandle

_ROTATE_TAG = 0x4841  # "HA": harpdaal point-to-point traffic
# Reductions of more than this go in pieces of this size. MPICH's reduction of a message
# allocates a temporary buffer as large as the message; glibc serves allocations above its
# mmap threshold (at most 32 MiB) with a fresh mmap, so every call of a 64 MB reduction
# page-faults 64 MB anew (measured: 7,000 extra minor faults and 15-25% of the time per call,
# benchmarks/results/comm/malloc_experiment.txt). Pieces of 16 MiB reuse heap memory instead.
# Element-wise results are identical; the piece size is the same on every rank.
_REDUCE_PIECE_BYTES = 16 << 20
_EVENT_TAG = 0x4845
_hooks_installed = False
_hooks_lock = threading.Lock()


def _mpi():
    try:
        from mpi4py import MPI  # noqa: PLC0415 (lazy: MPI is optional)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("MPICommunicator needs mpi4py: pip install 'harpdaal[mpi]'") from exc
    return MPI


def _abort_job(MPI, header: str, exc_type, exc, tb) -> None:
    """Print this rank's traceback and abort every rank of the job."""
    try:
        rank = MPI.COMM_WORLD.Get_rank()
        size = MPI.COMM_WORLD.Get_size()
        text = (f"harpdaal: {header} on MPI rank {rank} of {size}; aborting the job\n"
                + "".join(traceback.format_exception(exc_type, exc, tb)))
        sys.stderr.flush()
        # One write, straight to the fd, then a moment for mpiexec to forward it before Abort
        # tears the job down (otherwise the traceback can be lost).
        os.write(2, text.encode("utf-8", "replace"))
        time.sleep(0.2)
    finally:
        MPI.COMM_WORLD.Abort(1)
        os._exit(1)  # Abort does not return; belt and braces


def install_failure_handling() -> bool:
    """Make an uncaught exception on any rank (main thread or another thread) end the whole
    job within seconds, printing that rank's traceback, instead of leaving the other ranks
    blocked in their next collective. Installed once per process, only when COMM_WORLD has more
    than one rank (a single process keeps Python's normal behaviour, e.g. in a REPL). Returns
    True if the hooks are installed."""
    global _hooks_installed
    MPI = _mpi()
    with _hooks_lock:
        if _hooks_installed:
            return True
        if not MPI.Is_initialized() or MPI.COMM_WORLD.Get_size() <= 1:
            return False
        previous = sys.excepthook

        def excepthook(exc_type, exc, tb):
            if previous is not sys.__excepthook__ and previous is not excepthook:
                try:
                    previous(exc_type, exc, tb)
                except Exception:  # noqa: BLE001 - we are about to abort anyway
                    pass
            _abort_job(MPI, f"uncaught {exc_type.__name__}", exc_type, exc, tb)

        def thread_excepthook(args):
            if args.exc_type is SystemExit:
                return
            _abort_job(MPI, f"uncaught {args.exc_type.__name__} in thread "
                            f"{getattr(args.thread, 'name', '?')}",
                       args.exc_type, args.exc_value, args.exc_traceback)

        sys.excepthook = excepthook
        threading.excepthook = thread_excepthook
        _hooks_installed = True
        return True


def _pieces(a):
    """``a`` (C-contiguous) as consecutive 1-D views of at most _REDUCE_PIECE_BYTES each."""
    if a.nbytes <= _REDUCE_PIECE_BYTES:
        return (a,)
    flat = a.reshape(-1)
    step = max(1, _REDUCE_PIECE_BYTES // flat.itemsize)
    return [flat[i:i + step] for i in range(0, flat.size, step)]


class MPICommunicator(Communicator):
    """Harp's collectives over an mpi4py intracommunicator (default ``MPI.COMM_WORLD``)."""

    def __init__(self, comm=None):
        MPI = _mpi()
        if comm is None:
            comm = MPI.COMM_WORLD
        if not isinstance(comm, MPI.Intracomm):
            raise TypeError(f"comm: expected an mpi4py.MPI.Intracomm, got {type(comm).__name__}")
        if comm == MPI.COMM_NULL:
            raise ValueError("comm: MPI.COMM_NULL is not a communicator of this rank")
        self._MPI = MPI
        self._comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self._ops = {"sum": MPI.SUM, "min": MPI.MIN, "max": MPI.MAX}
        self._event_sends = []
        install_failure_handling()

    @property
    def mpi_comm(self):
        """The wrapped mpi4py communicator."""
        return self._comm

    def _barrier(self):
        self._comm.Barrier()

    def _allgather_obj(self, obj):
        return self._comm.allgather(obj)

    def _bcast_obj(self, obj, root):
        return self._comm.bcast(obj, root=root)

    def _allreduce_buf(self, a, op):
        for piece in _pieces(a):
            self._comm.Allreduce(self._MPI.IN_PLACE, piece, op=self._ops[op])

    def _reduce_buf(self, a, op, root):
        for piece in _pieces(a):
            if self.rank == root:
                self._comm.Reduce(self._MPI.IN_PLACE, piece, op=self._ops[op], root=root)
            else:
                self._comm.Reduce(piece, None, op=self._ops[op], root=root)

    def _bcast_buf(self, a, root):
        self._comm.Bcast(a, root=root)

    def _allgather_buf(self, a, out):
        self._comm.Allgather(a, out)

    def _allgatherv_buf(self, a, out, counts, displs):
        self._comm.Allgatherv(a, [out, (counts, displs)])

    def _allgatherv_inplace_buf(self, out, counts, displs):
        self._comm.Allgatherv(self._MPI.IN_PLACE, [out, (counts, displs)])

    def _gatherv_buf(self, a, out, counts, displs, root):
        if self.rank == root:
            self._comm.Gatherv(a, [out, (counts, displs)], root=root)
        else:
            self._comm.Gatherv(a, None, root=root)

    def _alltoallv_buf(self, send, scounts, sdispls, recv, rcounts, rdispls):
        self._comm.Alltoallv([send, (scounts, sdispls)], [recv, (rcounts, rdispls)])

    def _sendrecv_buf(self, send, dest, recv, source):
        self._comm.Sendrecv(send, dest, _ROTATE_TAG, recv, source, _ROTATE_TAG)

    def _irotate(self, send, dest, recv, source):
        if dest == self.rank:
            recv[...] = send
            return RotateHandle()
        rreq = self._comm.Irecv(recv, source=source, tag=_ROTATE_TAG)
        sreq = self._comm.Isend(send, dest=dest, tag=_ROTATE_TAG)
        return RotateHandle([rreq, sreq])

    def _shared_alloc(self, nbytes):
        """A window of ``nbytes`` in the memory of the node, when every rank is on one node
        (else None). Each rank's success is agreed on before anyone uses the window."""
        MPI = self._MPI
        node = self._comm.Split_type(MPI.COMM_TYPE_SHARED)
        win = None
        try:
            if not self._comm.allreduce(node.Get_size() == self.size, op=MPI.LAND):
                return None
            try:
                win = MPI.Win.Allocate_shared(nbytes if node.Get_rank() == 0 else 0, 1,
                                              comm=node)
                buffer, _ = win.Shared_query(0)
                ok = len(buffer) >= nbytes
            except MPI.Exception:
                ok = False
            if not self._comm.allreduce(ok, op=MPI.LAND):
                if win is not None:
                    win.Free()
                    win = None
                return None
            win.Lock_all(MPI.MODE_NOCHECK)
            handle, win, node = _SharedWindow(win, node, buffer), None, None
            return handle
        finally:
            if win is not None:
                win.Free()
            if node is not None:
                node.Free()

    def _send_event_to(self, payload, dest):
        # non-blocking (events must never deadlock two workers sending to each other);
        # finished sends are dropped on the next event call
        self._event_sends = [r for r in self._event_sends if not r.Test()]
        self._event_sends.append(self._comm.isend(payload, dest=dest, tag=_EVENT_TAG))

    def _poll_event(self):
        if self._event_sends:
            self._event_sends = [r for r in self._event_sends if not r.Test()]
        status = self._MPI.Status()
        if not self._comm.iprobe(source=self._MPI.ANY_SOURCE, tag=_EVENT_TAG, status=status):
            return None
        source = status.Get_source()
        return Event(source, self._comm.recv(source=source, tag=_EVENT_TAG))


class _SharedWindow:
    """An MPI-3 shared window held in a passive-target epoch (``Lock_all``) for its lifetime:
    ``sync`` = ``Win_sync``, barrier, ``Win_sync`` (the memory-model pattern for loads and stores
    that other processes make to the same window)."""

    def __init__(self, win, node, buffer):
        self.win, self.node, self.buffer = win, node, buffer

    def sync(self):
        self.win.Sync()
        self.node.Barrier()
        self.win.Sync()

    def free(self):
        self.buffer = None
        self.win.Unlock_all()
        self.win.Free()
        self.node.Free()
