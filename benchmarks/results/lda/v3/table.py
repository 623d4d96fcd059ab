"""Markdown table of the v3 interleaved runs (docs/lda.md): per case and thread count, the median
wall and CPU seconds per iteration of each tool, M tokens/s (wall), the paired ratios tomotopy /
harpdaal (per round, then the median) and LL/token per seed.

    python benchmarks/results/lda/v3/table.py
"""
import glob
import json
import os
import statistics

here = os.path.dirname(os.path.abspath(__file__))
print("| run | iters | threads | tool | s/iter wall median (min-max) | s/iter CPU median | "
      "M tokens/s (wall) | x tomotopy wall (paired) | x tomotopy CPU (paired) | LL/token per seed |")
print("|---|---|---|---|---|---|---|---|---|---|")
for path in sorted(glob.glob(os.path.join(here, "wlda_*_t*.json"))):
    d = json.load(open(path))
    name = os.path.basename(path)[:-5]
    rows, s = d["rows"], d["summary"]
    for tool in ("harpdaal", "tomotopy"):
        mine = [r for r in rows if r["tool"] == tool]
        if not mine:
            continue
        w = [r["wall_s_per_iter"] for r in mine]
        c = [r["cpu_s_per_iter"] for r in mine]
        ratio_w = ratio_c = ""
        if tool == "harpdaal" and "ratio_wall_paired_median" in s:
            ratio_w = f"{s['ratio_wall_paired_median']:.2f}"
            ratio_c = f"{s['ratio_cpu_paired_median']:.2f}"
        lls = ", ".join(f"{r['ll_per_token']:.3f}" for r in mine)
        print(f"| {name} | {d['iterations']} | {mine[0]['threads']} | {tool} | "
              f"{statistics.median(w):.3f} ({min(w):.3f}-{max(w):.3f}) | {statistics.median(c):.3f} | "
              f"{d['n_tokens'] / statistics.median(w) / 1e6:.2f} | {ratio_w} | {ratio_c} | {lls} |")
