"""Same seed, same threads, same ranks -> bitwise identical results, for KMeans,
MiniBatchKMeans, MatrixFactorization and LatentDirichletAllocation: in one process (twice in a row and in two
fresh processes, one and two threads) and under MPI (two fresh ``mpiexec -n 2`` jobs, and, marked
``mpi``, inside the CI's own MPI run)."""
from __future__ import annotations

import pathlib
import subprocess
import sys

import numpy as np
import pytest

from . import _fitjob, _jobs

FITJOB = pathlib.Path(__file__).with_name("_fitjob.py")
ALGS = ["kmeans", "minibatch", "mf", "lda"]


def fit_here(alg, threads=1, comm_size=1, rank=0):
    data = {"kmeans": _fitjob.kmeans_data, "minibatch": _fitjob.kmeans_data,
            "mf": _fitjob.mf_data, "lda": _fitjob.lda_data}[alg](rank, comm_size)
    iters = {"kmeans": 25, "minibatch": 3, "mf": 12, "lda": 15}[alg]
    est = _fitjob.make_estimator(alg, iters, threads, {}).fit(data)
    return {k: v for k, v in _fitjob.fitted_arrays(alg, est).items() if v is not None}


def assert_bitwise(a, b, what):
    assert a.keys() == b.keys(), what
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, (what, k)
        assert a[k].tobytes() == b[k].tobytes(), f"{what}: {k} differs"


def load(prefix, rank):
    with np.load(f"{prefix}.rank{rank}.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("alg", ALGS)
def test_same_seed_same_result_in_process(alg, threads):
    from harpdaal import config_context
    from harpdaal.comm import LocalCommunicator

    with config_context(comm=LocalCommunicator()):
        first = fit_here(alg, threads)
        second = fit_here(alg, threads)
    assert_bitwise(first, second, f"{alg} threads={threads}")


@pytest.mark.parametrize("alg", ALGS)
def test_same_seed_same_result_across_processes(tmp_path, alg):
    _jobs.skip_inside_mpi()
    outs = []
    for run in range(2):
        prefix = tmp_path / f"run{run}"
        proc = subprocess.run([sys.executable, str(FITJOB), alg, str(prefix), "--threads", "2"],
                              capture_output=True, text=True, timeout=_jobs.JOB_TIMEOUT,
                              env=_jobs.env())
        assert proc.returncode == 0, proc.stdout + proc.stderr
        outs.append(load(prefix, 0))
    assert_bitwise(outs[0], outs[1], alg)


@pytest.mark.parametrize("alg", ALGS)
def test_same_seed_same_result_under_mpiexec(tmp_path, alg):
    _jobs.skip_inside_mpi()
    pytest.importorskip("mpi4py", reason="mpi4py is not installed")
    outs = []
    for run in range(2):
        prefix = tmp_path / f"run{run}"
        try:
            proc = subprocess.run(_jobs.mpiexec_argv(2, FITJOB, alg, prefix),
                                  capture_output=True, text=True, timeout=_jobs.JOB_TIMEOUT,
                                  env=_jobs.env())
        except subprocess.TimeoutExpired:
            pytest.fail(f"{alg}: mpiexec -n 2 hung")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        outs.append([load(prefix, r) for r in range(2)])
    for r in range(2):
        assert_bitwise(outs[0][r], outs[1][r], f"{alg} rank {r}")


@pytest.mark.mpi
@pytest.mark.timeout(120)
@pytest.mark.parametrize("alg", ALGS)
def test_same_seed_same_result_in_mpi_job(alg):
    """Inside the CI's `mpiexec -n N python -m pytest -m mpi`: each rank fits its share twice;
    both fits agree bitwise, and the global model is the same on every rank."""
    from harpdaal.comm import current_communicator

    comm = current_communicator()
    if comm.size == 1:
        pytest.skip("needs several MPI ranks (mpiexec -n 2 python -m pytest -m mpi)")
    first = fit_here(alg, 1, comm.size, comm.rank)
    second = fit_here(alg, 1, comm.size, comm.rank)
    assert_bitwise(first, second, f"{alg} rank {comm.rank}")
    shared = {"kmeans": "centers", "minibatch": "centers", "mf": "item_factors",
              "lda": "word_topic"}[alg]
    digests = comm.allgather_object(first[shared].tobytes().hex())
    assert len(set(digests)) == 1, f"{alg}: ranks hold different {shared}"
