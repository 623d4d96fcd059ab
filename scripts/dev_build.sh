#!/usr/bin/env bash
# Developer build: compiles harpdaal._core with CMake into build/dev and puts the module next to
# the sources (python/harpdaal/_core*.so, git-ignored), so a checkout runs with
#   PYTHONPATH=python python -m pytest ...
# without reinstalling. Uses ccache when it is on PATH.
# Environment: PYTHON=<interpreter of a venv with requirements-dev.txt installed> (default python3).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3}"
BUILD="$ROOT/build/dev"
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$(dirname "$ROOT")}"
fi
mkdir -p "$ROOT/build"
if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DPython_EXECUTABLE="$PY" \
    -DCMAKE_MAKE_PROGRAM="$(dirname "$PY")/ninja" \
    -Dpybind11_DIR="$("$PY" -m pybind11 --cmakedir)" "${launcher[@]}" "$@" > "$BUILD.log" 2>&1 \
    || { cat "$BUILD.log" >&2; exit 1; }
fi
"$(dirname "$PY")/ninja" -C "$BUILD" _core
rm -f "$ROOT"/python/harpdaal/_core*.so
cp "$BUILD"/_core*.so "$ROOT/python/harpdaal/"
