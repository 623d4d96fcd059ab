"""Model files: save a fitted estimator, load it back anywhere, never run code from a file.

A model file is an uncompressed ``.npz`` (a zip of ``.npy`` arrays; ``numpy.load`` reads it)
whose member ``header`` is a uint8 array holding the UTF-8 bytes of a JSON object::

    {"format": "harpdaal-model", "format_version": 1, "harpdaal_version": "0.1.0",
     "estimator": "KMeans", "params": {...}, "attributes": {...},
     "arrays": {"cluster_centers": {"dtype": "<f4", "shape": [8, 2]}, ...}}

``params`` are the estimator's constructor parameters (JSON values), ``attributes`` its small
fitted values (``n_iter_``, ``inertia_``, ...), ``arrays`` the declared dtype and shape of every
array member. Arrays are read with ``allow_pickle=False`` (an object array cannot be loaded),
and loading checks, before any array is read, that the header is well formed, that the format
version is one this harpdaal reads, that the file holds exactly the declared arrays with their
declared dtypes and shapes, and that each member's size on disk matches its declared shape (a
hostile header cannot make the loader allocate more than the file holds). The estimator then
checks what the arrays mean (finite factors, ids in range, consistent shapes). Every problem is
a :class:`ModelFileError` (a ValueError) naming the file and what is wrong.

Under MPI, :func:`save_model` is collective: rank 0 writes the file (the model is the same on
every rank after a fit) and every rank learns whether that worked. A file loads on any number of
ranks, or none.
"""
from __future__ import annotations

import io
import json
import math
import numbers
import os
import zipfile
import zlib

import numpy as np

from ._checkpoint import atomic_write
from ._version import __version__
from .comm import current_communicator

FORMAT = "harpdaal-model"
FORMAT_VERSION = 1
HEADER = "header.npy"
_MAX_HEADER_BYTES = 64 << 20
# dtypes a model file may hold: numbers only (no object, string or structured arrays)
_DTYPES = {np.dtype(t).str for t in (np.float32, np.float64, np.int8, np.int16, np.int32,
                                     np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
                                     np.bool_)}


class ModelFileError(ValueError):
    """A model file that cannot be loaded (not a model file, corrupt, another version, or
    holding values the model cannot have)."""


def _version() -> str:
    return __version__


def _jsonable(value, where):
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        v = float(value)
        if not math.isfinite(v):
            return {"__float__": repr(v)}
        return v
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return _jsonable(value.tolist(), where)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, where) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v, where) for k, v in value.items()}
    raise TypeError(f"{where}: {type(value).__name__} cannot be stored in a model file "
                    "(only numbers, strings, lists and dicts)")


def _decode(value):
    if isinstance(value, dict):
        if set(value) == {"__float__"} and value["__float__"] in ("nan", "inf", "-inf"):
            return float(value["__float__"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _write_npz(fh, header: dict, arrays: dict) -> None:
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        raw = np.frombuffer(json.dumps(header, allow_nan=False).encode("utf-8"), np.uint8)
        with zf.open(HEADER, "w") as member:
            np.lib.format.write_array(member, raw, allow_pickle=False)
        for name, a in arrays.items():
            with zf.open(name + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, a, allow_pickle=False)


def save_model(est, file, *, arrays: dict, attributes: dict, comm=None) -> None:
    """Write `est`'s model to `file` (a path, written atomically, or a binary file object).
    `arrays`: name -> numeric array; `attributes`: small JSON values. Collective under MPI
    (`comm` with size > 1): rank 0 writes, every rank raises if that failed."""
    name = type(est).__name__
    clean = {}
    for key, a in arrays.items():
        a = np.ascontiguousarray(a)
        if a.dtype.str not in _DTYPES:
            raise TypeError(f"{name}.save: array {key!r} has dtype {a.dtype}; model files hold "
                            "numeric arrays only")
        clean[key] = a
    header = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "harpdaal_version": _version(),
        "estimator": name, "params": _jsonable(est.get_params(deep=False), f"{name} params"),
        "attributes": _jsonable(attributes, f"{name} attributes"),
        "arrays": {k: {"dtype": a.dtype.str, "shape": list(a.shape)} for k, a in clean.items()},
    }
    if comm is not None and comm.size > 1:
        error = None
        if comm.rank == 0:
            try:
                _save(file, header, clean)
            except (OSError, TypeError, ValueError) as exc:
                error = f"{type(exc).__name__}: {exc}"
        error = comm.bcast_object(error, root=0)
        if error is not None:
            raise OSError(f"{name}.save on rank 0 failed: {error}")
        return
    _save(file, header, clean)


def _save(file, header, arrays):
    if isinstance(file, (str, os.PathLike)):
        atomic_write(os.fspath(file), lambda fh: _write_npz(fh, header, arrays))
    elif hasattr(file, "write"):
        _write_npz(file, header, arrays)
    else:
        raise TypeError(f"save: expected a path or a binary file object, got "
                        f"{type(file).__name__}")


def _where(file) -> str:
    if isinstance(file, (str, os.PathLike)):
        return os.fspath(file)
    return getattr(file, "name", None) or "<file object>"


def _check_header(header, where, estimator) -> dict:
    if not isinstance(header, dict):
        raise ModelFileError(f"{where}: the header is not a JSON object")
    if header.get("format") != FORMAT:
        raise ModelFileError(f"{where}: not a harpdaal model file (format "
                             f"{header.get('format')!r})")
    version = header.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFileError(f"{where}: model file format version {version!r} (written by "
                             f"harpdaal {header.get('harpdaal_version')!r}); this harpdaal "
                             f"{_version()} reads version {FORMAT_VERSION}")
    if header.get("estimator") != estimator:
        raise ModelFileError(f"{where}: a {header.get('estimator')!r} model, not {estimator}")
    for key, kind in (("params", dict), ("attributes", dict), ("arrays", dict),
                      ("harpdaal_version", str)):
        if not isinstance(header.get(key), kind):
            raise ModelFileError(f"{where}: header field {key!r} missing or not a "
                                 f"{kind.__name__}")
    for key, spec in header["arrays"].items():
        if not (isinstance(spec, dict) and isinstance(spec.get("dtype"), str)
                and isinstance(spec.get("shape"), list)
                and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0
                        for s in spec["shape"])):
            raise ModelFileError(f"{where}: header entry of array {key!r} is malformed")
        if spec["dtype"] not in _DTYPES:
            raise ModelFileError(f"{where}: array {key!r} declares dtype {spec['dtype']!r}; "
                                 "model files hold numeric arrays only")
    header["params"] = _decode(header["params"])
    header["attributes"] = _decode(header["attributes"])
    return header


