"""Harp's model rotation: a model split into slices that travel around the ranks while each rank
computes on the slices it holds (model B in Harp-DAAL's MF-SGD and LDA).

Each rank's share of the model (the rows of an array, or a Table's partitions) is split into
``slices_per_rank`` slices; slot ``k`` of every rank rotates in lockstep. The loop of an
algorithm is::

    rot = ModelRotator(item_factors_local, slices_per_rank=2)
    for epoch in range(n_epochs):
        for _ in range(rot.steps_per_epoch // rot.slices_per_rank):   # = comm.size rounds
            for k in range(rot.slices_per_rank):
                block = rot.get(k)          # waits for slice k (its rows: rot.rows(k))
                train(block)                # GIL-released kernel; slice k-1 travels meanwhile
                rot.rotate(k)               # non-blocking: send k on, receive the next one
    model = rot.assemble()                  # every slice back in global order, every rank
    rot.close()

``rotate(k)`` posts a non-blocking send of slot k's slice to the next rank and a receive of the
previous rank's; ``get(k)`` waits for it. While ``train`` runs, the transfers of the other
slots are in flight: with MPICH they only advance inside MPI calls, so a small progress thread
polls MPI (``MPI_Iprobe``, never the requests themselves) while transfers are pending and the
main thread computes with the GIL released (``progress="thread"``, the default under MPI).

``transport``: with ``"auto"`` (the default) and every rank on one node, the slices live in
node-shared memory (one /dev/shm file per rank, mapped by all ranks and unlinked at once) and
``rotate(k)`` only tells the next rank, with a zero-byte message, that slot k's slice is its
own now: no data moves, so nothing needs CPU time while the kernel runs. Otherwise (ranks on
several hosts, or ``"messages"``) the slice is sent as above. ``"shared"`` insists on the
former and raises (on every rank) where it is impossible. MPI's point-to-point
synchronisation orders the writes of the rank handing a slice over before the reads of the
rank receiving it (as for any MPI shared-memory program).

``slice_bounds`` (array models) cuts a rank's rows into slices of unequal size, e.g. word
ranges of equal token mass in LDA: ``slices_per_rank + 1`` row offsets from 0 to the rank's row
count; by default the rows are split evenly.

``order="random"`` replaces the fixed ring by a random ring order per epoch, the same on every
rank (derived from an agreed seed), so each slice still visits every rank once per epoch.
"""
from __future__ import annotations

import atexit
import mmap
import numbers
import os
import tempfile
import threading
import time

import numpy as np

from .. import _core
from . import _packing
from ._agreement import _capture
from ._current import current_communicator
from .base import Communicator
from .table import Partition, Table

_TAG_BASE = 0x4900
_SHM_DIR = "/dev/shm" if os.path.isdir("/dev/shm") else None   # None: the temp dir
_NOTHING = np.empty(0, dtype=np.uint8)
_live_stops: set = set()   # stop events of running progress threads


@atexit.register
def _stop_progress_threads():
    # Python's atexit handlers run before mpi4py finalizes MPI: no thread may be inside an MPI
    # call then.
    for stop in list(_live_stops):
        stop.set()
    deadline = time.monotonic() + 1.0
    for t in threading.enumerate():
        if t.name == "harpdaal-mpi-progress":
            t.join(max(0.0, deadline - time.monotonic()))


def _progress_loop(pcomm, any_source, pending, stop, poll, cpu):
    # MPICH moves large messages only inside MPI calls: poke its progress engine (Iprobe on the
    # rotator's private communicator never matches or consumes a message) while transfers are
    # pending; sleep otherwise. The main thread computes with the GIL released meanwhile.
    # cpu[0]: this thread's CPU seconds so far (what moving the data cost, for measurements).
    probe_tag = _TAG_BASE - 1
    while not stop.is_set():
        if not pending.wait(0.05):
            continue
        if stop.is_set():
            break
        pcomm.Iprobe(source=any_source, tag=probe_tag)
        cpu[0] = time.thread_time()
        time.sleep(poll)


