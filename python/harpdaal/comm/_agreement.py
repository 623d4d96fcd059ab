"""Agreement across ranks: every rank validates its own arguments, then all ranks learn every
rank's outcome in one small exchange, so a bad argument or a mismatch on any rank raises the
same exception on every rank before any array moves (no rank is left waiting in a collective).
"""
from __future__ import annotations

import hashlib
import numbers

import numpy as np


def _capture(fn):
    """(result, None) or (None, (exception type name, message)) for a local validation."""
    try:
        return fn(), None
    except (TypeError, ValueError) as exc:
        return None, (type(exc).__name__, str(exc))


def _raise_captured(what: str, err) -> None:
    """Raise a captured (type name, message) locally, as TypeError or ValueError."""
    raise (TypeError if err[0] == "TypeError" else ValueError)(f"{what}: {err[1]}")


class Agreement:
    """Cross-rank agreement over the transport primitive ``_allgather_obj`` (and
    ``_allreduce_buf`` for the one-buffer fast check); mixed into ``Communicator``."""

    def _agree(self, what: str, same=None, extra=None, error=None) -> list:
        """Allgather (error, same, extra); raise on every rank if any rank had an error or
        ``same`` differs; return every rank's ``extra``."""
        rows = self._allgather_obj((error, same, extra))
        for r, (err, _, _) in enumerate(rows):
            if err is not None:
                kind, msg = err
                exc = TypeError if kind == "TypeError" else ValueError
                if r == self.rank:
                    raise exc(f"{what}: {msg}")
                raise exc(f"{what}: rank {r}: {msg}")
        first = rows[0][1]
        for r, (_, s, _) in enumerate(rows):
            if s != first:
                raise ValueError(f"{what}: ranks disagree: rank 0 has {first!r}, rank {r} has {s!r}")
        return [e for _, _, e in rows]

    def _agreed_quickly(self, same, error) -> bool:
        """One tiny buffer Allreduce of (error flag, h, -h) with MAX: it equals (0, h, -h) only
        if no rank failed and every rank's ``same`` hashes alike. All ranks see the same reduced
        vector, so all of them take the same branch on the answer."""
        digest = hashlib.blake2b(repr(same).encode(), digest_size=7).digest()
        code = int.from_bytes(digest, "little")
        v = np.array([error is not None, code, -code], dtype=np.int64)
        self._allreduce_buf(v, "max")
        return bool(v[0] == 0 and v[1] == -v[2])

    def _agree_same(self, what: str, same, error=None) -> None:
        """``_agree`` without extras in one tiny allreduce; any doubt falls back to ``_agree``,
        which raises the detailed error."""
        if not self._agreed_quickly(same, error):
            self._agree(what, same=same, error=error)

    def _agreed(self, what, check, local):
        """Run the local validation; with ``check`` agree across ranks (raising everywhere),
        without it raise locally only (for hot loops whose layout was agreed once)."""
        meta, err = _capture(local)
        if check:
            self._agree_same(what, same=meta, error=err)
        elif err is not None:
            _raise_captured(what, err)

    def _check_root(self, root) -> int:
        if isinstance(root, (bool, np.bool_)) or not isinstance(root, numbers.Integral):
            raise TypeError(f"root: expected an int, got {type(root).__name__}")
        if not 0 <= int(root) < self.size:
            raise ValueError(f"root: {root} is not a rank of this communicator (size {self.size})")
        return int(root)

    def check_same(self, value, what: str = "value"):
        """Raise ValueError on every rank unless ``value`` is equal on all ranks."""
        values = self._allgather_obj(value)
        for r, v in enumerate(values):
            if v != values[0]:
                raise ValueError(f"{what} differs across ranks: rank 0 has {values[0]!r}, "
                                 f"rank {r} has {v!r}")
        return value
