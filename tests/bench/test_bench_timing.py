"""harpdaal.bench.timing: exclusive per-section time, glue as the unmarked remainder."""
from __future__ import annotations

import time

import pytest

from harpdaal.bench import timing


class _Clock:
    """A fake perf_counter: the test decides how much time each step takes (no flakiness)."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    fake = _Clock()
    monkeypatch.setattr(timing.time, "perf_counter", fake)
    return fake


def test_sections_are_exclusive_and_glue_is_the_rest(clock):
    with timing.record() as rec:
        clock.advance(0.5)  # unmarked: glue
        with timing.section("compute"):
            clock.advance(3.0)
            with timing.section("comm"):  # nested: charged to comm only
                clock.advance(2.0)
                with timing.section("compute"):  # and back: compute again
                    clock.advance(0.25)
            clock.advance(1.0)
        clock.advance(0.5)
        with timing.section("comm"):
            clock.advance(4.0)
    t = rec.totals()
    assert t == {"compute": 4.25, "comm": 6.0, "glue": 1.0}
    assert rec.wall == 11.25
    assert rec.per_iteration(5) == {"compute": 0.85, "comm": 1.2, "glue": 0.2}


def test_section_timing_with_the_real_clock():
    with timing.record() as rec:
        with timing.section("compute"):
            time.sleep(0.02)
    t = rec.totals()
    assert t["compute"] >= 0.02 and t["comm"] == 0.0
    assert t["compute"] + t["glue"] == pytest.approx(rec.wall)


def test_section_without_recorder_times_nothing():
    ctx = timing.section("compute")
    with ctx:
        pass
    assert ctx is timing.section("comm")  # the shared no-op context


def test_bad_names_and_iterations_are_rejected():
    with timing.record() as rec:
        with pytest.raises(ValueError, match="section name"):
            with timing.section("glue"):
                pass
    with pytest.raises(ValueError, match="n_iter"):
        rec.per_iteration(0)
    assert timing.median_breakdown([{"compute": 1, "comm": 2, "glue": 3},
                                    {"compute": 3, "comm": 2, "glue": 1},
                                    {"compute": 2, "comm": 9, "glue": 2}]) == {
        "compute": 2, "comm": 2, "glue": 2}
