#!/usr/bin/env bash
# Gateway rig: on-prem client — gateway — node, in three network namespaces (perf/rig-topology.sh: veth pairs, offloads
# off). The client offers 64-byte UDP frames to a portal VIP (198.18.160.1:9); the gateway namespace carries them to the
# backend pod 198.18.100.10:9 on the node behind VXLAN (UDP 8472, the node's underlay 198.18.2.3). Two forwarders of
# the same job in the same gateway namespace, one after the other, in interleaved rounds:
#   (kernel) ip_forward, a vxlan device toward the node, nftables DNAT VIP → backend and SNAT to the gateway's
#            underlay address (what our gateway does to the client: docs/gateway.md "Portal services");
#   (af_packet, af_xdp) dataplane-gateway run --backend …, configured with YAML as a user would: a DataplaneGateway,
#            the node and its pod, a global portal Service of type LoadBalancer whose VIP is served on the gateway.
# The node's underlay neighbour is a MAC nobody owns (as forward-rig.sh's sink): the node veth counts every VXLAN frame
# it receives (delivered) and its stack drops them unseen, so the sink costs both forwarders the same nothing. Before
# each measurement a short capture on the node's veth checks that the frames are VXLAN to the node, inner destination
# the backend's address and port (a forwarder that delivers something else fails the rig).
# CPU per delivered packet, as forward-rig.sh measures it: the machine's busy time over a generator-only baseline
# ("none": no forwarder, the frames die in the gateway namespace), and the exact schedstat time of the generator, the
# forwarder and ksoftirqd over the same baseline (the column to read on a shared machine); the forwarder process's own
# CPU time for ours (the kernel's is softirq, inside the other columns). Medians over ROUNDS rounds.
# Bounded: each case runs SECS seconds (default 5) under timeouts; everything is removed on exit, even on failure.
# Usage: sudo bash perf/gateway-rig.sh [SECS]       (needs root, iproute2, nftables, tcpdump, the .NET SDK)
#        ROUNDS=N (default 3), CASES="kernel af_packet af_xdp", SIZE=64, BIN=DIR (a built perf/Dataplane.Benchmarks
#        output, which holds dataplane-gateway.dll too: skips the build).
#        POLL_US, POLL_SPIN: the gateway's idle sleep and spin (as forward-rig.sh: 50 µs, 256).
#        GEN=paced PPS=N (default): our paced AF_PACKET generator at a fixed N frames/s (default 300000), the same
#        offered load for every case; GEN=testpmd: dpdk-testpmd txonly over net_af_xdp, as fast as it can.
set -euo pipefail
SECS=${1:-5}
ROUNDS=${ROUNDS:-3}
SIZE=${SIZE:-64}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
S=$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')
C=dgr-c-$S D=dgr-d-$S V=dgr-s-$S
IC=gc$S IA=ga$S IB=gb$S IS=gs$S VX=gx$S
SINK_IP=198.18.2.3 SINK_MAC=02:00:00:00:be:ef          # the node's underlay address; its MAC is nobody's
VIP=198.18.160.1 BACKEND=198.18.100.10 BACKEND_MAC=02:00:00:00:c6:10 GW_MESH=198.18.2.1
TMP=$(mktemp -d /tmp/dp-gwrig-XXXXXX)
PIDS=()

cleanup() {
  for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for n in $C $D $V; do
    ip netns pids $n 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
    ip netns del $n 2>/dev/null || true
  done
  rm -rf "$TMP" /var/run/dpdk/gen$S 2>/dev/null || true
}
trap cleanup EXIT INT TERM

BIN=${BIN:-}
if [ -z "$BIN" ]; then
  echo "rig: building perf/Dataplane.Benchmarks (the generator and dataplane-gateway)" >&2
  dotnet build "$ROOT/perf/Dataplane.Benchmarks" -c Release -o "$TMP/bench" -v q -nologo >/dev/null
  BIN=$TMP/bench
fi
[ -f "$BIN/dataplane-gateway.dll" ] || { echo "rig: no dataplane-gateway.dll in $BIN" >&2; exit 1; }

source "$ROOT/perf/rig-topology.sh"   # namespaces C D V, veths IC–IA, IB–IS, their MACs (MA MB MC MS)

