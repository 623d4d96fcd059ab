"""Helpers for robustness tests that start their own processes (python or mpiexec) with a
timeout: a hang fails the test instead of hanging CI."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

JOB_TIMEOUT = 90  # every job here must end well before this

# counts for the closing report (faults injected by the tests that ran)
FAULTS = {"raise": 0, "kill": 0, "slow": 0, "torn_write": 0, "corrupt_file": 0}


def count_fault(kind: str, n: int = 1) -> None:
    FAULTS[kind] = FAULTS.get(kind, 0) + n


def skip_inside_mpi():
    from harpdaal.comm import under_mpi

    if under_mpi():
        pytest.skip("starts its own processes; not run from inside an MPI job")


def write_script(tmp_path, body: str, name: str = "job.py"):
    script = tmp_path / name
    script.write_text(textwrap.dedent(body))
    return script


def env():
    return {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}


def run_python(tmp_path, body, *args, timeout=JOB_TIMEOUT, name="job.py"):
    skip_inside_mpi()
    script = write_script(tmp_path, body, name)
    try:
        return subprocess.run([sys.executable, str(script), *map(str, args)], capture_output=True,
                              text=True, timeout=timeout, env=env())
    except subprocess.TimeoutExpired:
        pytest.fail(f"the job hung for {timeout} s")


def mpiexec_argv(ranks, script, *args):
    from harpdaal.cli.launch import find_mpiexec

    return [find_mpiexec(), "-n", str(ranks), sys.executable, str(script), *map(str, args)]


def run_mpi(tmp_path, body, ranks=2, *args, timeout=JOB_TIMEOUT, name="job.py"):
    """Run `body` under mpiexec -n ranks; returns (CompletedProcess, seconds)."""
    skip_inside_mpi()
    pytest.importorskip("mpi4py", reason="mpi4py is not installed")
    script = write_script(tmp_path, body, name)
    start = time.monotonic()
    try:
        proc = subprocess.run(mpiexec_argv(ranks, script, *args), capture_output=True, text=True,
                              timeout=timeout, env=env())
    except subprocess.TimeoutExpired:
        pytest.fail(f"the MPI job hung for {timeout} s instead of ending")
    return proc, time.monotonic() - start


def start(argv, tmp_path):
    """Popen in its own process group (so the whole job can be killed), output to files."""
    out = open(tmp_path / "out.txt", "w")
    return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env(),
                            start_new_session=True), out


def wait_for(predicate, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.02)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")
