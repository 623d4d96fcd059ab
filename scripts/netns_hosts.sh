#!/usr/bin/env bash
# Two "hosts" on one machine: network namespaces joined by a veth pair, so MPI ranks in them
# talk over TCP as on a cluster. Nothing is routed outside the pair (each namespace holds only
# lo and its veth end, with private addresses), and `down` removes everything `up` made.
#
#   scripts/netns_hosts.sh up   ID        # make namespaces hd<ID>a, hd<ID>b (10.251.0.1/.2)
#   scripts/netns_hosts.sh run  ID -n 2 python prog.py   # mpiexec across them (one rank each
#                                          #   per host round-robin); run from the venv
#   scripts/netns_hosts.sh down ID        # remove them (safe to repeat)
#
# ID: a short tag (letters/digits, <= 6 chars) so concurrent users do not collide. Needs root
# and iproute2. mpiexec (MPICH Hydra) starts inside host a and launches its proxies through
# this script acting as "ssh": `ip netns exec <ns> unshare --uts sh -c 'hostname <h>; cmd'`
# (a distinct host name per namespace). `run` also tells MPICH and its netmods (UCX, OFI) to use
# TCP only: otherwise they notice the ranks share a kernel and use shared memory, and the data
# would never cross the veth pair (checked by the veth byte counters in tests/comm/test_netns.py).
set -euo pipefail

addr_a=10.251.0.1
addr_b=10.251.0.2

names() {
  local id=$1
  [[ $id =~ ^[A-Za-z0-9]{1,6}$ ]] || { echo "bad ID '$id' (1-6 letters/digits)" >&2; exit 2; }
  ns_a=hd${id}a; ns_b=hd${id}b; veth_a=hd${id}va; veth_b=hd${id}vb
}

case "${1:-}" in
  up)
    names "${2:?ID}"
    ip netns add "$ns_a"
    ip netns add "$ns_b"
    ip link add "$veth_a" type veth peer name "$veth_b"
    ip link set "$veth_a" netns "$ns_a"
    ip link set "$veth_b" netns "$ns_b"
    ip -n "$ns_a" addr add "$addr_a/30" dev "$veth_a"
    ip -n "$ns_b" addr add "$addr_b/30" dev "$veth_b"
    for ns in "$ns_a" "$ns_b"; do ip -n "$ns" link set lo up; done
    ip -n "$ns_a" link set "$veth_a" up
    ip -n "$ns_b" link set "$veth_b" up
    ;;
  down)
    names "${2:?ID}"
    # deleting a namespace deletes the veth end inside it, and with it the peer
    ip netns del "$ns_a" 2>/dev/null || true
    ip netns del "$ns_b" 2>/dev/null || true
    ip link del "$veth_a" 2>/dev/null || true
    ;;
  run)
    names "${2:?ID}"; shift 2
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    mpiexec=$(command -v mpiexec)
    exec ip netns exec "$ns_a" unshare --uts sh -c "hostname $ns_a; exec \"\$@\"" sh \
      "$mpiexec" -launcher ssh -launcher-exec "$here/netns_hosts.sh" \
      -iface "$veth_a" -hosts "$addr_a,$addr_b" \
      -genv MPIR_CVAR_NOLOCAL 1 -genv UCX_TLS tcp,self -genv FI_PROVIDER tcp "$@"
    ;;
  *)
    # Called by Hydra as its "ssh": [options] HOST COMMAND...
    while [[ $# -gt 0 && $1 == -* ]]; do shift; done
    host=$1; shift
    ns=$(ip netns identify $$ 2>/dev/null || true)
    id=${ns#hd}; id=${id%a}; id=${id%b}
    [[ -n $id ]] || { echo "netns_hosts.sh: not inside a harpdaal namespace" >&2; exit 2; }
    names "$id"
    case $host in
      "$addr_a") target=$ns_a ;;
      "$addr_b") target=$ns_b ;;
      *) echo "netns_hosts.sh: unknown host $host" >&2; exit 2 ;;
    esac
    exec ip netns exec "$target" unshare --uts sh -c "hostname $target; $*"
    ;;
esac
