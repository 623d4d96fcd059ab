"""Markdown table of the v2 LDA benchmark JSONs: medians, min-max, ratio to tomotopy (same run)."""
import glob
import json
import os
import statistics

here = os.path.dirname(os.path.abspath(__file__))
rows = []
for f in sorted(glob.glob(os.path.join(here, "*.json"))):
    doc = json.load(open(f))
    for r in doc["results"]:
        if r["status"] == "ok":
            r["file"] = os.path.basename(f)
            rows.append(r)
print("| run (json) | case | iters | tool | threads | repeats | s/iter median (min-max) | M tokens/s | x tomotopy | LL/token |")
print("|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    s = r["seconds_per_iter"]
    peer = [p for p in rows if p["file"] == r["file"] and p["case"] == r["case"]
            and p["tool"] == "tomotopy"
            and p["threads"] == r["threads"] and p["params"]["iterations"] == r["params"]["iterations"]]
    ratio = (f"{r['throughput'] / peer[0]['throughput']:.2f}" if peer and r["tool"] != "tomotopy"
             else "")
    q = r["quality"]
    tp = r.get("tomotopy_optim_interval", 10 if r["tool"] == "tomotopy" else None)
    tool = r["tool"] + (f" (optim_interval={tp})" if tp is not None else "")
    print(f"| {r['file'][:-5]} | {r['case']} | {r['params']['iterations']} | {tool} | {r['threads']} | {len(s)} | "
          f"{statistics.median(s):.3f} ({min(s):.3f}-{max(s):.3f}) | {r['throughput'] / 1e6:.2f} | "
          f"{ratio} | {'n/a' if q is None else f'{q:.4f}'} |")
