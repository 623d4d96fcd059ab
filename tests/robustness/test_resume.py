"""Checkpoint / resume of KMeans, MiniBatchKMeans, MatrixFactorization and LatentDirichletAllocation: a fit
killed with SIGKILL after a few checkpoints and resumed with ``fit(..., resume=True)`` ends
bitwise equal to an uninterrupted fit, in one process and under ``mpiexec -n 2``."""
from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys

import numpy as np
import pytest

from . import _fitjob, _jobs

FITJOB = pathlib.Path(__file__).with_name("_fitjob.py")
ALGS = ["kmeans", "minibatch", "mf", "lda"]
DATA = {"kmeans": _fitjob.kmeans_data, "minibatch": _fitjob.kmeans_data, "mf": _fitjob.mf_data,
        "lda": _fitjob.lda_data}


def load(prefix, rank):
    with np.load(f"{prefix}.rank{rank}.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def committed_iteration(ck_dir):
    try:
        with open(os.path.join(ck_dir, "manifest.json")) as f:
            return json.load(f)["iteration"]
    except (OSError, ValueError):
        return 0


def argv_for(ranks, *args):
    if ranks == 1:
        return [sys.executable, str(FITJOB), *map(str, args)]
    return _jobs.mpiexec_argv(ranks, FITJOB, *args)


def run(ranks, *args):
    try:
        proc = subprocess.run(argv_for(ranks, *args), capture_output=True, text=True,
                              timeout=_jobs.JOB_TIMEOUT, env=_jobs.env())
    except subprocess.TimeoutExpired:
        pytest.fail(f"job {args} hung")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def kill_resume_compare(tmp_path, alg, ranks, kill_after=3):
    _jobs.skip_inside_mpi()
    if ranks > 1:
        pytest.importorskip("mpi4py", reason="mpi4py is not installed")
    ref, out, ck = tmp_path / "ref", tmp_path / "out", tmp_path / "ck"
    run(ranks, alg, ref)
    # a fit slowed down (pause after each kernel call) so that the kill lands mid-fit
    proc, log = _jobs.start(argv_for(ranks, alg, out, "--checkpoint", ck, "--every", "1",
                                     "--pause", "0.1"), tmp_path)
    try:
        _jobs.wait_for(lambda: committed_iteration(ck) >= kill_after or proc.poll() is not None,
                       60, f"checkpoint {kill_after}")
        os.killpg(proc.pid, signal.SIGKILL)  # kill -9 the whole job (mpiexec and its ranks)
        proc.wait(timeout=30)
    finally:
        log.close()
    _jobs.count_fault("kill")
    assert proc.returncode == -signal.SIGKILL, (tmp_path / "out.txt").read_text()
    assert not os.path.exists(f"{out}.rank0.npz"), "the fit finished before the kill"
    done = committed_iteration(ck)
    assert done >= kill_after
    resumed = run(ranks, alg, out, "--checkpoint", ck, "--every", "1", "--resume")
    for rank in range(ranks):
        a, b = load(ref, rank), load(out, rank)
        assert a.keys() == b.keys()
        for k in a:
            assert a[k].tobytes() == b[k].tobytes(), \
                f"{alg}, {ranks} rank(s): {k} differs after resuming from iteration {done}"
    return resumed


@pytest.mark.parametrize("alg", ALGS)
def test_kill9_and_resume_single_process(tmp_path, alg):
    kill_resume_compare(tmp_path, alg, 1)


@pytest.mark.slow
@pytest.mark.parametrize("alg", ["kmeans", "minibatch", "lda"])
def test_kill9_and_resume_mpiexec_2(tmp_path, alg):
    kill_resume_compare(tmp_path, alg, 2)


def test_kill9_and_resume_mpiexec_2_mf(tmp_path):
    """Distributed MF (model rotation of item slices): kill -9 of the whole mpiexec job after
    three committed checkpoints, resume, bitwise equal to an uninterrupted run."""
    kill_resume_compare(tmp_path, "mf", 2)


@pytest.mark.parametrize("alg", ALGS)
def test_checkpointing_does_not_change_the_result(tmp_path, alg):
    from harpdaal import config_context
    from harpdaal.comm import LocalCommunicator

    data = DATA[alg](0, 1)
    with config_context(comm=LocalCommunicator()):
        plain = _fitjob.make_estimator(alg, 6, 1, {}).fit(data)
        ck = {"checkpoint_dir": tmp_path / "ck", "checkpoint_every": 2}
        saved = _fitjob.make_estimator(alg, 6, 1, ck).fit(data)
        # resuming a finished fit's last checkpoint gives the same model again
        again = _fitjob.make_estimator(alg, 6, 1, ck).fit(data, resume=True)
    a, b, c = (_fitjob.fitted_arrays(alg, e) for e in (plain, saved, again))
    for k in a:
        if a[k] is not None:
            assert a[k].tobytes() == b[k].tobytes() == c[k].tobytes(), (alg, k)
    assert (tmp_path / "ck" / "manifest.json").exists()


@pytest.mark.parametrize("alg", ALGS)
def test_resume_refuses_other_params_or_data(tmp_path, alg):
    from harpdaal import config_context
    from harpdaal._checkpoint import CheckpointError
    from harpdaal.comm import LocalCommunicator

    fn = DATA[alg]
    data = fn(0, 1)
    ck = {"checkpoint_dir": tmp_path / "ck", "checkpoint_every": 1}
    with config_context(comm=LocalCommunicator()):
        est = _fitjob.make_estimator(alg, 3, 1, ck)
        with pytest.raises(ValueError, match="holds no checkpoint"):
            est.fit(data, resume=True)
        est.fit(data)
        other = _fitjob.make_estimator(alg, 3, 1, ck)
        other.set_params(random_state=1)
        with pytest.raises(CheckpointError, match="random_state"):
            other.fit(data, resume=True)
        with pytest.raises(CheckpointError, match="input data differ"):
            _fitjob.make_estimator(alg, 3, 1, ck).fit(fn(0, 2), resume=True)
        with pytest.raises(ValueError, match="checkpoint_dir"):
            _fitjob.make_estimator(alg, 3, 1, {}).fit(data, resume=True)
        with pytest.raises(ValueError, match="checkpoint_every"):
            _fitjob.make_estimator(alg, 3, 1, {**ck, "checkpoint_every": 0}).fit(data)
