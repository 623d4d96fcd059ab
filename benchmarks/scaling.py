#!/usr/bin/env python3
"""Thread and rank scaling of harpdaal on the `harpdaal bench` full-size workloads, with the best
peer of each workload at 1 and at the most threads.

Each (case, tool, threads, ranks) record is appended to a JSON-lines file as soon as it is
measured, so a run cut short keeps what it measured. Cases (docs/bench.md, W-KM / W-MF / W-LDA):
kmeans-blobs-n500000-d64-k100 and kmeans-blobs-n1000000-d16-k1000 (10 Lloyd iterations),
mf-synthetic-100000x20000-k32 (5 epochs), lda-synth-k100 (10 iterations); 1 warm-up and 3 timed
fits per record, median seconds per iteration.

    python benchmarks/scaling.py threads --threads 1 4 16 --out scaling.jsonl
    mpiexec -n 4 python benchmarks/scaling.py ranks --threads 1 --out scaling.jsonl
    python benchmarks/scaling.py report scaling.jsonl          # the markdown table

`threads`: harpdaal at every --threads, each case's peers (--peers) at the smallest and the
largest. `ranks`: harpdaal only, on every rank of the mpiexec job (one --threads value).
--budget SECONDS stops starting new records after that long (a record is capped at 60 s).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time

CASES = {
    "full": ["kmeans-blobs-n500000-d64-k100", "kmeans-blobs-n1000000-d16-k1000",
             "mf-synthetic-100000x20000-k32", "lda-synth-k100"],
    "smoke": ["kmeans-blobs-n4000-d64-k20", "kmeans-blobs-n8000-d16-k100",
              "mf-synthetic-2000x500-k32", "lda-synth-k100"],
}
# case module -> (iteration parameter, iterations per fit; None keeps the case's own)
ITERS = {"kmeans": ("iters", None), "mf": ("epochs", 5), "lda": ("iterations", 10)}
PEERS = {"kmeans": ["sklearn", "faiss"], "mf": ["libmf-avx"], "lda": ["tomotopy"]}
RECORD_CAP_S = 60


def _kind(name: str) -> str:
    """The case module of a case name (kmeans, mf or lda)."""
    return name.split("-")[0]


def _case(name: str, size: str):
    from harpdaal.bench.cases import kmeans, lda, mf

    module = {"kmeans": kmeans, "mf": mf, "lda": lda}[_kind(name)]
    case = next(c for c in module.cases(size, None) if c["name"] == name)
    key, n = ITERS[_kind(name)]
    if n is not None:
        case["params"][key] = n
    return module, case


def _timeout(signum, frame):
    raise TimeoutError(f"record ran past {RECORD_CAP_S} s")


def measure(name, size, tool, threads, out, rank=0, ranks=1):
    from harpdaal.bench import machine, runner

    module, case = _case(name, size)
    signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(RECORD_CAP_S if ranks == 1 else 0)  # under MPI every rank must finish a fit
    t0 = time.perf_counter()
    try:
        rec = runner.run_tool(module, case, tool, threads, 3)
    finally:
        signal.alarm(0)
    line = {"case": case["name"], "params": runner._jsonable(case["params"]), "tool": tool,
            "threads": threads, "ranks": ranks, "status": rec["status"], "reason": rec["reason"],
            "median_s": rec["median_s"], "min_s": rec["min_s"], "secs": rec["seconds_per_iter"],
            "throughput": rec["throughput"], "quality": rec["quality"],
            "quality_name": rec["quality_name"], "wall_s": time.perf_counter() - t0,
            "load1": os.getloadavg()[0], "cpu": machine.cpu_model(), "cores": os.cpu_count()}
    if rank == 0:
        print(json.dumps({k: line[k] for k in ("case", "tool", "threads", "ranks", "status",
                                                 "median_s")}), flush=True)
        with open(out, "a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")


def _names(args):
    """The size's cases, or those of them named by --cases."""
    names = CASES[args.size]
    if args.cases:
        unknown = sorted(set(args.cases) - set(names))
        if unknown:
            raise SystemExit(f"unknown --cases {unknown} at --size {args.size} (known: {names})")
        names = [n for n in names if n in args.cases]
    return names


