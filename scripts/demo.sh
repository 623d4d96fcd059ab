#!/usr/bin/env bash
# Sets everything up (a venv with harpdaal and the MPICH wheel) and runs the main job: the demo on
# one process, then on 2 MPI ranks. HARPDAAL_VENV=<path> picks the venv (default .venv).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${HARPDAAL_VENV:-$ROOT/.venv}"
[ -x "$VENV/bin/python" ] || "${PYTHON:-python3}" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q "$ROOT[mpi]"
cd "$VENV"   # run the installed package, not the source tree
"$VENV/bin/harpdaal" demo
"$VENV/bin/harpdaal" demo --ranks 2
