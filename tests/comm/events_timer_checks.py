"""Events and the rotation timer, run on every backend (see test_events_timer.py)."""
from __future__ import annotations

import time

import numpy as np
import pytest

from harpdaal.comm import Event, RotationTimer
from harpdaal.comm.timer import solve_budget


class EventChecks:
    def test_ring_of_events(self, comm):
        comm.send_event({"from": comm.rank, "step": 1}, dest=(comm.rank + 1) % comm.size)
        ev = comm.wait_event(timeout=10)
        assert isinstance(ev, Event)
        src = (comm.rank - 1) % comm.size
        assert ev == Event(src, {"from": src, "step": 1})
        comm.barrier()
        assert comm.get_event() is None
        comm.barrier()  # nobody sends the next test's events before everyone has checked

    def test_broadcast_event_and_order(self, comm):
        if comm.rank == 0:
            for i in range(3):
                comm.broadcast_event(("tick", i))
        else:
            got = [comm.wait_event(timeout=10) for _ in range(3)]
            assert got == [Event(0, ("tick", i)) for i in range(3)]  # in order, from rank 0
        comm.barrier()
        assert comm.get_event() is None
        comm.barrier()

    def test_event_to_self_and_get_is_non_blocking(self, comm):
        t0 = time.perf_counter()
        assert comm.get_event() is None
        assert time.perf_counter() - t0 < 1.0
        comm.send_event("note", dest=comm.rank)
        assert comm.get_event() == Event(comm.rank, "note")
        assert comm.get_event() is None
        comm.barrier()

    def test_wait_event_times_out(self, comm):
        t0 = time.perf_counter()
        with pytest.raises(TimeoutError):
            comm.wait_event(timeout=0.05)
        assert time.perf_counter() - t0 < 5.0
        comm.barrier()

    def test_bad_event_arguments(self, comm):
        with pytest.raises(ValueError, match="dest"):
            comm.send_event(1, dest=comm.size)
        with pytest.raises(TypeError, match="dest"):
            comm.send_event(1, dest="0")
        with pytest.raises(ValueError, match="timeout"):
            comm.wait_event(timeout=-1)


def brute_force_budget(rates, work, f):
    lo, hi = 0.0, max(w / r for r, w in zip(rates, work) if r > 0)
    target = f * sum(work)
    for _ in range(200):
        mid = (lo + hi) / 2
        if sum(min(r * mid, w) for r, w in zip(rates, work)) < target:
            lo = mid
        else:
            hi = mid
    return hi


def test_solve_budget_matches_definition():
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(1, 9))
        rates = rng.uniform(0.1, 10, n)
        work = rng.uniform(1, 100, n)
        f = float(rng.uniform(0.05, 1.0))
        b = solve_budget(rates, work, f)
        assert b == pytest.approx(brute_force_budget(rates, work, f), rel=1e-9, abs=1e-12)
        assert sum(min(r * b, w) for r, w in zip(rates, work)) == pytest.approx(f * work.sum())
    assert solve_budget([2.0, 1.0], [20.0, 20.0], 0.75) == pytest.approx(10.0)
    assert solve_budget([2.0, 1.0], [20.0, 20.0], 1.0) == pytest.approx(20.0)
    assert solve_budget([1.0], [0.0], 0.5) == 0.0


def test_timer_rejects_percentages():
    from harpdaal.comm import LocalCommunicator

    with pytest.raises(ValueError, match="did you mean 0.9"):
        RotationTimer(LocalCommunicator(), target_fraction=90)
    with pytest.raises(ValueError, match="budget"):
        RotationTimer(LocalCommunicator(), budget=0)


class TimerChecks:
    UNIT = 0.001   # seconds per work unit on a fast rank (an idle wait: robust when ranks
    WORK = 40      # outnumber cores); the last rank is deliberately 2x slower

    def _run_steps(self, comm, timer, n_steps):
        slow = comm.rank == comm.size - 1
        unit = self.UNIT * (2 if slow else 1)
        done_total, busy_total, busy_max = 0, 0.0, 0.0
        for _ in range(n_steps):
            comm.barrier()
            timer.start()
            done = 0
            t0 = time.perf_counter()
            while done < self.WORK and not timer.expired():
                time.sleep(unit)
                done += 1
            busy = time.perf_counter() - t0
            busy_max = max(busy_max, busy)
            busy_total += busy
            timer.stop(work_done=done, work_total=self.WORK)
            done_total += done
        return done_total, busy_total, busy_max

    @pytest.mark.parametrize("target", [1.0, 0.75])
    def test_budget_converges_with_a_slow_rank(self, comm, target):
        timer = RotationTimer(comm, budget=0.005, target_fraction=target)
        for _ in range(6):                       # adapt after every round of 2 steps
            self._run_steps(comm, timer, 2)
            timer.adapt()
        budget = timer.budget
        done, busy_total, busy = self._run_steps(comm, timer, 3)
        # the rates each rank really achieved in this round (sleeps overshoot under load)
        rates = comm.allgather_object(done / busy_total)
        done = comm.allgather_object(done)
        busy = comm.allgather_object(busy)
        fraction = sum(done) / (3 * self.WORK * comm.size)
        # the job completes the target fraction of its work (units are 1/40 of a step)
        assert fraction == pytest.approx(target, abs=0.12), (fraction, timer.history)
        # no rank computes much past the budget: all reach the rotation together
        assert max(busy) <= budget + 2 * 2 * self.UNIT + 0.05, (busy, budget)
        slow_step = 2 * self.UNIT * self.WORK    # nominal time the slow rank needs per step
        if target == 1.0:
            # everything must be done, so the budget waits for the slowed rank
            assert budget >= 0.9 * slow_step, timer.history
            # up to jitter of the measured rate: on a loaded machine the slowed rank's sleeps
            # overshoot more in this round than in the rounds the budget was fitted on
            assert done[-1] >= 0.8 * 3 * self.WORK, (done, busy, budget, timer.history)
        elif comm.size > 1:
            # fast ranks do not wait for the slowed one: it leaves part of its block
            assert budget < 0.9 * slow_step, timer.history
            assert done[-1] < min(done[:-1])
        # the budget is the definition's solution for the rates the ranks achieved
        want = brute_force_budget(rates, [self.WORK] * comm.size, target)
        assert budget == pytest.approx(want, rel=0.5), (budget, want, rates, timer.history)
