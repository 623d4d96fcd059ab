"""oneTBB's process-wide thread limit, which other libraries in the process share.

harpdaal runs every kernel in its own oneTBB arena of ``n_jobs`` threads, but oneTBB caps every
arena at the process-wide ``max_allowed_parallelism``. Another library that loads the same oneTBB
may lower that cap: ``daal4py.daalinit(1)`` (scikit-learn-intelex) does, and from then on a
harpdaal fit with ``n_jobs=2`` silently runs on one thread. Estimators therefore check the cap
when they resolve ``n_jobs`` and warn when it is below what was asked for.
"""
from __future__ import annotations

import warnings

from . import _core


class ThreadLimitWarning(RuntimeWarning):
    """Fewer threads will run than n_jobs asked for: oneTBB's process-wide cap is lower."""


def thread_limit() -> int:
    """The process-wide oneTBB thread cap now in force (the machine's cores when none is set)."""
    return int(_core.thread_limit())


def set_thread_limit(n: int) -> None:
    """Cap oneTBB's threads process-wide at ``n`` (``0`` removes harpdaal's cap; a lower cap set
    by another library stays in force)."""
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError(f"set_thread_limit: n must be an int, got {type(n).__name__}")
    _core.set_thread_limit(n)


_DEFAULT = None


def _default_concurrency() -> int:
    """oneTBB's own default (the cores this process may run on)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = int(_core.build_info()["tbb_default_concurrency"])
    return _DEFAULT


def check_thread_limit(n_threads: int, what: str = "n_jobs") -> None:
    """Warn when the cap was lowered below ``n_threads`` (``0``: all cores). Asking for more
    threads than there are cores is not warned about: oneTBB's default cap is the core count."""
    default = _default_concurrency()
    wanted = min(n_threads, default) if n_threads > 0 else default
    cap = thread_limit()
    if cap < wanted:
        warnings.warn(
            f"{what} asks for {wanted} threads but oneTBB's process-wide limit is {cap} "
            "(lowered by another library in this process, e.g. daal4py.daalinit() from "
            "scikit-learn-intelex, or by harpdaal.set_thread_limit()): the kernels will run on "
            f"{cap} thread(s)", ThreadLimitWarning, stacklevel=3)