# The gateway's directory, as a user writes it: itself (a Node without pod CIDRs), its two sides, the node behind
# VXLAN with its pod, the portal service (global + portal, LoadBalancer VIP in its status).
mkdir -p $TMP/gw
cat > $TMP/gw/gateway.yaml <<YAML
apiVersion: v1
kind: Node
metadata: {name: gw-1, labels: {dataplane.io/role: gateway}}
status: {addresses: [{type: InternalIP, address: $GW_MESH}]}
---
apiVersion: dataplane.io/v1alpha1
kind: DataplaneNode
metadata: {name: gw-1}
spec:
  interfaces:
  - {name: $IA, mac: "$MA", addresses: ["198.18.1.1/24"]}
  - {name: $IB, mac: "$MB", addresses: ["$GW_MESH/24"]}
  neighbors:
  - {ip: 198.18.1.2, mac: "$MC"}
  - {ip: $SINK_IP, mac: "$SINK_MAC"}
  overlay: {mode: vxlan}
---
apiVersion: dataplane.io/v1alpha1
kind: DataplaneGateway
metadata: {name: gw-1}
spec:
  meshInterfaces: [$IB]
  onPremInterfaces: [$IA]
  onPremPrefixes: ["198.18.1.0/24"]
---
apiVersion: v1
kind: Node
metadata: {name: node-1}
spec: {podCIDRs: ["198.18.100.0/24"]}
status: {addresses: [{type: InternalIP, address: $SINK_IP}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: default, labels: {app: web}, annotations: {dataplane.io/mac: "$BACKEND_MAC"}}
spec: {nodeName: node-1}
status: {podIPs: [{ip: $BACKEND}]}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: default
  annotations: {service.cilium.io/global: "true", io.cilium/portal: "true"}
spec:
  type: LoadBalancer
  clusterIP: 198.18.170.10
  selector: {app: web}
  ports: [{name: discard, port: 9, targetPort: 9, protocol: UDP}]
status: {loadBalancer: {ingress: [{ip: $VIP}]}}
YAML
dotnet "$BIN/dataplane-gateway.dll" validate $TMP/gw >&2

busy() { awk '/^cpu /{print $2+$3+$4+$7+$8}' /proc/stat; }          # user nice system irq softirq, in ticks
pcpu() { awk '{print $14+$15}' /proc/$1/stat 2>/dev/null || echo 0; }  # utime + stime of a process, in ticks
cnt() { ip netns exec $1 cat /sys/class/net/$2/statistics/$3; }
# Exact CPU time in ns of every thread of the given processes (schedstat; this kernel has no IRQ time accounting,
# so softirq work done in a task's context is in its time): "tid ns" lines, and the ns spent between two of them by
# threads alive at the second (a .NET process's pool threads come and go: summing totals would go backwards).
tsnap() { local p t a; for p in "$@"; do for t in /proc/$p/task/*; do read -r a _ < $t/schedstat 2>/dev/null && echo "${t##*/} $a"; done; done; }
tdiff() { awk 'NR == FNR { v0[$1] = $2; next } { d += $2 - ($1 in v0 ? v0[$1] : 0) } END { printf "%.0f\n", d }' "$1" "$2"; }
KSOFTIRQD=$(pgrep -x 'ksoftirqd/[0-9]+' | tr '\n' ' ')
HZ=$(getconf CLK_TCK)

kernel_on() {
  ip -n $D addr add 198.18.1.1/24 dev $IA; ip -n $D addr add $GW_MESH/24 dev $IB
  ip netns exec $D sysctl -qw net.ipv4.ip_forward=1
  ip -n $D neigh replace 198.18.1.2 lladdr $MC dev $IA nud permanent
  ip -n $D neigh replace $SINK_IP lladdr $SINK_MAC dev $IB nud permanent
  # VNI 2: what ours puts there for a client of identity world (Cilium's encoding); the receiver sees no difference.
  ip -n $D link add $VX type vxlan id 2 local $GW_MESH remote $SINK_IP dstport 8472 dev $IB nolearning
  ip -n $D link set $VX up
  ip -n $D route add 198.18.100.0/24 dev $VX
  ip -n $D neigh replace $BACKEND lladdr $BACKEND_MAC dev $VX nud permanent
  # nft 1.0.6 wants closing braces on lines of their own.
  ip netns exec $D nft -f - <<NFT
table ip rig {
  chain pre { type nat hook prerouting priority dstnat; policy accept;
    ip daddr $VIP udp dport 9 dnat to $BACKEND:9
  }
  chain post { type nat hook postrouting priority srcnat; policy accept;
    oifname "$VX" snat to $GW_MESH
  }
}
NFT
}
kernel_off() {
  ip netns exec $D nft delete table ip rig 2>/dev/null || true
  ip -n $D link del $VX 2>/dev/null || true
  ip netns exec $D sysctl -qw net.ipv4.ip_forward=0
  ip netns exec $D conntrack -F >/dev/null 2>&1 || true
  ip -n $D neigh flush dev $IA 2>/dev/null || true; ip -n $D neigh flush dev $IB 2>/dev/null || true
  ip -n $D addr flush dev $IA; ip -n $D addr flush dev $IB
}

generator() {   # generator SECONDS: starts it in the client namespace, in the background, offering to the VIP
  if [ "${GEN:-paced}" = paced ]; then
    timeout -s INT $(($1 + 4)) ip netns exec $C dotnet "$BIN/Dataplane.Benchmarks.dll" pktgen $IC $MA \
        198.18.1.2 $VIP $SIZE ${PPS:-300000} $1 > $TMP/gen.log 2>&1 &
  else
    timeout -s INT $(($1 + 4)) ip netns exec $C dpdk-testpmd -l 0-1 --no-huge -m 1024 --no-pci --file-prefix=gen$S \
        --vdev=net_af_xdp0,iface=$IC --log-level=lib.eal:error -- --forward-mode=txonly --eth-peer=0,$MA \
        --tx-ip=198.18.1.2,$VIP --tx-udp=9,9 --txpkts=$SIZE --total-num-mbufs=16384 --no-mlockall --auto-start \
        --stats-period 1 > $TMP/gen.log 2>&1 &
  fi
  GEN_PID=$!; PIDS+=($GEN_PID)
}

# What reaches the node must be the portal's job done: VXLAN to the node, inner destination backend:9.
check_delivery() {
  local name=$1 out
  generator 3
  out=$(timeout 10 ip netns exec $V tcpdump -c 5 -nn -i $IS 'udp dst port 8472' 2>/dev/null || true)
  kill -INT $GEN_PID 2>/dev/null || true; wait $GEN_PID 2>/dev/null || true
  if ! grep -q "> $SINK_IP.8472: " <<< "$out" || ! grep -q "> $BACKEND.9: UDP" <<< "$out"; then
    echo "rig: $name does not deliver VXLAN to $SINK_IP with inner $BACKEND:9; captured:" >&2; echo "$out" >&2
    [ -f $TMP/fwd.log ] && cat $TMP/fwd.log >&2
    return 1
  fi
  echo "rig: $name delivers: $(grep -m1 "$BACKEND.9" <<< "$out")" >&2
}

# run_case NAME: prints "NAME offered_mpps delivered_mpps loss fwd_ns_per_pkt sent busy_ns delivered task_ns"
run_case() {
  local name=$1 fwd=0 fp=0
  case $name in
    kernel) kernel_on; check_delivery kernel ;;
    af_packet|af_xdp)
      rm -f $TMP/fwd.log; : > $TMP/fwd.log
      ip netns exec $D dotnet "$BIN/dataplane-gateway.dll" run --config $TMP/gw --backend $name --socket $TMP/gw.sock \
          --state-dir $TMP/state --ct-max 65536 --poll-sleep-us ${POLL_US:-50} --poll-spin ${POLL_SPIN:-256} > $TMP/fwd.log 2>&1 &
      fwd=$!; PIDS+=($fwd)
      for _ in $(seq 150); do grep -q "run: forwarding" $TMP/fwd.log && break; sleep 0.2; done
      grep -q "run: forwarding" $TMP/fwd.log || { cat $TMP/fwd.log >&2; return 1; }
      fp=$fwd   # ip netns exec execs the gateway: same process
      check_delivery $name ;;
  esac
  # Measure once frames flow (a loaded machine takes seconds to start a .NET generator), then a settled second.
  generator $((SECS + 30))
  local w0; w0=$(cnt $C $IC tx_packets)
  for _ in $(seq 150); do sleep 0.2; [ "$(cnt $C $IC tx_packets)" -gt $((w0 + 1000)) ] && break; done
  sleep 1
  local genpid; genpid=$(pgrep -n -f "^dpdk-testpmd.*file-prefix=gen$S|^dotnet .*Dataplane.Benchmarks.dll pktgen $IC" || echo $GEN_PID)
  local fpids="$genpid $KSOFTIRQD"; [ $fp -ne 0 ] && fpids="$fpids $fp"
  local t0 r0 b0 f0; t0=$(cnt $C $IC tx_packets); r0=$(cnt $V $IS rx_packets); b0=$(busy)
  f0=$([ $fp -ne 0 ] && pcpu $fp || echo 0); tsnap $fpids > $TMP/k0
  sleep $SECS
  local t1 r1 b1 f1 k; t1=$(cnt $C $IC tx_packets); r1=$(cnt $V $IS rx_packets); b1=$(busy)
  f1=$([ $fp -ne 0 ] && pcpu $fp || echo 0); tsnap $fpids > $TMP/k1; k=$(tdiff $TMP/k0 $TMP/k1)
  kill -INT $GEN_PID 2>/dev/null || true; wait $GEN_PID 2>/dev/null || true
  if [ $fwd -ne 0 ]; then kill -TERM $fwd; wait $fwd 2>/dev/null || true; grep -E "^exit: (rx|  port)" $TMP/fwd.log | sed "s/^/$name: /" >&2 || true; fi
  [ $name = kernel ] && kernel_off
  awk -v n=$name -v t=$((t1 - t0)) -v r=$((r1 - r0)) -v b=$((b1 - b0)) -v f=$((f1 - f0)) -v k=$k \
      -v secs=$SECS -v hz=$HZ 'BEGIN {
        printf "%s %.4f %.4f %.4f %.0f %d %.0f %d %.0f\n", n, t / secs / 1e6, r / secs / 1e6, (t > 0 ? 1 - r / t : 0),
          ((f > 0 && r > 0) ? f / hz * 1e9 / r : 0), t, b / hz * 1e9, r, k }'
}