def load_model(cls, file) -> tuple[dict, dict]:
    """(header, arrays) of a model file of estimator class `cls`, checked as the module
    docstring says. Raises ModelFileError (a ValueError) naming the problem."""
    where = _where(file)
    if isinstance(file, (str, os.PathLike)):
        try:
            with open(file, "rb") as fh:
                return _load(fh, where, cls.__name__)
        except FileNotFoundError:
            raise
        except IsADirectoryError as exc:
            raise ModelFileError(f"{where}: a folder, not a model file") from exc
    if not hasattr(file, "read"):
        raise TypeError(f"load: expected a path or a binary file object, got "
                        f"{type(file).__name__}")
    return _load(file, where, cls.__name__)


def _load(fh, where, estimator):
    try:
        zf = zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError,
            NotImplementedError, RuntimeError, OverflowError, MemoryError) as exc:
        raise ModelFileError(f"{where}: not a harpdaal model file (not a readable zip: "
                             f"{exc})") from exc
    try:
        with zf:
            return _read(zf, where, estimator)
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError, KeyError,
            NotImplementedError, RuntimeError, MemoryError, OverflowError,
            UnicodeDecodeError) as exc:
        raise ModelFileError(f"{where}: corrupt model file ({type(exc).__name__}: {exc})") \
            from exc


