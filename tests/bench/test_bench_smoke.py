"""The benchmark harness: every present case at smoke size, plus a fake case module that proves
absent peers, failures and malformed results are reported (never dropped), the schema, the
markdown and the plots. Outputs go to tmp_path only."""
from __future__ import annotations

import copy
import importlib.util
import json
import pathlib
import shutil
import subprocess
import sys
import textwrap
import time

import pytest

from harpdaal.bench import report, runner, schema
from harpdaal.cli import bench as cli

REPO = pathlib.Path(__file__).resolve().parents[2]
# matplotlib is in the bench extra; without it the harness must say the plots were skipped.
HAVE_MPL = importlib.util.find_spec("matplotlib") is not None

FAKE = textwrap.dedent('''
    """A fake case module: deterministic "timings", one tool per way a run can go."""
    from harpdaal.bench.errors import PeerUnavailable

    TOOLS = ["harpdaal", "fastpeer", "ghost", "broken", "liar"]
    SECONDS = {"harpdaal": [0.02, 0.01, 0.03], "fastpeer": [0.04, 0.05, 0.06]}

    def cases(size, data_dir):
        return [{"name": f"fake-a-{size}", "params": {"n": 10}},
                {"name": f"fake-b-{size}", "params": {"n": 20, "shape": (2, 3)}}]

    def run(case, tool, threads, repeat):
        if tool == "ghost":
            raise PeerUnavailable("ghost is not installed (pip install ghost)")
        if tool == "broken":
            raise RuntimeError("kernel exploded")
        if tool == "liar":
            return {"seconds_per_iter": [0.1], "throughput": 1.0, "throughput_unit": "x/s",
                    "quality": 1.0, "quality_name": "q"}
        secs = [s * case["params"]["n"] / 10 for s in SECONDS[tool][:repeat]]
        secs += [secs[-1]] * (repeat - len(secs))
        out = {"seconds_per_iter": secs, "throughput": 1.0 / min(secs), "throughput_unit": "iters/s",
               "quality": float(case["params"]["n"] + len(tool)), "quality_name": "inertia"}
        if tool == "harpdaal":
            out["breakdown"] = {"compute": 0.015, "comm": 0.003, "glue": 0.002}
        return out
''')

BAD_CASES = textwrap.dedent('''
    TOOLS = ["harpdaal"]
    def cases(size, data_dir):
        raise OSError("data set missing")
    def run(case, tool, threads, repeat):
        raise AssertionError("never called")
''')


