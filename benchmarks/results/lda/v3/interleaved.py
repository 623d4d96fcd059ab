"""Interleaved W-LDA timings for docs/lda.md (v3): harpdaal and tomotopy alternate one whole fit
at a time (same process, corpus generated once), so that the shared machine's load hits both
alike; each fit records wall and CPU (process) seconds per iteration and MALLET's LL/token of its
final assignments. Round r uses seed r for both tools.

    python benchmarks/results/lda/v3/interleaved.py --case lda-synth-k100 --threads 1 \
        --rounds 3 --iterations 100 --out benchmarks/results/lda/v3/wlda_k100_t1.json
"""
import argparse
import json
import os
import statistics
import time

p = argparse.ArgumentParser()
p.add_argument("--case", default="lda-synth-k100")
p.add_argument("--size", default="full")
p.add_argument("--threads", type=int, default=1)
p.add_argument("--rounds", type=int, default=3)
p.add_argument("--iterations", type=int, default=100)
p.add_argument("--tools", default="harpdaal,tomotopy")
p.add_argument("--out")
a = p.parse_args()

from harpdaal.bench.cases import lda as cm  # noqa: E402

case = next(c for c in cm.cases(a.size, os.environ.get("HARPDAAL_DATA")) if c["name"] == a.case)
case["params"]["iterations"] = a.iterations
tools = a.tools.split(",")
rows = []
for r in range(a.rounds):
    cm._SEED_OFFSET = r
    for tool in tools:
        load = open("/proc/loadavg").read().split()[:3]
        res = cm.run(case, tool, a.threads, 1)
        row = {"round": r, "tool": tool, "threads": a.threads, "load_before": load,
               "wall_s_per_iter": res["seconds_per_iter"][0],
               "cpu_s_per_iter": res["cpu_seconds_per_iter"][0],
               "tokens_per_s_wall": res["throughput"], "ll_per_token": res["quality"]}
        rows.append(row)
        print(json.dumps(row), flush=True)
n_tokens = rows[0]["tokens_per_s_wall"] * rows[0]["wall_s_per_iter"]
summary = {}
for tool in tools:
    mine = [x for x in rows if x["tool"] == tool]
    summary[tool] = {
        "wall_s_per_iter_median": statistics.median(x["wall_s_per_iter"] for x in mine),
        "cpu_s_per_iter_median": statistics.median(x["cpu_s_per_iter"] for x in mine),
        "ll_per_token_mean": statistics.mean(x["ll_per_token"] for x in mine),
        "ll_per_token": [x["ll_per_token"] for x in mine]}
    s = summary[tool]
    s["M_tokens_per_s_wall"] = n_tokens / s["wall_s_per_iter_median"] / 1e6
    s["M_tokens_per_s_cpu"] = n_tokens / s["cpu_s_per_iter_median"] / 1e6
if "harpdaal" in summary and "tomotopy" in summary:
    h, t = summary["harpdaal"], summary["tomotopy"]
    summary["ratio_wall"] = t["wall_s_per_iter_median"] / h["wall_s_per_iter_median"]
    summary["ratio_cpu"] = t["cpu_s_per_iter_median"] / h["cpu_s_per_iter_median"]
    # paired per round: the two fits of a round ran back to back
    pairs = [(x, y) for x in rows for y in rows if x["round"] == y["round"]
             and x["tool"] == "tomotopy" and y["tool"] == "harpdaal"]
    summary["ratio_wall_paired_median"] = statistics.median(
        x["wall_s_per_iter"] / y["wall_s_per_iter"] for x, y in pairs)
    summary["ratio_cpu_paired_median"] = statistics.median(
        x["cpu_s_per_iter"] / y["cpu_s_per_iter"] for x, y in pairs)
print(json.dumps(summary, indent=1))
if a.out:
    with open(a.out, "w") as f:
        json.dump({"case": a.case, "size": a.size, "iterations": a.iterations,
                   "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                   "n_tokens": n_tokens, "rows": rows, "summary": summary}, f, indent=1)
