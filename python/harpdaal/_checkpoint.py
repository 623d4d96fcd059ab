"""Checkpoints for long fits: atomic files, no pickle, never a torn checkpoint.

Layout of a checkpoint directory (shared by all ranks of a job, or one per process)::

    manifest.json                      the committed checkpoint (written last, by rank 0)
    state.r00000-of-00002.i000000007.npz   rank 0's arrays at iteration 7
    state.r00001-of-00002.i000000007.npz   rank 1's arrays at iteration 7

Every file is written to a temporary name in the same folder, flushed, ``fsync``-ed and moved
into place with ``os.replace`` (atomic on POSIX), then the folder itself is ``fsync``-ed. Rank
files carry the iteration in their name, so writing iteration 8 never touches iteration 7's
files; the manifest that names iteration 8 is written by rank 0 only after every rank has
reported its file (an allgather of names, sizes and SHA-256 digests, which is also the
barrier), and only then are iteration 7's files removed. A crash at any point leaves either the
old checkpoint or the new one loadable, never a mixture.

Arrays go into ``.npz`` (read back with ``allow_pickle=False``); everything else (format
version, algorithm, parameters, iteration, RNG state as plain integers, small scalars) is JSON.
``load`` checks the format version, the algorithm, the parameters, the number of ranks, the
data fingerprint and each file's digest, and raises :class:`CheckpointError` (a ValueError)
naming what differs.
"""
from __future__ import annotations

import hashlib
import json
import math
import numbers
import os
import re
import tempfile
import time

import numpy as np

FORMAT = "harpdaal-checkpoint"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_STATE_RE = re.compile(r"^state\.r(\d{5})-of-(\d{5})\.i(\d{9})\.npz$")


class CheckpointError(ValueError):
    """A checkpoint that cannot be used (missing, corrupt, or from another run)."""


# ---- atomic files ---------------------------------------------------------------------------
def _fsync_dir(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # some filesystems do not allow opening a folder
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path, write) -> None:
    """Create or replace `path` atomically: ``write(fileobj)`` fills a temporary file in the
    same folder, which is flushed, fsync-ed and renamed over `path`. On any error the
    temporary file is removed and `path` is untouched."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp",
                               dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)


def atomic_write_bytes(path, data: bytes) -> None:
    atomic_write(path, lambda f: f.write(data))


def atomic_write_json(path, obj) -> None:
    atomic_write_bytes(path, json.dumps(obj, indent=1, sort_keys=True, allow_nan=False).encode())


def atomic_write_npz(path, arrays: dict) -> None:
    for name, a in arrays.items():
        if not isinstance(a, np.ndarray) or a.dtype.hasobject:
            what = f"dtype {a.dtype}" if isinstance(a, np.ndarray) else type(a).__name__
            raise TypeError(f"checkpoint array {name!r}: expected a numeric numpy array (no "
                            f"pickled objects), got {what}")
    atomic_write(path, lambda f: np.savez(f, **arrays))


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ---- plain-JSON values ------------------------------------------------------------------------
def jsonable(value, what="value"):
    """`value` as plain JSON types (ints, floats, strings, bools, None, lists, dicts with string
    keys); numpy scalars become Python ones. Anything else raises TypeError naming `what`."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        f = float(value)
        if not math.isfinite(f):
            return {"__float__": repr(f)}
        return f
    if isinstance(value, (list, tuple)):
        return [jsonable(v, what) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v, f"{what}[{k!r}]") for k, v in value.items()}
    if isinstance(value, np.ndarray) and value.dtype.kind in "biu" and value.ndim <= 1:
        return [int(v) for v in value]
    raise TypeError(f"{what}: {type(value).__name__} cannot be stored in a checkpoint manifest")


def data_fingerprint(*arrays) -> str:
    """A digest of arrays' dtypes, shapes and bytes: a checkpoint made on other data is refused."""
    h = hashlib.blake2b(digest_size=16)
    for a in arrays:
        if a is None:
            h.update(b"none;")
            continue
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape};".encode())
        h.update(memoryview(a).cast("B"))
    return h.hexdigest()


def rng_state(rng) -> dict:
    """The state of a numpy Generator or RandomState as plain ints (JSON-safe)."""
    if isinstance(rng, np.random.Generator):
        return {"kind": "Generator", "state": jsonable(rng.bit_generator.state)}
    if isinstance(rng, np.random.RandomState):
        name, key, pos, has_gauss, cached = rng.get_state()
        return {"kind": "RandomState", "name": name, "key": [int(k) for k in key],
                "pos": int(pos), "has_gauss": int(has_gauss), "cached_gaussian": float(cached)}
    raise TypeError(f"rng: expected a numpy Generator or RandomState, got {type(rng).__name__}")


