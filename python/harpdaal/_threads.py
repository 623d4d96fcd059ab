"""oneTBB's process-wide thread limit, which other libraries in the process share.

harpdaal runs every kernel in its own oneTBB arena of ``n_jobs`` threads, but oneTBB caps every
arena at the process-wide ``max_allowed_parallelism``. Another library that loads the same oneTBB
may lower that cap: ``daal4py.daalinit(1)`` (scikit-learn-intelex) does, and from then on a
harpdaal fit with ``n_jobs=2`` silently runs on one thread. Estimators therefore check the cap
when they resolve ``n_jobs`` and warn when it is below what was asked for.
"""
from __future__ import annotations

import numbers
import os
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


def resolve_n_jobs(n_jobs, check: bool = True) -> int:
    """``n_jobs`` as the kernels take it: ``0`` for every core (``None`` or ``-1``: oneTBB's
    default arena), ``n`` for ``n > 0``, and ``cores + 1 + n`` (at least 1) for ``n < -1``, as in
    scikit-learn and joblib. One rule for every estimator. ``check`` warns with
    :class:`ThreadLimitWarning` when oneTBB's process-wide cap is lower than what is asked for."""
    if n_jobs is None:
        n = 0
    elif isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral):
        raise TypeError(f"n_jobs must be None or an int, got {type(n_jobs).__name__}")
    elif n_jobs == 0:
        raise ValueError("n_jobs must not be 0 (None or -1: every core; n > 0: n threads; "
                         "n < -1: every core but |n| - 1)")
    elif n_jobs == -1:
        n = 0
    elif n_jobs < 0:
        n = max(1, (os.cpu_count() or 1) + 1 + int(n_jobs))
    else:
        n = int(n_jobs)
    if check:
        check_thread_limit(n)
    return n
