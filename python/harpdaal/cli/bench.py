"""``harpdaal bench``: harpdaal against its peers on the named workloads (docs/bench.md)."""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import tempfile
import time

from ..bench import machine
from ..bench.report import write_outputs
from ..bench.runner import merge, run_benchmarks
from ..bench.schema import SCHEMA_ID
from ..comm import current_communicator, under_mpi
from .launch import RelaunchTimeout, relaunch


def _int_list(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected integers >= 1, got {text!r}")
    return values


def _repeat(text: str) -> int:
    value = int(text)
    if value < 3:
        raise argparse.ArgumentTypeError(f"--repeat must be >= 3 (median and min of >= 3), got {value}")
    return value


DEFAULT_TIMEOUT_S = {"smoke": 900.0, "small": 3600.0, "full": 21600.0}


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"--timeout must be > 0 seconds, got {text!r}")
    return value


def configure(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--size", choices=("smoke", "small", "full"), default="small",
                   help="workload size: smoke (seconds, CI), small, full (the published workloads, docs/bench.md)")
    p.add_argument("--threads", type=_int_list, default=[1, 2], metavar="N[,N...]",
                   help="threads per process to measure, e.g. 1,2 (default 1,2)")
    p.add_argument("--ranks", type=_int_list, default=[1], metavar="N[,N...]",
                   help="MPI rank counts, e.g. 1,2: each count > 1 relaunches under mpiexec")
    p.add_argument("--only", action="append", default=None, metavar="GLOB",
                   help="run only cases (or case modules) whose name matches GLOB; repeatable")
    p.add_argument("--tools", action="append", default=None, metavar="GLOB",
                   help="run only tools matching GLOB (harpdaal, sklearn, ...); the others are "
                        "reported as skipped; repeatable")
    p.add_argument("--repeat", type=_repeat, default=3, help="timed repeats per run (>= 3)")
    p.add_argument("--data-dir", default=os.environ.get("HARPDAAL_DATA"),
                   help="real data sets folder (default $HARPDAAL_DATA)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="output folder (default ./results/bench-<UTC time>)")
    p.add_argument("--module", action="append", default=None, metavar="MODULE",
                   help="also run this importable case module (same interface as harpdaal.bench.cases.*)")
    p.add_argument("--cpp-bench", default=None, metavar="BINARY",
                   help="also run this harpdaal_cpp_bench binary (machine limits) and keep its JSON "
                        "under limits.cpp (built with -DHARPDAAL_BUILD_BENCH=ON)")
    p.add_argument("--timeout", type=_seconds, default=None, metavar="SECONDS",
                   help="wall-clock limit of each run relaunched under mpiexec for --ranks N; a "
                        "job still running then (e.g. a deadlock) is killed and reported as an "
                        "error (default: 900 for --size smoke, 3600 small, 21600 full)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--partial-out", default=None, help=argparse.SUPPRESS)  # internal: --ranks child
    return p


def add_parser(sub):
    p = sub.add_parser("bench", help="benchmark harpdaal against its peers",
                       description=__doc__)
    configure(p)
    p.set_defaults(func=run)


def _bench_argv(args, ranks: str) -> list[str]:
    """The options of this run as a ``harpdaal bench`` argument list (for mpiexec and the record)."""
    argv = ["bench", "--size", args.size, "--threads", ",".join(map(str, args.threads)),
            "--ranks", ranks, "--repeat", str(args.repeat)]
    for pattern in args.only or []:
        argv += ["--only", pattern]
    for pattern in args.tools or []:
        argv += ["--tools", pattern]
    for module in args.module or []:
        argv += ["--module", module]

    if args.data_dir:
        argv += ["--data-dir", args.data_dir]
    if args.no_progress:
        argv.append("--no-progress")
    return argv


def _child_argv(args, ranks: int, partial: str) -> list[str]:
    return _bench_argv(args, str(ranks)) + ["--partial-out", partial]


def _run_here(args, world=None, limits=True, failure_note=None) -> dict:
    return run_benchmarks(size=args.size, threads=args.threads, repeat=args.repeat, only=args.only,
                          tools=args.tools,
                          data_dir=args.data_dir, modules=args.module, limits=limits,
                          progress=not args.no_progress, world=world, failure_note=failure_note,
                          command=["harpdaal", *_bench_argv(
                              args, str(world.size) if world else ",".join(map(str, args.ranks))),
                                   *(["--cpp-bench", args.cpp_bench] if args.cpp_bench else [])])


def run(args) -> int:
    if under_mpi():  # one rank of a job: run collectively, rank 0 writes
        world = current_communicator()
        doc = _run_here(args, world=world, limits=args.partial_out is None,
                        failure_note=args.partial_out)
        if world.rank != 0:
            return 0
        if args.partial_out:
            pathlib.Path(args.partial_out).write_text(json.dumps(doc), encoding="utf-8")
            return 0
        return _finish(doc, args, write_outputs)

    docs = []
    with tempfile.TemporaryDirectory(prefix="harpdaal-bench-") as tmp:
        for ranks in args.ranks:
            if ranks == 1:
                docs.append(_run_here(args))
                continue
            partial = os.path.join(tmp, f"ranks{ranks}.json")
            timeout = args.timeout or DEFAULT_TIMEOUT_S[args.size]
            try:
                rc = relaunch(ranks, _child_argv(args, ranks, partial), timeout=timeout)
            except (RelaunchTimeout, RuntimeError, OSError) as exc:
                rc, why = None, str(exc)
            else:
                why = f"mpiexec -n {ranks} exited with {rc}"
                notes = sorted(pathlib.Path(tmp).glob(f"ranks{ranks}.json.rank*.error"))
                why += "".join(f"; {p.read_text(encoding='utf-8')}" for p in notes)
            if rc == 0 and os.path.exists(partial):
                with open(partial, encoding="utf-8") as f:
                    docs.append(json.load(f))
            else:
                # Keep the failure in the results: never drop a configuration silently.
                docs.append(_failed_ranks_doc(args, ranks, why))
    doc = merge(docs)
    return _finish(doc, args, write_outputs)


def _failed_ranks_doc(args, ranks: int, why: str) -> dict:

    return {"schema": SCHEMA_ID, "created": machine.utc_now(), "git": machine.git_sha(),
            "command": ["harpdaal", *_bench_argv(args, str(ranks))], "machine": machine.machine_info(),
            "settings": {"size": args.size, "threads": args.threads, "ranks": [ranks],
                         "repeat": args.repeat, "only": args.only, "tools": args.tools,
                         "data_dir": args.data_dir},
            "limits": {"numpy_sgemm": []},
            "errors": [{"where": f"--ranks {ranks}", "message": why}], "results": []}


def _cpp_limits(doc: dict, args) -> None:
    """Run the C++ microbenchmarks once (never under mpiexec) and keep their JSON."""
    cmd = [args.cpp_bench, "--threads", ",".join(map(str, args.threads))]
    if args.size == "smoke":
        cmd.append("--quick")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
        cpp = json.loads(proc.stdout)
        if proc.returncode != 0 or not isinstance(cpp, dict) or "results" not in cpp:
            raise ValueError(f"exit status {proc.returncode}; errors: {cpp.get('errors')}")
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        doc["errors"].append({"where": f"--cpp-bench {args.cpp_bench}", "message": f"{type(exc).__name__}: {exc}"})
        return
    doc["limits"]["cpp"] = cpp


def _finish(doc: dict, args, write_outputs) -> int:
    if args.cpp_bench:
        _cpp_limits(doc, args)
    out = args.out or os.path.join("results", time.strftime("bench-%Y%m%dT%H%M%SZ", time.gmtime()))
    paths = write_outputs(doc, out, make_plots=not args.no_plots)
    if args.no_plots:
        plots = "skipped (--no-plots)"
    elif "plots_error" in paths:
        plots = paths["plots_error"]
    else:
        plots = f"{len(paths['plots'])} PNG in {pathlib.Path(out) / 'plots'}"
    print(f"results: {paths['json']}\nreport:  {paths['markdown']}\nplots:   {plots}")
    failed = [t for r in doc["results"] for t in r["tools"] if t["status"] == "failed"]
    return 1 if failed or doc["errors"] else 0


def main(argv=None) -> int:
    """Entry point of ``python -m harpdaal.bench``."""
    p = configure(argparse.ArgumentParser(prog="python -m harpdaal.bench", description=__doc__))
    return run(p.parse_args(argv))