def restore_rng(rng, state: dict) -> None:
    """Set `rng` (the same kind as saved) to a state from :func:`rng_state`."""
    kind = state.get("kind") if isinstance(state, dict) else None
    if kind == "Generator" and isinstance(rng, np.random.Generator):
        saved = state["state"]
        if saved.get("bit_generator") != type(rng.bit_generator).__name__:
            raise CheckpointError(f"rng: checkpoint holds a {saved.get('bit_generator')} state, "
                                  f"the generator is {type(rng.bit_generator).__name__}")
        rng.bit_generator.state = saved
    elif kind == "RandomState" and isinstance(rng, np.random.RandomState):
        rng.set_state((state["name"], np.asarray(state["key"], dtype=np.uint32), state["pos"],
                       state["has_gauss"], state["cached_gaussian"]))
    else:
        raise CheckpointError(f"rng: checkpoint holds a {kind} state, got {type(rng).__name__}")


# ---- the checkpointer -------------------------------------------------------------------------
class _Local:
    rank, size = 0, 1

    def barrier(self):
        pass

    def bcast_object(self, obj, root=0):
        return obj

    def allgather_object(self, obj):
        return [obj]


class Checkpoint:
    """A loaded checkpoint: ``iteration``, ``arrays`` (this rank's), ``rng`` (saved RNG states,
    a dict), ``extra`` (small JSON values)."""

    def __init__(self, iteration, arrays, rng, extra, manifest):
        self.iteration = iteration
        self.arrays = arrays
        self.rng = rng
        self.extra = extra
        self.manifest = manifest

    def __repr__(self):
        return (f"Checkpoint(iteration={self.iteration}, arrays={sorted(self.arrays)}, "
                f"algorithm={self.manifest['algorithm']!r})")


