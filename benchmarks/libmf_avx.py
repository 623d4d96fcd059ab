"""Benchmark peer "libmf-avx": LIBMF's own mf.cpp built WITH its AVX path, driven through ctypes.

The PyPI `libmf` 0.9.2 wheel bundles LIBMF's mf.cpp compiled without -DUSEAVX / -DUSESSE (its
setup.py passes only -std=c++11), i.e. the scalar fallback of every inner loop. The same package's
sdist carries the full mf.cpp / mf.h, so this script builds that source the way LIBMF's own
Makefile does for AVX (-DUSEAVX -DUSEOMP, plus -mavx2 -mfma so the compiler may fuse its
mul/add pairs) into a cached shared library under <repo>/build/libmf-avx/, and calls
mf_train / mf_train_with_validation on numpy arrays.

LIBMF is BSD-licensed; its notice (from the LIBMF distribution's COPYRIGHT file) is reproduced
here and written next to the built library:

    Copyright (c) 2014-2015 The LIBMF Project.
    All rights reserved.

    Redistribution and use in source and binary forms, with or without
    modification, are permitted provided that the following conditions
    are met:

    1. Redistributions of source code must retain the above copyright
    notice, this list of conditions and the following disclaimer.

    2. Redistributions in binary form must reproduce the above copyright
    notice, this list of conditions and the following disclaimer in the
    documentation and/or other materials provided with the distribution.

    3. Neither name of copyright holders nor the names of its contributors
    may be used to endorse or promote products derived from this software
    without specific prior written permission.

    THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS
    ``AS IS'' AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT
    LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR
    A PARTICULAR PURPOSE ARE DISCLAIMED.  IN NO EVENT SHALL THE REGENTS OR
    CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL,
    EXEMPLARY, OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO,
    PROCUREMENT OF SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR
    PROFITS; OR BUSINESS INTERRUPTION) HOWEVER CAUSED AND ON ANY THEORY OF
    LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING
    NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE OF THIS
    SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.

Source lookup (first that exists): $LIBMF_SRC (a folder holding mf.cpp and mf.h), the copy
already unpacked under build/libmf-avx/src, else `pip download libmf==0.9.2 --no-deps
--no-binary :all:` (served from the pip cache when warm) unpacked there. Compiler: $CXX or g++.

    python benchmarks/libmf_avx.py --check        # build, then fit ml-latest-small / synthetic
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile
import tempfile

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
BUILD = REPO / "build" / "libmf-avx"
VERSION = "0.9.2"
FLAGS = ["-O3", "-std=c++11", "-DUSEAVX", "-DUSEOMP", "-mavx2", "-mfma", "-fopenmp", "-shared",
         "-fPIC"]

_NOTICE = __doc__[__doc__.index("    Copyright"):__doc__.index("Source lookup")]


class BuildError(RuntimeError):
    """libmf-avx cannot be built here (reason in the message)."""


# --- ctypes mirror of mf.h ---------------------------------------------------------------------
class MFNode(ctypes.Structure):
    _fields_ = [("u", ctypes.c_int), ("v", ctypes.c_int), ("r", ctypes.c_float)]


class MFProblem(ctypes.Structure):
    _fields_ = [("m", ctypes.c_int), ("n", ctypes.c_int), ("nnz", ctypes.c_longlong),
                ("R", ctypes.POINTER(MFNode))]


class MFParameter(ctypes.Structure):
    _fields_ = [("fun", ctypes.c_int), ("k", ctypes.c_int), ("nr_threads", ctypes.c_int),
                ("nr_bins", ctypes.c_int), ("nr_iters", ctypes.c_int),
                ("lambda_p1", ctypes.c_float), ("lambda_p2", ctypes.c_float),
                ("lambda_q1", ctypes.c_float), ("lambda_q2", ctypes.c_float),
                ("eta", ctypes.c_float), ("do_nmf", ctypes.c_bool), ("quiet", ctypes.c_bool),
                ("copy_data", ctypes.c_bool)]


class MFModel(ctypes.Structure):
    _fields_ = [("fun", ctypes.c_int), ("m", ctypes.c_int), ("n", ctypes.c_int),
                ("k", ctypes.c_int), ("b", ctypes.c_float), ("P", ctypes.POINTER(ctypes.c_float)),
                ("Q", ctypes.POINTER(ctypes.c_float))]


_NODE_DTYPE = np.dtype([("u", np.int32), ("v", np.int32), ("r", np.float32)])
assert _NODE_DTYPE.itemsize == ctypes.sizeof(MFNode)


# --- build -------------------------------------------------------------------------------------
def _source_dir() -> pathlib.Path:
    env = os.environ.get("LIBMF_SRC")
    if env:
        d = pathlib.Path(env)
        if not (d / "mf.cpp").is_file() or not (d / "mf.h").is_file():
            raise BuildError(f"LIBMF_SRC={env} holds no mf.cpp / mf.h")
        return d
    src = BUILD / "src"
    if (src / "mf.cpp").is_file() and (src / "mf.h").is_file():
        return src
    with tempfile.TemporaryDirectory(dir=BUILD.parent if BUILD.parent.is_dir() else None) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", f"libmf=={VERSION}", "--no-deps",
               "--no-binary", ":all:", "-q", "-d", tmp]
        try:
            subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=600)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            detail = getattr(exc, "stderr", "") or str(exc)
            raise BuildError(f"cannot fetch the libmf {VERSION} sdist: {detail.strip()[-300:]}")
        tars = list(pathlib.Path(tmp).glob("libmf-*.tar.gz"))
        if not tars:
            raise BuildError(f"pip download left no libmf sdist in {tmp}")
        with tarfile.open(tars[0]) as tf:
            members = [m for m in tf.getmembers()
                       if m.isfile() and m.name.endswith(("src_cpp/mf.cpp", "src_cpp/mf.h"))]
            if len(members) != 2:
                raise BuildError("the libmf sdist has no src_cpp/mf.cpp and mf.h")
            src.mkdir(parents=True, exist_ok=True)
            for m in members:
                with tf.extractfile(m) as fin, open(src / pathlib.Path(m.name).name, "wb") as fo:
                    shutil.copyfileobj(fin, fo)
    return src


def cached_name(src: pathlib.Path, cxx: str) -> pathlib.Path:
    """The library built from src's mf.cpp / mf.h by cxx with FLAGS (named by their hash)."""
    h = hashlib.sha256()
    for f in ("mf.cpp", "mf.h"):
        h.update((src / f).read_bytes())
    h.update(" ".join([cxx] + FLAGS).encode())
    return BUILD / f"libmf_avx_{h.hexdigest()[:12]}.so"


