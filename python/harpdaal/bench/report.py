"""Render a results document: JSON file, markdown tables, PNG plots (matplotlib, Agg)."""
from __future__ import annotations

import json
import math
import pathlib
import re

from .schema import validate


def _num(x, fmt: str = "{:.4g}") -> str:
    return "—" if x is None else fmt.format(x)


def machine_line(doc: dict) -> str:
    m = doc["machine"]
    blas = ", ".join(
        f"{b.get('internal_api', '?')} {b.get('version', '')} ({b.get('architecture') or '?'})"
        for b in m["numpy_blas"] if "internal_api" in b) or "none found"
    coretype = m["env"].get("OPENBLAS_CORETYPE")
    sha = (doc["git"]["sha"] or "unknown")[:10] + (" (dirty)" if doc["git"]["dirty"] else "")
    return (f"{m['cpu_model']}, {m['cpus_usable']} usable cores, ISA {m['isa_active']} "
            f"(detected {m['isa_detected']}); MKL {m['mkl']}, oneTBB {m['tbb']}; "
            f"MPI: {_short_mpi(m['mpi'])}; numpy BLAS: {blas}; "
            f"OPENBLAS_CORETYPE={coretype if coretype is not None else 'unset'}; "
            f"git {sha}; {doc['created']}")


def _short_mpi(mpi: str | None) -> str:
    if not mpi:
        return "none"
    match = re.match(r"(\w+ Version: \S+)", mpi)
    return match.group(1) if match else mpi[:40]


def limits_line(doc: dict) -> str | None:
    """Best figures of the machine-limit measurements, one line (None when there are none)."""
    parts = []
    for x in doc["limits"]["numpy_sgemm"]:
        parts.append(f"numpy sgemm {x['gflops']:.0f} GFLOP/s ({x['threads']}t, n={x['n']})")
    cpp = doc["limits"].get("cpp")
    if cpp:
        best: dict[tuple, float] = {}
        for r in cpp["results"]:
            key, value = None, None
            if r["bench"] == "sgemm_mkl":
                key, value = ("MKL sgemm", "GFLOP/s", r.get("threads")), r.get("gflops")
            elif r["bench"] in ("memory_read", "memory_write_nt"):
                key, value = (r["bench"].replace("_nt", "").replace("_", " "), "GB/s", r.get("threads")), r.get("gbps")
            if key and value is not None:
                best[key] = max(best.get(key, 0.0), value)
        parts += [f"{name} {v:.0f} {unit} ({t}t)" for (name, unit, t), v in best.items()]
    return "Machine limits: " + "; ".join(parts) if parts else None


def _breakdown_cell(t: dict) -> str:
    b = t["breakdown"]
    if not b:
        return "—"
    total = sum(b.values())
    if total <= 0:
        return "0 / 0 / 0"
    return " / ".join(f"{100 * b[k] / total:.0f}%" for k in ("compute", "comm", "glue"))


