"""benchmarks/libmf_avx.py's library lookup without building (build=False, the harness's mode):
a library cached under the build folder is found whether its source came from the unpacked sdist
or from $LIBMF_SRC; a missing one, or one of other source or flags, is reported as not built
(the harness then lists the peer as absent) and nothing is compiled."""
from __future__ import annotations

import importlib.util
import pathlib

import pytest

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "benchmarks" / "libmf_avx.py"


@pytest.fixture()
def libmf(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("libmf_avx_under_test", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.setattr(mod, "BUILD", tmp_path / "build")
    monkeypatch.delenv("LIBMF_SRC", raising=False)
    monkeypatch.setenv("CXX", "g++")
    return mod


def _source(folder: pathlib.Path) -> pathlib.Path:
    folder.mkdir(parents=True)
    (folder / "mf.cpp").write_text("// mf.cpp\n")
    (folder / "mf.h").write_text("// mf.h\n")
    return folder


def test_not_built_is_reported(libmf):
    with pytest.raises(libmf.BuildError, match="not built yet"):
        libmf.library_path(build=False)


def test_library_built_from_libmf_src_is_found(libmf, tmp_path, monkeypatch):
    src = _source(tmp_path / "src_elsewhere")
    monkeypatch.setenv("LIBMF_SRC", str(src))
    with pytest.raises(libmf.BuildError, match="not built yet"):
        libmf.library_path(build=False)  # nothing built yet
    assert not libmf.BUILD.exists()
    libmf.BUILD.mkdir(parents=True)
    (libmf.BUILD / "libmf_avx_000000000000.so").write_bytes(b"")  # of other source or flags
    with pytest.raises(libmf.BuildError, match="not built yet"):
        libmf.library_path(build=False)  # never builds
    assert sorted(p.name for p in libmf.BUILD.iterdir()) == ["libmf_avx_000000000000.so"]
    expected = libmf.cached_name(src, "g++")
    expected.write_bytes(b"")
    assert libmf.library_path(build=False) == expected


def test_library_built_from_the_unpacked_sdist_is_found(libmf):
    src = _source(libmf.BUILD / "src")
    expected = libmf.cached_name(src, "g++")
    expected.write_bytes(b"")
    assert libmf.library_path(build=False) == expected