def library_path(build: bool = True) -> pathlib.Path:
    """Build (once; cached by source and flag hash) and return the shared library's path.
    build=False: only an already built library (BuildError otherwise)."""
    not_built = BuildError("not built yet (python benchmarks/libmf_avx.py builds it)")
    if not build and not (os.environ.get("LIBMF_SRC") or (BUILD / "src" / "mf.cpp").is_file()):
        raise not_built  # no source at hand: nothing can have been built from it
    src = _source_dir()
    cxx = os.environ.get("CXX", "g++")
    so = cached_name(src, cxx)
    if so.is_file():
        return so
    if not build:
        raise not_built  # a library of other source or flags does not count
    if shutil.which(cxx) is None:
        raise BuildError(f"no C++ compiler ({cxx}) on PATH")
    BUILD.mkdir(parents=True, exist_ok=True)
    tmp = so.with_name(f"{so.stem}.{os.getpid()}.tmp.so")
    cmd = [cxx, *FLAGS, "-I", str(src), str(src / "mf.cpp"), "-o", str(tmp)]
    try:
        subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=900)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        tmp.unlink(missing_ok=True)
        raise BuildError(f"building libmf-avx failed: {(exc.stderr or str(exc)).strip()[-400:]}")
    os.replace(tmp, so)
    (BUILD / "COPYRIGHT-LIBMF").write_text(_NOTICE)
    return so


_LIB = None


def load(build: bool = True):
    """The ctypes library (built on first use unless build=False). Raises BuildError when that
    is impossible."""
    global _LIB
    if _LIB is None:
        so = library_path(build)
        if not so.is_file():
            raise BuildError("not built yet (python benchmarks/libmf_avx.py builds it)")
        try:
            lib = ctypes.CDLL(str(so))
        except OSError as exc:
            raise BuildError(f"cannot load libmf-avx: {exc}") from None
        lib.mf_train.restype = ctypes.POINTER(MFModel)
        lib.mf_train.argtypes = [ctypes.POINTER(MFProblem), MFParameter]
        lib.mf_train_with_validation.restype = ctypes.POINTER(MFModel)
        lib.mf_train_with_validation.argtypes = [ctypes.POINTER(MFProblem),
                                                 ctypes.POINTER(MFProblem), MFParameter]
        lib.mf_destroy_model.restype = None
        lib.mf_destroy_model.argtypes = [ctypes.POINTER(ctypes.POINTER(MFModel))]
        lib.mf_get_default_param.restype = MFParameter
        lib.mf_get_default_param.argtypes = []
        _LIB = lib
    return _LIB


# --- fitting -----------------------------------------------------------------------------------
def _problem(users, items, ratings, m, n):
    nodes = np.empty(len(ratings), _NODE_DTYPE)
    nodes["u"], nodes["v"], nodes["r"] = users, items, ratings
    prob = MFProblem(m, n, nodes.size, nodes.ctypes.data_as(ctypes.POINTER(MFNode)))
    return prob, nodes  # keep nodes alive while prob is used


