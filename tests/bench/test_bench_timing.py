"""harpdaal.bench.timing: exclusive per-section time, glue as the unmarked remainder."""
from __future__ import annotations

import time

import pytest

from harpdaal.bench import timing


def _busy(seconds: float) -> None:
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        pass


def test_sections_are_exclusive_and_glue_is_the_rest():
    with timing.record() as rec:
        with timing.section("compute"):
            _busy(0.03)
            with timing.section("comm"):  # nested: charged to comm only
                _busy(0.02)
        _busy(0.01)  # unmarked: glue
    t = rec.totals()
    assert t["comm"] == pytest.approx(0.02, abs=0.008)
    assert t["compute"] == pytest.approx(0.03, abs=0.008)
    assert t["glue"] == pytest.approx(0.01, abs=0.008)
    assert sum(t.values()) == pytest.approx(rec.wall)
    per = rec.per_iteration(2)
    assert per == {k: pytest.approx(v / 2) for k, v in t.items()}


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
