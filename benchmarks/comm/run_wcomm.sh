#!/usr/bin/env bash
# Reproduces every W-COMM figure in docs/comm.md: RUNS independent runs of each setting
# (the summary takes medians over them), written to the folder OUT (default results/wcomm).
#   PATH=/path/to/venv/bin:$PATH bash benchmarks/comm/run_wcomm.sh [OUT] [RUNS]
# Needs root for the namespace hosts (scripts/netns_hosts.sh); skips them otherwise.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$(realpath -m "${1:-results/wcomm}")
py=$(command -v python)
runs=${2:-3}
mkdir -p "$out"
lim="timeout 600"
netns=0
if [[ $(id -u) == 0 ]] && command -v ip >/dev/null && bash scripts/netns_hosts.sh up wcomm; then
  netns=1
  trap 'bash scripts/netns_hosts.sh down wcomm' EXIT
fi
for run in $(seq 1 "$runs"); do
  for n in 2 4; do
    $lim mpiexec -n $n "$py" benchmarks/bench_comm.py --json "$out/allreduce_${n}ranks_run$run.json"
    for k in work spin sleep; do
      $lim mpiexec -n $n "$py" benchmarks/bench_rotate.py --kernel $k \
        --json "$out/rotate_${k}_${n}ranks_run$run.json"
    done
    if [[ $netns == 1 ]]; then
      $lim bash scripts/netns_hosts.sh run wcomm -n $n "$py" benchmarks/bench_comm.py \
        --json "$out/allreduce_${n}ranks_netns_tcp_run$run.json"
      for k in work spin sleep; do
        $lim bash scripts/netns_hosts.sh run wcomm -n $n "$py" benchmarks/bench_rotate.py \
          --kernel $k --configs messages:none,messages:thread \
          --json "$out/rotate_${k}_${n}ranks_netns_tcp_run$run.json"
      done
    fi
  done
done
"$py" benchmarks/comm/summarize.py "$out" > "$out/summary.md"
cat "$out/summary.md"
