"""Events: Harp's control messages between workers (point to point, never collective).

Payloads are small picklable objects (flags, counters, ids), not array data.
"""
from __future__ import annotations

import collections
import numbers
import time
from typing import NamedTuple

import numpy as np


class Event(NamedTuple):
    """A control message between workers: who sent it and what (a small picklable object)."""

    source: int
    payload: object


class Events:
    """Event methods; mixed into ``Communicator`` (uses ``_send_event_to`` / ``_poll_event``)."""

    @property
    def _event_queue(self):
        q = self.__dict__.get("_events_to_self")
        if q is None:
            q = self.__dict__["_events_to_self"] = collections.deque()
        return q

    def send_event(self, payload, dest: int) -> None:
        """Send ``payload`` to worker ``dest`` (may be this rank); returns at once."""
        if isinstance(dest, (bool, np.bool_)) or not isinstance(dest, numbers.Integral):
            raise TypeError(f"dest: expected an int, got {type(dest).__name__}")
        if not 0 <= int(dest) < self.size:
            raise ValueError(f"dest: {dest} is not a rank of this communicator (size {self.size})")
        if int(dest) == self.rank:
            self._event_queue.append(Event(self.rank, payload))
        else:
            self._send_event_to(payload, int(dest))

    def broadcast_event(self, payload) -> None:
        """Send ``payload`` to every other worker; returns at once."""
        for r in range(self.size):
            if r != self.rank:
                self._send_event_to(payload, r)

    def get_event(self):
        """The next event for this rank (an ``Event(source, payload)``), or None if none has
        arrived. Never blocks. Events from one sender arrive in the order they were sent."""
        if self._event_queue:
            return self._event_queue.popleft()
        return self._poll_event() if self.size > 1 else None

    def wait_event(self, timeout: float | None = None):
        """Block until an event arrives and return it; TimeoutError after ``timeout`` s."""
        if timeout is not None and (not isinstance(timeout, numbers.Real) or timeout < 0):
            raise ValueError(f"timeout: expected seconds >= 0 or None, got {timeout!r}")
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = 1e-5
        while True:
            ev = self.get_event()
            if ev is not None:
                return ev
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"wait_event: no event within {timeout} s on rank {self.rank}")
            if self.size == 1 and deadline is None:
                raise TimeoutError("wait_event: a single rank with no pending event would "
                                   "wait forever")
            time.sleep(pause)
            pause = min(pause * 2, 1e-3)
