"""Run registered case modules over tools x threads (x ranks) and build the results document.

A case module (``harpdaal.bench.cases.<name>`` or any importable module named with --module)
defines::

    TOOLS = ["harpdaal", "<peer>", ...]
    def cases(size: str, data_dir: str | None) -> list[dict]   # each {"name": ..., "params": {...}}
    def run(case: dict, tool: str, threads: int, repeat: int) -> dict
    # optional: DISTRIBUTED_TOOLS = [...]  tools that are meaningful on several MPI ranks
    #           (default ["harpdaal"]; the others are reported as skipped when ranks > 1)

``run`` returns {"seconds_per_iter": [...repeat values], "throughput": float, "throughput_unit":
str, "quality": float, "quality_name": str, "breakdown": {"compute", "comm", "glue"} (harpdaal)}
or raises ``PeerUnavailable(reason)``. Anything else raised, or a malformed result, is recorded
as a failed run with its message: one broken case never stops the others.
"""
from __future__ import annotations

import fnmatch
import importlib
import math
import pkgutil
import statistics
import sys
import time
import traceback

from tqdm import tqdm

from ..comm import current_communicator
from . import cases as pkg
from . import machine
from .errors import PeerUnavailable
from .schema import SCHEMA_ID

SIZES = ("smoke", "small", "full")
SGEMM_N = {"smoke": 256, "small": 1024, "full": 2048}
BREAKDOWN_KEYS = ("compute", "comm", "glue")
# Seconds to wait before each tool's runs (not at size "smoke"): after its last call a peer's
# BLAS or OpenMP worker threads keep spinning for ~0.1 s (OpenBLAS: 99.9 ms of CPU in a 100 ms
# sleep after one dot), which on a 2-core machine takes a core from the next tool measured.
TOOL_PAUSE_S = {"smoke": 0.0, "small": 0.5, "full": 0.5}


# ---- case modules -----------------------------------------------------------------------------
def discover(extra: list[str] | None = None) -> tuple[list, list]:
    """([(name, module)], [error records]) for harpdaal.bench.cases.* and the ``extra`` modules."""
    names = [f"{pkg.__name__}.{m.name}" for m in pkgutil.iter_modules(pkg.__path__)
             if not m.name.startswith("_")]
    found, errors = [], []
    for full in sorted(names) + list(extra or []):
        try:
            module = importlib.import_module(full)
            for attr in ("TOOLS", "cases", "run"):
                if not hasattr(module, attr):
                    raise TypeError(f"case module {full} does not define {attr}")
        except Exception as exc:
            errors.append({"where": f"import {full}", "message": _describe(exc)})
            continue
        found.append((full.rsplit(".", 1)[-1] if full.startswith(pkg.__name__) else full, module))
    return found, errors


def _describe(exc: BaseException) -> str:
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" (at {last[0].filename}:{last[0].lineno})" if last else ""
    return f"{type(exc).__name__}: {exc}{where}"


def selected(case_name: str, module_name: str, only: list[str] | None) -> bool:
    if not only:
        return True
    return any(fnmatch.fnmatchcase(case_name, p) or fnmatch.fnmatchcase(module_name, p) for p in only)


# ---- one tool on one case -----------------------------------------------------------------------
def _finite(x, what: str, allow_none: bool = False):
    if x is None and allow_none:
        return None
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise ValueError(f"{what} must be a number, got {type(x).__name__}")
    return float(x)


def check_result(res, repeat: int) -> dict:
    """Validate what ``run`` returned and normalise it; raises ValueError naming the field."""
    if not isinstance(res, dict):
        raise ValueError(f"run() must return a dict, got {type(res).__name__}")
    secs = res.get("seconds_per_iter")
    if not isinstance(secs, (list, tuple)) or len(secs) != repeat:
        raise ValueError(f"seconds_per_iter must be a list of {repeat} values (one per repeat), "
                         f"got {secs!r:.80}")
    secs = [_finite(s, "seconds_per_iter[i]") for s in secs]
    if not all(math.isfinite(s) and s > 0 for s in secs):
        raise ValueError(f"seconds_per_iter must be finite and > 0, got {secs}")
    throughput = _finite(res.get("throughput"), "throughput")
    quality = _finite(res.get("quality"), "quality", allow_none=True)
    for key in ("throughput_unit", "quality_name"):
        if not isinstance(res.get(key), str) or not res[key]:
            raise ValueError(f"{key} must be a non-empty str, got {res.get(key)!r}")
    breakdown = res.get("breakdown")
    if breakdown is not None:
        if not isinstance(breakdown, dict) or set(breakdown) != set(BREAKDOWN_KEYS):
            raise ValueError(f"breakdown must have exactly the keys {BREAKDOWN_KEYS}, got {breakdown!r:.80}")
        breakdown = {k: _finite(breakdown[k], f"breakdown[{k!r}]") for k in BREAKDOWN_KEYS}
        if not all(math.isfinite(v) and v >= 0 for v in breakdown.values()):
            raise ValueError(f"breakdown values must be finite and >= 0, got {breakdown}")
    total = sum(breakdown.values()) if breakdown else 0.0
    return {
        "seconds_per_iter": secs,
        "median_s": statistics.median(secs),
        "min_s": min(secs),
        "throughput": throughput if math.isfinite(throughput) else None,
        "throughput_unit": res["throughput_unit"],
        "quality": quality if quality is not None and math.isfinite(quality) else None,
        "quality_name": res["quality_name"],
        "breakdown": breakdown,
        "glue_fraction": breakdown["glue"] / total if breakdown and total > 0 else None,
    }


