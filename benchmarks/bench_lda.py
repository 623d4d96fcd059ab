#!/usr/bin/env python
"""W-LDA benchmark: harpdaal's LDA against tomotopy, lda, gensim and scikit-learn in one run.

    python benchmarks/bench_lda.py --size full --threads 1,2 --tools harpdaal,tomotopy,lda
    mpiexec -n 2 python benchmarks/bench_lda.py --size full --threads 1 --tools harpdaal

Writes a JSON file (--out) and prints a markdown table; the case definitions and the common
log-likelihood basis are in harpdaal.bench.cases.lda. The full harness (`harpdaal bench
--only 'lda-*'`) runs the same module.
"""
from __future__ import annotations

import argparse
import fnmatch
import json
import os
import platform
import subprocess
import sys
import time


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--size", choices=["smoke", "small", "full"], default="small")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--tools", default="harpdaal,tomotopy,lda,gensim,sklearn")
    p.add_argument("--only", action="append", default=None, help="case name glob (repeatable)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--iterations", type=int, default=None, help="override the case iterations")
    p.add_argument("--data-dir", default=os.environ.get("HARPDAAL_DATA"))
    p.add_argument("--out", default=None, help="JSON output file")
    args = p.parse_args(argv)

    from harpdaal.bench.cases import lda as case_module
    from harpdaal.bench.errors import PeerUnavailable
    from harpdaal.comm import current_communicator

    comm = current_communicator()
    threads = [int(t) for t in args.threads.split(",")]
    tools = [t for t in args.tools.split(",") if t]
    rows = []
    for case in case_module.cases(args.size, args.data_dir):
        if args.only and not any(fnmatch.fnmatch(case["name"], g) for g in args.only):
            continue
        if args.iterations:
            case["params"]["iterations"] = args.iterations
        for tool in tools:
            if comm.size > 1 and tool not in case_module.DISTRIBUTED_TOOLS:
                continue
            for th in threads:
                t0 = time.perf_counter()
                try:
                    res = case_module.run(case, tool, th, args.repeat)
                    status = "ok"
                except PeerUnavailable as exc:
                    res, status = {"reason": str(exc)}, "unavailable"
                row = {"case": case["name"], "params": case["params"], "tool": tool,
                       "threads": th, "ranks": comm.size, "status": status,
                       "wall_seconds": time.perf_counter() - t0, **res}
                rows.append(row)
                if comm.rank == 0:
                    print(_line(row), flush=True)
    if comm.rank != 0:
        return 0
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             check=False).stdout.strip() or None
    except OSError:
        sha = None
    import harpdaal

    doc = {"created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "git": sha,
           "command": " ".join(sys.argv), "machine": {"platform": platform.platform(),
                                                      **harpdaal._config.config()},
           "results": rows}
    if args.out:
        with open(args.out, "w") as f:
            json.dump(doc, f, indent=1, default=str)
    print()
    print(table(rows))
    return 0


def _line(row) -> str:
    if row["status"] != "ok":
        return f"{row['case']:18s} {row['tool']:9s} t={row['threads']} r={row['ranks']}: {row['reason']}"
    import statistics

    q = row["quality"]
    return (f"{row['case']:18s} {row['tool']:9s} t={row['threads']} r={row['ranks']}: "
            f"{statistics.median(row['seconds_per_iter']):.4f} s/iter, "
            f"{row['throughput'] / 1e6:.2f}M tokens/s, LL/token "
            f"{'n/a' if q is None else f'{q:.4f}'}")


def table(rows) -> str:
    import statistics

    out = ["| case | tool | threads | ranks | s/iter (median) | M tokens/s | LL/token |",
           "|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["status"] != "ok":
            continue
        q = r["quality"]
        out.append(f"| {r['case']} | {r['tool']} | {r['threads']} | {r['ranks']} | "
                   f"{statistics.median(r['seconds_per_iter']):.4f} | {r['throughput'] / 1e6:.2f} | "
                   f"{'n/a' if q is None else f'{q:.4f}'} |")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