class ModelRotator:
    """Rotate slices of a model around the ranks; see the module docstring."""

    def __init__(self, model, comm: Communicator | None = None, slices_per_rank: int = 2,
                 order: str = "ring", seed: int = 0, progress: str = "auto",
                 poll_interval: float = 2e-4, transport: str = "auto", slice_bounds=None):
        if comm is None:
            comm = current_communicator()
        if not isinstance(comm, Communicator):
            raise TypeError(f"comm: expected a harpdaal.comm.Communicator, got {type(comm).__name__}")
        self.comm = comm

        def local():
            if isinstance(slices_per_rank, (bool, np.bool_)) or \
                    not isinstance(slices_per_rank, numbers.Integral) or slices_per_rank < 1:
                raise ValueError(f"slices_per_rank: expected an int >= 1, got {slices_per_rank!r}")
            if order not in ("ring", "random"):
                raise ValueError(f"order: expected 'ring' or 'random', got {order!r}")
            if progress not in ("auto", "thread", "none"):
                raise ValueError(f"progress: expected 'auto', 'thread' or 'none', got {progress!r}")
            if not isinstance(seed, numbers.Integral):
                raise TypeError(f"seed: expected an int, got {type(seed).__name__}")
            if transport not in ("auto", "shared", "messages"):
                raise ValueError(f"transport: expected 'auto', 'shared' or 'messages', got "
                                 f"{transport!r}")
            if not (isinstance(poll_interval, numbers.Real) and poll_interval > 0):
                raise ValueError(f"poll_interval: expected seconds > 0, got {poll_interval!r}")
            return self._split(model, int(slices_per_rank), slice_bounds)
        split, err = _capture(local)
        same = None
        if err is None:
            kind = split[0]
            same = (kind, int(slices_per_rank), order, int(seed),
                    self._trailing if kind == "array" else None, transport)
        metas = comm._agree("ModelRotator", same=same,
                            extra=[m for _, m in split[1]] if err is None else None, error=err)
        self.kind, slices, self._table_combiner = split
        self.slices_per_rank = S = int(slices_per_rank)
        self.order = order
        self._seed = int(seed)
        # every global slice g = rank * S + k: its byte layout, known on every rank
        self._meta = [m for rank_metas in metas for m in rank_metas]
        self._row_start = np.concatenate(
            [[0], np.cumsum([m[0] for m in self._meta])]).astype(np.int64) \
            if self.kind == "array" else None
        self._current = [buf for buf, _ in slices]        # slot k: the byte buffer held now
        self._incoming = [None] * S
        self._spare = [None] * S
        self._requests = [None] * S
        self._rounds = [0] * S                            # rotations completed per slot
        size, rank = comm.size, comm.rank
        # holder[k][p] = global slice id rank p holds in slot k (every rank tracks all ranks)
        self._holder = [[p * S + k for p in range(size)] for k in range(S)]
        self._next_holder = [None] * S
        self._mpi = None
        self._pcomm = None
        self._progress_thread = None
        self._views = None          # shared transport: every global slice's bytes, mapped here
        self.transport = "local"
        self._rank = rank
        if size > 1:
            self._setup_mpi(progress, poll_interval, transport)

    # ---- construction helpers -------------------------------------------------------------
    def _split(self, model, S, slice_bounds=None):
        if isinstance(model, Table):
            if slice_bounds is not None:
                raise TypeError("slice_bounds: only for array models (a Table's partitions are "
                                "its slices)")
            items = model._items()
            groups = [items[k::S] for k in range(S)]
            slices = []
            for g in groups:
                layout = _packing.layout_of(g)
                offsets = _packing.offsets_of(layout)
                buf = np.empty(int(offsets[-1]), dtype=np.uint8)
                if g:
                    _packing_pack_into(g, offsets, buf)
                slices.append((buf, ("table", layout)))
            return "table", slices, model.combiner
        if not isinstance(model, np.ndarray):
            raise TypeError(f"model: expected a numpy.ndarray or a Table, got {type(model).__name__}")
        if model.ndim < 1 or model.dtype.hasobject or model.dtype.kind not in "iufc":
            raise TypeError(f"model: expected a numeric array with >= 1 dimension, got dtype "
                            f"{model.dtype} ndim {model.ndim}")
        n = model.shape[0]
        if slice_bounds is None:
            bounds = [n * k // S for k in range(S + 1)]
        else:
            b = np.asarray(slice_bounds)
            if b.shape != (S + 1,) or b.dtype.kind not in "iu" or b[0] != 0 or b[-1] != n \
                    or np.any(np.diff(b) < 0):
                raise ValueError(f"slice_bounds: expected {S + 1} non-decreasing row offsets "
                                 f"from 0 to {n}, got {slice_bounds!r}")
            bounds = [int(v) for v in b]
        self._trailing = (tuple(model.shape[1:]), model.dtype.str)
        slices = []
        for k in range(S):
            rows = np.ascontiguousarray(model[bounds[k]:bounds[k + 1]])
            buf = np.empty(rows.nbytes, dtype=np.uint8)
            buf.view(model.dtype)[...] = rows.reshape(-1)
            slices.append((buf, (bounds[k + 1] - bounds[k], rows.nbytes)))
        return "array", slices, None

    def _setup_mpi(self, progress, poll_interval, transport):
        from mpi4py import MPI  # noqa: PLC0415 (size > 1 means an MPICommunicator)

        self._mpi = MPI
        # a private communicator: rotation traffic never matches anyone else's messages
        self._pcomm = self.comm.mpi_comm.Dup()
        self.transport = "messages"
        if transport in ("auto", "shared"):
            why = self._map_shared()
            if why is None:
                self.transport = "shared"
            elif transport == "shared":
                self._pcomm.Free()
                self._pcomm = None
                raise ValueError(f"transport='shared' is not possible here: {why}")
        # shared: a rotation is a zero-byte message (no data moves): nothing to progress
        want_thread = progress == "thread" or (
            progress == "auto" and self.transport == "messages"
            and MPI.Query_thread() == MPI.THREAD_MULTIPLE)
        if want_thread:
            if MPI.Query_thread() != MPI.THREAD_MULTIPLE:
                raise ValueError("progress='thread' needs MPI initialised with THREAD_MULTIPLE")
            self._progress_cpu = [0.0]
            self._pending = threading.Event()
            self._stop = threading.Event()
            # the thread holds no reference to the rotator, so an unclosed rotator can still be
            # collected (its __del__ stops the thread); at exit, threads stop before MPI ends
            self._progress_thread = threading.Thread(
                target=_progress_loop,
                args=(self._pcomm, MPI.ANY_SOURCE, self._pending, self._stop, float(poll_interval),
                      self._progress_cpu),
                name="harpdaal-mpi-progress", daemon=True)
            self._progress_thread.start()
            _live_stops.add(self._stop)

    def _slice_nbytes_all(self) -> list[int]:
        return [self._nbytes(g) for g in range(len(self._meta))]

    def _map_shared(self) -> str | None:
        """Collective. When every rank runs on this node, put every slice in shared memory
        (one file per rank in /dev/shm, mapped by all ranks and unlinked at once) so that a
        rotation hands a slice over instead of copying it. Returns None on success, else why
        not (the same answer on every rank)."""
        MPI, pcomm = self._mpi, self._pcomm
        node = pcomm.Split_type(MPI.COMM_TYPE_SHARED)
        same_node = node.Get_size() == pcomm.Get_size()
        node.Free()
        if not pcomm.allreduce(same_node, op=MPI.LAND):
            return "the ranks do not all share one node"
        S, rank, size = self.slices_per_rank, self._rank, self.comm.size
        nbytes = self._slice_nbytes_all()
        offsets = []   # offsets[r][k]: slice r * S + k in rank r's segment
        seg_size = []
        for r in range(size):
            off, pos = [], 0
            for k in range(S):
                off.append(pos)
                pos += _packing.padded(nbytes[r * S + k])
            offsets.append(off)
            seg_size.append(max(pos, _packing.ALIGN))
        path, mine, err = None, None, None
        try:
            fd, path = tempfile.mkstemp(prefix="harpdaal-rotate-", dir=_SHM_DIR)
            try:
                # reserve the pages now: a full tmpfs raises here, not SIGBUS on first write
                os.posix_fallocate(fd, 0, seg_size[rank])
                mine = mmap.mmap(fd, seg_size[rank])
            finally:
                os.close(fd)
        except (OSError, ValueError) as exc:
            err = f"rank {rank}: {type(exc).__name__}: {exc}"
        maps = [None] * size
        paths = pcomm.allgather((path, err))
        errors = [e for _, e in paths if e is not None]
        if not errors:
            maps[rank] = mine
            for r, (p, _) in enumerate(paths):
                if r == rank:
                    continue
                try:
                    with open(p, "r+b") as f:
                        maps[r] = mmap.mmap(f.fileno(), seg_size[r])
                except (OSError, ValueError) as exc:
                    err = f"rank {rank} cannot map rank {r}'s segment: {exc}"
                    break
            errors = [e for e in pcomm.allgather(err) if e is not None]
        # every rank has mapped every segment (or given up): the names can go
        if path is not None:
            try:
                os.unlink(path)
            except OSError:
                pass
        if errors:
            return "; ".join(errors)
        segs = [np.frombuffer(m, dtype=np.uint8) for m in maps]
        self._views = [segs[g // S][offsets[g // S][g % S]:offsets[g // S][g % S] + nbytes[g]]
                       for g in range(size * S)]
        for k in range(S):
            g = rank * S + k
            self._views[g][...] = self._current[k]
            self._current[k] = self._views[g]
        return None

    def __del__(self):
        stop = getattr(self, "_stop", None)
        if stop is not None:
            stop.set()
            self._pending.set()
            _live_stops.discard(stop)

    @property
    def progress_cpu_seconds(self) -> float:
        """CPU seconds the progress thread has used so far (0.0 without one): the CPU cost of
        moving the data while kernels run, for measurements (benchmarks/bench_rotate.py)."""
        cpu = getattr(self, "_progress_cpu", None)
        return float(cpu[0]) if cpu is not None else 0.0

    # ---- the schedule -----------------------------------------------------------------------
    def _targets(self, round_index: int) -> list[int]:
        size = self.comm.size
        if self.order == "ring":
            return [(p + 1) % size for p in range(size)]
        epoch = round_index // size
        ring = np.random.default_rng([self._seed, epoch]).permutation(size)
        targets = [0] * size
        for i in range(size):
            targets[ring[i]] = int(ring[(i + 1) % size])
        return targets

    def _check_slot(self, k) -> int:
        if isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Integral) or \
                not 0 <= int(k) < self.slices_per_rank:
            raise ValueError(f"k: expected a slot in [0, {self.slices_per_rank}), got {k!r}")
        return int(k)

    @property
    def steps_per_epoch(self) -> int:
        """Compute steps (get + rotate) after which every rank has seen every slice once."""
        return self.comm.size * self.slices_per_rank

    # ---- the loop ---------------------------------------------------------------------------
    def rotate(self, k: int) -> None:
        """Start sending slot k's slice on and receiving its successor (non-blocking). The
        array from ``get(k)`` must not be written until the next ``get(k)``."""
        k = self._check_slot(k)
        if self._requests[k] is not None or self._incoming[k] is not None:
            raise ValueError(f"rotate({k}) called twice without get({k}) in between")
        size = self.comm.size
        targets = self._targets(self._rounds[k])
        holder = self._holder[k]
        new_holder = [0] * size
        for p in range(size):
            new_holder[targets[p]] = holder[p]
        self._next_holder[k] = new_holder
        self._rounds[k] += 1
        if size == 1:
            self._incoming[k] = self._current[k]
            return
        rank = self._rank
        dest = targets[rank]
        source = targets.index(rank)
        tag = _TAG_BASE + k
        if self._views is not None:
            # the slice stays where it is; the next rank is told it may use it (a zero-byte
            # message: MPI's own synchronisation orders our writes before its reads)
            rreq = self._pcomm.Irecv([_NOTHING, self._mpi.BYTE], source=source, tag=tag)
            sreq = self._pcomm.Isend([_NOTHING, self._mpi.BYTE], dest=dest, tag=tag)
            self._requests[k] = [rreq, sreq]
            self._incoming[k] = self._views[new_holder[rank]]
            return
        nbytes = self._nbytes(new_holder[rank])
        spare = self._spare[k]
        recv = spare if spare is not None and spare.size == nbytes else np.empty(nbytes, np.uint8)
        self._spare[k] = None
        rreq = self._pcomm.Irecv([recv, self._mpi.BYTE], source=source, tag=tag)
        sreq = self._pcomm.Isend([self._current[k], self._mpi.BYTE], dest=dest, tag=tag)
        self._requests[k] = [rreq, sreq]
        self._incoming[k] = recv
        if self._progress_thread is not None:
            self._pending.set()

    def get(self, k: int):
        """Slot k's slice (waiting for its arrival if a rotation is in flight): an array view
        (rows ``rows(k)`` of the global model) or a Table of views; write it in place."""
        k = self._check_slot(k)
        if self._incoming[k] is not None:
            reqs = self._requests[k]
            if reqs is not None:
                # Testall first: MPICH's Waitall yields the CPU in its progress loop even when
                # the requests have completed, which on a busy machine costs a scheduler time
                # slice (measured: 2-12 ms per get at load 8 on 2 cores; 0.2 ms with Testall)
                if not self._mpi.Request.Testall(reqs):
                    self._mpi.Request.Waitall(reqs)
                self._requests[k] = None
                if self._progress_thread is not None and all(r is None for r in self._requests):
                    self._pending.clear()
            if self._incoming[k] is not self._current[k] and self._views is None:
                self._spare[k] = self._current[k]
            self._current[k] = self._incoming[k]
            self._incoming[k] = None
            self._holder[k] = self._next_holder[k]
            self._next_holder[k] = None
        return self._decode(self._holder[k][self._rank], self._current[k])

    def test(self, k: int) -> bool:
        """True when slot k's rotation has arrived (``get(k)`` will not wait)."""
        k = self._check_slot(k)
        reqs = self._requests[k]
        return reqs is None or bool(self._mpi.Request.Testall(reqs))

    def slice_id(self, k: int) -> int:
        """Global id (origin rank * slices_per_rank + slot) of the slice slot k holds (the one
        the last ``get(k)`` returned; it changes at the next ``get(k)`` after ``rotate(k)``)."""
        k = self._check_slot(k)
        return self._holder[k][self._rank]

    def rows(self, k: int) -> tuple[int, int]:
        """(start, stop) rows of the global model (ranks' rows concatenated in rank order) of
        the slice ``get(k)`` returns (array models only)."""
        if self.kind != "array":
            raise TypeError("rows: only array models have rows; use the Table's partition ids")
        g = self.slice_id(k)
        return int(self._row_start[g]), int(self._row_start[g + 1])

    def _nbytes(self, g: int) -> int:
        m = self._meta[g]
        return int(m[1]) if self.kind == "array" else int(_packing.offsets_of(m[1])[-1])

    def _decode(self, g: int, buf: np.ndarray):
        m = self._meta[g]
        if self.kind == "array":
            shape, dt = self._trailing
            return buf.view(np.dtype(dt)).reshape((m[0], *shape))
        t = Table(self._table_combiner)
        for (pid, _, _), v in zip(m[1], _packing.views(buf, m[1])):
            t.add(Partition(pid, v))
        return t

    def wait_all(self) -> None:
        """Complete every rotation in flight."""
        for k in range(self.slices_per_rank):
            if self._incoming[k] is not None:
                self.get(k)

    def assemble(self):
        """Collective: every slice back in global order on every rank (an array with all ranks'
        rows, or a Table with every partition)."""
        self.wait_all()
        t = Table("sum")
        for k in range(self.slices_per_rank):
            t.add(Partition(self._holder[k][self._rank], self._current[k]))
        self.comm.allgather(t)
        if self.kind == "array":
            shape, dt = self._trailing
            parts = [t[g].view(np.dtype(dt)).reshape((self._meta[g][0], *shape))
                     for g in range(len(self._meta))]
            return np.concatenate(parts) if parts else np.empty((0, *shape), np.dtype(dt))
        out = Table(self._table_combiner)
        for g in range(len(self._meta)):
            for (pid, _, _), v in zip(self._meta[g][1], _packing.views(t[g], self._meta[g][1])):
                out.add(Partition(pid, v))
        return out

    def close(self) -> None:
        """Finish transfers in flight, stop the progress thread, free the private communicator.
        Collective when size > 1."""
        if self._pcomm is None and self._progress_thread is None:
            return
        self.wait_all()
        if self._progress_thread is not None:
            self._stop.set()
            self._pending.set()
            self._progress_thread.join()
            self._progress_thread = None
            _live_stops.discard(self._stop)
        if self._pcomm is not None:
            self._pcomm.Free()
            self._pcomm = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _packing_pack_into(items, offsets, buf):
    _core.comm.pack([np.ascontiguousarray(a) for _, a in items], offsets, buf,
                    _packing.COPY_THREADS)
