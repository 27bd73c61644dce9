#!/bin/bash
# What judging the host's own traffic costs the host: the node namespace's stack sends COUNT UDP datagrams
# (16-byte payload) from 198.18.40.1 to 198.18.40.2:PORT, one python3 process per repetition, and the sender's own
# user + system CPU time per datagram is the figure (an egress hook — nftables' output chain or the dataplane's tcx
# egress program — runs inside sendto, in the sender's context, so other load on the machine shows less than in a
# throughput figure). The peer drops the datagrams in its nftables input chain, so nothing comes back.
#   none       no firewall on the node
#   nft        nftables output chain, the kernel's own host firewall: policy drop, ct state established,related
#              accept, udp dport PORT to 198.18.40.0/24 accept (conntrack on, as the dataplane's)
#   dataplane  dataplane-node run --backend ebpf with a CiliumClusterwideNetworkPolicy (nodeSelector) allowing
#              udp PORT to 198.18.40.0/24 only: dp_host_egress judges every datagram (conntrack after the first)
# Prints one line per case: the median over REPS of ns of sender CPU per datagram, and its ratio to nft.
# Usage: sudo bash perf/host-egress-rig.sh [COUNT] [REPS]
set -euo pipefail
COUNT=${1:-200000}; REPS=${2:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
S=$RANDOM; N=dphe-n-$S; P=dphe-p-$S; TMP=$(mktemp -d); PORT=$((20000 + RANDOM % 20000))
AGENT=0
cleanup() {
  if [ "$AGENT" -ne 0 ]; then kill -TERM "$AGENT" 2>/dev/null || true; wait "$AGENT" 2>/dev/null || true; fi
  ip netns del $N 2>/dev/null || true
  ip netns del $P 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

echo "rig: building dataplane-node" >&2
dotnet build "$ROOT/hosts/Dataplane.Node" -c Release -o "$TMP/bin" -v q -nologo >/dev/null

ip netns add $N; ip netns add $P
ip link add eth0 netns $N type veth peer name eth0 netns $P
ip -n $N addr add 198.18.40.1/24 dev eth0; ip -n $P addr add 198.18.40.2/24 dev eth0
for n in $N $P; do ip -n $n link set lo up; ip -n $n link set eth0 up; done
ip netns exec $P nft -f - <<NFT
table inet sink {
  chain in {
    type filter hook input priority 0;
    udp dport $PORT drop
  }
}
NFT
MAC=$(ip -n $N -br link show eth0 | awk '{print $3}')
# The peer's MAC, so the first datagram does not wait for ARP in any case.
ip -n $N neigh replace 198.18.40.2 lladdr "$(ip -n $P -br link show eth0 | awk '{print $3}')" dev eth0

send() {
  ip netns exec $N python3 -c "
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(('198.18.40.2', $PORT)); b = b'x' * 16
t = os.times(); t0 = t.user + t.system
for _ in range($COUNT): s.send(b)
t = os.times(); print(int((t.user + t.system - t0) * 1e9 / $COUNT))"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
run() { for _ in $(seq "$REPS"); do send; done | median; }

none=$(run)

ip netns exec $N nft -f - <<NFT
table inet hostfw {
  chain out {
    type filter hook output priority 0; policy drop;
    ct state established,related accept
    ip daddr 198.18.40.0/24 udp dport $PORT accept
  }
}
NFT
nft=$(run)
ip netns exec $N nft delete table inet hostfw

mkdir -p "$TMP/cfg"
cat > "$TMP/cfg/node.yaml" <<YAML
apiVersion: v1
kind: Node
metadata: {name: he, labels: {role: rig}}
spec: {podCIDRs: ["198.18.41.0/24"]}
status: {addresses: [{type: InternalIP, address: 198.18.40.1}]}
---
apiVersion: dataplane.io/v1alpha1
kind: DataplaneNode
metadata: {name: he}
spec:
  interfaces:
    - {name: eth0, mac: "$MAC", addresses: ["198.18.40.1/24"]}
---
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: host-out}
spec:
  nodeSelector: {matchLabels: {role: rig}}
  egress:
  - toCIDR: [198.18.40.0/24]
    toPorts: [{ports: [{port: "$PORT", protocol: UDP}]}]
YAML
ip netns exec $N dotnet "$TMP/bin/dataplane-node.dll" run --config "$TMP/cfg" --backend ebpf --bpf-pin-dir "" \
  --socket "$TMP/agent.sock" --state-dir "$TMP/state" > "$TMP/agent.log" 2>&1 &
AGENT=$!
for _ in $(seq 600); do grep -q "agent: API on unix:" "$TMP/agent.log" && break; sleep 0.1; done
grep -q "egress (tcx egress, the node's own traffic) on 1 interface" "$TMP/agent.log" \
  || { echo "rig: the agent did not enforce host egress:" >&2; cat "$TMP/agent.log" >&2; exit 1; }
dataplane=$(run)
kill -TERM "$AGENT"; wait "$AGENT" || true; AGENT=0

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "$(date -u +%FT%TZ) COUNT=$COUNT REPS=$REPS sender CPU ns per datagram (median)"
echo "none       $none  ($(ratio "$none" "$nft")x nft)"
echo "nft        $nft  (1.00x nft)"
echo "dataplane  $dataplane  ($(ratio "$dataplane" "$nft")x nft)"
