#!/usr/bin/env python3
"""Run a named benchmark suite: every headline case with every installed peer, then the
time-to-quality curves, into one folder.

    python benchmarks/run_suite.py --suite readme --out benchmarks/results/<date>-<machine>
    python benchmarks/make_readme_table.py benchmarks/results/<date>-<machine>/results.json --write README.md

Writes into --out:
  results.json, results.md, plots/<case>_*.png   `harpdaal bench` (docs/bench.md): median
                                                 seconds per iteration, throughput and quality
                                                 of every tool, per threads x ranks
  curves.json                                    time-to-quality: per case and tool, fits of
                                                 1..N iterations -> (iterations, seconds, quality)
  plots/<algorithm>_time_to_quality.png          those curves, harpdaal and every peer on one chart
  suite.json                                     suite, command, load average before and after

Peers that are not installed are reported as absent, never dropped. Timings on a busy machine
are not comparable across runs: run a published suite on an otherwise idle machine (the load
average is recorded) and read the ratios measured in the same run.
"""
from __future__ import annotations

import argparse
import copy
import datetime
import json
import math
import os
import pathlib
import subprocess
import sys

# name -> what `harpdaal bench` runs and how the curves are drawn. Every case of the listed
# modules at the chosen size is a headline case (the size picks the shapes; see docs/bench.md).
SUITES = {
    "readme": {
        "only": ["kmeans", "mf", "lda"],
        "threads": [1, 2],
        "ranks": [1, 2],
        "repeat": 3,
    },
}
# The case parameter that counts iterations, per case module.
ITERATION_PARAM = {"kmeans": "iters", "mf": "epochs", "lda": "iterations"}
QUALITY_LABEL = {
    "inertia": "inertia (lower is better)",
    "test_rmse": "test RMSE (lower is better)",
    "loglik_per_token": "log-likelihood per token (higher is better)",
}
TITLE = {"kmeans": "K-means", "mf": "Matrix factorisation", "lda": "LDA"}


def curve_points(n: int, points: int) -> list[int]:
    """Iteration budgets 1..n, roughly geometric, always ending at n."""
    if n <= points:
        return list(range(1, n + 1))
    out = sorted({max(1, round(n ** (i / (points - 1)))) for i in range(points)} | {n})
    return out


def run_bench(args, suite: dict, out: pathlib.Path) -> int:
    cmd = [sys.executable, "-m", "harpdaal", "bench", "--size", args.size,
           "--threads", ",".join(map(str, args.threads or suite["threads"])),
           "--ranks", ",".join(map(str, args.ranks or suite["ranks"])),
           "--repeat", str(args.repeat or suite["repeat"]), "--out", str(out)]
    for pattern in args.only or suite["only"]:
        cmd += ["--only", pattern]
    for pattern in args.tools or []:
        cmd += ["--tools", pattern]
    if args.data_dir:
        cmd += ["--data-dir", args.data_dir]
    if args.no_progress:
        cmd.append("--no-progress")
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    return subprocess.call(cmd)


def run_curves(doc: dict, points: int, progress: bool) -> dict:
    """Fits of increasing length for every case and every tool that ran in the one-process run
    with the most threads; (iterations, whole-fit seconds, quality) per fit."""
    import importlib

    from harpdaal.bench.runner import run_tool

    one_process = [r for r in doc["results"] if r["ranks"] == 1]
    if not one_process:
        return {}
    threads = max(r["threads"] for r in one_process)
    curves = {"threads": threads, "cases": {}}
    for r in (r for r in one_process if r["threads"] == threads):
        key = ITERATION_PARAM.get(r["module"])
        if key is None or key not in r["params"]:
            continue
        module = importlib.import_module(f"harpdaal.bench.cases.{r['module']}")
        entry = {"module": r["module"], "quality_name": None, "tools": {}}
        for t in r["tools"]:
            if t["status"] != "ok" or t["quality"] is None:
                continue
            entry["quality_name"] = t["quality_name"]
            series = []
            warm = {"name": r["case"], "params": {**copy.deepcopy(r["params"]), key: 1}}
            run_tool(module, warm, t["tool"], threads, 1)  # first call pays imports and set-up
            for n in curve_points(int(r["params"][key]), points):
                case = {"name": r["case"], "params": copy.deepcopy(r["params"])}
                case["params"][key] = n
                if progress:
                    print(f"curve {r['case']} {t['tool']} {key}={n}", file=sys.stderr, flush=True)
                rec = run_tool(module, case, t["tool"], threads, 1)
                if rec["status"] != "ok":
                    series.append({"iterations": n, "error": rec["reason"]})
                    break
                series.append({"iterations": n, "seconds": rec["seconds_per_iter"][0] * n,
                               "quality": rec["quality"]})
            entry["tools"][t["tool"]] = series
        if entry["tools"]:
            curves["cases"][r["case"]] = entry
    return curves


