"""Timer-based dynamic rotation control: a rotation step ends when its time budget is spent, and
the budget adapts so that ranks of different speeds stop together while the job as a whole
completes a target fraction of its work.

Definitions (all per rotation step, measured since the last ``adapt``):
  w_i  work units rank i had available per step (e.g. ratings in its block),
  r_i  its measured rate: units done / seconds spent computing,
  f    ``target_fraction`` in (0, 1]: the fraction of all ranks' work to complete per step.
Every rank computes for the same budget B (so all reach the rotation together; a rank that runs
out of work earlier simply stops), completing min(r_i B, w_i) units. ``adapt`` chooses the B that
completes exactly the target:  sum_i min(r_i B, w_i) = f * sum_i w_i. The left side is
increasing and piecewise linear in B, so B is found exactly by walking the ranks in order of
their finish times T_i = w_i / r_i. (Harp multiplied the budget by a percentage divided by a
fraction; here f is a fraction everywhere and 90 is rejected, not taken for 0.9.)
With f = 1 the budget is the slowest rank's T_i; with f < 1 slow ranks leave part of their
block for later epochs and fast ranks never wait for them.
"""
from __future__ import annotations

import math
import numbers
import time

from ._current import current_communicator
from .base import Communicator


def solve_budget(rates, work, target_fraction: float) -> float:
    """The B with sum_i min(rates[i] * B, work[i]) == target_fraction * sum(work).

    Ranks with no work are ignored; a rank with work but rate 0 can complete nothing, so if the
    others cannot reach the target the result is the largest finite finish time (all they can
    do). Returns 0.0 when there is no work at all.
    """
    pairs = [(float(r), float(w)) for r, w in zip(rates, work) if w > 0]
    total = sum(w for _, w in pairs)
    if total == 0:
        return 0.0
    target = target_fraction * total
    finish = sorted(pairs, key=lambda p: (p[1] / p[0]) if p[0] > 0 else math.inf)
    done_before = 0.0                      # work of ranks already finished at this B
    rate_rest = sum(r for r, _ in finish)  # combined rate of ranks still working
    last_finite = 0.0
    for r, w in finish:
        t_i = w / r if r > 0 else math.inf
        if rate_rest > 0:
            b = (target - done_before) / rate_rest
            if b <= t_i:
                return max(b, 0.0)
        if math.isinf(t_i):
            break
        done_before += w
        rate_rest -= r
        last_finite = t_i
    return last_finite


class RotationTimer:
    """Per-step time budget for model rotation, adapted across ranks (see module docstring).

        timer = RotationTimer(comm, budget=0.05, target_fraction=0.9)
        for step ...:
            timer.start()
            done = 0
            while done < n_units and not timer.expired():
                ...one unit (or a small chunk) of work...; done += 1
            timer.stop(work_done=done, work_total=n_units)
            rot.rotate(k) ...
            if end_of_round: timer.adapt()      # collective
    """

    def __init__(self, comm: Communicator | None = None, budget: float = 0.05,
                 target_fraction: float = 1.0, min_budget: float = 1e-4,
                 max_change: float = 4.0, smoothing: float = 0.5):
        if comm is None:
            comm = current_communicator()
        if not isinstance(comm, Communicator):
            raise TypeError(f"comm: expected a harpdaal.comm.Communicator, got {type(comm).__name__}")
        for name, v in (("budget", budget), ("min_budget", min_budget)):
            if not isinstance(v, numbers.Real) or not v > 0 or math.isinf(v):
                raise ValueError(f"{name}: expected seconds > 0, got {v!r}")
        if not isinstance(target_fraction, numbers.Real) or not 0 < target_fraction <= 1:
            hint = (f" (a fraction: did you mean {target_fraction / 100:g}?)"
                    if isinstance(target_fraction, numbers.Real) and 1 < target_fraction <= 100
                    else "")
            raise ValueError(f"target_fraction: expected a fraction in (0, 1], got "
                             f"{target_fraction!r}{hint}")
        if not isinstance(max_change, numbers.Real) or not max_change > 1:
            raise ValueError(f"max_change: expected a factor > 1, got {max_change!r}")
        if not isinstance(smoothing, numbers.Real) or not 0 < smoothing <= 1:
            raise ValueError(f"smoothing: expected a weight in (0, 1], got {smoothing!r}")
        self.comm = comm
        self.budget = float(budget)
        self.target_fraction = float(target_fraction)
        self.min_budget = float(min_budget)
        self.max_change = float(max_change)
        self.smoothing = float(smoothing)
        self._rates: dict[int, float] = {}   # smoothed rate per rank
        self._start = None
        self._deadline = math.inf
        self._reset_stats()
        self.history: list[dict] = []

    def _reset_stats(self):
        self._done = 0.0
        self._busy = 0.0
        self._total = 0.0
        self._steps = 0

    def start(self) -> float:
        """Begin a step; returns its deadline (``time.perf_counter()`` units)."""
        self._start = time.perf_counter()
        self._deadline = self._start + self.budget
        return self._deadline

    def expired(self) -> bool:
        return time.perf_counter() >= self._deadline

    def remaining(self) -> float:
        """Seconds left in this step's budget (>= 0): pass it to a kernel with a time limit."""
        return max(0.0, self._deadline - time.perf_counter())

    def stop(self, work_done: float, work_total: float) -> None:
        """End the step: ``work_done`` of the ``work_total`` units available were completed."""
        if self._start is None:
            raise ValueError("stop() without start()")
        if not (isinstance(work_done, numbers.Real) and isinstance(work_total, numbers.Real)) \
                or work_done < 0 or work_total < 0 or work_done > work_total:
            raise ValueError(f"work_done/work_total: expected 0 <= work_done <= work_total, got "
                             f"{work_done!r}/{work_total!r}")
        self._busy += time.perf_counter() - self._start
        self._done += float(work_done)
        self._total += float(work_total)
        self._steps += 1
        self._start = None
        self._deadline = math.inf

    def adapt(self) -> float:
        """Collective: allgather every rank's work and compute time since the last adapt and
        set the next budget (returned). Rates are averaged over calls with weight ``smoothing`` on
        the newest; the budget changes by at most ``max_change``x per call."""
        stats = self.comm.allgather_object((self._done, self._busy, self._total, self._steps))
        rates, work = [], []
        for rank, (done, busy, total, steps) in enumerate(stats):
            if steps == 0:
                continue
            measured = done / busy if busy > 0 else 0.0
            # an exponential average: one noisy step (a preempted rank) must not swing the budget
            old_rate = self._rates.get(rank)
            rate = measured if old_rate is None else (
                self.smoothing * measured + (1 - self.smoothing) * old_rate)
            self._rates[rank] = rate
            rates.append(rate)
            work.append(total / steps)
        b = solve_budget(rates, work, self.target_fraction)
        old = self.budget
        if b > 0:
            b = min(max(b, old / self.max_change), old * self.max_change)
            self.budget = max(b, self.min_budget)
        fraction = (sum(s[0] for s in stats) / sum(s[2] for s in stats)
                    if sum(s[2] for s in stats) > 0 else 1.0)
        self.history.append({"budget_s": old, "done_fraction": fraction,
                             "next_budget_s": self.budget})
        self._reset_stats()
        return self.budget
