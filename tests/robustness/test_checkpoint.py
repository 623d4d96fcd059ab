"""harpdaal._checkpoint: atomic files, manifest validation, torn writes, MPI commit protocol."""
from __future__ import annotations

import json
import os
import signal

import numpy as np
import pytest

from harpdaal import _checkpoint as C

from . import _jobs


def make(tmp_path, **kw):
    args = dict(algorithm="Test", params={"k": 3, "tol": 1e-4, "name": "x"}, fingerprint="fp")
    args.update(kw)
    return C.Checkpointer(tmp_path / "ck", args.pop("algorithm"), args.pop("params"), **args)


def test_roundtrip_arrays_rng_extra(tmp_path):
    ck = make(tmp_path)
    rng = np.random.default_rng(7)
    rng.standard_normal(5)
    rs = np.random.RandomState(3)
    rs.standard_normal()  # leaves a cached gaussian in the state
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    b = np.array([1, -2, 3], dtype=np.int64)
    ck.save(4, {"a": a, "b": b}, rng={"g": rng, "rs": rs},
            extra={"inertia": 1.5, "best": float("inf"), "hist": [[1, 0.5]]})
    expect_g = rng.standard_normal(3)
    expect_rs = rs.standard_normal(3)

    rng2, rs2 = np.random.default_rng(0), np.random.RandomState(0)
    got = make(tmp_path).load(rng={"g": rng2, "rs": rs2})
    assert got.iteration == 4
    np.testing.assert_array_equal(got.arrays["a"], a)
    assert got.arrays["a"].dtype == np.float32 and got.arrays["b"].dtype == np.int64
    np.testing.assert_array_equal(got.arrays["b"], b)
    assert got.extra == {"inertia": 1.5, "best": float("inf"), "hist": [[1, 0.5]]}
    np.testing.assert_array_equal(rng2.standard_normal(3), expect_g)
    np.testing.assert_array_equal(rs2.standard_normal(3), expect_rs)
    # the manifest is plain JSON with the RNG state as integers
    manifest = json.loads((tmp_path / "ck" / C.MANIFEST).read_text())
    assert manifest["version"] == C.FORMAT_VERSION and manifest["algorithm"] == "Test"
    assert isinstance(manifest["rng"]["g"]["state"]["state"]["state"], int)
    assert all(isinstance(k, int) for k in manifest["rng"]["rs"]["key"])


def test_only_latest_state_files_kept(tmp_path):
    ck = make(tmp_path)
    for it in (1, 2, 3):
        ck.save(it, {"x": np.full(3, it)})
    files = sorted(p.name for p in (tmp_path / "ck").iterdir())
    assert files == [C.MANIFEST, "state.r00000-of-00001.i000000003.npz"], files
    assert make(tmp_path).load().arrays["x"].tolist() == [3, 3, 3]


def test_missing_checkpoint(tmp_path):
    ck = make(tmp_path)
    assert not ck.exists()
    assert ck.load(required=False) is None
    with pytest.raises(C.CheckpointError, match="holds no checkpoint"):
        ck.load()


@pytest.mark.parametrize("change, match", [
    (dict(params={"k": 4, "tol": 1e-4, "name": "x"}), r"parameters differ.*k: checkpoint 3, now 4"),
    (dict(algorithm="Other"), "checkpoint of Test, this is Other"),
    (dict(fingerprint="other"), "input data differ"),
])
def test_load_refuses_other_runs(tmp_path, change, match):
    make(tmp_path).save(1, {"x": np.zeros(2)})
    with pytest.raises(C.CheckpointError, match=match):
        make(tmp_path, **change).load()


def test_load_refuses_other_version_and_rank_count(tmp_path):
    make(tmp_path).save(1, {"x": np.zeros(2)})
    mpath = tmp_path / "ck" / C.MANIFEST
    m = json.loads(mpath.read_text())
    m["n_ranks"], m["ranks"] = 2, m["ranks"] * 2
    mpath.write_text(json.dumps(m))
    with pytest.raises(C.CheckpointError, match=r"written by 2 rank\(s\), this job has 1"):
        make(tmp_path).load()
    m["version"] = 99
    mpath.write_text(json.dumps(m))
    with pytest.raises(C.CheckpointError, match="format version 99"):
        make(tmp_path).load()
    mpath.write_text("{not json")
    with pytest.raises(C.CheckpointError, match="not a checkpoint manifest"):
        make(tmp_path).load()


