"""Re-launch the current command under mpiexec for ``--ranks N``."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

from ..comm import under_mpi

__all__ = ["RelaunchTimeout", "find_mpiexec", "ranks_mismatch", "relaunch",
           "relaunch_if_needed", "under_mpi"]


def find_mpiexec() -> str:
    """mpiexec next to this interpreter (the mpich wheel puts it in the venv's bin/), else PATH."""
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if os.access(here, os.X_OK):
        return here
    found = shutil.which("mpiexec")
    if found is None:
        raise RuntimeError("--ranks > 1 needs mpiexec: pip install 'harpdaal[mpi]' (MPICH wheel)")
    return found


class RelaunchTimeout(RuntimeError):
    """The relaunched job ran past its time limit and was killed."""


def relaunch(ranks: int, module_argv: list[str], timeout: float | None = None) -> int:
    """Run ``python -m harpdaal <module_argv>`` on ``ranks`` MPI ranks and return its exit code.

    With ``timeout`` (seconds), a job still running then (e.g. deadlocked ranks) is killed —
    mpiexec and every rank, as one process group — and RelaunchTimeout is raised."""
    if ranks < 1:
        raise ValueError(f"--ranks must be >= 1, got {ranks}")
    if timeout is not None and not timeout > 0:
        raise ValueError(f"timeout: expected seconds > 0 or None, got {timeout!r}")
    cmd = [find_mpiexec(), "-n", str(ranks), sys.executable, "-m", "harpdaal", *module_argv]
    # its own session: on timeout the whole job (mpiexec, its proxies, the ranks) is signalled
    proc = subprocess.Popen(cmd, start_new_session=timeout is not None)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise RelaunchTimeout(f"mpiexec -n {ranks} was still running after {timeout:g} s; "
                              "killed") from None
    except BaseException:
        if timeout is not None:
            _kill_group(proc)
        raise


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGTERM the job's process group, SIGKILL what is left after 5 s, and reap mpiexec."""
    for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=grace)
            if sig == signal.SIGTERM:
                # mpiexec is gone; give ranks it may have left behind the same signal
                os.killpg(proc.pid, signal.SIGKILL)
            break
        except subprocess.TimeoutExpired:
            continue
        except ProcessLookupError:
            break
    try:
        proc.wait(timeout=5.0)
    except subprocess.TimeoutExpired:
        pass


def relaunch_if_needed(args) -> int | None:
    """``--ranks N`` for a command: outside mpiexec with N > 1, run this same command line
    (``args.argv``, recorded by ``harpdaal.__main__``) on N ranks and return its exit code;
    return None when this process should do the work itself (N == 1, or already a rank)."""
    if args.ranks < 1:
        print(f"harpdaal {args.command}: --ranks must be >= 1, got {args.ranks}", file=sys.stderr)
        return 2
    if args.ranks > 1 and not under_mpi():
        return relaunch(args.ranks, args.argv)
    return None


def ranks_mismatch(args, comm) -> int | None:
    """Exit code 2 (with a message) when a relaunched command's communicator does not have the
    ``--ranks`` it was started for (e.g. mpi4py missing, so every rank would fit alone)."""
    if args.ranks > 1 and comm.size != args.ranks:
        print(f"harpdaal {args.command}: --ranks {args.ranks} but the communicator has "
              f"{comm.size} rank(s) (is mpi4py installed? pip install 'harpdaal[mpi]')",
              file=sys.stderr)
        return 2
    return None