def plot_curves(curves: dict, out_dir: pathlib.Path) -> list[pathlib.Path]:
    """One PNG per algorithm: a panel per case, quality against whole-fit seconds per tool."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    by_module: dict[str, list[tuple[str, dict]]] = {}
    for case, entry in curves.get("cases", {}).items():
        by_module.setdefault(entry["module"], []).append((case, entry))
    written = []
    for module, cases in by_module.items():
        cols = min(3, len(cases))
        rows = math.ceil(len(cases) / cols)
        fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 4.0 * rows), squeeze=False)
        tools = list(dict.fromkeys(tool for _, e in cases for tool in e["tools"]))
        colours = {tool: f"C{i % 10}" for i, tool in enumerate(tools)}
        for ax, (case, entry) in zip(axes.flat, cases):
            for tool, series in entry["tools"].items():
                pts = [p for p in series if "seconds" in p]
                if not pts:
                    continue
                ax.plot([p["seconds"] for p in pts], [p["quality"] for p in pts], "o-",
                        color=colours[tool], label=tool, lw=2 if tool == "harpdaal" else 1.2)
            ax.set_xscale("log")
            ax.ticklabel_format(axis="y", useOffset=False)
            ax.set_xlabel(f"seconds (whole fit, {curves['threads']} threads)")
            ax.set_ylabel(QUALITY_LABEL.get(entry["quality_name"], entry["quality_name"] or "quality"))
            ax.set_title(case, fontsize="medium")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize="small")
        for ax in list(axes.flat)[len(cases):]:
            ax.set_visible(False)
        fig.suptitle(f"{TITLE.get(module, module)}: time to quality")
        fig.tight_layout()
        path = out_dir / f"{module}_time_to_quality.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--suite", choices=sorted(SUITES), default="readme")
    p.add_argument("--size", choices=("smoke", "small", "full"), default="full",
                   help="workload size (default full: the published figures; smoke: seconds, for tests)")
    p.add_argument("--out", default=None, help="output folder (default results/suite-<suite>-<UTC time>)")
    p.add_argument("--only", action="append", default=None, metavar="GLOB",
                   help="run only these cases or case modules (default: the suite's)")
    p.add_argument("--tools", action="append", default=None, metavar="GLOB", help="run only these tools")
    p.add_argument("--threads", type=lambda s: [int(x) for x in s.split(",")], default=None)
    p.add_argument("--ranks", type=lambda s: [int(x) for x in s.split(",")], default=None)
    p.add_argument("--repeat", type=int, default=None)
    p.add_argument("--data-dir", default=os.environ.get("HARPDAAL_DATA"),
                   help="real data sets (default $HARPDAAL_DATA); real-data cases skip without it")
    p.add_argument("--curve-points", type=int, default=5, help="fits per time-to-quality curve")
    p.add_argument("--no-curves", action="store_true", help="skip the time-to-quality curves")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    if args.curve_points < 2:
        p.error("--curve-points must be >= 2")
    suite = SUITES[args.suite]
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = pathlib.Path(args.out or f"results/suite-{args.suite}-{stamp}")
    out.mkdir(parents=True, exist_ok=True)

    meta = {"schema": "harpdaal-suite/1", "suite": args.suite, "size": args.size,
            "command": ["python", "benchmarks/run_suite.py", *(argv if argv is not None else sys.argv[1:])],
            "load_before": list(os.getloadavg()),
            "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    rc = run_bench(args, suite, out)
    results = out / "results.json"
    if not results.is_file():
        print(f"run_suite: harpdaal bench wrote no {results} (exit status {rc})", file=sys.stderr)
        return rc or 1
    doc = json.loads(results.read_text(encoding="utf-8"))
    if not args.no_curves:
        curves = run_curves(doc, args.curve_points, progress=not args.no_progress)
        (out / "curves.json").write_text(json.dumps(curves, indent=1) + "\n", encoding="utf-8")
        try:
            meta["curve_plots"] = [str(q.relative_to(out)) for q in plot_curves(curves, out / "plots")]
        except ImportError as exc:  # matplotlib is in the bench extra
            meta["curve_plots_error"] = f"plots skipped: {exc}"
    meta["load_after"] = list(os.getloadavg())
    meta["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    meta["bench_exit_status"] = rc
    (out / "suite.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    print(f"run_suite: wrote {out}", file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main())