def check_every(value, name="checkpoint_every"):
    """Validate checkpoint_every: an int >= 1 (iterations), or a string like '30s' / '2.5s'
    (seconds). Returns ('iterations', n) or ('seconds', s)."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int (iterations) or a string like '30s', got bool")
    if isinstance(value, numbers.Integral):
        if value < 1:
            raise ValueError(f"{name} must be >= 1 iteration, got {value}")
        return ("iterations", int(value))
    if isinstance(value, str):
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*s\s*", value)
        if m is None or not float(m.group(1)) > 0:
            raise ValueError(f"{name}: expected a positive number of seconds like '30s', "
                             f"got {value!r}")
        return ("seconds", float(m.group(1)))
    raise TypeError(f"{name} must be an int (iterations) or a string like '30s', "
                    f"got {type(value).__name__}")


class Checkpointer:
    """Periodic checkpoints of one fit into `directory`.

    ``algorithm`` names the estimator, ``params`` are the parameters that must match on resume
    (JSON values), ``fingerprint`` identifies the input data (see :func:`data_fingerprint`,
    per rank), ``every`` is an int (iterations) or 'Ns' (seconds), ``comm`` a harpdaal
    communicator (None: one process). Every method is collective under MPI: all ranks call it
    with the same iteration.
    """

    def __init__(self, directory, algorithm: str, params: dict, *, every=1, fingerprint="",
                 comm=None, keep: int = 1):
        if not isinstance(directory, (str, os.PathLike)):
            raise TypeError(f"checkpoint_dir must be a path, got {type(directory).__name__}")
        self.directory = os.path.abspath(os.fspath(directory))
        self.algorithm = str(algorithm)
        self.params = jsonable(params, "params")
        self.every_kind, self.every = check_every(every)
        self.fingerprint = str(fingerprint)
        self.comm = comm if comm is not None else _Local()
        self.keep = int(keep)
        self._last_time = time.monotonic()
        if self.comm.rank == 0:
            os.makedirs(self.directory, exist_ok=True)
        self.comm.barrier()
        if not os.path.isdir(self.directory):
            raise CheckpointError(f"checkpoint_dir {self.directory!r}: not a folder on rank "
                                  f"{self.comm.rank} (ranks must share the folder)")

    # -- when ------------------------------------------------------------------------------
    def due(self, iteration: int) -> bool:
        """Whether to save after `iteration` (1-based count of finished iterations). In seconds
        mode rank 0's clock decides for everyone (one small broadcast)."""
        if self.every_kind == "iterations":
            return iteration % self.every == 0
        now = time.monotonic()
        flag = now - self._last_time >= self.every
        if self.comm.size > 1:
            flag = bool(self.comm.bcast_object(flag, root=0))
        return flag

    # -- save ------------------------------------------------------------------------------
    def _state_name(self, rank, iteration):
        return f"state.r{rank:05d}-of-{self.comm.size:05d}.i{iteration:09d}.npz"

    def save(self, iteration: int, arrays: dict, *, rng=None, extra=None) -> str:
        """Write this rank's `arrays` and commit iteration `iteration` (collective). `rng`: a
        dict name -> numpy Generator/RandomState (saved as plain ints); `extra`: small JSON
        values (identical on every rank; rank 0's are stored). Returns the manifest path."""
        comm = self.comm
        iteration = int(iteration)
        name = self._state_name(comm.rank, iteration)
        path = os.path.join(self.directory, name)
        error = None
        try:
            atomic_write_npz(path, {k: np.asarray(v) for k, v in arrays.items()})
            entry = {"rank": comm.rank, "file": name, "bytes": os.path.getsize(path),
                     "sha256": _sha256(path), "fingerprint": self.fingerprint}
        except (OSError, TypeError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"
            entry = None
        entries = comm.allgather_object((entry, error))  # also the barrier: every file is down
        errors = [(r, e) for r, (_, e) in enumerate(entries) if e is not None]
        if errors:
            raise CheckpointError(f"checkpoint at iteration {iteration} failed on rank "
                                  f"{errors[0][0]}: {errors[0][1]}")
        manifest = {
            "format": FORMAT, "version": FORMAT_VERSION, "algorithm": self.algorithm,
            "params": self.params, "iteration": iteration, "n_ranks": comm.size,
            "ranks": [e for e, _ in entries],
            "rng": {k: rng_state(v) for k, v in (rng or {}).items()},
            "extra": jsonable(extra or {}, "extra"), "time": time.time(),
        }
        mpath = os.path.join(self.directory, MANIFEST)
        error = None
        if comm.rank == 0:
            try:
                atomic_write_json(mpath, manifest)
            except (OSError, TypeError, ValueError) as exc:
                error = f"{type(exc).__name__}: {exc}"
        error = comm.bcast_object(error, root=0)
        if error is not None:
            raise CheckpointError(f"checkpoint manifest at iteration {iteration}: {error}")
        self._remove_old(iteration)
        self._last_time = time.monotonic()
        return mpath

    def _remove_old(self, committed: int) -> None:
        """Each rank removes its own state files older than the committed one, and the
        temporaries a killed write of its own files left behind."""
        rank = self.comm.rank
        try:
            names = os.listdir(self.directory)
        except OSError:
            return
        old = sorted({int(m.group(3)) for m in map(_STATE_RE.match, names)
                      if m and int(m.group(1)) == rank and int(m.group(3)) < committed})
        drop = set(old[: max(0, len(old) - (self.keep - 1))])
        mine = f"state.r{rank:05d}-"
        for n in names:
            m = _STATE_RE.match(n)
            stale_tmp = n.endswith(".tmp") and (n.startswith("." + mine) or (
                rank == 0 and n.startswith("." + MANIFEST + ".")))
            if stale_tmp or (m and int(m.group(1)) == rank and int(m.group(3)) in drop):
                try:
                    os.unlink(os.path.join(self.directory, n))
                except OSError:
                    pass

    # -- load ------------------------------------------------------------------------------
    def exists(self) -> bool:
        return os.path.exists(os.path.join(self.directory, MANIFEST))

    def load(self, *, rng=None, required=True):
        """The committed checkpoint (collective), validated against this run: format version,
        algorithm, params, rank count, this rank's data fingerprint and file digest. `rng`:
        dict name -> generator to restore in place. Returns a :class:`Checkpoint`, or None when
        there is none and `required` is False."""
        comm = self.comm
        mpath = os.path.join(self.directory, MANIFEST)
        manifest, error = None, None
        if comm.rank == 0:
            try:
                manifest = read_manifest(mpath)
            except FileNotFoundError:
                error = "missing"
            except CheckpointError as exc:
                error = str(exc)
        manifest, error = comm.bcast_object((manifest, error), root=0)
        if error == "missing":
            if required:
                raise CheckpointError(f"resume=True but {self.directory!r} holds no checkpoint "
                                      f"({MANIFEST} not found)")
            return None
        if error is not None:
            raise CheckpointError(error)
        result, error = None, None
        try:
            result = self._validate_and_read(manifest, rng)
        except CheckpointError as exc:
            error = str(exc)
        errors = [(r, e) for r, e in enumerate(comm.allgather_object(error)) if e is not None]
        if errors:
            rank, msg = errors[0]
            raise CheckpointError(msg if rank == comm.rank or comm.size == 1
                                  else f"rank {rank}: {msg}")
        return result

    def _validate_and_read(self, manifest, rng):
        where = os.path.join(self.directory, MANIFEST)
        if manifest["algorithm"] != self.algorithm:
            raise CheckpointError(f"{where}: checkpoint of {manifest['algorithm']}, "
                                  f"this is {self.algorithm}")
        if manifest["n_ranks"] != self.comm.size:
            raise CheckpointError(f"{where}: written by {manifest['n_ranks']} rank(s), this "
                                  f"job has {self.comm.size}; resume with the same number")
        if manifest["params"] != self.params:
            diff = sorted(k for k in set(manifest["params"]) | set(self.params)
                          if manifest["params"].get(k) != self.params.get(k))
            detail = ", ".join(f"{k}: checkpoint {manifest['params'].get(k)!r}, now "
                               f"{self.params.get(k)!r}" for k in diff)
            raise CheckpointError(f"{where}: parameters differ from the checkpoint's ({detail})")
        entry = manifest["ranks"][self.comm.rank]
        if entry.get("fingerprint") != self.fingerprint:
            raise CheckpointError(f"{where}: the input data differ from the data the checkpoint "
                                  f"was made with (fingerprint mismatch)")
        path = os.path.join(self.directory, entry["file"])
        if not os.path.exists(path):
            raise CheckpointError(f"{path}: missing (named by {MANIFEST})")
        if os.path.getsize(path) != entry["bytes"] or _sha256(path) != entry["sha256"]:
            raise CheckpointError(f"{path}: corrupt (size or SHA-256 differs from {MANIFEST})")
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except (OSError, ValueError) as exc:
            raise CheckpointError(f"{path}: unreadable: {exc}") from exc
        for name, gen in (rng or {}).items():
            if name not in manifest["rng"]:
                raise CheckpointError(f"{where}: no RNG state {name!r} in the checkpoint")
            restore_rng(gen, manifest["rng"][name])
        return Checkpoint(int(manifest["iteration"]), arrays, manifest["rng"],
                          _decode_floats(manifest["extra"]), manifest)


def _decode_floats(value):
    if isinstance(value, dict):
        if set(value) == {"__float__"}:
            return float(value["__float__"])
        return {k: _decode_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode_floats(v) for v in value]
    return value


def read_manifest(path) -> dict:
    """The manifest at `path`, with its format and version checked."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        raw = f.read()
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: not a checkpoint manifest ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a harpdaal checkpoint manifest")
    if manifest.get("version") != FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {manifest.get('version')!r}, "
                              f"this harpdaal reads version {FORMAT_VERSION}")
    for key, kind in (("algorithm", str), ("params", dict), ("iteration", int),
                      ("n_ranks", int), ("ranks", list), ("rng", dict), ("extra", dict)):
        if not isinstance(manifest.get(key), kind):
            raise CheckpointError(f"{path}: manifest field {key!r} missing or not a "
                                  f"{kind.__name__}")
    if len(manifest["ranks"]) != manifest["n_ranks"]:
        raise CheckpointError(f"{path}: manifest lists {len(manifest['ranks'])} rank files for "
                              f"{manifest['n_ranks']} ranks")
    return manifest


# ---- estimator glue ----------------------------------------------------------------------------
# Parameters that may differ between a checkpointed fit and its resumption: where and how often
# to write, how chatty, and how long to run (a resumed fit may be extended).
NOT_COMPARED = ("checkpoint_dir", "checkpoint_every", "verbose", "max_iter", "n_epochs")


def for_estimator(est, algorithm: str, *, resume: bool, data=(), comm=None):
    """(Checkpointer, Checkpoint) for `est`'s fit from its ``checkpoint_dir`` and
    ``checkpoint_every`` parameters: (None, None) when checkpoint_dir is None; the Checkpoint is
    the validated state to continue from when `resume` is true. `data`: the arrays this rank
    fits (their fingerprint must match on resume). Collective under MPI."""
    if not isinstance(resume, (bool, np.bool_)):
        raise TypeError(f"resume must be a bool, got {type(resume).__name__}")
    directory = getattr(est, "checkpoint_dir", None)
    every = getattr(est, "checkpoint_every", 1)
    check_every(every)
    if directory is None:
        if resume:
            raise ValueError("resume=True needs checkpoint_dir: the folder an earlier fit wrote "
                             "its checkpoints to")
        return None, None
    rs = est.get_params().get("random_state")
    if isinstance(rs, bool) or not isinstance(rs, numbers.Integral):
        raise ValueError(f"checkpoint_dir needs random_state to be an int (got {rs!r}), so that "
                         "a resumed fit continues the same random stream")
    params = {k: v for k, v in est.get_params().items() if k not in NOT_COMPARED}
    ck = Checkpointer(directory, algorithm, params, every=every,
                      fingerprint=data_fingerprint(*data), comm=comm)
    return ck, (ck.load() if resume else None)
