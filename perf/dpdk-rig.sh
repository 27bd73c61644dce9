#!/usr/bin/env bash
# DPDK rig: the topology of forward-rig.sh (client — dataplane — server namespaces joined by veth pairs;
# dpdk-testpmd txonly over net_af_xdp in the client namespace offers UDP frames; the sink is the server veth's rx
# counter) with DPDK forwarders on the dataplane's veths, all on the SAME vdevs and settings, in one go:
#   testpmd   dpdk-testpmd --forward-mode=io (the peer: DPDK's own forwarder, no packet processing)
#   ours-io   dpdk-fwd io: our DpdkPort rx burst -> tx burst -> release, no pipeline (perf/Dataplane.DpdkFwd)
#   ours      dataplane-node run --backend dpdk (the product: full pipeline, routing, conntrack, policy)
#   ours-pipe dpdk-fwd pipeline: PortWorker + full pipeline as `ours`, counting busy cycles like testpmd
# Same settings for every forwarder: vdevs, 8191 mbufs, 1024 rx/tx descriptors, bursts of BURST (default 256,
# our batch size), --no-huge, busy polling on one CPU (FCPU, default 1; the generator on GCPU, default 0) —
# on a 2-core VM the generator and the kernel's veth work still compete with the forwarder, so read the ratios.
# Cycles/packet = TSC cycles of poll iterations that received packets / packets received (testpmd's
# --record-core-cycles definition); ours-pipe minus ours-io is the pipeline's cost on top of the I/O.
# Usage: sudo bash perf/dpdk-rig.sh [SECS]   VDEVS="af_packet af_xdp" SIZES="64 1500" CASES="testpmd ours-io ours ours-pipe"
#        ROUNDS=3 (interleaved repetitions, medians reported); NICE=-10 gives generator and forwarders (all alike)
#        a larger CPU share when other work shares the machine; GCPU/FCPU/BURST as above.
set -euo pipefail
SECS=${1:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
S=$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')
C=dpk-c-$S D=dpk-d-$S V=dpk-s-$S
IC=kc$S IA=ka$S IB=kb$S IS=ks$S
SINK_IP=198.18.2.3 SINK_MAC=02:00:00:00:be:ef
GCPU=${GCPU:-0} FCPU=${FCPU:-1} BURST=${BURST:-256} NICE=${NICE:-0}
TMP=$(mktemp -d /tmp/dp-dpdk-rig-XXXXXX)
PIDS=()

cleanup() {
  for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  sleep 1
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for n in $C $D $V; do
    ip netns pids $n 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
    ip netns del $n 2>/dev/null || true
  done
  rm -rf "$TMP" /var/run/dpdk/gen$S /var/run/dpdk/fwd$S 2>/dev/null || true
}
trap cleanup EXIT INT TERM

echo "rig: building dataplane-node and dpdk-fwd" >&2
dotnet build "$ROOT/hosts/Dataplane.Node" -c Release -o "$TMP/bin" -v q -nologo >/dev/null
dotnet build "$ROOT/perf/Dataplane.DpdkFwd" -c Release -o "$TMP/fwd" -v q -nologo >/dev/null

# The three namespaces, their veths and $TMP/cfg (perf/rig-topology.sh).
source "$ROOT/perf/rig-topology.sh"
cnt() { ip netns exec $1 cat /sys/class/net/$2/statistics/$3; }

# run_case NAME VDEV SIZE: prints "NAME VDEV SIZE offered_mpps delivered_mpps loss cycles_per_pkt pipeline_cycles_per_pkt"
run_case() {
  local name=$1 vdev=$2 size=$3
  local vdevs="--vdev net_${vdev}0,iface=$IA --vdev net_${vdev}1,iface=$IB"
  local eal="--no-huge -m 512 --no-pci --no-telemetry --file-prefix fwd$S --log-level=lib.eal:error"
  rm -f $TMP/fwd.log; : > $TMP/fwd.log
  case $name in
    testpmd) ip netns exec $D nice -n $NICE taskset -c $FCPU dpdk-testpmd --lcores "0@$FCPU,1@$FCPU" $eal $vdevs -- --forward-mode=io \
               --burst=$BURST --rxd=1024 --txd=1024 --total-num-mbufs=8191 --no-mlockall --auto-start --stats-period 1 --record-core-cycles \
               > $TMP/fwd.log 2>&1 & ready="packet forwarding - ports=" ;;
    ours-io|ours-pipe) ip netns exec $D nice -n $NICE taskset -c $FCPU dotnet $TMP/fwd/dpdk-fwd.dll $([ $name = ours-io ] && echo io || echo pipeline) --config $TMP/cfg \
               --dpdk-args "$eal $vdevs -l $FCPU" > $TMP/fwd.log 2>&1 & ready="dpdk-fwd: forwarding" ;;
    ours) ip netns exec $D nice -n $NICE taskset -c $FCPU dotnet $TMP/bin/dataplane-node.dll run --config $TMP/cfg --backend dpdk \
               --poll-sleep-us 0 --socket $TMP/agent.sock --state-dir $TMP/state --dpdk-args "$eal $vdevs -l $FCPU" > $TMP/fwd.log 2>&1 & ready="run: forwarding" ;;
  esac
  local fwd=$!; PIDS+=($fwd)
  for i in $(seq 150); do grep -q "$ready" $TMP/fwd.log && break; sleep 0.2; done
  grep -q "$ready" $TMP/fwd.log || { cat $TMP/fwd.log >&2; return 1; }
  timeout -s INT $((SECS + 8)) ip netns exec $C nice -n $NICE taskset -c $GCPU dpdk-testpmd --lcores "0@$GCPU,1@$GCPU" --no-huge -m 1024 \
      --no-pci --no-telemetry --file-prefix=gen$S --vdev=net_af_xdp0,iface=$IC --log-level=lib.eal:error -- \
      --forward-mode=txonly --eth-peer=0,$MA --tx-ip=198.18.1.2,$SINK_IP --txpkts=$size --total-num-mbufs=16384 \
      --no-mlockall --auto-start --stats-period 1 > $TMP/gen.log 2>&1 &
  local gen=$!; PIDS+=($gen)
  sleep 3
  local t0 r0 t1 r1; t0=$(cnt $C $IC tx_packets); r0=$(cnt $V $IS rx_packets)
  sleep $SECS
  t1=$(cnt $C $IC tx_packets); r1=$(cnt $V $IS rx_packets)
  kill -INT $gen 2>/dev/null || true; wait $gen 2>/dev/null || true
  kill -TERM $fwd 2>/dev/null || true   # TERM: a background job of a script ignores SIGINT
  for i in $(seq 50); do kill -0 $fwd 2>/dev/null || break; sleep 0.2; done
  kill -KILL $fwd 2>/dev/null || true; wait $fwd 2>/dev/null || true
  rm -rf /var/run/dpdk/fwd$S /var/run/dpdk/gen$S
  local cyc pcyc
  pcyc=$(grep -o 'pipeline-cycles/packet [0-9.]*' $TMP/fwd.log | tail -1 | cut -d' ' -f2)
  case $name in
    testpmd) cyc=$(grep -o 'CPU cycles/packet=[0-9.]*' $TMP/fwd.log | tail -1 | cut -d= -f2) ;;
    ours-io|ours-pipe) cyc=$(grep -o ' cycles/packet [0-9.]*' $TMP/fwd.log | tail -1 | cut -d' ' -f3) ;;
    *) cyc= ;;
  esac
  [ -n "${RIG_DEBUG:-}" ] && tail -20 $TMP/fwd.log >&2
  grep -E "^(exit:|dpdk-fwd: (io|pipeline) rx)|CPU cycles/packet" $TMP/fwd.log | sed "s/^/rig: $name $vdev $size: /" >&2 || true
  awk -v n=$name -v v=$vdev -v s=$size -v t=$((t1 - t0)) -v r=$((r1 - r0)) -v secs=$SECS -v c="${cyc:-0}" -v pc="${pcyc:-0}" 'BEGIN {
    off = t / secs / 1e6; del = r / secs / 1e6; loss = t > 0 ? 1 - r / t : 0;
    printf "%s %s %d %.3f %.3f %.3f %.1f %.1f\n", n, v, s, off, del, loss, c, pc }'
}

