"""Reader for the idx format of MNIST and fashion-mnist (``*-idx3-ubyte[.gz]``).

An idx file is: two zero bytes, a type code, the number of dimensions n, then n big-endian
uint32 sizes and the values (big-endian) in C order. gzip-compressed files are recognised by
their content, not their name.
"""
from __future__ import annotations

import gzip
import os
import zlib

import numpy as np

# idx type code -> element dtype as stored (big-endian)
_DTYPES = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
           0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path) -> bytes:
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as exc:  # truncated or corrupt gzip stream
        raise ValueError(f"{path}: not a readable gzip file ({exc})") from None


def load_idx(path) -> np.ndarray:
    """The array stored in idx file ``path`` (plain or gzip), with the file's dimensions and a
    native-endian dtype (uint8 for MNIST images: shape (n, rows, cols)).

    Raises ValueError naming the problem for a file that is not idx (magic bytes, type code,
    no dimensions), a header cut short, or values that do not fill the dimensions exactly
    (a truncated file, or bytes left over)."""
    path = os.fspath(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise ValueError(f"{path}: not an idx file: {len(raw)} bytes, shorter than the 4-byte "
                         "magic number")
    if raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an idx file: magic number starts with "
                         f"0x{raw[0]:02x}{raw[1]:02x}, expected 0x0000")
    code, ndim = raw[2], raw[3]
    if code not in _DTYPES:
        raise ValueError(f"{path}: idx type code 0x{code:02x} is not one of "
                         + ", ".join(f"0x{c:02x}" for c in _DTYPES))
    if ndim < 1:
        raise ValueError(f"{path}: idx header has 0 dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated idx header: {ndim} dimensions need {header} bytes, "
                         f"the file has {len(raw)}")
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = _DTYPES[code]
    expected = dtype.itemsize
    for n in dims:
        expected *= n
    got = len(raw) - header
    if got < expected:
        raise ValueError(f"{path}: truncated idx file: dimensions {dims} of {dtype.name} need "
                         f"{expected} bytes of values, the file has {got}")
    if got > expected:
        raise ValueError(f"{path}: idx file has {got - expected} bytes after the {expected} "
                         f"bytes of values its dimensions {dims} describe")
    values = np.frombuffer(raw, dtype=dtype, count=expected // dtype.itemsize, offset=header)
    return values.astype(dtype.newbyteorder("=")).reshape(dims)
