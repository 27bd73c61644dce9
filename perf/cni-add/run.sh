#!/usr/bin/env bash
# CNI ADD/DEL latency: dataplane-cni (NativeAOT, next to a running dataplane-node agent) against the reference
# plugins from containernetworking-plugins (bridge + host-local), side by side in one run. Each iteration gives
# each plugin a fresh pod network namespace, times ADD and then DEL (wall clock around the plugin process, as a
# runtime sees it), and alternates the two plugins so both see the same machine load. Bounded: N iterations
# (default 50, at most 500), every step under a timeout; everything is removed on exit, even on failure.
# Usage: sudo bash perf/cni-add/run.sh [N]
#   CNI_BIN=/path/to/dataplane-cni  use an already published plugin (default: dotnet publish it, NativeAOT)
#   NODE_DIR=/dir/with/dataplane-node.dll  use an already built agent (default: dotnet build it)
#   AGENT_LOG=/path  keep the agent's log there
#   PROFILE=1  also runs N extra ADDs of ours with DATAPLANE_CNI_TIMING=1 and prints the median of each phase
set -euo pipefail
N=${1:-50}
(( N >= 1 && N <= 500 )) || { echo "N must be 1..500" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
S=$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')
NODE=dpcb-n-$S
TMP=$(mktemp -d /tmp/dp-cni-bench-XXXXXX)
REF_DIR=/usr/lib/cni
AGENT_PID=

cleanup() {
  [[ -n ${AGENT_LOG:-} && -f $TMP/agent.log ]] && cp "$TMP/agent.log" "$AGENT_LOG"
  [[ -n $AGENT_PID ]] && kill -TERM "$AGENT_PID" 2>/dev/null && sleep 1 && kill -KILL "$AGENT_PID" 2>/dev/null || true
  for n in $(ip netns list | awk '{print $1}' | grep -- "-$S" || true); do
    ip netns pids "$n" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
    ip netns del "$n" 2>/dev/null || true
  done
  rm -rf "$TMP"
}
trap cleanup EXIT

[[ $(id -u) == 0 ]] || { echo "needs root" >&2; exit 2; }
for f in bridge host-local; do [[ -x $REF_DIR/$f ]] || { echo "$REF_DIR/$f missing (apt-get install containernetworking-plugins)" >&2; exit 2; }; done

if [[ -z ${CNI_BIN:-} ]]; then
  echo "bench: publishing dataplane-cni (NativeAOT)" >&2
  timeout 900 dotnet publish "$ROOT/hosts/Dataplane.Cni" -c Release -o "$TMP/cni" -v q -nologo >/dev/null
  CNI_BIN=$TMP/cni/dataplane-cni
fi
NODE_DIR=${NODE_DIR:-}
if [[ -z $NODE_DIR ]]; then
  echo "bench: building dataplane-node" >&2
  timeout 900 dotnet build "$ROOT/hosts/Dataplane.Node" -c Release -o "$TMP/node" -v q -nologo >/dev/null
  NODE_DIR=$TMP/node
fi

# The node: one namespace running the agent (pod CIDR 198.18.100.0/22) where both plugins run.
mkdir -p "$TMP/config" "$TMP/state" "$TMP/ipam" "$TMP/ref-ipam"
cat > "$TMP/config/node.yaml" <<YAML
apiVersion: v1
kind: Node
metadata: {name: bench}
spec: {podCIDRs: ["198.18.100.0/22"]}
status: {addresses: [{type: InternalIP, address: 198.18.0.1}]}
---
apiVersion: dataplane.io/v1alpha1
kind: DataplaneNode
metadata: {name: bench}
spec: {routerMac: "02:00:00:00:00:99"}
YAML
ip netns add "$NODE"
ip -n "$NODE" link set lo up
ip netns exec "$NODE" dotnet "$NODE_DIR/dataplane-node.dll" run --config "$TMP/config" --backend af_packet \
  --socket "$TMP/agent.sock" --state-dir "$TMP/state" >"$TMP/agent.log" 2>&1 &
AGENT_PID=$!
for _ in $(seq 1 120); do grep -q "agent: API on unix:" "$TMP/agent.log" && break; sleep 0.5; done
grep -q "agent: API on unix:" "$TMP/agent.log" || { cat "$TMP/agent.log" >&2; echo "agent did not start" >&2; exit 1; }

cat > "$TMP/ours.json" <<JSON
{"cniVersion":"1.0.0","name":"dpbench-$S","type":"dataplane-cni","agentSocket":"$TMP/agent.sock","ipam":{"dataDir":"$TMP/ipam"}}
JSON
cat > "$TMP/ref.json" <<JSON
{"cniVersion":"1.0.0","name":"refbench-$S","type":"bridge","bridge":"cb$S","isGateway":true,"ipMasq":false,
 "ipam":{"type":"host-local","subnet":"198.19.0.0/20","routes":[{"dst":"0.0.0.0/0"}],"dataDir":"$TMP/ref-ipam"}}
JSON

# The timed loop runs inside the node's namespace ($EPOCHREALTIME: no process started to read the clock).
cat > "$TMP/loop.sh" <<'LOOP'
set -euo pipefail
which=$1 bin=$2 conf=$3 id=$4 ns=$5 out=$6
ip netns add "$ns"
export CNI_PATH=/usr/lib/cni CNI_CONTAINERID=$id CNI_NETNS=/var/run/netns/$ns CNI_IFNAME=eth0
t0=$EPOCHREALTIME
CNI_COMMAND=ADD timeout 30 "$bin" <"$conf" >"$out.add" || { echo "$which ADD failed: $(cat "$out.add")" >&2; exit 1; }
t1=$EPOCHREALTIME
CNI_COMMAND=DEL timeout 30 "$bin" <"$conf" >"$out.del" || { echo "$which DEL failed: $(cat "$out.del")" >&2; exit 1; }
t2=$EPOCHREALTIME
ip netns del "$ns"
echo "$which $(( (${t1/./} - ${t0/./}) )) $(( (${t2/./} - ${t1/./}) ))"
LOOP

run() { ip netns exec "$NODE" bash "$TMP/loop.sh" "$@"; }
WARM=3
echo "bench: $WARM warm-up + $N timed iterations per plugin" >&2
for i in $(seq 1 $((N + WARM))); do
  for which in ours ref; do
    bin=$CNI_BIN conf=$TMP/ours.json
    [[ $which == ref ]] && bin=$REF_DIR/bridge conf=$TMP/ref.json
    line=$(run "$which" "$bin" "$conf" "bench$which$i$S" "dpcb-p$i$which-$S" "$TMP/out")
    (( i > WARM )) && echo "$line" >>"$TMP/samples"
  done
done

pct() {  # pct WHICH FIELD P -> milliseconds
  awk -v w="$1" '$1==w {print $'"$2"'}' "$TMP/samples" | sort -n |
    awk -v p="$3" '{a[NR]=$1} END {i=int((NR-1)*p/100)+1; printf "%.1f", a[i]/1000}'
}
o50=$(pct ours 2 50) o90=$(pct ours 2 90) r50=$(pct ref 2 50) r90=$(pct ref 2 90)
od50=$(pct ours 3 50) od90=$(pct ours 3 90) rd50=$(pct ref 3 50) rd90=$(pct ref 3 90)
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
echo
echo "CNI ADD/DEL latency, $(date -u +%F), $(nproc) CPU ($cpu), kernel $(uname -r), N=$N"
echo
echo "| plugin | ADD p50 | ADD p90 | DEL p50 | DEL p90 |"
echo "|---|---|---|---|---|"
echo "| dataplane-cni (NativeAOT) + agent | $o50 ms | $o90 ms | $od50 ms | $od90 ms |"
echo "| bridge + host-local (containernetworking-plugins $(dpkg-query -W -f '${Version}' containernetworking-plugins 2>/dev/null)) | $r50 ms | $r90 ms | $rd50 ms | $rd90 ms |"
echo "| ratio (ours / reference) | $(awk "BEGIN{printf \"%.2f×\", $o50/$r50}") | $(awk "BEGIN{printf \"%.2f×\", $o90/$r90}") | $(awk "BEGIN{printf \"%.2f×\", $od50/$rd50}") | $(awk "BEGIN{printf \"%.2f×\", $od90/$rd90}") |"

if [[ ${PROFILE:-0} == 1 ]]; then
  # Where ours spends ADD: the plugin's own phase timings (DATAPLANE_CNI_TIMING) and the rest of the wall time
  # (process start, runtime start-up and exit), medians over N more ADDs.
  for i in $(seq 1 "$N"); do
    ns=dpcb-q$i-$S; ip netns add $ns
    t0=$EPOCHREALTIME
    line=$(ip netns exec "$NODE" env DATAPLANE_CNI_TIMING=1 CNI_PATH=$REF_DIR CNI_CONTAINERID=prof$i$S CNI_NETNS=/var/run/netns/$ns \
      CNI_IFNAME=eth0 CNI_COMMAND=ADD "$CNI_BIN" <"$TMP/ours.json" 2>&1 >/dev/null | grep 'timing (ms)')
    t1=$EPOCHREALTIME
    echo "wall $(( (${t1/./} - ${t0/./}) / 1000 )).0, ${line#*: }" >>"$TMP/profile"
    ip netns exec "$NODE" env CNI_PATH=$REF_DIR CNI_CONTAINERID=prof$i$S CNI_NETNS=/var/run/netns/$ns CNI_IFNAME=eth0 CNI_COMMAND=DEL \
      "$CNI_BIN" <"$TMP/ours.json" >/dev/null
    ip netns del $ns
  done
  echo; echo "where dataplane-cni ADD spends its time (median ms over $N ADDs; 'wall' includes ip netns exec):"
  python3 - "$TMP/profile" <<'PY'
import sys, statistics, collections
cols = collections.defaultdict(list)
for line in open(sys.argv[1]):
    for part in line.strip().split(", "):
        k, v = part.rsplit(" ", 1)
        cols[k].append(float(v))
print("  " + ", ".join(f"{k} {statistics.median(v):.1f}" for k, v in cols.items()))
PY
fi