def _empty(tool: str, status: str, reason: str, wall: float = 0.0) -> dict:
    return {"tool": tool, "status": status, "reason": reason, "seconds_per_iter": [],
            "median_s": None, "min_s": None, "throughput": None, "throughput_unit": None,
            "quality": None, "quality_name": None, "breakdown": None, "glue_fraction": None,
            "wall_s": wall}


def run_tool(module, case: dict, tool: str, threads: int, repeat: int) -> dict:
    """One tool on one case, never raising: a record with status ok / absent / failed."""
    t0 = time.perf_counter()
    try:
        limiter = _limit_threads(threads)
        try:
            res = module.run(case, tool, threads, repeat)
        finally:
            if limiter is not None:
                limiter.restore_original_limits()
        out = {"tool": tool, "status": "ok", "reason": None, **check_result(res, repeat)}
    except PeerUnavailable as exc:
        return _empty(tool, "absent", str(exc) or "not installed", time.perf_counter() - t0)
    except Exception as exc:
        return _empty(tool, "failed", _describe(exc), time.perf_counter() - t0)
    out["wall_s"] = time.perf_counter() - t0
    return out


def _limit_threads(threads: int):
    """Cap the BLAS/OpenMP pools that peers use (harpdaal's own threads are set per call)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(limits=threads)


def speedups(tools: list[dict]) -> dict:
    """{peer: peer median / harpdaal median} (> 1 means harpdaal is faster), None if not comparable."""
    ours = next((t for t in tools if t["tool"] == "harpdaal"), None)
    out = {}
    for t in tools:
        if t["tool"] == "harpdaal":
            continue
        ok = ours is not None and ours["status"] == "ok" and t["status"] == "ok"
        out[t["tool"]] = t["median_s"] / ours["median_s"] if ok else None
    return out


# ---- progress -----------------------------------------------------------------------------------
def progress_bar(total: int, enabled: bool):
    return tqdm(total=total, disable=not enabled, file=sys.stderr, unit="run", dynamic_ncols=True)


# ---- a whole run in this process (or on every rank of this MPI job) -----------------------------
def run_benchmarks(*, size: str, threads: list[int], repeat: int, only: list[str] | None = None,
                   data_dir: str | None = None, modules: list[str] | None = None,
                   limits: bool = True, progress: bool = True, world=None,
                   command: list[str] | None = None, failure_note: str | None = None,
                   tools: list[str] | None = None) -> dict:
    """Run every selected case and return the results document (see schema.json).

    Under MPI every rank must call this with the same arguments (cases run collectively);
    the returned document is complete on rank 0. A run that fails on one rank of a multi-rank
    job may leave the other ranks inside a collective, so the job is aborted (never a hang),
    after writing the reason to ``failure_note`` (a path) when given.
    """
    if size not in SIZES:
        raise ValueError(f"size must be one of {SIZES}, got {size!r}")
    if not threads or not all(isinstance(t, int) and t >= 1 for t in threads):
        raise ValueError(f"threads must be a non-empty list of ints >= 1, got {threads!r}")
    if not isinstance(repeat, int) or repeat < 3:
        raise ValueError(f"repeat must be an int >= 3 (median and min of >= 3), got {repeat!r}")
    world = world or current_communicator()
    tool_patterns = list(tools) if tools else None
    found, errors = discover(modules)

    plan = []  # (module name, module, case)
    for name, module in found:
        try:
            listed = module.cases(size, data_dir)
            for case in listed:
                if not isinstance(case, dict) or "name" not in case or "params" not in case:
                    raise ValueError(f"cases() must return dicts with 'name' and 'params', got {case!r:.80}")
        except Exception as exc:
            errors.append({"where": f"{name}.cases({size!r})", "message": _describe(exc)})
            continue
        plan += [(name, module, c) for c in listed if selected(c["name"], name, only)]

    # Machine limits first, on an idle process (before any peer has started thread pools).
    sgemm = []
    if limits and world.rank == 0:
        for nt in threads:
            try:
                sgemm.append(machine.numpy_sgemm_gflops(SGEMM_N[size], nt))
            except Exception as exc:
                errors.append({"where": f"numpy sgemm threads={nt}", "message": _describe(exc)})
    world.barrier()

    distributed = world.size > 1
    total = sum(len(m.TOOLS) for _, m, _ in plan) * len(threads)
    bar = progress_bar(total, enabled=progress and world.rank == 0)
    results = []
    try:
        for name, module, case in plan:
            for nt in threads:
                tools = []
                multi = getattr(module, "DISTRIBUTED_TOOLS", ["harpdaal"])
                for tool in module.TOOLS:
                    bar.set_description(f"{case['name']} {tool} t={nt} r={world.size}")
                    if tool_patterns and not any(fnmatch.fnmatchcase(tool, p) for p in tool_patterns):
                        rec = _empty(tool, "skipped", "not selected (--tools)")
                    elif distributed and tool not in multi:
                        rec = _empty(tool, "skipped", "single-process peer: measured in the ranks=1 run")
                    else:
                        time.sleep(TOOL_PAUSE_S[size])
                        rec = run_tool(module, case, tool, nt, repeat)
                        if distributed and rec["status"] == "failed":
                            _abort(world, f"{case['name']} {tool} threads={nt}: {rec['reason']}",
                                   failure_note)
                        rec = _agree(world, rec)
                    tools.append(rec)
                    bar.update(1)
                results.append({"case": case["name"], "module": name, "params": _jsonable(case["params"]),
                                "threads": nt, "ranks": world.size, "tools": tools,
                                "harpdaal_speedup": speedups(tools)})
    finally:
        bar.close()

    return {
        "schema": SCHEMA_ID,
        "created": machine.utc_now(),
        "git": machine.git_sha(),
        "command": list(command if command is not None else sys.argv),
        "settings": {"size": size, "threads": list(threads), "ranks": [world.size], "repeat": repeat,
                     "only": list(only) if only else None, "tools": tool_patterns,
                     "data_dir": data_dir},
        "machine": machine.machine_info(),
        "limits": {"numpy_sgemm": sgemm},
        "errors": errors,
        "results": results,
    }


def _abort(world, message: str, failure_note: str | None) -> None:
    text = f"harpdaal bench: rank {world.rank} of {world.size}: {message}"
    print(text, file=sys.stderr, flush=True)
    if failure_note:
        try:
            with open(f"{failure_note}.rank{world.rank}.error", "w", encoding="utf-8") as f:
                f.write(text)
        except OSError:
            pass
    from mpi4py import MPI  # the bench's own job control; imported only under mpiexec

    MPI.COMM_WORLD.Abort(3)


def _agree(world, rec: dict) -> dict:
    """Under MPI: a run failed if it failed on any rank (rank 0's figures are reported)."""
    if world.size == 1:
        return rec
    states = world.allgather_object((rec["status"], rec["reason"]))
    bad = [(r, s, why) for r, (s, why) in enumerate(states) if s != "ok"]
    if not bad or rec["status"] != "ok":
        return rec
    r, status, why = bad[0]
    return _empty(rec["tool"], status, f"rank {r}: {why}", rec["wall_s"])


def _jsonable(obj):
    """params as plain JSON (numpy scalars and tuples converted, anything else stringified)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if obj is None or isinstance(obj, (str, bool, int)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if hasattr(obj, "item"):
        return _jsonable(obj.item())
    return str(obj)


def merge(docs: list[dict]) -> dict:
    """One document from the runs at several rank counts (machine and limits from the first)."""
    if not docs:
        raise ValueError("docs must not be empty")
    out = dict(docs[0])
    out["settings"] = dict(docs[0]["settings"])
    out["settings"]["ranks"] = sorted({r for d in docs for r in d["settings"]["ranks"]})
    out["errors"] = [e for d in docs for e in d["errors"]]
    out["results"] = [r for d in docs for r in d["results"]]
    out["limits"] = {"numpy_sgemm": [x for d in docs for x in d["limits"]["numpy_sgemm"]]}
    return out
