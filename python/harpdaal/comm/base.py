"""The Communicator: Harp's collectives over tables, and array fast paths.

Every collective first exchanges a little metadata (layouts, dtypes, roots, local validation
errors) so that a bad argument or a mismatch on any rank raises the same exception on every rank
before any array moves (no rank is left waiting in a collective). Array payloads then move
through the subclass's buffer primitives only.

Subclasses (LocalCommunicator, MPICommunicator) implement the ``_``-prefixed transport
primitives; everything else lives in the mixins composed here, so both backends behave
identically:

- ``_agreement.Agreement``: cross-rank validation (``_agree``, ``check_same``);
- ``_arrays.ArrayCollectives``: zero-copy array collectives and ``irotate_array``;
- ``_tables.TableCollectives``: Harp's verbs over ``Table`` objects;
- ``_events.Events``: point-to-point control messages.
"""
from __future__ import annotations

from ._agreement import Agreement, _capture
from ._arrays import ArrayCollectives, RotateHandle
from ._events import Event, Events
from ._tables import TableCollectives

__all__ = ["Communicator", "Event", "RotateHandle"]


class Communicator(Agreement, ArrayCollectives, TableCollectives, Events):
    """Harp's collectives; see docs/COMM_API.md. Subclasses set ``rank`` and ``size``."""

    rank: int = 0
    size: int = 1

    # ---- transport primitives (subclasses) -----------------------------------------------
    def _barrier(self): raise NotImplementedError
    def _allgather_obj(self, obj): raise NotImplementedError
    def _bcast_obj(self, obj, root): raise NotImplementedError
    def _allreduce_buf(self, a, op): raise NotImplementedError
    def _reduce_buf(self, a, op, root): raise NotImplementedError
    def _bcast_buf(self, a, root): raise NotImplementedError
    def _allgather_buf(self, a, out): raise NotImplementedError
    def _allgatherv_buf(self, a, out, counts, displs): raise NotImplementedError
    def _allgatherv_inplace_buf(self, out, counts, displs): raise NotImplementedError
    def _gatherv_buf(self, a, out, counts, displs, root): raise NotImplementedError
    def _alltoallv_buf(self, send, scounts, sdispls, recv, rcounts, rdispls): raise NotImplementedError
    def _sendrecv_buf(self, send, dest, recv, source): raise NotImplementedError
    def _irotate(self, send, dest, recv, source) -> RotateHandle: raise NotImplementedError
    def _send_event_to(self, payload, dest): raise NotImplementedError
    def _poll_event(self): raise NotImplementedError  # -> Event | None (remote events)
    def _shared_alloc(self, nbytes): return None  # -> a handle (buffer, sync, free) or None

    # ---- small objects (pickled; never array payloads) -------------------------------------
    def barrier(self) -> None:
        self._barrier()

    def bcast_object(self, obj, root: int = 0):
        _, err = _capture(lambda: self._check_root(root))
        self._agree("bcast_object", same=root if err is None else None, error=err)
        return self._bcast_obj(obj, root)

    def allgather_object(self, obj) -> list:
        return self._allgather_obj(obj)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(rank={self.rank}, size={self.size})"
