"""Build and runtime configuration: ISA dispatch control and ``show_config``."""
from __future__ import annotations

import os
import platform
import sys

from . import _core
from ._version import __version__

# Lowest first; a CPU that runs a level runs every level before it. avx512f: AVX-512 F/CD without
# BW/DQ/VL (Knights Landing).
_ISA_LEVELS = ("generic", "avx2", "avx512f", "avx512")


def detected_isa() -> str:
    """Highest instruction-set level this CPU can run."""
    return _core.detected_isa()


def active_isa() -> str:
    """Instruction-set level the kernels dispatch to now."""
    return _core.active_isa()


def available_isas() -> list[str]:
    """Every level this CPU can run, lowest first (each can be forced for testing)."""
    top = _ISA_LEVELS.index(detected_isa())
    return list(_ISA_LEVELS[: top + 1])


def set_isa(isa: str) -> None:
    """Force the kernels onto ``isa`` ('avx512', 'avx512f', 'avx2' or 'generic').

    Raises ValueError for an unknown name or a level this CPU cannot run.
    """
    if not isinstance(isa, str):
        raise TypeError(f"isa must be a str, got {type(isa).__name__}")
    _core.set_isa(isa)


def _apply_env_isa() -> None:
    requested = os.environ.get("HARPDAAL_ISA", "").strip()
    if not requested:
        return
    try:
        _core.set_isa(requested)
    except ValueError as exc:
        raise RuntimeError(f"HARPDAAL_ISA={requested!r}: {exc}") from None


def _mpi_library() -> str | None:
    try:
        from mpi4py import MPI  # noqa: PLC0415  (lazy: MPI is optional)
    except Exception:  # pragma: no cover - depends on the environment
        return None
    major, minor = MPI.Get_version()
    first = MPI.Get_library_version().strip().splitlines()[0]
    return f"{' '.join(first.split())} (MPI {major}.{minor}, mpi4py {_mpi4py_version()})"


def _mpi4py_version() -> str:
    import mpi4py  # noqa: PLC0415

    return mpi4py.__version__


def config() -> dict:
    """The configuration as a dict (what ``show_config`` prints)."""
    info = dict(_core.build_info())
    info["harpdaal"] = __version__
    info["python"] = sys.version.split()[0]
    info["platform"] = platform.platform()
    info["isa_available"] = available_isas()
    info["mpi"] = _mpi_library()
    return info


def show_config(file=None) -> None:
    """Print harpdaal, MKL, oneTBB and MPI versions and the chosen and available ISA levels."""
    info = config()
    out = file or sys.stdout
    lines = [
        f"harpdaal        {info['harpdaal']} (python {info['python']}, {info['compiler']})",
        f"platform        {info['platform']}",
        f"ISA             active={info['isa_active']} detected={info['isa_detected']} "
        f"available={','.join(info['isa_available'])}",
        f"MKL             {info['mkl_version']} build {info['mkl_build']}; "
        f"threading: {info['mkl_threading']}",
        f"oneTBB          {info['tbb_version']} (interface {info['tbb_interface_version']}); "
        f"default threads {info['tbb_default_concurrency']}",
        f"MPI             {info['mpi'] or 'mpi4py not importable (pip install harpdaal[mpi])'}",
    ]
    print("\n".join(lines), file=out)


_apply_env_isa()
