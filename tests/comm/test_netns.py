"""The comm suite across two "hosts": network namespaces joined by a veth pair, MPI over TCP.

Skips unless run as root with iproute2 and unshare (it creates and always removes its own
namespaces; no traffic leaves the veth pair). Not marked ``mpi``: it starts its own mpiexec.
"""
from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import textwrap

import pytest

from harpdaal.comm import under_mpi

pytest.importorskip("mpi4py", reason="mpi4py is not installed")

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "netns_hosts.sh"


def _usable() -> str | None:
    if under_mpi():
        return "starts its own mpiexec; not run from inside an MPI job"
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None or shutil.which("unshare") is None:
        return "needs iproute2 (ip) and unshare"
    return None


pytestmark = pytest.mark.skipif(_usable() is not None, reason=str(_usable()))


def _veth_tx_bytes(ns: str, dev: str) -> int:
    path = f"/sys/class/net/{dev}/statistics/tx_bytes"
    out = subprocess.run(["ip", "netns", "exec", ns, "cat", path], capture_output=True,
                         text=True, timeout=10)
    return int(out.stdout.strip())


@pytest.fixture
def hosts():
    ident = f"p{os.getpid() % 100000}"
    up = subprocess.run(["bash", str(SCRIPT), "up", ident], capture_output=True, text=True,
                        timeout=30)
    if up.returncode != 0:
        subprocess.run(["bash", str(SCRIPT), "down", ident], timeout=30)
        pytest.skip(f"cannot create network namespaces here: {up.stderr.strip()}")
    try:
        yield ident
    finally:
        subprocess.run(["bash", str(SCRIPT), "down", ident], timeout=30, check=True)
        listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert f"hd{ident}a" not in listed and f"hd{ident}b" not in listed


def _run(ident, args, timeout=240):
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    try:
        return subprocess.run(["bash", str(SCRIPT), "run", ident, *args], capture_output=True,
                              text=True, timeout=timeout, env=env, cwd=ROOT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the job across namespaces hung for {timeout} s")


def test_comm_suite_across_namespace_hosts(hosts):
    before = _veth_tx_bytes(f"hd{hosts}a", f"hd{hosts}va")
    proc = _run(hosts, ["-n", "2", sys.executable, "-m", "pytest", "-m", "mpi", "-q",
                        "-p", "no:cacheprovider", "tests/comm/test_collectives.py",
                        "tests/comm/test_rotator.py", "tests/comm/test_events_timer.py"])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert " passed" in proc.stdout and "failed" not in proc.stdout
    sent = _veth_tx_bytes(f"hd{hosts}a", f"hd{hosts}va") - before
    assert sent > 1_000_000, f"only {sent} bytes crossed the veth pair: not over the network"


def test_failure_aborts_across_namespace_hosts(hosts, tmp_path):
    script = tmp_path / "fail.py"
    script.write_text(textwrap.dedent("""
        import numpy as np
        from harpdaal.comm import MPICommunicator
        comm = MPICommunicator()
        if comm.rank == 1:
            raise RuntimeError("remote host failure")
        comm.allreduce_array(np.ones(8))
        print("finished")
    """))
    proc = _run(hosts, ["-n", "2", sys.executable, str(script)], timeout=60)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "remote host failure" in out, out
    assert "finished" not in proc.stdout