ROUNDS=${ROUNDS:-3}
echo "rig: $SECS s per case, $ROUNDS rounds (cases interleaved; the table shows each forwarder's median); generator testpmd txonly over net_af_xdp on $IC (CPU $GCPU); forwarders on CPU $FCPU, burst $BURST" >&2
RAW=()
for round in $(seq $ROUNDS); do
  for vdev in ${VDEVS:-af_packet af_xdp}; do
    for size in ${SIZES:-64 1500}; do
      for name in ${CASES:-testpmd ours-io ours ours-pipe}; do
        RAW+=("$(run_case $name $vdev $size)")
        echo "rig: round $round: ${RAW[-1]}" >&2
      done
    done
  done
done
# Median over the rounds of each forwarder/vdev/size: offered, delivered, loss and cycles taken from the same
# (median-delivered) round, so a row is one real measurement.
mapfile -t RESULTS < <(printf '%s\n' "${RAW[@]}" | python3 -c '
import sys, collections
rows = collections.OrderedDict()
for line in sys.stdin:
    f = line.split()
    if len(f) == 8: rows.setdefault((f[0], f[1], f[2]), []).append(f)
for key, rs in rows.items():
    rs.sort(key=lambda r: float(r[4]))
    print(" ".join(rs[len(rs) // 2]))')
printf 'rig: raw (name vdev size offered delivered loss cycles/pkt pipeline-cycles/pkt): %s\n' "${RAW[@]}" >&2
printf '\n| forwarder | vdev | frame | offered Mpps | delivered Mpps | loss | vs testpmd | busy cycles/pkt | vs testpmd | of which pipeline |\n'
printf '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n'
for r in "${RESULTS[@]}"; do
  set -- $r
  k=$(printf '%s\n' "${RESULTS[@]}" | awk -v v=$2 -v s=$3 '$1=="testpmd" && $2==v && $3==s')
  set -- $r $k
  awk -v n=$1 -v v=$2 -v s=$3 -v off=$4 -v del=$5 -v loss=$6 -v cyc=$7 -v pc=$8 -v kdel=${13:-0} -v kcyc=${15:-0} 'BEGIN {
    rd = kdel > 0 ? sprintf("%.2f×", del / kdel) : "—"; cs = cyc > 0 ? sprintf("%.0f", cyc) : "—";
    rc = (cyc > 0 && kcyc > 0) ? sprintf("%.2f×", cyc / kcyc) : "—";
    ps = pc > 0 ? sprintf("%.0f", pc) : "—";
    printf "| %s | net_%s | %d B | %.3f | %.3f | %.1f %% | %s | %s | %s | %s |\n", n, v, s, off, del, loss * 100, rd, cs, rc, ps }'
done
# The pipeline's cost on top of the I/O: ours-pipe − ours-io busy cycles per packet, per vdev and size.
printf '%s\n' "${RESULTS[@]}" | awk '$1=="ours-io"{io[$2" "$3]=$7} $1=="ours-pipe"{p[$2" "$3]=$7; pp[$2" "$3]=$8; k[++n]=$2" "$3}
  END { for (i = 1; i <= n; i++) if (k[i] in io && io[k[i]] > 0) printf "pipeline on top of I/O (net_%s B): %.0f cycles/packet timed inside (PacketPipeline.Process); ours-pipe − ours-io busy cycles %.0f (%.0f − %.0f)\n", k[i], pp[k[i]], p[k[i]] - io[k[i]], p[k[i]], io[k[i]] }'
