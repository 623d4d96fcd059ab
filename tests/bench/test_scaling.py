"""benchmarks/scaling.py at smoke size: one record per (case, tool, threads) appended as it is
measured, and the report's speed-ups and peer ratios computed from them. No timing is asserted."""
from __future__ import annotations

import json
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "scaling.py"



def test_threads_run_writes_one_record_per_case_and_thread_count(tmp_path, bench_script):
    out = tmp_path / "s.jsonl"
    proc = subprocess.run([sys.executable, str(SCRIPT), "threads", "--size", "smoke",
                           "--threads", "1", "2", "--peers", "sklearn", "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    ours = {(r["case"], r["threads"]) for r in rows if r["tool"] == "harpdaal"}
    cases = bench_script("scaling").CASES["smoke"]
    assert ours == {(c, t) for c in cases for t in (1, 2)}
    assert all(r["status"] == "ok" and r["median_s"] > 0 and r["ranks"] == 1
               for r in rows if r["tool"] == "harpdaal")
    km = [r for r in rows if r["tool"] == "sklearn"]
    # the peer runs at the smallest and the largest thread count, on the K-means cases only
    assert {(r["case"].split("-")[0], r["threads"]) for r in km} == {("kmeans", 1), ("kmeans", 2)}
    # the iteration overrides reach the cases
    mf = next(r for r in rows if r["case"].startswith("mf-"))
    assert mf["params"]["epochs"] == 5


def test_report_gives_speedups_over_one_thread_and_peer_ratios(tmp_path, bench_script):
    base = {"params": {}, "reason": None, "min_s": None, "secs": [], "throughput": None,
            "quality": None, "quality_name": None, "wall_s": 1.0, "load1": 0.5, "cpu": "X",
            "cores": 4, "status": "ok"}
    rows = [dict(base, case="c", tool="harpdaal", threads=1, ranks=1, median_s=0.4),
            dict(base, case="c", tool="harpdaal", threads=4, ranks=1, median_s=0.1),
            dict(base, case="c", tool="peer", threads=4, ranks=1, median_s=0.25),
            dict(base, case="c", tool="peer", threads=1, ranks=1, status="failed",
                 median_s=None, reason="boom")]
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    text = bench_script("scaling").report(str(path))
    assert "| c | harpdaal | 4 x 1 | 0.1000 | 4.00x |" in text
    assert "| c | peer | 4 x 1 | 0.2500 |  | 2.50 |" in text
    assert "peer 1x1: failed: boom" in text


def test_cases_option_runs_only_the_named_cases(tmp_path):
    out = tmp_path / "s.jsonl"
    proc = subprocess.run([sys.executable, str(SCRIPT), "threads", "--size", "smoke",
                           "--threads", "1", "--cases", "lda-synth-k100", "--peers",
                           "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["case"], r["tool"], r["threads"]) for r in rows] == [("lda-synth-k100", "harpdaal", 1)]
    bad = subprocess.run([sys.executable, str(SCRIPT), "threads", "--size", "smoke", "--cases",
                          "lda-synth-k1", "--out", str(tmp_path / "b.jsonl")],
                         capture_output=True, text=True, timeout=600)
    assert bad.returncode != 0 and "unknown --cases ['lda-synth-k1']" in bad.stderr
    assert not (tmp_path / "b.jsonl").exists()