def markdown(doc: dict) -> str:
    """Full report: machine, limits, one table row per (case, threads, ranks, tool), errors."""
    lines = ["# harpdaal bench", "", f"Machine: {machine_line(doc)}", "",
             f"Size `{doc['settings']['size']}`, repeats {doc['settings']['repeat']}, "
             f"command: `{' '.join(doc['command'])}`", ""]
    if limits_line(doc):
        lines += [limits_line(doc), ""]
    lines += ["| case | threads | ranks | tool | status | median s/iter | min s/iter | throughput "
              "| quality | harpdaal speed-up | compute / comm / glue |",
              "|---|---:|---:|---|---|---:|---:|---:|---:|---:|---|"]
    for r in doc["results"]:
        for t in r["tools"]:
            if t["status"] == "ok":
                thr = f"{t['throughput']:.4g} {t['throughput_unit']}" if t["throughput"] is not None else "—"
                qual = f"{t['quality_name']} {_num(t['quality'], '{:.6g}')}"
                status = "ok"
            else:
                thr = qual = "—"
                status = f"{t['status']}: {_cell(t['reason'])}"
            ratio = "—" if t["tool"] == "harpdaal" else _num(r["harpdaal_speedup"].get(t["tool"]), "{:.2f}×")
            lines.append(f"| {r['case']} | {r['threads']} | {r['ranks']} | {t['tool']} | {status} | "
                         f"{_num(t['median_s'])} | {_num(t['min_s'])} | {thr} | {qual} | {ratio} | "
                         f"{_breakdown_cell(t)} |")
    if doc["errors"]:
        lines += ["", "Errors:", ""] + [f"- `{e['where']}`: {_cell(e['message'])}" for e in doc["errors"]]
    lines += ["", "harpdaal speed-up = peer median / harpdaal median (> 1: harpdaal faster). "
              "compute / comm / glue: harpdaal's time per iteration split (docs/bench.md).", ""]
    return "\n".join(lines)


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")[:160]


def readme_block(doc: dict) -> str:
    """Compact block for the README's performance section: one row per case and config."""
    lines = [f"Measured with `{' '.join(['harpdaal', 'bench'] + _bench_args(doc))}` on "
             f"{machine_line(doc)}.", ""]
    if limits_line(doc):
        lines += [limits_line(doc) + ".", ""]
    lines += ["| case | threads × ranks | harpdaal s/iter | quality | peers: s/iter (harpdaal speed-up) "
             "| harpdaal compute / comm / glue |",
             "|---|---|---:|---|---|---|"]
    for r in doc["results"]:
        ours = next((t for t in r["tools"] if t["tool"] == "harpdaal"), None)
        if ours is None:
            continue
        peers = []
        for t in r["tools"]:
            if t["tool"] == "harpdaal":
                continue
            if t["status"] == "ok":
                sp = r["harpdaal_speedup"].get(t["tool"])
                peers.append(f"{t['tool']} {t['median_s']:.3g} ({_num(sp, '{:.2f}×')})")
            elif t["status"] != "skipped":
                peers.append(f"{t['tool']} {t['status']}")
        if ours["status"] == "ok":
            s, q = f"{ours['median_s']:.3g}", f"{ours['quality_name']} {_num(ours['quality'], '{:.5g}')}"
        else:
            s, q = ours["status"], "—"
        lines.append(f"| {r['case']} | {r['threads']} × {r['ranks']} | {s} | {q} | "
                     f"{'; '.join(peers) or '—'} | {_breakdown_cell(ours)} |")
    return "\n".join(lines) + "\n"


def _bench_args(doc: dict) -> list[str]:
    s = doc["settings"]
    args = ["--size", s["size"], "--threads", ",".join(map(str, s["threads"])),
            "--ranks", ",".join(map(str, s["ranks"])), "--repeat", str(s["repeat"])]
    for pattern in s["only"] or []:
        args += ["--only", pattern]
    for pattern in s.get("tools") or []:
        args += ["--tools", pattern]
    return args


# ---- plots ---------------------------------------------------------------------------------------
def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "case"