def _read(zf, where, estimator):
    names = zf.namelist()
    if len(set(names)) != len(names):
        raise ModelFileError(f"{where}: the zip holds a member twice")
    if HEADER not in names:
        raise ModelFileError(f"{where}: not a harpdaal model file (no header)")
    info = zf.getinfo(HEADER)
    if info.file_size > _MAX_HEADER_BYTES:
        raise ModelFileError(f"{where}: header of {info.file_size} bytes is implausibly large")
    with zf.open(info) as raw:
        data = np.lib.format.read_array(io.BytesIO(raw.read()), allow_pickle=False)
    if data.dtype != np.uint8 or data.ndim != 1:
        raise ModelFileError(f"{where}: the header is not a byte array")
    try:
        header = json.loads(data.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{where}: the header is not JSON ({exc})") from exc
    header = _check_header(header, where, estimator)
    declared = header["arrays"]
    members = {n[:-4] for n in names if n != HEADER and n.endswith(".npy")}
    others = [n for n in names if n != HEADER and not n.endswith(".npy")]
    if others or members != set(declared):
        missing, extra = sorted(set(declared) - members), sorted(members - set(declared))
        raise ModelFileError(f"{where}: arrays differ from the header (missing {missing}, "
                             f"undeclared {extra + others})")
    arrays = {}
    for key, spec in declared.items():
        dtype, shape = np.dtype(spec["dtype"]), tuple(spec["shape"])
        need = dtype.itemsize * math.prod(shape)
        member = zf.getinfo(key + ".npy")
        if member.compress_type != zipfile.ZIP_STORED:
            # stored members only: what is read is what the file physically holds (no zip bomb)
            raise ModelFileError(f"{where}: array {key!r} is compressed; model files store "
                                 "arrays uncompressed")
        if not need <= member.file_size <= need + 4096:
            raise ModelFileError(f"{where}: array {key!r} holds {member.file_size} bytes, its "
                                 f"declared shape {list(shape)} of {dtype} needs {need}")
        with zf.open(member) as raw:
            data = io.BytesIO(raw.read())
        a = np.lib.format.read_array(data, allow_pickle=False)
        if a.dtype != dtype or a.shape != shape:
            raise ModelFileError(f"{where}: array {key!r} is {a.dtype} {list(a.shape)}, the "
                                 f"header declares {dtype} {list(shape)}")
        arrays[key] = a
    return header, arrays


# ---- what the arrays mean: helpers for the estimators' own checks ------------------------------
def check(cond: bool, where: str, message: str) -> None:
    if not cond:
        raise ModelFileError(f"{where}: {message}")


def require(arrays: dict, name: str, where: str, *, kind: str = "f", ndim: int | None = None,
            shape: tuple | None = None, finite: bool = True, low=None, high=None) -> np.ndarray:
    """The array `name`, checked: present, of kind `kind` ('f' float, 'i' integer, 'u'
    unsigned, 'b' bool; 'iu' either integer kind), with `ndim` dimensions and the `shape`
    given (None entries match anything), finite if floating, all values in [low, high)."""
    if name not in arrays:
        raise ModelFileError(f"{where}: array {name!r} missing")
    a = arrays[name]
    if a.dtype.kind not in kind:
        raise ModelFileError(f"{where}: array {name!r} has dtype {a.dtype}")
    if ndim is not None and a.ndim != ndim:
        raise ModelFileError(f"{where}: array {name!r} has {a.ndim} dimension(s), expected {ndim}")
    if shape is not None:
        if a.ndim != len(shape) or any(s is not None and s != t for s, t in zip(shape, a.shape)):
            raise ModelFileError(f"{where}: array {name!r} has shape {list(a.shape)}, expected "
                                 f"{['any' if s is None else s for s in shape]}")
    if a.size:
        if finite and a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            raise ModelFileError(f"{where}: array {name!r} holds NaN or infinite values")
        if low is not None and a.min() < low:
            raise ModelFileError(f"{where}: array {name!r} holds {a.min()}, below {low}")
        if high is not None and a.max() >= high:
            raise ModelFileError(f"{where}: array {name!r} holds {a.max()}, out of range "
                                 f"(must be < {high})")
    return a


def attribute(header: dict, name: str, where: str, kind, *, low=None):
    """The fitted attribute `name` from the header, of Python type `kind` (int, float, str,
    list, dict), >= low when given."""
    attrs = header["attributes"]
    if name not in attrs:
        raise ModelFileError(f"{where}: attribute {name!r} missing")
    v = attrs[name]
    ok = isinstance(v, kind) and not (isinstance(v, bool) and kind in (int, float))
    if kind is float and isinstance(v, int) and not isinstance(v, bool):
        v, ok = float(v), True
    if not ok:
        raise ModelFileError(f"{where}: attribute {name!r} is {v!r}, expected a "
                             f"{kind.__name__}")
    if low is not None and v < low:
        raise ModelFileError(f"{where}: attribute {name!r} is {v!r}, expected >= {low}")
    return v


def estimator_from(cls, header: dict, where: str):
    """An unfitted `cls` with the file's parameters (unknown or invalid ones refused)."""
    params = header["params"]
    known = set(cls().get_params(deep=False))
    unknown = sorted(set(params) - known)
    if unknown:
        raise ModelFileError(f"{where}: unknown {cls.__name__} parameter(s) {unknown}")
    try:
        return cls(**params)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{where}: invalid parameters ({exc})") from exc


class PersistMixin:
    """``save(file)`` / ``load(file)`` for an estimator that defines ``_model_arrays()`` ->
    (arrays, attributes) and the classmethod ``_from_model(est, header, arrays, where)`` that
    checks them and sets the fitted attributes on `est` (an unfitted instance with the file's
    parameters)."""

    def save(self, file, *, comm=None):
        """Write the fitted model to `file` (a path, written atomically, or a binary file
        object): an .npz with a JSON header, no pickle. Under MPI (`comm`, default: the
        current communicator) rank 0 writes."""
        arrays, attributes = self._model_arrays()
        save_model(self, file, arrays=arrays, attributes=attributes,
                   comm=comm if comm is not None else current_communicator())

    @classmethod
    def load(cls, file):
        """A fitted estimator from a file written by :meth:`save` (a path or a binary file
        object). Raises ValueError naming the problem for anything that is not such a file."""
        where = _where(file)
        header, arrays = load_model(cls, file)
        est = estimator_from(cls, header, where)
        cls._from_model(est, header, arrays, where)
        return est
