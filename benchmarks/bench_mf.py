"""W-MF benchmark: harpdaal MF-SGD vs LIBMF (PyPI libmf) vs scikit-surprise SVD.

    python benchmarks/bench_mf.py --size full --threads 1 2 --repeat 3 --data-dir ../shared/data
    mpiexec -n 2 python benchmarks/bench_mf.py --size full --threads 1 --tools harpdaal

Prints a markdown table and writes JSON (--out). Peers that are missing are reported with the
reason. On a shared machine compare ratios measured in the same run.
"""
from __future__ import annotations

import argparse
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
    for case in mf.cases(args.size, args.data_dir):
        if args.only and args.only not in case["name"]:
            continue
        for nt in args.threads:
            for tool in args.tools:
                if ranks > 1 and tool not in mf.DISTRIBUTED_TOOLS:
                    continue
                try:
                    res = mf.run(case, tool, nt, args.repeat)
                    rec = {"case": case["name"], "tool": tool, "threads": nt, "ranks": ranks,
                           "status": "ok", **res}
                except PeerUnavailable as exc:
                    rec = {"case": case["name"], "tool": tool, "threads": nt, "ranks": ranks,
                           "status": "absent", "reason": str(exc)}
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
        return f"| {r['case']} | {r['tool']} | {r['threads']} | {r['ranks']} | - | - | - | {r['reason']} |"
    med = statistics.median(r["seconds_per_iter"])
    bd = r.get("breakdown")
    extra = (f"compute {bd['compute']:.3f} / comm {bd['comm']:.3f} / glue {bd['glue']:.3f} s/iter"
             if bd else "")
    return (f"| {r['case']} | {r['tool']} | {r['threads']} | {r['ranks']} | {med:.4f} | "
            f"{r['throughput'] / 1e6:.1f}M | {r['quality']:.4f} | {extra} |")


if __name__ == "__main__":
    sys.exit(main())
