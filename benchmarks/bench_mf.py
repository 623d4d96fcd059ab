"""W-MF benchmark: harpdaal MF-SGD vs LIBMF (PyPI libmf) vs scikit-surprise SVD.

    python benchmarks/bench_mf.py --size full --threads 1 2 --repeat 3 --data-dir DATA
    python benchmarks/bench_mf.py --size full --only k32 --tools harpdaal libmf-avx
    mpiexec -n 2 python benchmarks/bench_mf.py --size full --threads 1 --tools harpdaal

Prints a markdown table and writes JSON (--out). Peers that are missing are reported with the
reason. On a shared machine compare ratios measured in the same run.
"""
from __future__ import annotations

import argparse
import os
import json
import platform
import statistics
import subprocess
import sys

from harpdaal.bench.cases import mf
from harpdaal.bench.errors import PeerUnavailable


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", choices=("smoke", "small", "full"), default="small")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tools", nargs="+", default=mf.TOOLS, choices=mf.TOOLS)
    ap.add_argument("--only", help="substring of the case names to run")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", default=None, help="JSON results file")
    args = ap.parse_args(argv)
    ranks, rank = 1, 0
    try:
        from harpdaal.comm import current_communicator
        c = current_communicator()
        ranks, rank = c.size, c.rank
    except ImportError:
        pass
    rows = []
    if rank == 0:
        print("| case | tool | threads | ranks | s/epoch (median wall) | CPU s/epoch | updates/s "
              "(wall) | updates/s (CPU) | test RMSE | load avg | harpdaal breakdown |\n"
              "|---|---|---|---|---|---|---|---|---|---|---|", flush=True)
    for case in mf.cases(args.size, args.data_dir):
        if args.only and args.only not in case["name"]:
            continue
        for nt in args.threads:
            # repeats interleaved across tools (h, l, s, h, l, s, ...): load changes on a shared
            # machine then hit every tool alike
            tools = [t for t in args.tools if ranks == 1 or t in mf.DISTRIBUTED_TOOLS]
            parts = {t: [] for t in tools}
            absent = {}
            for _ in range(args.repeat):
                for tool in tools:
                    if tool in absent:
                        continue
                    try:
                        res = mf.run(case, tool, nt, 1)
                        res["loadavg_1min"] = os.getloadavg()[0]  # machine load, after the fit
                        parts[tool].append(res)
                    except PeerUnavailable as exc:
                        absent[tool] = str(exc)
            for tool in tools:
                base = {"case": case["name"], "tool": tool, "threads": nt, "ranks": ranks}
                if tool in absent:
                    rec = {**base, "status": "absent", "reason": absent[tool]}
                else:
                    rec = {**base, "status": "ok", **_merge(parts[tool])}
                rows.append(rec)
                if rank == 0:
                    print(_line(rec), flush=True)
    if rank == 0:
        try:
            sha = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
        except OSError:
            sha = None
        doc = {"machine": {"cpu": _cpu(), "platform": platform.platform()}, "git_sha": sha,
               "settings": vars(args), "ranks": ranks, "results": rows}
        if args.out:
            with open(args.out, "w") as fh:
                json.dump(doc, fh, indent=2)
    return 0


def _merge(results):
    """One record from single-repeat runs: lists concatenated, medians of the rest."""
    secs = [r["seconds_per_iter"][0] for r in results]
    per_iter_updates = results[0]["throughput"] * results[0]["seconds_per_iter"][0]
    out = dict(results[-1])
    out["seconds_per_iter"] = secs
    out["throughput"] = per_iter_updates / statistics.median(secs)
    if "cpu_seconds_per_iter" in results[0]:
        out["cpu_seconds_per_iter"] = [r["cpu_seconds_per_iter"][0] for r in results]
    out["loadavg_1min"] = [r["loadavg_1min"] for r in results]
    if "cpu_seconds_per_iter" in results[0]:
        out["throughput_cpu"] = per_iter_updates / statistics.median(out["cpu_seconds_per_iter"])
    if "breakdown" in results[0]:
        out["breakdown"] = {k: statistics.median(r["breakdown"][k] for r in results)
                            for k in results[0]["breakdown"]}
    return out


def _cpu():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _line(r):
    if r["status"] != "ok":
        return (f"| {r['case']} | {r['tool']} | {r['threads']} | {r['ranks']} | - | - | - | - | - "
                f"| - | {r['reason']} |")
    med = statistics.median(r["seconds_per_iter"])
    cpu = r.get("cpu_seconds_per_iter")
    cpu_s = f"{statistics.median(cpu):.4f}" if cpu else "-"
    bd = r.get("breakdown")
    extra = (f"compute {bd['compute']:.3f} / comm {bd['comm']:.3f} / glue {bd['glue']:.3f} s/iter"
             if bd else "")
    tcpu = r.get("throughput_cpu")
    tcpu_s = f"{tcpu / 1e6:.1f}M" if tcpu else "-"
    load = r.get("loadavg_1min")
    load_s = f"{min(load):.1f}-{max(load):.1f}" if load else "-"
    return (f"| {r['case']} | {r['tool']} | {r['threads']} | {r['ranks']} | {med:.4f} | {cpu_s} | "
            f"{r['throughput'] / 1e6:.1f}M | {tcpu_s} | {r['quality']:.4f} | {load_s} | {extra} |")


if __name__ == "__main__":
    sys.exit(main())