def run_threads(args):
    deadline = time.time() + args.budget
    lo, hi = min(args.threads), max(args.threads)
    names = _names(args)
    plan = []
    for name in names:  # the ratio at the most threads first, then the rest
        plan.append((name, "harpdaal", hi))
        plan += [(name, p, hi) for p in PEERS[_kind(name)] if p in args.peers]
    for nt in sorted(set(args.threads) - {hi}):
        plan += [(name, "harpdaal", nt) for name in names]
    if lo != hi:
        for name in names:
            plan += [(name, p, lo) for p in PEERS[_kind(name)] if p in args.peers]
    for name, tool, nt in plan:
        if deadline - time.time() < 5:
            print(f"skipped {name} {tool} threads={nt}: --budget spent", flush=True)
            continue
        measure(name, args.size, tool, nt, args.out)


def run_ranks(args):
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    if len(args.threads) != 1:
        raise SystemExit("ranks: give one --threads value")
    deadline = time.time() + args.budget
    for name in _names(args):
        if not comm.bcast(deadline - time.time() > 5 if comm.rank == 0 else None):
            break
        measure(name, args.size, "harpdaal", args.threads[0], args.out, comm.rank, comm.size)


def report(path: str) -> str:
    """Median seconds per iteration: harpdaal per threads x ranks, speed-up over 1 thread, and
    the peers at the same threads (ratio = peer / harpdaal)."""
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    ok = [r for r in rows if r["status"] == "ok"]
    cpu = sorted({r["cpu"] for r in rows if "cpu" in r})
    cores = rows[0].get("cores") if rows else "?"
    out = [f"CPU: {', '.join(cpu) or 'unknown'}; cores: {cores}", "",
           "| case | tool | threads x ranks | s/iter (median) | vs harpdaal 1x1 | peer/harpdaal "
           "| load |", "|---|---|---|---|---|---|---|"]
    for name in dict.fromkeys(r["case"] for r in ok):
        mine = {(r["threads"], r["ranks"]): r["median_s"] for r in ok
                if r["case"] == name and r["tool"] == "harpdaal"}
        base = mine.get((1, 1))
        ours_first = sorted((r for r in ok if r["case"] == name),
                            key=lambda r: (r["tool"] != "harpdaal", r["tool"], r["ranks"],
                                           r["threads"]))
        for r in ours_first:
            sp = f"{base / r['median_s']:.2f}x" if base and r["tool"] == "harpdaal" else ""
            ours = mine.get((r["threads"], r["ranks"]))
            ratio = f"{r['median_s'] / ours:.2f}" if r["tool"] != "harpdaal" and ours else ""
            load = r.get("load1", float("nan"))
            out.append(f"| {name} | {r['tool']} | {r['threads']} x {r['ranks']} | "
                       f"{r['median_s']:.4f} | {sp} | {ratio} | {load:.1f} |")
    bad = [r for r in rows if r["status"] != "ok"]
    for r in bad:
        out.append(f"\n{r['case']} {r['tool']} {r['threads']}x{r['ranks']}: "
                   f"{r['status']}: {r['reason']}")
    return "\n".join(out) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("mode", choices=("threads", "ranks", "report"))
    p.add_argument("path", nargs="?", help="report: the JSON-lines file")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--size", choices=sorted(CASES), default="full")
    p.add_argument("--cases", nargs="+", help="only these of the size's cases")
    p.add_argument("--peers", nargs="*", default=["sklearn", "faiss", "libmf-avx", "tomotopy"])
    p.add_argument("--budget", type=float, default=float("inf"), help="seconds")
    p.add_argument("--out", default="scaling.jsonl")
    args = p.parse_args(argv)
    if args.mode == "report":
        if not args.path:
            p.error("report needs the JSON-lines file")
        sys.stdout.write(report(args.path))
    elif args.mode == "threads":
        run_threads(args)
    else:
        run_ranks(args)


if __name__ == "__main__":
    main()