class Model:
    """P (m x k), Q (n x k) copied out of LIBMF's model, and its fallback value b."""

    def __init__(self, P, Q, b):
        self.P, self.Q, self.b = P, Q, b

    def predict(self, users, items):
        """LIBMF's mf_predict on arrays, in float64: p_u . q_v, or b for ids outside the tables
        or rows that had no training rating (LIBMF leaves those NaN)."""
        users = np.asarray(users, np.int64)
        items = np.asarray(items, np.int64)
        ok = (users >= 0) & (users < self.P.shape[0]) & (items >= 0) & (items < self.Q.shape[0])
        out = np.full(users.size, float(self.b), np.float64)
        out[ok] = np.einsum("ij,ij->i", self.P[users[ok]].astype(np.float64),
                            self.Q[items[ok]].astype(np.float64))
        out[~np.isfinite(out)] = float(self.b)
        return out

    def rmse(self, users, items, ratings):
        d = self.predict(users, items) - np.asarray(ratings, np.float64)
        return float(np.sqrt(np.mean(d * d)))


def train(users, items, ratings, k=8, nr_threads=1, nr_bins=None, nr_iters=20, lambda_p2=0.1,
          lambda_q2=0.1, eta=0.1, quiet=True, validation=None, m=None, n=None):
    """mf_train (or mf_train_with_validation when `validation` = (users, items, ratings)) with
    fun=P_L2_MFR (squared loss, L2), no L1, do_nmf=false. Ids must be non-negative. nr_bins
    defaults to LIBMF's own default (26, raised to 2*nr_threads+1 by LIBMF when too small).
    Returns a Model."""
    lib = load()
    users = np.asarray(users)
    items = np.asarray(items)
    if users.size == 0 or users.min() < 0 or items.min() < 0:
        raise ValueError("users/items must be non-empty and non-negative")
    m = int(users.max()) + 1 if m is None else int(m)
    n = int(items.max()) + 1 if n is None else int(n)
    if validation is not None:
        m = max(m, int(np.max(validation[0])) + 1)
        n = max(n, int(np.max(validation[1])) + 1)
    param = lib.mf_get_default_param()
    param.fun = 0
    param.k, param.nr_threads, param.nr_iters = int(k), int(nr_threads), int(nr_iters)
    if nr_bins is not None:
        param.nr_bins = int(nr_bins)
    param.lambda_p1 = param.lambda_q1 = 0.0
    param.lambda_p2, param.lambda_q2, param.eta = float(lambda_p2), float(lambda_q2), float(eta)
    param.do_nmf, param.quiet, param.copy_data = False, bool(quiet), True
    tr, keep_tr = _problem(users, items, ratings, m, n)
    if validation is None:
        ptr = lib.mf_train(ctypes.byref(tr), param)
    else:
        va, keep_va = _problem(*validation, m, n)
        ptr = lib.mf_train_with_validation(ctypes.byref(tr), ctypes.byref(va), param)
    if not ptr:
        raise RuntimeError("LIBMF mf_train returned no model (bad parameters?)")
    try:
        mod = ptr.contents
        kk = mod.k
        P = np.ctypeslib.as_array(mod.P, shape=(mod.m * kk,)).reshape(mod.m, kk).copy()
        Q = np.ctypeslib.as_array(mod.Q, shape=(mod.n * kk,)).reshape(mod.n, kk).copy()
        b = float(mod.b)
    finally:
        lib.mf_destroy_model(ctypes.byref(ptr))
    del keep_tr
    return Model(P, Q, b)


def _check():
    """Build, then check LIBMF-typical test RMSE on ml-latest-small (k=40) and the libmf demo."""
    import time

    print("library:", library_path())
    data = pathlib.Path(os.environ.get("HARPDAAL_DATA", "data"))  # the real data sets
    demo = data / "libmf-demo"
    if demo.is_dir():
        tr = np.loadtxt(demo / "real_matrix.tr.txt")
        te = np.loadtxt(demo / "real_matrix.te.txt")
        mod = train(tr[:, 0].astype(int), tr[:, 1].astype(int), tr[:, 2], k=8, nr_iters=20,
                    lambda_p2=0.1, lambda_q2=0.1)
        print(f"libmf-demo real_matrix k=8: test RMSE {mod.rmse(te[:, 0].astype(int), te[:, 1].astype(int), te[:, 2]):.4f}")
    ml = data / "ml-latest-small" / "ratings.csv"
    if ml.is_file():
        d = np.loadtxt(ml, delimiter=",", skiprows=1, usecols=(0, 1, 2))
        u = np.unique(d[:, 0], return_inverse=True)[1]
        i = np.unique(d[:, 1], return_inverse=True)[1]
        r = d[:, 2]
        perm = np.random.default_rng(7).permutation(r.size)
        cut = int(0.9 * r.size)
        a, b = perm[:cut], perm[cut:]
        for lam in (0.05, 0.1):
            t0 = time.perf_counter()
            mod = train(u[a], i[a], r[a], k=40, nr_iters=20, lambda_p2=lam, lambda_q2=lam)
            dt = time.perf_counter() - t0
            print(f"ml-latest-small k=40 l2={lam}: test RMSE {mod.rmse(u[b], i[b], r[b]):.4f} "
                  f"({a.size * 20 / dt / 1e6:.1f}M updates/s incl. set-up)")


if __name__ == "__main__":
    if "--check" in sys.argv[1:]:
        _check()
    else:
        print(library_path())
