"""What a benchmark result must say about where it ran: CPU, ISA, libraries, BLAS, git SHA."""
from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import subprocess
import sys
import time

import numpy as np  # also loads the BLAS that threadpoolctl inspects

from .._config import config

# Peers and libraries whose versions every result records (absent ones are recorded as None).
PACKAGES = (
    "numpy", "scipy", "mpi4py", "mpich", "threadpoolctl", "scikit-learn", "scikit-learn-intelex",
    "faiss-cpu", "tomotopy", "lda", "gensim", "libmf", "scikit-surprise", "matplotlib", "tqdm",
)
BLAS_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
            "MKL_NUM_THREADS", "MKL_ENABLE_INSTRUCTIONS", "HARPDAAL_ISA")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_sha(start: str | None = None) -> dict:
    """SHA and dirty flag of the checkout holding this package (None outside a git checkout)."""
    where = start or os.path.dirname(os.path.abspath(__file__))
    try:
        sha = subprocess.run(["git", "-C", where, "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", where, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout
        return {"sha": sha, "dirty": bool(dirty.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"sha": None, "dirty": None}


def package_versions() -> dict:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def numpy_blas() -> list:
    """numpy's BLAS as threadpoolctl sees it (library, version, kernel architecture, threads)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [{"error": "threadpoolctl not installed"}]
    keep = ("user_api", "internal_api", "prefix", "version", "architecture", "threading_layer",
            "num_threads", "filepath")
    return [{k: v for k, v in lib.items() if k in keep} for lib in threadpool_info()]


def harpdaal_config() -> dict:
    try:
        return config()
    except Exception as exc:  # a result must still say what it could not find
        return {"error": f"{type(exc).__name__}: {exc}"}


def machine_info() -> dict:
    cfg = harpdaal_config()
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        affinity = os.cpu_count()
    return {
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": affinity,
        "isa_detected": cfg.get("isa_detected"),
        "isa_active": cfg.get("isa_active"),
        "mkl": cfg.get("mkl_version"),
        "mkl_cpu": cfg.get("mkl_cpu"),
        "mkl_threading": cfg.get("mkl_threading"),
        "tbb": cfg.get("tbb_version"),
        "mpi": cfg.get("mpi"),
        "harpdaal": cfg.get("harpdaal"),
        "harpdaal_config": cfg,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "numpy_blas": numpy_blas(),
        "env": {k: os.environ.get(k) for k in BLAS_ENV},
        "packages": package_versions(),
    }


def numpy_sgemm_gflops(n: int, threads: int, repeat: int = 3) -> dict:
    """Best-of-``repeat`` float32 n x n x n matmul through numpy's BLAS on ``threads`` threads."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    c = np.empty((n, n), dtype=np.float32)
    try:
        from threadpoolctl import threadpool_limits

        limiter = threadpool_limits(limits=threads, user_api="blas")
    except ImportError:
        limiter = None
    try:
        np.matmul(a, b, out=c)  # warm-up
        best = float("inf")
        for _ in range(repeat):
            t0 = time.perf_counter()
            np.matmul(a, b, out=c)
            best = min(best, time.perf_counter() - t0)
    finally:
        if limiter is not None:
            limiter.restore_original_limits()
    return {"n": n, "threads": threads, "seconds": best, "gflops": 2.0 * n**3 / best / 1e9}


def utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
