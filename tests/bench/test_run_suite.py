"""The benchmark suite pipeline at smoke size: benchmarks/run_suite.py writes the harness's
results, the time-to-quality curves and their plots, and benchmarks/make_readme_table.py turns
them into README's performance section between its markers. No timing is asserted."""
from __future__ import annotations

import importlib.util
import json
import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
SUITE = REPO / "benchmarks" / "run_suite.py"
TABLE = REPO / "benchmarks" / "make_readme_table.py"
HAVE_MPL = importlib.util.find_spec("matplotlib") is not None


def _load(path: pathlib.Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_curve_points_are_increasing_and_end_at_the_full_fit():
    suite = _load(SUITE)
    assert suite.curve_points(3, 5) == [1, 2, 3]
    for n in (10, 20, 100):
        pts = suite.curve_points(n, 5)
        assert pts[0] == 1 and pts[-1] == n and pts == sorted(set(pts)) and len(pts) <= 6


@pytest.fixture(scope="module")
def suite_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("suite") / "readme"
    proc = subprocess.run([sys.executable, str(SUITE), "--suite", "readme", "--size", "smoke",
                           "--threads", "1", "--ranks", "1", "--tools", "harpdaal", "--tools", "sklearn",
                           "--curve-points", "3", "--no-progress", "--out", str(out)],
                          capture_output=True, text=True, timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def test_suite_writes_results_curves_and_metadata(suite_run):
    doc = json.loads((suite_run / "results.json").read_text())
    modules = {r["module"] for r in doc["results"]}
    assert modules == {"kmeans", "mf", "lda"}
    assert all(r["threads"] == 1 and r["ranks"] == 1 for r in doc["results"])
    meta = json.loads((suite_run / "suite.json").read_text())
    assert meta["suite"] == "readme" and meta["size"] == "smoke" and meta["bench_exit_status"] == 0
    assert len(meta["load_before"]) == 3 and len(meta["load_after"]) == 3
    assert meta["command"][:2] == ["python", "benchmarks/run_suite.py"]

    curves = json.loads((suite_run / "curves.json").read_text())
    assert curves["threads"] == 1
    assert {e["module"] for e in curves["cases"].values()} == modules
    for case, entry in curves["cases"].items():
        series = entry["tools"]["harpdaal"]
        iters = [p["iterations"] for p in series]
        assert iters == sorted(iters) and iters[0] == 1, case
        assert all(p["seconds"] > 0 and p["quality"] is not None for p in series), case
    km = [e for e in curves["cases"].values() if e["module"] == "kmeans"][0]
    assert km["quality_name"] == "inertia" and "sklearn" in km["tools"]
    # same initial centers: more Lloyd iterations never raise the inertia
    inertias = [p["quality"] for p in km["tools"]["harpdaal"]]
    assert all(b <= a * (1 + 1e-6) for a, b in zip(inertias, inertias[1:]))


@pytest.mark.skipif(not HAVE_MPL, reason="matplotlib (bench extra) not installed")
def test_suite_plots_a_time_to_quality_chart_per_algorithm(suite_run):
    for module in ("kmeans", "mf", "lda"):
        png = suite_run / "plots" / f"{module}_time_to_quality.png"
        assert png.stat().st_size > 1000 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_make_readme_table_rewrites_only_the_marked_section(suite_run, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# title\n\nbefore\n<!-- perf:begin -->\nold table\n<!-- perf:end -->\nafter\n")
    subprocess.run([sys.executable, str(TABLE), str(suite_run / "results.json"), "--write", str(readme)],
                   check=True, capture_output=True, text=True, timeout=120)
    text = readme.read_text()
    assert text.startswith("# title\n\nbefore\n<!-- perf:begin -->\n") and text.endswith("<!-- perf:end -->\nafter\n")
    assert "old table" not in text
    doc = json.loads((suite_run / "results.json").read_text())
    m = doc["machine"]
    for title in ("**K-means**", "**Matrix factorisation**", "**LDA**"):
        line = next(line for line in text.splitlines() if line.startswith(title))
        assert m["cpu_model"] in line and f"{m['cpus_usable']} cores" in line
        assert f"ISA {m['isa_active']}" in line and "load average" in line and doc["created"][:10] in line
    assert "python benchmarks/run_suite.py --suite readme --size smoke" in text
    kmeans_rows = [line for line in text.splitlines() if line.startswith("| kmeans-")]
    assert kmeans_rows and all("| 1 × 1 |" in row for row in kmeans_rows)
    if HAVE_MPL:
        assert "_time_to_quality.png)" in text

    again = readme.read_text()
    subprocess.run([sys.executable, str(TABLE), str(suite_run / "results.json"), "--write", str(readme)],
                   check=True, capture_output=True, text=True, timeout=120)
    assert readme.read_text() == again  # regenerating from the same results changes nothing


def test_make_readme_table_refuses_a_file_without_markers(suite_run, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("no markers here\n")
    proc = subprocess.run([sys.executable, str(TABLE), str(suite_run / "results.json"), "--write", str(readme)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "markers" in proc.stderr
    assert readme.read_text() == "no markers here\n"
