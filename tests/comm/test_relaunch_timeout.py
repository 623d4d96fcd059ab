"""``--ranks N`` relaunches (harpdaal bench) are killed, with every process they started, when
they run past their time limit: a deadlocked case cannot hang the benchmark run."""
from __future__ import annotations

import os
import stat
import time

import pytest

from harpdaal.cli import launch


@pytest.fixture
def fake_mpiexec(tmp_path, monkeypatch):
    # stands in for mpiexec: starts a "rank" that never ends, records its pid, waits for it
    script = tmp_path / "mpiexec"
    pidfile = tmp_path / "rank.pid"
    script.write_text(f"#!/bin/sh\nsleep 300 &\necho $! > {pidfile}\nwait\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setattr(launch, "find_mpiexec", lambda: str(script))
    return pidfile


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers signal 0: look at its state
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_relaunch_past_timeout_kills_the_whole_job(fake_mpiexec):
    t0 = time.monotonic()
    with pytest.raises(launch.RelaunchTimeout, match="still running after 0.5 s"):
        launch.relaunch(2, ["bench"], timeout=0.5)
    assert time.monotonic() - t0 < 15
    rank = int(fake_mpiexec.read_text())
    deadline = time.monotonic() + 5
    while _alive(rank) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(rank), "the relaunched job's child survived the timeout"


def test_relaunch_returns_exit_code_within_timeout(tmp_path, monkeypatch):
    script = tmp_path / "mpiexec"
    script.write_text("#!/bin/sh\nexit 3\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setattr(launch, "find_mpiexec", lambda: str(script))
    assert launch.relaunch(2, ["bench"], timeout=30) == 3
    with pytest.raises(ValueError, match="timeout"):
        launch.relaunch(2, ["bench"], timeout=0)


def test_bench_cli_reports_a_timed_out_rank_count(fake_mpiexec, tmp_path):
    from harpdaal.cli.bench import main

    out = tmp_path / "out"
    rc = main(["--size", "smoke", "--ranks", "2", "--only", "no-such-case", "--timeout", "0.5",
               "--no-plots", "--no-progress", "--out", str(out)])
    assert rc == 1
    import json

    doc = json.loads((out / "results.json").read_text()) if (out / "results.json").exists() \
        else json.loads(next(out.glob("*.json")).read_text())
    assert any("still running after 0.5 s" in e["message"] for e in doc["errors"])