echo "rig: $SECS s per case, $ROUNDS interleaved rounds, $SIZE-byte UDP to $VIP:9, generator ${GEN:-paced}$([ "${GEN:-paced}" = paced ] && echo " at ${PPS:-300000} frames/s")" >&2
RESULTS=()
for round in $(seq $ROUNDS); do
  for name in none ${CASES:-kernel af_packet af_xdp}; do
    r=$(run_case $name)
    echo "rig: round $round: $r" >&2
    RESULTS+=("$round $r")
  done
done
printf 'rig: raw (round name offered delivered loss fwd-ns/pkt sent busy-ns delivered task-ns): %s\n' "${RESULTS[@]}" >&2

# Per round, each case's CPU over that round's generator-only baseline (per frame sent), divided by the frames
# delivered; then medians over the rounds, and ratios of the medians to the kernel's.
printf '%s\n' "${RESULTS[@]}" | awk -v cases="${CASES:-kernel af_packet af_xdp}" '
  function median(arr, cnt,   i, j, t, a) { for (i = 1; i <= cnt; i++) a[i] = arr[i];
    for (i = 1; i <= cnt; i++) for (j = i + 1; j <= cnt; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return cnt % 2 ? a[(cnt + 1) / 2] : (a[cnt / 2] + a[cnt / 2 + 1]) / 2 }
  $2 == "none" { zb[$1] = $7 > 0 ? $8 / $7 : 0; zt[$1] = $7 > 0 ? $10 / $7 : 0; next }
  { rows[NR] = $0 }
  END {
    nc = split(cases, order, " ")
    for (i in rows) { split(rows[i], a, " "); c = a[2]; k = ++m[c]
      off[c, k] = a[3]; del[c, k] = a[4]; loss[c, k] = a[5]; fns[c, k] = a[6];
      sys[c, k] = a[9] > 0 ? (a[8] - zb[a[1]] * a[7]) / a[9] : 0; tsk[c, k] = a[9] > 0 ? (a[10] - zt[a[1]] * a[7]) / a[9] : 0 }
    for (j = 1; j <= nc; j++) { c = order[j];
      for (k = 1; k <= m[c]; k++) { x1[k] = off[c, k]; x2[k] = del[c, k]; x3[k] = loss[c, k]; x4[k] = fns[c, k]; x5[k] = sys[c, k]; x6[k] = tsk[c, k] }
      O[c] = median(x1, m[c]); Dl[c] = median(x2, m[c]); L[c] = median(x3, m[c]); F[c] = median(x4, m[c]); Sy[c] = median(x5, m[c]); T[c] = median(x6, m[c]) }
    printf "\n| forwarder (medians of %d rounds) | offered Mpps | delivered Mpps at the node | loss | vs kernel | process CPU ns/pkt | machine CPU ns/pkt over baseline | vs kernel | tasks CPU ns/pkt over baseline | vs kernel |\n", m[order[1]]
    printf "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    for (j = 1; j <= nc; j++) { c = order[j];
      printf "| %s | %.3f | %.3f | %.1f %% | %.2f× | %s | %.0f | %.2f× | %.0f | %.2f× |\n", (c == "kernel" ? "Linux: ip_forward + vxlan + nftables DNAT/SNAT" : "dataplane-gateway " c),
        O[c], Dl[c], L[c] * 100, (Dl["kernel"] > 0 ? Dl[c] / Dl["kernel"] : 0), (F[c] > 0 ? sprintf("%.0f", F[c]) : "— (softirq)"),
        Sy[c], (Sy["kernel"] > 0 ? Sy[c] / Sy["kernel"] : 0), T[c], (T["kernel"] > 0 ? T[c] / T["kernel"] : 0) } }'
