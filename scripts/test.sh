#!/usr/bin/env bash
# The whole test suite from a clean clone: builds the sdist and the manylinux wheel once
# (scripts/build_wheel.sh: the wheel from the sdist, isolated build, auditwheel check), makes a
# fresh venv, installs that wheel the way a user does (`pip install harpdaal-*.whl[mpi,test]`,
# MPICH from its PyPI wheel), then runs
#   1. pytest (single process: kernels, estimators, comm on Local and COMM_SELF, CLI, bench smoke),
#   2. the MPI tests under `mpiexec -n 2` and `-n 4` (more ranks than cores, as root),
#   3. the C++ tests (every ISA level) warning-free at -Wall -Wextra -Werror,
#   4. the C++ tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
# Environment: HARPDAAL_DATA=<folder of the shared data sets> enables the real-data tests.
#              HARPDAAL_TEST_VENV=<path> (default .venv-test) where the venv goes.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${HARPDAAL_TEST_VENV:-$ROOT/.venv-test}"
PY="${PYTHON:-python3}"
cd "$ROOT"
step() { printf '\n=== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }

step "sdist and manylinux wheel (scripts/build_wheel.sh)"
DIST="$ROOT/dist"
HARPDAAL_DIST="$DIST" PYTHON="$PY" bash "$ROOT/scripts/build_wheel.sh"
WHEEL=("$DIST"/harpdaal-*-manylinux*.whl)

step "venv and wheel install"
"$PY" -m venv --clear "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
t0=$(date +%s)
"$VENV/bin/python" -m pip install -q "${WHEEL[0]}[mpi,test]"
echo "pip install $(basename "${WHEEL[0]}")[mpi,test]: $(( $(date +%s) - t0 )) s"
# The C++ test builds link the same static MKL / oneTBB as the wheel: put the build deps here too.
"$VENV/bin/python" -m pip install -q -r requirements-dev.txt
"$VENV/bin/python" -c "import harpdaal; harpdaal.show_config()"
MPIEXEC="$VENV/bin/mpiexec"

# Run the tests against the installed package, never the source tree.
export PYTHONDONTWRITEBYTECODE=1
step "pytest (single process)"
"$VENV/bin/python" -m pytest -q -p no:cacheprovider tests

for n in 2 4; do
  step "pytest -m mpi under mpiexec -n $n"
  timeout 900 "$MPIEXEC" -n "$n" "$VENV/bin/python" -m pytest -q -m mpi -p no:cacheprovider tests
done

# cmake_build DIR [cmake options...]: configure (the log is shown only on failure) and build in
# build/DIR with the venv's Python and ninja; prints the build folder.
cmake_build() {
  local build="$ROOT/build/$1"; shift
  mkdir -p "$ROOT/build"
  cmake -S "$ROOT" -B "$build" -G Ninja -DPython_EXECUTABLE="$VENV/bin/python" \
    -DCMAKE_MAKE_PROGRAM="$VENV/bin/ninja" "$@" \
    > "$build.log" 2>&1 || { cat "$build.log" >&2; return 1; }
  "$VENV/bin/ninja" -C "$build" >&2
  echo "$build"
}

step "C++ tests (-Wall -Wextra -Werror, every ISA)"
CPP_TESTS=(-DHARPDAAL_BUILD_PYTHON=OFF -DHARPDAAL_BUILD_TESTS=ON)
BUILD=$(cmake_build cpp-tests "${CPP_TESTS[@]}" -DHARPDAAL_BUILD_BENCH=ON -DHARPDAAL_WERROR=ON)
"$VENV/bin/ctest" --test-dir "$BUILD" --output-on-failure

step "C++ tests under ASan + UBSan"
BUILD=$(cmake_build cpp-asan "${CPP_TESTS[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHARPDAAL_SANITIZE=ON)
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  "$VENV/bin/ctest" --test-dir "$BUILD" --output-on-failure

step "pytest against an ASan + UBSan build of _core (no slow/data tests)"
BUILD=$(cmake_build py-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHARPDAAL_SANITIZE=ON \
  -Dpybind11_DIR="$("$VENV/bin/python" -m pybind11 --cmakedir)")
STAGE="$BUILD/stage"
rm -rf "$STAGE" && mkdir -p "$STAGE" && cp -r "$ROOT/python/harpdaal" "$STAGE/"
cp "$BUILD"/_core*.so "$STAGE/harpdaal/"
SANITIZER_PRELOAD="$(g++ -print-file-name=libasan.so) $(g++ -print-file-name=libubsan.so)"
# Leak checking is off: CPython itself keeps allocations alive until exit.
san_env=(env PYTHONPATH="$STAGE" LD_PRELOAD="$SANITIZER_PRELOAD"
         ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
         UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1)
"${san_env[@]}" "$VENV/bin/python" -c "import harpdaal._core as c, sys; \
  sys.exit(0 if c.__file__.startswith('$STAGE') else 'sanitized _core not picked up: ' + c.__file__)"
# The fuzzers (atheris brings its own libFuzzer runtime) and the mpiexec fault-injection jobs run
# in the plain stage above; everything else, the hypothesis property suite included, runs here.
"${san_env[@]}" "$VENV/bin/python" -m pytest -q -p no:cacheprovider -m "not slow and not data" \
  --ignore=tests/robustness/test_fuzz.py --ignore=tests/robustness/test_faults.py tests

step "all test stages passed"
