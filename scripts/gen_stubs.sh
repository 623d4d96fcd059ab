#!/usr/bin/env bash
# Regenerate python/harpdaal/_core/*.pyi from the built module (needs pybind11-stubgen).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$(mktemp -d)"
(cd "$OUT" && pybind11-stubgen harpdaal._core -o "$OUT")
rm -f "$ROOT"/python/harpdaal/_core/*.pyi
cp "$OUT"/harpdaal/_core/*.pyi "$ROOT/python/harpdaal/_core/"
rm -rf "$OUT"
