"""Median table of mf_setup_ab.sh / mf_setup_profile.py --json output.

    python benchmarks/dev/mf_setup_summary.py results.jsonl
"""
import collections
import json
import statistics
import sys

runs = collections.defaultdict(lambda: collections.defaultdict(list))
order = []
for line in open(sys.argv[1]):
    rec = json.loads(line)
    key = (rec["label"], rec["threads"])
    if key not in order:
        order.append(key)
    for stage, values in rec["stages"].items():
        runs[key][stage].extend(values)
stages = []
for key in order:
    stages += [s for s in runs[key] if s not in stages and not s.startswith("train loop total")]
stages = [s for s in stages if not s.endswith("[CPU]")] + [s for s in stages if s.endswith("[CPU]")]
n = min(len(v) for key in order for v in runs[key].values())
print(f"median seconds over {n} fit(s) each")
print("| stage | " + " | ".join(f"{lab} {nt} thr" for lab, nt in order) + " |")
print("|---|" + "---|" * len(order))
for s in stages:
    cells = [f"{statistics.median(runs[k][s]):.3f}" if runs[k].get(s) else "-" for k in order]
    print(f"| {s} | " + " | ".join(cells) + " |")
