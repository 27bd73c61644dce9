#!/usr/bin/env bash
# Forwarding rig: client — dataplane — server in three network namespaces (veth pairs). dpdk-testpmd (txonly over
# net_af_xdp) in the client namespace offers 64- and 1500-byte UDP frames toward the dataplane; the sink is the
# server veth's rx counter (frames go to a neighbour MAC nobody owns, so the server stack drops them silently and
# sends nothing back). Three forwarders, same topology, one after the other:
#   (a) the Linux kernel (ip_forward, static neighbours; an nftables forward chain when `nft` exists)
#   (b) dataplane-node run --backend af_packet     (c) dataplane-node run --backend af_xdp
# For each: offered and delivered Mpps, loss, and CPU per forwarded packet — the forwarder process's own CPU time
# (b, c), the machine's busy time over a generator-only baseline (all three; counts other load on a shared VM), and
# the exact CPU time of the generator, forwarder and ksoftirqd tasks over the same baseline. Ratios are to (a).
# Bounded: each case runs SECS seconds (default 5) under timeouts; everything is removed on exit, even on failure.
# Usage: sudo bash perf/forward-rig.sh [SECS]      (needs root, iproute2, dpdk-testpmd, the .NET SDK)
#        CASES="kernel af_packet af_xdp af_xdp_generic ebpf" SIZES="64 1500" select what runs (ratios need the kernel
#        case; the generator-only baseline "none" always runs first).
#        GEN=paced PPS=N: our paced AF_PACKET generator at a fixed N frames/s instead of testpmd (which busy-polls
#        its core, hiding the kernel's softirq forwarding cost inside it): the CPU-per-packet columns then compare.
#        POLL_US=N: the forwarder's idle sleep in µs (default 50: adaptive; 0 = busy poll, whose idle spinning
#        then counts as CPU per packet). POLL_MODE=interrupt|adaptive|busy: the forwarder's --poll-mode (unset: its
#        default). Case af_xdp_generic: AF_XDP with the XDP program in generic (skb) mode.
#        Cases ebpf / ebpf_native: dataplane-node run --backend ebpf, the XDP program itself forwarding (redirect
#        between the two dataplane veths) — generic mode (what the agent picks on veths) / native mode, with an
#        XDP_PASS program on the sink veth so native redirects into it are received. The work is in softirq, not in the agent
#        process: its CPU column is ~0, the busy-time-over-baseline column is the one to compare.
set -euo pipefail
SECS=${1:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
S=$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')
C=dpr-c-$S D=dpr-d-$S V=dpr-s-$S
IC=rc$S IA=ra$S IB=rb$S IS=rs$S
SINK_IP=198.18.2.3 SINK_MAC=02:00:00:00:be:ef
TMP=$(mktemp -d /tmp/dp-rig-XXXXXX)
PIDS=()

cleanup() {
  for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for n in $C $D $V; do
    ip netns pids $n 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
    ip netns del $n 2>/dev/null || true
  done
  sysctl -qw kernel.bpf_stats_enabled=0 2>/dev/null || true   # the ebpf cases turn it on
  rm -rf "$TMP" /var/run/dpdk/gen$S 2>/dev/null || true
}
trap cleanup EXIT INT TERM

echo "rig: building dataplane-node" >&2
dotnet build "$ROOT/hosts/Dataplane.Node" -c Release -o "$TMP/bin" -v q -nologo >/dev/null
if [ "${GEN:-testpmd}" = paced ]; then
  dotnet build "$ROOT/perf/Dataplane.Benchmarks" -c Release -o "$TMP/bench" -v q -nologo >/dev/null
fi
DLL=$TMP/bin/dataplane-node.dll

# The three namespaces, their veths and $TMP/cfg (perf/rig-topology.sh).
source "$ROOT/perf/rig-topology.sh"

busy() { awk '/^cpu /{print $2+$3+$4+$7+$8}' /proc/stat; }          # user nice system irq softirq, in ticks
pcpu() { awk '{print $14+$15}' /proc/$1/stat 2>/dev/null || echo 0; }  # utime + stime of a process, in ticks
pusr() { awk '{print $14}' /proc/$1/stat 2>/dev/null || echo 0; }      # utime only
cnt() { ip netns exec $1 cat /sys/class/net/$2/statistics/$3; }
# CPU time in ns of every thread of the given processes (schedstat: exact, unlike the tick-sampled /proc/stat
# columns), so other load on the machine does not count; softirq work runs inside these tasks' time.
tns() { local s=0 a t; for p in "$@"; do for t in /proc/$p/task/*/schedstat; do read -r a _ < $t 2>/dev/null && s=$((s + a)); done; done; echo $s; }
KSOFTIRQD=$(pgrep -x 'ksoftirqd/[0-9]+' | tr '\n' ' ')
HZ=$(getconf CLK_TCK)

kernel_on() {
  ip -n $D addr add 198.18.1.1/24 dev $IA; ip -n $D addr add 198.18.2.1/24 dev $IB
  ip netns exec $D sysctl -qw net.ipv4.ip_forward=1
  ip -n $D neigh replace $SINK_IP lladdr $SINK_MAC dev $IB nud permanent
  ip -n $D neigh replace 198.18.1.2 lladdr $MC dev $IA nud permanent
  if command -v nft >/dev/null; then
    # nft 1.0.6 wants the closing braces on lines of their own (one line "accept; } }" is a syntax error).
    if ip netns exec $D nft -f - <<NFT
table inet rig { chain forward { type filter hook forward priority 0; policy drop;
  ct state established,related accept; ip saddr 198.18.1.0/24 ip daddr 198.18.2.0/24 udp dport 9 accept; ip saddr 198.18.1.0/24 ip daddr 198.18.2.0/24 accept
}
}
NFT
    then echo "nftables forward chain (policy drop, accept 198.18.1.0/24 → 198.18.2.0/24)" > $TMP/policy
    else echo "no nftables policy (nft refused the ruleset)" > $TMP/policy; fi
  else echo "no nftables policy (nft not installed)" > $TMP/policy; fi
}
kernel_off() {
  ip netns exec $D nft delete table inet rig 2>/dev/null || true
  ip netns exec $D sysctl -qw net.ipv4.ip_forward=0
  ip -n $D addr flush dev $IA; ip -n $D addr flush dev $IB
}

xdp_pass_on() {
  printf '#include <linux/bpf.h>\n__attribute__((section("xdp"), used)) int pass(struct xdp_md *c) { return XDP_PASS; }\nchar _license[] __attribute__((section("license"), used)) = "GPL";\n' > $TMP/pass.c
  clang -O2 -target bpf -I/usr/include/$(uname -m)-linux-gnu -c $TMP/pass.c -o $TMP/pass.o
  ip -n $V link set dev $IS xdpdrv obj $TMP/pass.o sec xdp
}

# run_case NAME SIZE: prints "NAME SIZE offered_mpps delivered_mpps loss fwd_ns_per_pkt sys_ns_per_pkt"
run_case() {
  local name=$1 size=$2 fwd=0
  case $name in
    kernel) kernel_on ;;
    af_packet|af_xdp|af_xdp_generic|ebpf|ebpf_native)
      rm -f $TMP/fwd.log; : > $TMP/fwd.log   # a fresh log: never match the previous case's ready line
      local backend=${name%_generic} mode=auto extra=""; [ $name = af_xdp_generic ] && mode=generic
      # ebpf: the next case needs the veths bare; the kernel's per-program run time is printed on exit.
      case $name in ebpf*) backend=ebpf; extra=--bpf-detach-on-exit; sysctl -qw kernel.bpf_stats_enabled=1 ;; esac
      # A native XDP redirect into a veth is received only if the peer runs NAPI: an XDP program (XDP_PASS) on the
      # sink veth, as a pod would need one — what Dataplane.Ebpf's dp_xdp_pass is for.
      [ $name = ebpf_native ] && { mode=native; xdp_pass_on; }
      ip netns exec $D dotnet "$DLL" run --config $TMP/cfg --backend $backend --xdp-mode $mode $extra --poll-sleep-us ${POLL_US:-50} --poll-spin ${POLL_SPIN:-256} ${POLL_MODE:+--poll-mode $POLL_MODE} --socket $TMP/agent.sock --state-dir $TMP/state > $TMP/fwd.log 2>&1 &
      fwd=$!; PIDS+=($fwd)
      for i in $(seq 100); do grep -q "run: forwarding" $TMP/fwd.log && break; sleep 0.2; done
      grep -q "run: forwarding" $TMP/fwd.log || { cat $TMP/fwd.log >&2; return 1; } ;;
  esac
  if [ "${GEN:-testpmd}" = paced ]; then
    # Our paced AF_PACKET generator at a fixed offered load; it sleeps between bursts, so busy time is real work.
    timeout -s INT $((SECS + 8)) ip netns exec $C dotnet "$TMP/bench/Dataplane.Benchmarks.dll" pktgen $IC $MA \
        198.18.1.2 $SINK_IP $size ${PPS:-200000} $((SECS + 4)) > $TMP/gen.log 2>&1 &
  else
    timeout -s INT $((SECS + 8)) ip netns exec $C dpdk-testpmd -l 0-1 --no-huge -m 1024 --no-pci --file-prefix=gen$S \
        --vdev=net_af_xdp0,iface=$IC --log-level=lib.eal:error -- --forward-mode=txonly --eth-peer=0,$MA \
        --tx-ip=198.18.1.2,$SINK_IP --txpkts=$size --total-num-mbufs=16384 --no-mlockall --auto-start --stats-period 1 \
        > $TMP/gen.log 2>&1 &
  fi
  local gen=$!; PIDS+=($gen)
  sleep 3
  local genpid; genpid=$(pgrep -n -f "file-prefix=gen$S|pktgen $IC" || echo $gen)
  local t0 r0 b0 g0 f0; t0=$(cnt $C $IC tx_packets); r0=$(cnt $V $IS rx_packets); b0=$(busy); g0=$(pcpu $genpid)
  local fp=0; [ $fwd -ne 0 ] && fp=$(pgrep -n -f "dataplane-node.dll run --config $TMP/cfg" || echo 0)
  f0=$([ $fp -ne 0 ] && pcpu $fp || echo 0); local u0; u0=$([ $fp -ne 0 ] && pusr $fp || echo 0)
  local fpids="$genpid $KSOFTIRQD"; [ $fp -ne 0 ] && fpids="$fpids $fp"; local k0; k0=$(tns $fpids)
  sleep $SECS
  local t1 r1 b1 g1 f1; t1=$(cnt $C $IC tx_packets); r1=$(cnt $V $IS rx_packets); b1=$(busy); g1=$(pcpu $genpid)
  f1=$([ $fp -ne 0 ] && pcpu $fp || echo 0); local u1; u1=$([ $fp -ne 0 ] && pusr $fp || echo 0)
  local k1; k1=$(tns $fpids)
  kill -INT $gen 2>/dev/null || true; wait $gen 2>/dev/null || true
  if [ $fwd -ne 0 ]; then kill -TERM $fwd; wait $fwd 2>/dev/null || true; grep -E "^exit: (rx|  port|  ebpf)" $TMP/fwd.log | sed "s/^/$name $size: /" >&2 || true; fi
  case $name in ebpf*) sysctl -qw kernel.bpf_stats_enabled=0 ;; esac
  [ $name = kernel ] && kernel_off
  [ $name = ebpf_native ] && ip -n $V link set dev $IS xdpdrv off
  awk -v n=$name -v s=$size -v t=$((t1 - t0)) -v r=$((r1 - r0)) -v b=$((b1 - b0)) -v g=$((g1 - g0)) -v f=$((f1 - f0)) \
      -v u=$((u1 - u0)) -v k=$((k1 - k0)) -v secs=$SECS -v hz=$HZ 'BEGIN {
        off = t / secs / 1e6; del = r / secs / 1e6; loss = t > 0 ? 1 - r / t : 0;
        fns = (f > 0 && r > 0) ? f / hz * 1e9 / r : 0; sns = r > 0 ? (b - g) / hz * 1e9 / r : 0;
        uns = (u > 0 && r > 0) ? u / hz * 1e9 / r : 0;
        printf "%s %d %.3f %.3f %.3f %.0f %.0f %.0f %d %.0f %d %.0f\n", n, s, off, del, loss, fns, sns, uns, t, b / hz * 1e9, r, k }'
}

echo "rig: $SECS s per case, generator ${GEN:-testpmd} ($([ "${GEN:-testpmd}" = paced ] && echo "AF_PACKET at ${PPS:-200000} frames/s" || echo "dpdk-testpmd txonly over net_af_xdp")) on $IC" >&2
RESULTS=()
for size in ${SIZES:-64 1500}; do
  for name in none ${CASES:-kernel af_packet af_xdp af_xdp_generic ebpf}; do
    RESULTS+=("$(run_case $name $size)")
  done
done
echo "rig: kernel case: $(cat $TMP/policy 2>/dev/null)" >&2
printf 'rig: raw (name size offered delivered loss fwd-ns/pkt sys-ns/pkt fwd-user-ns/pkt sent busy-ns delivered task-ns): %s\n' "${RESULTS[@]}" >&2
# CPU per forwarded packet: the machine's busy time minus what the generator alone costs for the same number
# of sent frames (case "none": no forwarder, the frames die at the dataplane namespace's veth), divided by the
# frames delivered. The kernel forwards in softirq on the generator's own CPU, so subtracting the generator
# process's time (the column before) undercounts it; the baseline does not. Machine busy time also counts
# whatever else runs on the machine; "tasks" counts only the generator, the forwarder and ksoftirqd (exact
# schedstat time, softirqs included), the same way over the same baseline: the column to read on a shared machine.
printf '\n| forwarder | frame | offered Mpps | delivered Mpps | loss | vs kernel | fwd CPU ns/pkt (process) | CPU ns/pkt over generator-only baseline | vs kernel | tasks CPU ns/pkt over baseline | vs kernel |\n'
printf '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
for r in "${RESULTS[@]}"; do
  set -- $r
  [ "$1" = none ] && continue
  k=$(printf '%s\n' "${RESULTS[@]}" | awk -v s=$2 '$1=="kernel" && $2==s')
  z=$(printf '%s\n' "${RESULTS[@]}" | awk -v s=$2 '$1=="none" && $2==s')
  awk -v row="$r" -v k="$k" -v z="$z" 'BEGIN {
    split(row, a, " "); split(k, kk, " "); split(z, zz, " ");
    base = (zz[9] > 0) ? zz[10] / zz[9] : 0;                       # busy ns per frame sent, generator alone
    cost = (a[11] > 0) ? (a[10] - base * a[9]) / a[11] : 0;
    kcost = (kk[11] > 0) ? (kk[10] - base * kk[9]) / kk[11] : 0;
    tbase = (zz[9] > 0) ? zz[12] / zz[9] : 0;                      # tasks ns per frame sent, generator alone
    tcost = (a[11] > 0) ? (a[12] - tbase * a[9]) / a[11] : 0;
    tkcost = (kk[11] > 0) ? (kk[12] - tbase * kk[9]) / kk[11] : 0;
    rd = (kk[4] > 0) ? a[4] / kk[4] : 0; rc = (kcost > 0) ? cost / kcost : 0; fs = (a[6] > 0) ? sprintf("%.0f", a[6]) : "—";
    trc = (tkcost > 0) ? tcost / tkcost : 0;
    printf "| %s | %d B | %.3f | %.3f | %.1f %% | %.2f× | %s | %.0f | %.2f× | %.0f | %.2f× |\n", a[1], a[2], a[3], a[4], a[5] * 100, rd, fs, cost, rc, tcost, trc }'
done

# DPDK: testpmd's io forwarding vs our DPDK backend on the same vdevs (its own topology and table; DPDK=0 skips).
if [ "${DPDK:-1}" = 1 ] && command -v dpdk-testpmd >/dev/null; then
  echo "rig: DPDK forwarders (perf/dpdk-rig.sh)" >&2
  bash "$ROOT/perf/dpdk-rig.sh" "$SECS"
fi
