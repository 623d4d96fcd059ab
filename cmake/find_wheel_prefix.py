"""Print the directories of the PyPI wheels the build links against (mkl-static, tbb-devel).

The wheels put their files under the environment prefix (lib/, include/), which in an isolated
build is pip's temporary build environment, not sys.prefix: ask importlib.metadata instead.
Output: one CMake list, MKL_LIB_DIR;MKL_INCLUDE_DIR;TBB_CMAKE_DIR.
"""
import importlib.metadata as md
import pathlib
import sys


def locate(dist, suffix):
    try:
        files = md.files(dist) or []
    except md.PackageNotFoundError:
        return ""
    for f in files:
        if str(f).replace("\\", "/").endswith(suffix):
            return str(pathlib.Path(md.distribution(dist).locate_file(f)).resolve().parent)
    return ""


mkl_lib = locate("mkl-static", "libmkl_core.a")
mkl_inc = locate("mkl-include", "include/mkl.h") or locate("mkl-devel", "include/mkl.h")
tbb_cmake = locate("tbb-devel", "TBBConfig.cmake")
sys.stdout.write(";".join([mkl_lib, mkl_inc, tbb_cmake]))
