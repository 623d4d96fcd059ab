"""Per-iteration time breakdown (kernel compute, communication, glue) for harpdaal estimators.

Estimators mark their kernel calls and collectives; the benchmark wraps a fit in ``record()``
and reads the breakdown. With no ``record()`` active, ``section()`` costs one context-variable
lookup and times nothing, so estimators can leave the marks in production code::

    from harpdaal.bench.timing import section

    for it in range(max_iter):
        with section("compute"):
            _core.kmeans.lloyd_partial(...)
        with section("comm"):
            comm.allreduce_array(sums)
        # everything unmarked (validation, conversions, Python) is glue

    # in a bench case:
    with record() as rec:
        est.fit(X)
    rec.per_iteration(est.n_iter_)   # {"compute": s, "comm": s, "glue": s}

Sections may nest; time is charged to the innermost section only (exclusive time), so a
collective called inside a "compute" block is not counted twice. ``glue`` is the recorded wall
time minus compute and comm: all the time spent outside kernels and collectives.
"""
from __future__ import annotations

import contextlib
import contextvars
import statistics
import time

CATEGORIES = ("compute", "comm", "glue")

_current: contextvars.ContextVar[Recorder | None] = contextvars.ContextVar(
    "harpdaal_bench_recorder", default=None
)


class Recorder:
    """Accumulates exclusive seconds per category between ``start()`` and ``stop()``."""

    def __init__(self) -> None:
        self.seconds = {name: 0.0 for name in CATEGORIES}
        self.wall = 0.0
        self._stack: list[list] = []  # [name, start, child_seconds]
        self._t0: float | None = None

    def start(self) -> None:
        self._t0 = time.perf_counter()

    def stop(self) -> None:
        if self._t0 is None:
            raise RuntimeError("Recorder.stop() without start()")
        self.wall += time.perf_counter() - self._t0
        self._t0 = None

    @contextlib.contextmanager
    def section(self, name: str):
        if name not in ("compute", "comm"):
            raise ValueError(f"section name must be 'compute' or 'comm', got {name!r}")
        frame = [name, time.perf_counter(), 0.0]
        self._stack.append(frame)
        try:
            yield
        finally:
            self._stack.pop()
            elapsed = time.perf_counter() - frame[1]
            self.seconds[name] += elapsed - frame[2]
            if self._stack:
                self._stack[-1][2] += elapsed

    @property
    def marked(self) -> bool:
        """True once any section was timed: without marks, everything would read as glue."""
        return self.seconds["compute"] > 0 or self.seconds["comm"] > 0

    def totals(self) -> dict:
        """Seconds per category over everything recorded; glue is the unmarked remainder."""
        out = dict(self.seconds)
        out["glue"] = max(0.0, self.wall - self.seconds["compute"] - self.seconds["comm"])
        return out

    def per_iteration(self, n_iter: int) -> dict:
        """``totals()`` divided by ``n_iter`` (the shape a bench case returns as "breakdown")."""
        if not isinstance(n_iter, int) or n_iter < 1:
            raise ValueError(f"n_iter must be a positive int, got {n_iter!r}")
        return {k: v / n_iter for k, v in self.totals().items()}


@contextlib.contextmanager
def record():
    """Activate a new Recorder for the enclosed block and yield it."""
    rec = Recorder()
    token = _current.set(rec)
    rec.start()
    try:
        yield rec
    finally:
        rec.stop()
        _current.reset(token)


_NULL = contextlib.nullcontext()


def section(name: str):
    """Time the block as ``name`` ('compute' or 'comm') in the active recorder, if any."""
    rec = _current.get()
    if rec is None:
        return _NULL
    return rec.section(name)


def median_breakdown(breakdowns: list[dict]) -> dict:
    """Per-category median over repeats (what a case returns for several timed fits)."""
    if not breakdowns:
        raise ValueError("breakdowns must not be empty")
    return {k: statistics.median(b[k] for b in breakdowns) for k in CATEGORIES}
