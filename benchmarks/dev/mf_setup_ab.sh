#!/bin/bash
# A/B of the MF fit set-up stages: alternates one-fit runs of mf_setup_profile.py under two
# Pythons (e.g. a venv with the baseline build, one with this tree), ROUNDS times, appending to
# OUT (JSON lines); summarise with mf_setup_summary.py.
#   benchmarks/dev/mf_setup_ab.sh BASE_PY NEW_PY OUT [ROUNDS] [extra args]
set -euo pipefail
base=$1 new=$2 out=$3 rounds=${4:-3}
shift $(( $# < 4 ? $# : 4 ))
here=$(dirname "$0")
for r in $(seq "$rounds"); do
  "$base" "$here/mf_setup_profile.py" --repeat 1 --json "$out" --label before "$@" > /dev/null
  "$new" "$here/mf_setup_profile.py" --repeat 1 --json "$out" --label after "$@" > /dev/null
done