@pytest.fixture
def fake_modules(tmp_path, monkeypatch):
    pkg = tmp_path / "fakecases"
    pkg.mkdir()
    (pkg / "hd_fake_case.py").write_text(FAKE)
    (pkg / "hd_bad_cases.py").write_text(BAD_CASES)
    (pkg / "hd_not_a_case.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(pkg))
    return ["hd_fake_case", "hd_bad_cases", "hd_not_a_case", "hd_no_such_module"]


def _png(path: pathlib.Path) -> bool:
    return path.stat().st_size > 1000 and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _check_plots(out: pathlib.Path, cases, stdout: str) -> None:
    if not HAVE_MPL:
        assert "plots skipped" in stdout and not (out / "plots").exists()
        return
    names = sorted(p.name for p in (out / "plots").iterdir())
    expected = sorted(f"{report._slug(c)}_{kind}.png" for c in set(cases)
                      for kind in ("quality_vs_time", "scaling"))
    assert names == expected
    assert all(_png(out / "plots" / n) for n in names)


def test_every_present_case_runs_at_smoke_size(tmp_path, capsys):
    """The CI smoke: all registered cases, all their tools, in < 2 minutes, schema-valid."""
    out = tmp_path / "smoke"
    t0 = time.perf_counter()
    rc = cli.main(["--size", "smoke", "--threads", "1", "--repeat", "3", "--out", str(out),
                   "--no-progress"])
    elapsed = time.perf_counter() - t0
    doc = json.loads((out / "results.json").read_text())
    schema.validate(doc)
    failures = [(r["case"], t["tool"], t["reason"]) for r in doc["results"] for t in r["tools"]
                if t["status"] == "failed"]
    assert failures == [] and doc["errors"] == [], (failures, doc["errors"])
    assert rc == 0
    assert elapsed < 120, f"smoke benchmarks took {elapsed:.0f} s"
    modules, _ = runner.discover()
    names = {n for n, _ in modules}
    assert "comm" in names
    assert {r["module"] for r in doc["results"]} == names
    for name, module in modules:
        expected = {c["name"] for c in module.cases("smoke", None)}
        got = {r["case"] for r in doc["results"] if r["module"] == name}
        assert got == expected
        for r in doc["results"]:
            if r["module"] == name:
                assert [t["tool"] for t in r["tools"]] == list(module.TOOLS)
    md = (out / "results.md").read_text()
    for r in doc["results"]:
        assert r["case"] in md
    _check_plots(out, [r["case"] for r in doc["results"]], capsys.readouterr().out)
    comm_runs = [t for r in doc["results"] if r["module"] == "comm" for t in r["tools"]]
    raw = [t for t in comm_runs if t["tool"] == "mpi4py"]
    assert raw and all(t["status"] == "ok" and t["quality"] == 0.0 for t in raw)
    assert doc["machine"]["cpu_model"]
    assert doc["machine"]["isa_active"] in ("generic", "avx2", "avx512f", "avx512")
    assert doc["limits"]["numpy_sgemm"][0]["gflops"] > 0


def test_fake_module_statuses_ratios_and_outputs(tmp_path, fake_modules, capsys):
    out = tmp_path / "fake"
    rc = cli.main(["--size", "smoke", "--threads", "1,2", "--repeat", "3", "--only", "fake-*",
                   "--out", str(out), "--no-progress", *sum((["--module", m] for m in fake_modules), [])])
    assert rc == 1  # failures and errors make the command fail
    doc = json.loads((out / "results.json").read_text())
    schema.validate(doc)
    assert [(r["case"], r["threads"]) for r in doc["results"]] == [
        ("fake-a-smoke", 1), ("fake-a-smoke", 2), ("fake-b-smoke", 1), ("fake-b-smoke", 2)]
    where = " ".join(e["where"] for e in doc["errors"])
    for m in ("hd_bad_cases.cases", "import hd_not_a_case", "import hd_no_such_module"):
        assert m in where
    assert "data set missing" in " ".join(e["message"] for e in doc["errors"])

    r = doc["results"][2]
    tools = {t["tool"]: t for t in r["tools"]}
    assert list(tools) == ["harpdaal", "fastpeer", "ghost", "broken", "liar"]
    ours = tools["harpdaal"]
    assert ours["status"] == "ok" and ours["reason"] is None
    assert ours["median_s"] == pytest.approx(0.04) and ours["min_s"] == pytest.approx(0.02)
    assert ours["seconds_per_iter"] == pytest.approx([0.04, 0.02, 0.06])
    assert ours["glue_fraction"] == pytest.approx(0.1)
    assert ours["quality"] == 28.0
    assert tools["fastpeer"]["breakdown"] is None
    assert tools["ghost"]["status"] == "absent" and "pip install ghost" in tools["ghost"]["reason"]
    assert tools["broken"]["status"] == "failed" and "kernel exploded" in tools["broken"]["reason"]
    assert tools["liar"]["status"] == "failed" and "seconds_per_iter" in tools["liar"]["reason"]
    assert r["harpdaal_speedup"] == {"fastpeer": pytest.approx(2.5), "ghost": None, "broken": None,
                                     "liar": None}

    md = (out / "results.md").read_text()
    assert "absent: ghost is not installed" in md and "failed: RuntimeError: kernel exploded" in md
    assert "2.50×" in md and "75% / 15% / 10%" in md
    _check_plots(out, ["fake-a-smoke", "fake-b-smoke"], capsys.readouterr().out)

    script = REPO / "benchmarks" / "make_readme_table.py"
    block = subprocess.run([sys.executable, str(script), str(out / "results.json")], check=True,
                           capture_output=True, text=True, timeout=60).stdout
    assert "harpdaal bench --size smoke --threads 1,2" in block
    assert doc["machine"]["cpu_model"] in block
    assert f"ISA {doc['machine']['isa_active']}" in block and doc["created"][:10] in block
    rows = [line for line in block.splitlines() if line.startswith("| fake-")]
    assert len(rows) == 4 and rows[2].startswith("| fake-b-smoke | 1 × 1 | **0.04** |")
    cells = [c.strip() for c in rows[2].strip("|").split("|")]
    assert cells[5:] == ["0.1 (2.50×)", "absent", "failed", "failed"]  # fastpeer, ghost, broken, liar


def test_tools_selects_and_reports_the_rest_as_skipped(fake_modules):
    doc = runner.run_benchmarks(size="smoke", threads=[1], repeat=3, only=["fake-a-*"], tools=["harp*", "fast*"],
                                modules=["hd_fake_case"], limits=False, progress=False)
    schema.validate(doc)
    status = {t["tool"]: (t["status"], t["reason"]) for t in doc["results"][0]["tools"]}
    assert status["harpdaal"][0] == "ok" and status["fastpeer"][0] == "ok"
    for tool in ("ghost", "broken", "liar"):
        assert status[tool] == ("skipped", "not selected (--tools)")
    assert doc["settings"]["tools"] == ["harp*", "fast*"]
    assert doc["results"][0]["harpdaal_speedup"]["fastpeer"] == pytest.approx(2.5)


def test_only_selects_by_case_or_module_glob(fake_modules):
    doc = runner.run_benchmarks(size="small", threads=[1], repeat=3, only=["fake-b-*"],
                                modules=["hd_fake_case"], limits=False, progress=False)
    assert [r["case"] for r in doc["results"]] == ["fake-b-small"]
    doc = runner.run_benchmarks(size="small", threads=[1], repeat=3, only=["hd_fake_case"],
                                modules=["hd_fake_case"], limits=False, progress=False)
    assert [r["case"] for r in doc["results"]] == ["fake-a-small", "fake-b-small"]


@pytest.mark.parametrize("bad, message", [
    ({"size": "huge"}, "size"), ({"threads": []}, "threads"), ({"threads": [0]}, "threads"),
    ({"repeat": 2}, "repeat"),
])
def test_run_benchmarks_rejects_bad_arguments(bad, message):
    kwargs = {"size": "smoke", "threads": [1], "repeat": 3, "limits": False, "progress": False, **bad}
    with pytest.raises(ValueError, match=message):
        runner.run_benchmarks(**kwargs)


@pytest.mark.parametrize("argv", [["--repeat", "2"], ["--threads", "0"], ["--threads", "a"],
                                  ["--size", "huge"], ["--ranks", "1,x"]])
def test_cli_rejects_bad_options(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    assert "error" in capsys.readouterr().err


GOOD = {"seconds_per_iter": [0.3, 0.1, 0.2], "throughput": 5.0, "throughput_unit": "GB/s",
        "quality": 0.0, "quality_name": "err", "breakdown": {"compute": 0.1, "comm": 0.1, "glue": 0.0}}


@pytest.mark.parametrize("change, message", [
    ({"seconds_per_iter": [0.1, 0.2]}, "seconds_per_iter"),
    ({"seconds_per_iter": [0.1, 0.2, -1.0]}, "finite and > 0"),
    ({"seconds_per_iter": [0.1, 0.2, float("nan")]}, "finite and > 0"),
    ({"throughput": "fast"}, "throughput"),
    ({"quality_name": ""}, "quality_name"),
    ({"breakdown": {"compute": 1.0}}, "breakdown"),
    ({"breakdown": {"compute": 1.0, "comm": -1.0, "glue": 0.0}}, "breakdown"),
])
def test_check_result_names_the_bad_field(change, message):
    assert runner.check_result(GOOD, 3)["median_s"] == pytest.approx(0.2)
    with pytest.raises(ValueError, match=message):
        runner.check_result({**GOOD, **change}, 3)


def _minimal_doc():
    tool = runner.run_tool(type("M", (), {"run": staticmethod(lambda c, t, n, r: dict(GOOD))}),
                           {"name": "x", "params": {}}, "harpdaal", 1, 3)
    return {"schema": schema.SCHEMA_ID, "created": "2026-01-01T00:00:00+00:00",
            "git": {"sha": None, "dirty": None}, "command": ["harpdaal", "bench"],
            "settings": {"size": "smoke", "threads": [1], "ranks": [1], "repeat": 3, "only": None,
                         "tools": None, "data_dir": None},
            "machine": {"cpu_model": "cpu", "cpu_count": 2, "cpus_usable": 2, "isa_detected": "avx2",
                        "isa_active": "avx2", "mkl": None, "tbb": None, "mpi": None, "numpy_blas": [],
                        "env": {}, "packages": {}, "python": "3", "platform": "linux"},
            "limits": {"numpy_sgemm": []}, "errors": [],
            "results": [{"case": "x", "module": "m", "params": {}, "threads": 1, "ranks": 1,
                         "tools": [tool], "harpdaal_speedup": {}}]}


def _set(doc, path, value):
    *head, last = path
    target = doc
    for key in head:
        target = target[key]
    if value is KeyError:
        del target[last]
    else:
        target[last] = value


TOOL = ("results", 0, "tools", 0)


@pytest.mark.parametrize("path, value", [
    (("schema",), "harpdaal-bench/0"),
    (("settings",), KeyError),
    (("settings", "size"), "huge"),
    (("settings", "repeat"), 1),
    (("machine", "cpu_model"), KeyError),
    (TOOL + ("status",), "fine"),
    (TOOL + ("seconds_per_iter",), [0.1, 0.2]),
    (TOOL + ("median_s",), None),
    (TOOL + ("reason",), "ok runs carry no reason"),
    (TOOL + ("breakdown",), {"compute": 1.0}),
    (TOOL + ("glue_fraction",), 1.5),
    (TOOL + ("extra",), 1),
    (("results", 0, "harpdaal_speedup"), {"peer": "fast"}),
])
def test_schema_rejects_each_violation(path, value):
    doc = _minimal_doc()
    schema.validate(doc)
    bad = copy.deepcopy(doc)
    _set(bad, path, value)
    with pytest.raises(schema.SchemaError, match=r"\$"):
        schema.validate(bad)


def test_schema_absent_run_needs_a_reason_and_no_times():
    doc = _minimal_doc()
    doc["results"][0]["tools"][0] = runner._empty("peer", "absent", "not installed")
    schema.validate(doc)
    doc["results"][0]["tools"][0]["reason"] = None
    with pytest.raises(schema.SchemaError, match="reason"):
        schema.validate(doc)


def test_schema_file_is_valid_for_jsonschema_when_installed(tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator.check_schema(schema.load_schema())
    jsonschema.validate(_minimal_doc(), schema.load_schema())


@pytest.mark.skipif(shutil.which("mpiexec") is None and not (pathlib.Path(sys.executable).parent
                                                             / "mpiexec").exists(),
                    reason="no mpiexec (pip install 'harpdaal[mpi]')")
def test_ranks_relaunches_under_mpiexec_and_merges(tmp_path):
    out = tmp_path / "ranks"
    proc = subprocess.run([sys.executable, "-m", "harpdaal.bench", "--size", "smoke", "--threads", "1",
                           "--ranks", "1,2", "--only", "comm-rotate-*", "--out", str(out),
                           "--no-progress", "--no-plots"],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = json.loads((out / "results.json").read_text())
    schema.validate(doc)
    assert doc["settings"]["ranks"] == [1, 2]
    assert [(r["case"], r["ranks"]) for r in doc["results"]] == [("comm-rotate-1MB", 1),
                                                                 ("comm-rotate-1MB", 2)]
    for r in doc["results"]:
        raw = next(t for t in r["tools"] if t["tool"] == "mpi4py")
        assert raw["status"] == "ok" and raw["quality"] == 0.0
    assert not (out / "plots").exists()


class _FakeLocalComm:
    """Stands in for harpdaal.comm's LocalCommunicator (size 1) until the comm branch lands."""

    rank, size = 0, 1

    def __init__(self):
        self.calls = []

    def allreduce_array(self, a, op="sum"):
        self.calls.append(("allreduce", op, a.dtype.str, a.shape))
        return a

    def irotate_array(self, send, recv, shift=1):
        self.calls.append(("rotate", shift))
        recv[...] = send

        class Handle:
            def wait(self):
                return None

        return Handle()

    def barrier(self):
        pass

    def allgather_object(self, obj):
        return [obj]


@pytest.mark.parametrize("op", ["allreduce", "rotate"])
def test_comm_case_harpdaal_path_against_the_comm_api(op, monkeypatch):
    from harpdaal.bench.cases import comm as comm_case

    fake = _FakeLocalComm()
    monkeypatch.setattr(comm_case, "current_communicator", lambda: fake)
    case = next(c for c in comm_case.cases("smoke", None) if c["params"]["op"] == op)
    assert case["params"]["n"] * 4 == 1 << 20
    res = comm_case.run(case, "harpdaal", 1, 3)
    checked = runner.check_result(res, 3)
    assert checked["quality"] == 0.0 and checked["throughput_unit"] == "GB/s"
    assert checked["breakdown"]["compute"] == 0.0
    assert checked["breakdown"]["comm"] + checked["breakdown"]["glue"] == pytest.approx(
        checked["median_s"])
    expected = ("allreduce", "sum", "<f4", (1 << 18,)) if op == "allreduce" else ("rotate", 1)
    # warm-up + 3 repeats x ops_per_repeat operations, each through the documented method
    assert fake.calls == [expected] * (1 + 3 * case["params"]["ops_per_repeat"])


def test_comm_case_rejects_unknown_size():
    from harpdaal.bench.cases import comm as comm_case

    with pytest.raises(ValueError, match="size"):
        comm_case.cases("huge", None)


def test_progress_bar_names_each_run(capsys, fake_modules):
    runner.run_benchmarks(size="smoke", threads=[1], repeat=3, modules=["hd_fake_case"],
                          only=["fake-a-*"], limits=False, progress=True)
    err = capsys.readouterr().err
    assert "fake-a-smoke harpdaal t=1 r=1" in err and "5/5" in err


HALF_BROKEN = textwrap.dedent('''
    """Fails on rank 1 while rank 0 waits in a barrier: the job must abort, not hang."""
    TOOLS = ["harpdaal"]

    def cases(size, data_dir):
        return [{"name": "half-broken", "params": {}}]

    def run(case, tool, threads, repeat):
        from mpi4py import MPI
        comm = MPI.COMM_WORLD
        if comm.Get_size() > 1 and comm.Get_rank() == 1:
            raise RuntimeError("rank one broke")
        comm.Barrier()
        return {"seconds_per_iter": [0.1] * repeat, "throughput": 1.0, "throughput_unit": "x/s",
                "quality": 0.0, "quality_name": "q"}
''')


@pytest.mark.skipif(shutil.which("mpiexec") is None and not (pathlib.Path(sys.executable).parent
                                                             / "mpiexec").exists(),
                    reason="no mpiexec (pip install 'harpdaal[mpi]')")
def test_failure_on_one_rank_aborts_and_is_reported(tmp_path):
    (tmp_path / "hd_half_broken.py").write_text(HALF_BROKEN)
    out = tmp_path / "broken"
    env = {**__import__("os").environ, "PYTHONPATH": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "harpdaal.bench", "--size", "smoke", "--threads", "1",
                           "--ranks", "2", "--module", "hd_half_broken", "--only", "half-*",
                           "--out", str(out), "--no-progress", "--no-plots"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 1, proc.stderr[-2000:]
    doc = json.loads((out / "results.json").read_text())
    schema.validate(doc)
    assert doc["results"] == []
    [err] = doc["errors"]
    assert err["where"] == "--ranks 2"
    assert "rank 1 of 2: half-broken harpdaal threads=1: RuntimeError: rank one broke" in err["message"]


CPP_JSON = {"schema": "harpdaal-cpp-bench/1", "quick": True, "repeat": 2, "machine": {}, "errors": [],
            "results": [{"bench": "sgemm_mkl", "n": 256, "threads": 1, "seconds": 1e-4, "gflops": 150.0},
                        {"bench": "sgemm_mkl", "n": 512, "threads": 1, "seconds": 1e-3, "gflops": 170.0},
                        {"bench": "memory_read", "isa": "avx512", "threads": 2, "gbps": 29.0}]}


@pytest.mark.parametrize("broken", [False, True])
def test_cpp_bench_results_are_kept_as_limits(tmp_path, fake_modules, broken):
    fake_bin = tmp_path / "fake_cpp_bench"
    payload = "not json" if broken else json.dumps(CPP_JSON)
    fake_bin.write_text(f"#!{sys.executable}\nimport sys\nassert '--quick' in sys.argv\n"
                        f"print({payload!r})\n")
    fake_bin.chmod(0o755)
    out = tmp_path / "cpp"
    rc = cli.main(["--size", "smoke", "--threads", "1", "--module", "hd_fake_case", "--only", "fake-a-*",
                   "--cpp-bench", str(fake_bin), "--out", str(out), "--no-progress", "--no-plots"])
    doc = json.loads((out / "results.json").read_text())
    schema.validate(doc)
    if broken:
        assert "cpp" not in doc["limits"] and "--cpp-bench" in doc["errors"][0]["where"]
        return
    assert doc["limits"]["cpp"] == CPP_JSON
    assert doc["command"][-2:] == ["--cpp-bench", str(fake_bin)]
    line = report.limits_line(doc)
    assert "MKL sgemm 170 GFLOP/s (1t)" in line and "memory read 29 GB/s (2t)" in line
    assert line in (out / "results.md").read_text()
    assert rc == 1  # the fake module's broken tools


def test_without_matplotlib_plots_are_skipped_with_a_message(tmp_path, fake_modules, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    out = tmp_path / "nompl"
    cli.main(["--size", "smoke", "--threads", "1", "--module", "hd_fake_case", "--out", str(out),
              "--no-progress"])
    assert "plots skipped" in capsys.readouterr().out
    assert not (out / "plots").exists()
    schema.validate(json.loads((out / "results.json").read_text()))
