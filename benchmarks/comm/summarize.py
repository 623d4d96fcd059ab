"""Medians over runs of the W-COMM JSON files in a folder (written by run_wcomm.sh), as markdown.

    python benchmarks/comm/summarize.py results/wcomm > summary.md
"""
from __future__ import annotations

import collections
import json
import pathlib
import re
import statistics
import sys


def _med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _fmt(v, pct=False, ms=False):
    if v is None:
        return "—"
    if pct:
        return f"{100 * v:.0f}%"
    if ms:
        return f"{1e3 * v:.1f}"
    return f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"


def _span(values, pct=False):
    values = [v for v in values if v is not None]
    if not values:
        return ""
    lo, hi = min(values), max(values)
    return f" ({_fmt(lo, pct)}–{_fmt(hi, pct)})" if len(values) > 1 else ""


def main(folder: str) -> int:
    groups = collections.defaultdict(list)
    for path in sorted(pathlib.Path(folder).glob("*.json")):
        setting = re.sub(r"_run\d+$", "", path.stem)
        groups[setting].append(json.loads(path.read_text()))
    print(f"# W-COMM summary of `{folder}`\n")
    print("Medians over runs (min–max in brackets); each run itself reports medians of its "
          "repeats. Load average = 1-minute load at the start / end of each run.\n")
    print("## allreduce of 64 MB float32: throughput as a share of raw mpi4py `Allreduce` "
          "(same run)\n")
    cases = ["harpdaal_array", "harpdaal_array_nocheck", "harpdaal_table",
             "harpdaal_table_in_place", "harpdaal_table_arena_in_place"]
    print("Each cell: share of raw / share of raw in 16 MiB pieces (the fairest peer).\n")
    print("| setting | runs | raw GB/s | raw in pieces / raw | " + " | ".join(cases)
          + " | load avg |")
    print("|---|---|---|---|" + "---|" * len(cases) + "---|")
    for setting, docs in sorted(groups.items()):
        if not setting.startswith("allreduce"):
            continue
        row = [setting, str(len(docs)),
               _fmt(_med([d["results"]["raw_mpi4py"]["gbps"] for d in docs]))]
        pieces = [d["results"].get("raw_mpi4py_pieces", {}).get("ratio_to_raw") for d in docs]
        row.append(_fmt(_med(pieces)) + _span(pieces))
        for c in cases:
            vals = [d["results"].get(c, {}).get("ratio_to_raw") for d in docs]
            fair = [d["results"].get(c, {}).get("ratio_to_raw_pieces") for d in docs]
            row.append(_fmt(_med(vals)) + _span(vals) + " / " + _fmt(_med(fair)))
        loads = [f"{d.get('loadavg_1min_start', float('nan')):.1f}/{d['loadavg_1min']:.1f}"
                 for d in docs]
        row.append(", ".join(loads))
        print("| " + " | ".join(row) + " |")
    print("\n## rotation of a 64 MB model overlapped with an equal compute step\n")
    print("hidden = (T_x + T_c - T_o) / T_x; of messages = 1 - (T_o - T_c) / T_x(messages); "
          "bound = 1 - (CPU the progress thread needs to move the slice) / T_x, the most a "
          "fixed-work kernel can hide with one core per rank; extra CPU of the step = CPU of "
          "the overlapped step - CPU of the kernel alone (largest rank). Times in ms.\n")
    print("| setting | config | runs | T_x | transfer CPU (progress thread) | T_c | T_o | extra CPU "
          "of the step | hidden | of messages | bound | load avg |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for setting, docs in sorted(groups.items()):
        if not setting.startswith("rotate"):
            continue
        configs = list(docs[0]["results"])
        for c in configs:
            rs = [d["results"][c] for d in docs if c in d["results"]]
            hid = [r["hidden_fraction"] for r in rs]
            ofm = [r.get("hidden_of_messages") for r in rs]
            bnd = [r.get("hidden_bound") for r in rs]
            loads = [f"{d.get('loadavg_1min_start', float('nan')):.1f}/{d['loadavg_1min']:.1f}"
                     for d in docs]
            print("| " + " | ".join([
                setting, c, str(len(rs)),
                _fmt(_med([r["transfer_s"] for r in rs]), ms=True),
                _fmt(_med([r.get("transfer_cpu_progress_s") for r in rs]), ms=True),
                _fmt(_med([r["compute_s"] for r in rs]), ms=True),
                _fmt(_med([r["overlapped_s"] for r in rs]), ms=True),
                _fmt(_med([r.get("overlap_extra_cpu_s") for r in rs]), ms=True),
                # a hand-over has no transfer time worth a fraction
                "—" if c.startswith("shared") else _fmt(_med(hid), pct=True) + _span(hid, pct=True),
                _fmt(_med(ofm), pct=True) + _span(ofm, pct=True),
                _fmt(_med(bnd), pct=True) + _span(bnd, pct=True),
                ", ".join(loads)]) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
