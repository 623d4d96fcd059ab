"""benchmarks/lda_convergence.py: a smoke-size run records one trace per (tool, seed), and the
report's target, time to target and ratio follow from the traces. No timing is asserted."""
from __future__ import annotations

import json
import math
import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "lda_convergence.py"



def test_run_records_a_trace_per_seed(tmp_path):
    out = tmp_path / "c.jsonl"
    proc = subprocess.run([sys.executable, str(SCRIPT), "run", "--size", "smoke", "--cases",
                           "lda-synth-k10", "--tools", "harpdaal", "--seeds", "0", "1",
                           "--iterations", "4", "--every", "2", "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    recs = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["tool"], r["seed"]) for r in recs] == [("harpdaal", 0), ("harpdaal", 1)]
    for r in recs:
        # harpdaal runs 1.5x tomotopy's iterations, evaluated every 2
        assert r["iterations"] == 6 and r["compare_at"] == 4
        assert [it for it, _, _ in r["trace"]] == [2, 4, 6]
        secs = [s for _, s, _ in r["trace"]]
        assert secs == sorted(secs) and secs[-1] <= r["seconds"]
        assert all(math.isfinite(v) and v < 0 for _, _, v in r["trace"])
    assert recs[0]["trace"] != recs[1]["trace"]


def _rec(tool, seed, trace, compare_at=4):
    return {"case": "c", "tool": tool, "seed": seed, "threads": 1, "n_topics": 5,
            "iterations": trace[-1][0], "compare_at": compare_at, "seconds": trace[-1][1],
            "trace": trace, "load": 0.5, "cpu": "test"}


def test_report_target_time_to_target_and_ratio(tmp_path, capsys, bench_script):
    mod = bench_script("lda_convergence")
    recs = [
        _rec("tomotopy", 0, [[2, 2.0, -9.0], [4, 4.0, -8.5]]),
        _rec("tomotopy", 1, [[2, 2.0, -9.0], [4, 4.4, -8.3]]),
        _rec("tomotopy", 2, [[2, 2.0, -9.0], [4, 4.2, -8.4]]),
        # at 4 iterations -8.6, -8.35, -8.45; the target -8.4 (tomotopy's median) at 1.5, 3, 2.5 s
        _rec("harpdaal", 0, [[2, 1.0, -8.8], [4, 2.0, -8.6], [6, 3.0, -8.4]]),
        _rec("harpdaal", 1, [[2, 1.0, -8.7], [4, 2.0, -8.35], [6, 3.0, -8.3]]),
        _rec("harpdaal", 2, [[2, 1.0, -8.9], [4, 2.0, -8.45], [6, 2.5, -8.39]]),
    ]
    f = tmp_path / "r.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in recs))
    assert mod.ll_at(recs[3]) == -8.6
    assert mod.time_to(recs[3]["trace"], -8.4) == 3.0
    assert mod.time_to(recs[4]["trace"], -8.4) == pytest.approx(1.0 + 0.3 / 0.35)  # interpolated
    assert mod.time_to(recs[3]["trace"], -8.0) is None
    assert mod.median_time([1.0, None, 3.0]) == 3.0 and mod.median_time([1.0, None, None]) is None
    mod.main(["report", str(f)])
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("| c |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[4] == "4" and cells[5] == "-8.4000"
    assert cells[6] == "-8.4500 (-8.6000..-8.3500)"
    # time to -8.4: harpdaal 3.0, 1.857, 2.417 -> 2.417; tomotopy never (the -8.5 run), 4.057,
    # 4.2 -> 4.2 (the run that never reached it counts as the slowest)
    assert cells[9] == "2.42 / 4.20 (2/3 runs reached)" and cells[10] == "1.74x"
    # halfway (2 iterations): tomotopy's median -9.0 at 2.0 s; harpdaal above it from its first
    # evaluation (1.0 s)
    assert mod.ll_at(recs[0], 0.5) == -9.0 and cells[11] == "2.00x"
    recs[0]["trace"][-1][2] = -8.4  # now every tomotopy run reaches -8.4: 4.0, 4.057, 4.2
    f.write_text("".join(json.dumps(r) + "\n" for r in recs))
    mod.main(["report", str(f)])
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("| c |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[9] == "2.42 / 4.06" and cells[10] == "1.68x"
    for r in recs[3:]:  # two of three harpdaal runs never reach it: no median time, no ratio
        r["trace"] = [[2, 1.0, -9.5], [4, 2.0, -9.4], [6, 3.0, -9.3]]
    recs[5]["trace"][-1][2] = -8.0
    f.write_text("".join(json.dumps(r) + "\n" for r in recs))
    mod.main(["report", str(f)])
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("| c |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[9] == "not reached (1/3 runs reached) / 4.06" and cells[10] == "-"


def test_report_writes_a_plot(tmp_path, bench_script):
    pytest.importorskip("matplotlib")
    mod = bench_script("lda_convergence")
    recs = [_rec("tomotopy", 0, [[2, 2.0, -9.0], [4, 4.0, -8.5]]),
            _rec("harpdaal", 0, [[2, 1.0, -8.8], [4, 2.0, -8.6], [6, 3.0, -8.4]])]
    f = tmp_path / "r.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in recs))
    mod.main(["report", str(f), "--svg-dir", str(tmp_path / "svg")])
    svg = (tmp_path / "svg" / "c-t1.svg").read_text()
    assert svg.startswith("<?xml") and "harpdaal" in svg and "tomotopy" in svg


def test_report_compares_ranks_with_tomotopy_at_as_many_threads(tmp_path, capsys, bench_script):
    mod = bench_script("lda_convergence")
    t2 = [dict(_rec("tomotopy", s, [[2, 2.0, -9.0], [4, 4.0, -8.5]]), threads=2) for s in (0, 1)]
    t1 = [_rec("tomotopy", 0, [[2, 9.0, -9.9], [4, 18.0, -9.8]])]  # 1 thread: not the peer
    ranks = [dict(_rec("harpdaal", s, [[2, 1.0, -8.9], [4, 2.0, -8.5], [6, 3.0, -8.4]]),
                  ranks=2) for s in (0, 1)]
    f = tmp_path / "r.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in t2 + t1 + ranks))
    mod.main(["report", str(f)])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| c |")]
    assert len(rows) == 1
    cells = [c.strip() for c in rows[0].strip("|").split("|")]
    assert cells[2] == "1 x 2 ranks" and cells[3] == "2/2" and cells[5] == "-8.5000"
    assert cells[9] == "2.00 / 4.00" and cells[10] == "2.00x"


def test_lda_samplers_table_from_real_data(tmp_path, data_dir):
    """benchmarks/lda_samplers.py on KOS, a few sweeps: one trace per sampler, the sparse
    sampler's own targets reached at its own evaluations, the evaluations outside the clock."""
    out = tmp_path / "s.json"
    script = REPO / "benchmarks" / "lda_samplers.py"
    proc = subprocess.run([sys.executable, str(script), "--data-dir", str(data_dir), "--cases",
                           "lda-kos-k100:20", "--samplers", "sparse", "warp:2", "--iterations",
                           "4", "--every", "2", "--targets", "2", "4", "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    d = json.loads(out.read_text())
    assert [(r["sampler"], [i for i, _, _ in r["trace"]]) for r in d["runs"]] == [
        ("sparse", [2, 4]), ("warp:2", [2, 4, 6, 8])]
    sparse = d["runs"][0]["trace"]
    for row, (_, secs, ll) in zip(d["rows"], sparse):
        assert row["target"] == ll and row["seconds"]["sparse"] == pytest.approx(secs)
    assert "| lda-kos-k100 | 20 |" in proc.stdout
    cost = subprocess.run([sys.executable, str(script), "--data-dir", str(data_dir), "--cost",
                           "--cases", "lda-kos-k100:20", "--samplers", "warp:2"],
                          capture_output=True, text=True, timeout=600)
    assert cost.returncode == 0, cost.stderr[-2000:]
    assert "ns/token per sweep" in cost.stdout