def test_corrupt_state_file_detected(tmp_path):
    make(tmp_path).save(2, {"x": np.arange(100.0)})
    state = next((tmp_path / "ck").glob("state.*.npz"))
    raw = bytearray(state.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    state.write_bytes(bytes(raw))
    _jobs.count_fault("corrupt_file")
    with pytest.raises(C.CheckpointError, match="corrupt"):
        make(tmp_path).load()
    state.unlink()
    with pytest.raises(C.CheckpointError, match="missing"):
        make(tmp_path).load()


def test_no_pickle_in_state_files(tmp_path):
    with pytest.raises(C.CheckpointError, match="numeric numpy array.*got dtype object"):
        make(tmp_path).save(1, {"x": np.array([object()], dtype=object)})
    assert not make(tmp_path).exists()


@pytest.mark.parametrize("bad, exc", [(0, ValueError), (-1, ValueError), ("x", ValueError),
                                      ("0s", ValueError), (True, TypeError), (1.5, TypeError)])
def test_check_every_rejects(bad, exc):
    with pytest.raises(exc, match="checkpoint_every"):
        C.check_every(bad)


def test_check_every_and_due():
    assert C.check_every(3) == ("iterations", 3)
    assert C.check_every("2.5s") == ("seconds", 2.5)


def test_due_in_seconds(tmp_path):
    ck = make(tmp_path, every="0.05s")
    assert not ck.due(1)
    import time

    time.sleep(0.06)
    assert ck.due(2)
    ck.save(2, {"x": np.zeros(1)})
    assert not ck.due(3)  # the clock restarts at each save


def test_failed_write_leaves_old_file(tmp_path, monkeypatch):
    path = tmp_path / "f.json"
    C.atomic_write_json(path, {"v": 1})

    def boom(f):
        f.write(b"partial")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        C.atomic_write(path, boom)
    assert json.loads(path.read_text()) == {"v": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.json"]  # no temp left


KILL_BEFORE_RENAME = """
    import os, signal, sys
    import numpy as np
    from harpdaal import _checkpoint as C
    ck = C.Checkpointer(sys.argv[1], "Test", {"k": 1}, fingerprint="fp")
    ck.save(1, {"x": np.full(1000, 1.0)})
    target = sys.argv[2]           # which file's rename is interrupted: 'state' or 'manifest'
    real = os.replace
    def replace(src, dst):
        if os.path.basename(dst).startswith(target):
            os.kill(os.getpid(), signal.SIGKILL)   # kill -9 between temp write and rename
        return real(src, dst)
    os.replace = replace
    ck.save(2, {"x": np.full(1000, 2.0)})
    print("not reached")
"""


@pytest.mark.parametrize("target", ["state", "manifest"])
def test_kill9_between_temp_write_and_rename(tmp_path, target):
    proc = _jobs.run_python(tmp_path, KILL_BEFORE_RENAME, tmp_path / "ck", target)
    _jobs.count_fault("torn_write")
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr
    assert "not reached" not in proc.stdout
    leftovers = [p.name for p in (tmp_path / "ck").iterdir() if p.name.endswith(".tmp")]
    assert leftovers, "the kill should have left the temporary file behind"
    ck = make(tmp_path, params={"k": 1})
    got = ck.load()
    assert got.iteration == 1
    np.testing.assert_array_equal(got.arrays["x"], np.full(1000, 1.0))
    # the next save cleans the stale temporaries up
    ck.save(3, {"x": np.zeros(2)})
    assert not [p for p in (tmp_path / "ck").iterdir() if p.name.endswith(".tmp")]
    assert make(tmp_path, params={"k": 1}).load().iteration == 3


MPI_CHECKPOINT = """
    import os, signal, sys
    import numpy as np
    from harpdaal.comm import MPICommunicator
    from harpdaal import _checkpoint as C
    comm = MPICommunicator()
    d, mode = sys.argv[1], sys.argv[2]
    ck = C.Checkpointer(d, "Test", {"k": 1}, fingerprint=f"fp{comm.rank}", comm=comm)
    if mode == "save":
        ck.save(1, {"x": np.full(4, 10.0 * comm.rank + 1)})
        # rank 1 dies after writing its iteration-2 file, before the manifest is committed
        if comm.rank == 1:
            def ag(obj):
                os.kill(os.getpid(), signal.SIGKILL)
            comm.allgather_object = ag
        ck.save(2, {"x": np.full(4, 10.0 * comm.rank + 2)})
    else:
        got = ck.load()
        print(f"rank {comm.rank} iteration {got.iteration} x {got.arrays['x'][0]:.0f}", flush=True)
        wrong = C.Checkpointer(d, "Test", {"k": 1}, fingerprint="other" if comm.rank == 1
                               else "fp0", comm=comm)
        try:
            wrong.load()
        except C.CheckpointError as e:
            print(f"rank {comm.rank} refused: {e}", flush=True)
"""


def test_mpi_torn_checkpoint_never_loaded(tmp_path):
    d = tmp_path / "ck"
    proc, _ = _jobs.run_mpi(tmp_path, MPI_CHECKPOINT, 2, d, "save")
    _jobs.count_fault("kill")
    assert proc.returncode != 0, proc.stdout + proc.stderr
    names = sorted(p.name for p in d.iterdir())
    assert "state.r00000-of-00002.i000000002.npz" in names, names  # rank 0 got further
    proc, _ = _jobs.run_mpi(tmp_path, MPI_CHECKPOINT, 2, d, "load", name="load.py")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "rank 0 iteration 1 x 1" in out and "rank 1 iteration 1 x 11" in out, out
    # a mismatch on one rank raises on every rank, naming the rank
    assert "rank 1 refused: " in out and "rank 0 refused: rank 1: " in out, out
    assert "input data differ" in out
