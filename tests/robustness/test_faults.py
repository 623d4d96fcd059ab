"""Faults injected into real MPI fits: a rank raising inside the estimator's native kernel, a
rank killed with SIGKILL mid-fit, a rank slowed 10x. The job must end with a clear error (or,
for the slow rank, finish with the right result) within a timeout: nothing hangs.

Each test launches ``mpiexec`` itself in a subprocess with a timeout, so these tests are not
marked ``mpi`` (they skip when already running inside an MPI job)."""
from __future__ import annotations

import pathlib
import re
import time

import numpy as np
import pytest

from . import _jobs

pytest.importorskip("mpi4py", reason="mpi4py is not installed")

FITJOB = pathlib.Path(__file__).with_name("_fitjob.py")
ALGS = ["kmeans", "mf", "lda"]


def fit_job(tmp_path, alg, ranks=2, *extra, timeout=_jobs.JOB_TIMEOUT):
    _jobs.skip_inside_mpi()
    import subprocess

    out = tmp_path / alg
    start = time.monotonic()
    try:
        proc = subprocess.run(_jobs.mpiexec_argv(ranks, FITJOB, alg, out, *extra),
                              capture_output=True, text=True, timeout=timeout, env=_jobs.env())
    except subprocess.TimeoutExpired:
        pytest.fail(f"{alg}: the MPI job hung for {timeout} s")
    return proc, time.monotonic() - start, out


def load(out, rank):
    with np.load(f"{out}.rank{rank}.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


RANKS = [(alg, 2) for alg in ALGS] + [("lda", 4), ("kmeans", 4)]  # 4 ranks > 2 cores


@pytest.mark.parametrize("alg, ranks", RANKS)
def test_rank_raising_in_fit_aborts_job(tmp_path, alg, ranks):
    proc, elapsed, _ = fit_job(tmp_path, alg, ranks, "--fault", "raise", "--at", "2")
    _jobs.count_fault("raise")
    out = proc.stdout + proc.stderr
    last = ranks - 1
    assert proc.returncode != 0, out
    assert f"injected fault on rank {last}" in out and "Traceback" in out, out
    assert f"uncaught RuntimeError on MPI rank {last} of {ranks}" in out, out
    assert "fit done" not in out, out
    assert elapsed < 60, f"{alg}: abort took {elapsed:.1f} s"


@pytest.mark.parametrize("alg, ranks", RANKS)
def test_rank_killed_in_fit_ends_job(tmp_path, alg, ranks):
    proc, elapsed, _ = fit_job(tmp_path, alg, ranks, "--fault", "kill", "--at", "2")
    _jobs.count_fault("kill")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "fit done" not in out, out
    # Hydra reports the dead rank (signal 9) when it tears the job down
    assert "KILLED" in out.upper() or "signal 9" in out.lower() or proc.returncode in (137, -9), out
    assert elapsed < 60, f"{alg}: ending the job took {elapsed:.1f} s"


@pytest.mark.parametrize("alg", ALGS)
def test_rank_slowed_10x_finishes_with_same_result(tmp_path, alg):
    """Every estimator synchronises each iteration, so a rank slowed 10x slows the job but
    must neither hang it nor change the result (the fits are deterministic)."""
    slow_dir = tmp_path / "slow"
    slow_dir.mkdir()
    ref_dir = tmp_path / "ref"
    ref_dir.mkdir()
    proc, _, slow = fit_job(slow_dir, alg, 2, "--fault", "slow")
    _jobs.count_fault("slow")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc, _, ref = fit_job(ref_dir, alg, 2)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for rank in range(2):
        a, b = load(slow, rank), load(ref, rank)
        assert a.keys() == b.keys()
        for k in a:
            np.testing.assert_array_equal(a[k], b[k], err_msg=f"{alg} rank {rank}: {k}")


TIMED_ROTATION = """
    import time
    import numpy as np
    from harpdaal.comm import MPICommunicator, ModelRotator, RotationTimer
    comm = MPICommunicator()
    slow = comm.rank == comm.size - 1
    UNIT, WORK = 0.002, 25                 # a block is 25 units of 2 ms (20 ms on the slow rank)
    unit = UNIT * (10 if slow else 1)
    model = np.full((4, 8), float(comm.rank))
    timer = RotationTimer(comm, budget=0.01, target_fraction=0.5)
    done_total, busy, waits = 0, [], []
    with ModelRotator(model, comm=comm, slices_per_rank=1) as rot:
        for epoch in range(6):
            for _ in range(rot.steps_per_epoch):
                t0 = time.perf_counter()
                block = rot.get(0)
                waits.append(time.perf_counter() - t0)
                timer.start()
                done, t1 = 0, time.perf_counter()
                while done < WORK and not timer.expired():
                    time.sleep(unit)
                    done += 1
                block += 1.0
                busy.append(time.perf_counter() - t1)
                timer.stop(work_done=done, work_total=WORK)
                done_total += done
                rot.rotate(0)
            timer.adapt()
        final = rot.assemble()
    # every slice got one increment per step on whichever rank held it
    steps = 6 * comm.size
    expect = np.concatenate([np.full((4, 8), r + steps, dtype=float) for r in range(comm.size)])
    assert np.array_equal(final, expect), final
    print(f"rank {comm.rank} slow={slow} done={done_total} budget={timer.budget:.4f} "
          f"busy_median={np.median(busy[-4:]):.4f} wait_median={np.median(waits[-4:]):.4f}",
          flush=True)
"""


def test_slow_rank_under_timer_control_keeps_others_useful(tmp_path):
    """Harp's timer control with one rank 10x slower and target_fraction 0.5: the budget
    settles near what fast ranks need, the slow rank leaves most of its block, the fast ranks
    finish theirs and do not wait long for the slow one at the rotation."""
    proc, elapsed = _jobs.run_mpi(tmp_path, TIMED_ROTATION, 2)
    _jobs.count_fault("slow")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    stats = {}  # lines from two ranks may arrive interleaved without a newline: match fields
    for m in re.finditer(r"rank (\d+) slow=(\w+) done=(\d+) budget=([\d.]+) "
                         r"busy_median=([\d.]+) wait_median=([\d.]+)", proc.stdout):
        stats[int(m.group(1))] = dict(zip(("slow", "done", "budget", "busy", "wait_median"),
                                          [m.group(2) == "True"] + [float(g) for g in m.groups()[2:]]))
    assert len(stats) == 2, out
    fast, slow = stats[0], stats[1]
    work_per_rank = 6 * 2 * 25
    # target_fraction 0.5 with rates 10:1 gives the fast rank ~90% of its block per step
    assert fast["done"] >= 0.7 * work_per_rank, stats
    assert fast["done"] >= 5 * slow["done"], stats
    assert slow["done"] <= 0.5 * work_per_rank, stats   # the slow one leaves much of its work
    nominal_slow_step = 25 * 0.02
    assert fast["budget"] < 0.5 * nominal_slow_step, stats  # nobody waits for the slow block
    assert fast["wait_median"] < 0.5 * nominal_slow_step, stats
    assert elapsed < 60
