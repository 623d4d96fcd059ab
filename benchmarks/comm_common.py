"""What bench_comm.py and bench_rotate.py share: the run's provenance and the JSON they write."""
from __future__ import annotations

import json
import os
import statistics

from harpdaal.bench.machine import cpu_model, git_sha


def provenance(MPI) -> dict:
    """Machine, MPI library, code version and load: recorded with every result."""
    import harpdaal

    return {"cpu": cpu_model(), "cores": os.cpu_count(), "isa": harpdaal.active_isa(),
            "git_sha": git_sha(os.path.dirname(os.path.abspath(__file__)))["sha"],
            "loadavg_1min": os.getloadavg()[0],
            "mpi": " ".join(MPI.Get_library_version().split())[:80],
            "mpich_cvars": {k: v for k, v in sorted(os.environ.items())
                            if k.startswith("MPIR_CVAR_")}}


def summary(times: list[float]) -> dict:
    return {"median_s": statistics.median(times), "min_s": min(times), "times_s": times}


def finish(out: dict, MPI, path: str | None) -> dict:
    """Add the provenance (and the load average at the end of the run) to ``out`` and write it
    as JSON to ``path`` (if given); call on rank 0 only."""
    out.update(provenance(MPI))
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=2)
            f.write("\n")
    return out