def plots(doc: dict, out_dir: pathlib.Path) -> list[pathlib.Path]:
    """Per case: quality vs seconds/iter (every tool, every config, same axes), and scaling bars."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    by_case: dict[str, list[dict]] = {}
    for r in doc["results"]:
        by_case.setdefault(r["case"], []).append(r)
    markers = "osD^v<>ph*"
    for case, runs in by_case.items():
        tools = list(dict.fromkeys(t["tool"] for r in runs for t in r["tools"]))
        configs = list(dict.fromkeys((r["threads"], r["ranks"]) for r in runs))
        colours = {tool: f"C{i % 10}" for i, tool in enumerate(tools)}

        fig, ax = plt.subplots(figsize=(6.4, 4.4))
        quality_name = None
        for r in runs:
            mk = markers[configs.index((r["threads"], r["ranks"])) % len(markers)]
            for t in r["tools"]:
                if t["status"] != "ok" or t["quality"] is None:
                    continue
                quality_name = quality_name or t["quality_name"]
                ax.errorbar([t["median_s"]], [t["quality"]], xerr=[[t["median_s"] - t["min_s"]], [0.0]],
                            fmt=mk, color=colours[t["tool"]], capsize=3,
                            label=f"{t['tool']} {r['threads']}t×{r['ranks']}r")
        qualities = [t["quality"] for r in runs for t in r["tools"]
                     if t["status"] == "ok" and t["quality"] is not None]
        if qualities:
            # Equal up to float rounding (e.g. the same inertia summed in another order): show a
            # flat line rather than magnifying the last digits.
            lo, hi = min(qualities), max(qualities)
            scale = max(abs(lo), abs(hi))
            if hi - lo <= 1e-7 * scale:
                pad = 1e-4 * scale if scale > 1e-9 else 1.0
                ax.set_ylim(lo - pad, hi + pad)
        ax.ticklabel_format(axis="y", useOffset=False)  # quality values, not offsets from one
        ax.set_xlabel("seconds per iteration (median; bar to min)")
        ax.set_ylabel(quality_name or "quality")
        ax.set_title(case)
        if ax.has_data():
            if all(t["median_s"] > 0 for r in runs for t in r["tools"] if t["status"] == "ok"):
                ax.set_xscale("log")
            ax.legend(fontsize="small")
        else:
            ax.text(0.5, 0.5, "no tool ran", ha="center", va="center", transform=ax.transAxes)
        fig.tight_layout()
        path = out_dir / f"{_slug(case)}_quality_vs_time.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)

        ran = [tool for tool in tools if any(t["tool"] == tool and t["status"] == "ok"
                                             for r in runs for t in r["tools"])]
        missing = [tool for tool in tools if tool not in ran]
        fig, ax = plt.subplots(figsize=(6.4, 4.0))
        width = 0.8 / max(1, len(ran))
        labels = [f"{nt}t × {nr}r" for nt, nr in configs]
        for i, tool in enumerate(ran):
            heights = []
            for cfg in configs:
                r = next(r for r in runs if (r["threads"], r["ranks"]) == cfg)
                t = next((t for t in r["tools"] if t["tool"] == tool), None)
                heights.append(t["median_s"] if t and t["status"] == "ok" else math.nan)
            ax.bar([j + i * width for j in range(len(configs))], heights, width, label=tool,
                   color=colours[tool])
        finite = [t["median_s"] for r in runs for t in r["tools"] if t["status"] == "ok"]
        if finite and max(finite) > 50 * min(finite):
            ax.set_yscale("log")
        ax.set_xticks([j + width * (len(ran) - 1) / 2 for j in range(len(configs))], labels)
        ax.set_ylabel("seconds per iteration (median)")
        ax.set_title(f"{case}: threads and ranks")
        if ran:
            ax.legend(fontsize="small")
        if missing:
            ax.text(0.01, -0.16, "did not run: " + ", ".join(missing), transform=ax.transAxes,
                    fontsize="small", va="top")
        fig.tight_layout()
        path = out_dir / f"{_slug(case)}_scaling.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


def write_outputs(doc: dict, out_dir, make_plots: bool = True) -> dict:
    """Validate ``doc`` and write results.json, results.md and plots/*.png under ``out_dir``."""
    validate(doc)
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "results.json", "markdown": out / "results.md", "plots": []}
    paths["json"].write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    paths["markdown"].write_text(markdown(doc), encoding="utf-8")
    if make_plots:
        try:
            paths["plots"] = plots(doc, out / "plots")
        except ImportError as exc:  # matplotlib is in the bench extra, not a core dependency
            paths["plots_error"] = f"plots skipped: {exc}"
    return paths
