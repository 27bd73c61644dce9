#!/usr/bin/env bash
# L7 rig: our node proxy (dataplane-node run, a CiliumNetworkPolicy with two HTTP rules) against HAProxy doing the same
# ACL job, with the same client (wrk), the same upstream server (nginx) and the same datapath in between.
#
# Pods on one node, each a network namespace whose eth0 is a veth to the agent's namespace (the `lxc…` names the CNI
# plugin makes), as tests/Dataplane.Testing/Netns/PodTopology does: client 198.18.100.10 (wrk), server 198.18.100.20
# (nginx, ports 8080 and 8081), haproxy 198.18.100.30 (HAProxy on 8080). One agent forwards them all, with a policy:
#   server ingress from client on 8080: rules.http [GET /public.*, POST /api/.*]  → redirected to the node's proxy
#   server ingress from client on 8081: L3/L4 only                                → direct L4 forwarding
#   server ingress from haproxy on 8080, haproxy ingress from client on 8080: L3/L4 only
# Three targets, each on the same path through the datapath (client → datapath → proxy → datapath → server):
#   l4      wrk → server:8081          no proxy (the datapath alone)
#   ours    wrk → server:8080          redirected to our proxy, which matches the two rules and forwards with YARP
#   haproxy wrk → haproxy:8080         HAProxy 2.6: http-request allow if the same method/path, else deny 403
# Both proxies answer a request no rule allows with 403 "Access denied" (checked before measuring). Three modes:
#   keepalive  wrk -c CONNS over persistent connections; close  the same with "Connection: close" (a new
#   connection per request; both proxies keep their upstream connections alive); latency  one connection, one
#   request at a time (unloaded p50/p99: the added latency of the redirect is ours − l4).
# CPU: the agent (datapath and our proxy, one process) and HAProxy are pinned to core PCPU (default 1), wrk and
# nginx to core LCPU (default 0); so each proxy has at most the one core it shares with the datapath. The exact CPU
# time of each proxy is read over each run: HAProxy's process, and our agent's less its datapath workers'
# (dp-worker-* threads); requests/s per proxy core = requests / that CPU time.
# ROUNDS rounds (default 3), the targets interleaved in each (order reversed every other round); medians printed.
# Bounded: each run SECS seconds (default 5) under a timeout; everything is removed on exit, even on failure.
# Usage: sudo bash perf/l7-vs-haproxy.sh [SECS]   (root, iproute2, haproxy, wrk, nginx-light: ./dev setup l7)
#        ROUNDS=N CONNS=N MODES="keepalive close latency" PCPU=N LCPU=N WARM=SECS; BIN=DIR reuses a built
#        dataplane-node; PERF=FILE writes a perf(1) profile of the agent (by thread, by symbol) under load to FILE.
set -euo pipefail
SECS=${1:-5} ROUNDS=${ROUNDS:-3} CONNS=${CONNS:-16} PCPU=${PCPU:-1} LCPU=${LCPU:-0}
MODES=${MODES:-keepalive close latency}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
for t in ip haproxy wrk nginx taskset; do command -v $t >/dev/null || { echo "rig: $t is missing (./dev setup l7)" >&2; exit 1; }; done
S=$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')
D=dpl7-d-$S C=dpl7-c-$S V=dpl7-s-$S H=dpl7-h-$S
TMP=$(mktemp -d /tmp/dp-l7rig-XXXXXX)
PIDS=()

cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for i in $(seq 30); do
    alive=0; for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break; sleep 0.5
  done
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  # The agent deletes its proxy namespace (dp-l7-<inode of its own>) when it stops; if it was killed, do it here.
  [ -e /run/netns/$D ] && ip netns del dp-l7-$(stat -L -c %i /run/netns/$D) 2>/dev/null || true
  for n in $C $V $H $D; do
    ip netns pids $n 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
    ip netns del $n 2>/dev/null || true
  done
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

if [ -n "${BIN:-}" ]; then DLL=$BIN/dataplane-node.dll
else
  echo "rig: building dataplane-node" >&2
  dotnet build "$ROOT/hosts/Dataplane.Node" -c Release -o "$TMP/bin" -v q -nologo >/dev/null
  DLL=$TMP/bin/dataplane-node.dll
fi

source "$ROOT/perf/l7-rig-topology.sh"

# The agent, as a user runs it (defaults but the API socket and state directory, which are the rig's own).
# PERF=FILE: perf(1) samples the agent during round 1's first proxied run (the JIT's perf map names .NET frames).
[ -n "${PERF:-}" ] && export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0
taskset -c $PCPU ip netns exec $D dotnet "$DLL" run --config $TMP/cfg --backend af_packet \
    --socket $TMP/agent.sock --state-dir $TMP/state > $TMP/agent.log 2>&1 &
AGPID=$!; PIDS+=($AGPID)
for i in $(seq 300); do grep -q "run: forwarding" $TMP/agent.log && break; kill -0 $AGPID 2>/dev/null || break; sleep 0.2; done
grep -q "run: forwarding" $TMP/agent.log && grep -q "agent: L7 proxy listening" $TMP/agent.log || { cat $TMP/agent.log >&2; exit 1; }

taskset -c $LCPU ip netns exec $V nginx -p $TMP/nginx -c $TMP/nginx/nginx.conf -e $TMP/nginx/error.log > $TMP/nginx.log 2>&1 &
PIDS+=($!)
taskset -c $PCPU ip netns exec $H haproxy -db -f $TMP/haproxy.cfg > $TMP/haproxy.log 2>&1 &
HAPID=$!; PIDS+=($HAPID)   # taskset and ip exec their commands: these are the agent's and HAProxy's own pids
sleep 1

# Both proxies do the same job: GET /public passes (nginx answers), POST /admin gets 403 "Access denied".
check() {
  local url=$1 out
  out=$(ip netns exec $C curl -sS --max-time 10 -w '|%{http_code}' "$url/public") || true
  [ "$out" = "hello from the server|200" ] || { echo "rig: GET $url/public answered '$out'" >&2; cat $TMP/agent.log $TMP/haproxy.log >&2; return 1; }
  out=$(ip netns exec $C curl -sS --max-time 10 -w '|%{http_code}' -X POST -d x=1 "$url/admin" | tr -d '\r\n') || true
  [ "$out" = "Access denied|403" ] || { echo "rig: POST $url/admin answered '$out'" >&2; return 1; }
}
check http://198.18.100.20:8080
check http://198.18.100.30:8080
out=$(ip netns exec $C curl -sS --max-time 10 -X POST -d x=1 -w '|%{http_code}' http://198.18.100.20:8081/admin) || true
[ "$out" = "hello from the server|200" ] || { echo "rig: the L4 port answered '$out'" >&2; exit 1; }
echo "rig: both proxies answer GET /public 200 and POST /admin 403 'Access denied'; the L4 port passes everything" >&2

url_of() { case $1 in l4) echo http://198.18.100.20:8081/public ;; ours) echo http://198.18.100.20:8080/public ;; haproxy) echo http://198.18.100.30:8080/public ;; esac; }
# CPU time in ns of a process (utime + stime: counts its threads that have exited too, as the thread pool's do) or
# of its datapath workers (dp-worker-*, long-lived threads).
HZ=$(getconf CLK_TCK)
cpu_all() { awk -v hz=$HZ '{printf "%.0f\n", ($14 + $15) * 1e9 / hz}' /proc/$1/stat; }
cpu_workers() { local s=0 t c; for t in /proc/$1/task/*; do
  c=$(cat $t/comm 2>/dev/null) || continue; [[ $c == dp-worker-* ]] || continue
  s=$((s + $(awk '{print $14 + $15}' $t/stat 2>/dev/null || echo 0))); done; echo $((s * 1000000000 / HZ)); }

# run MODE TARGET: prints "MODE TARGET rps p50_us p99_us proxy_cpu_ns datapath_cpu_ns requests errors"
run() {
  local mode=$1 target=$2 url args=()
  url=$(url_of $target)
  case $mode in
    keepalive) args=(-t1 -c$CONNS) ;;
    close) args=(-t1 -c$CONNS -H "Connection: close") ;;
    latency) args=(-t1 -c1) ;;
  esac
  local p0 w0 p1 w1 pid=$AGPID prof=0 stat=0
  [ $target = haproxy ] && pid=$HAPID
  p0=$(cpu_all $pid); w0=$(cpu_workers $AGPID)
  if [ -n "${PERF:-}" ] && [ $target != l4 ] && [ $mode = keepalive ] && [ ! -e $TMP/stat.$target ]; then
    perf stat -x, -e raw_syscalls:sys_enter,context-switches -p $pid -o $TMP/stat.$target -- sleep $SECS >/dev/null 2>&1 & stat=$!
    [ $target = ours ] && { perf record -q -F 1999 -g -p $AGPID -o $TMP/perf.data -- sleep $SECS >/dev/null 2>&1 & prof=$!; }
  fi
  # PERF: wrk also prints the first answers that were not 200 (a Lua callback per response: costs wrk some CPU).
  [ -n "${PERF:-}" ] && args+=(-s $TMP/status.lua)
  timeout $((SECS + 20)) taskset -c $LCPU ip netns exec $C wrk "${args[@]}" -d${SECS}s --latency "$url" > $TMP/wrk.out 2>&1 || true
  grep -h "^status " $TMP/wrk.out | sort | uniq -c | sed "s/^/$mode $target: /" >&2 || true
  p1=$(cpu_all $pid); w1=$(cpu_workers $AGPID)
  grep -h "Socket errors" $TMP/wrk.out | sed "s/^/$mode $target: /" >&2 || true
  if [ $stat != 0 ]; then
    wait $stat || true
    { echo "== $mode $target: per request ($(awk '/requests in/ {print $1}' $TMP/wrk.out) requests)"; grep -v '^#' $TMP/stat.$target; } >> "$PERF.stat"
  fi
  if [ $prof != 0 ]; then
    wait $prof || true
    { echo "== $mode $target: CPU by thread"; perf report -i $TMP/perf.data --no-children --sort comm --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -20
      echo "== by symbol"; perf report -i $TMP/perf.data --no-children --sort dso,sym --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -80; } > "$PERF"
  fi
  # Our proxy: the agent's CPU but its datapath workers'; HAProxy: its process's.
  local proxy=$((p1 - p0)); [ $target = ours ] && proxy=$((proxy - (w1 - w0))); [ $target = l4 ] && proxy=0
  awk -v m=$mode -v t=$target -v p=$proxy -v w=$((w1 - w0)) '
    function us(v) { if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return v * 1000; if (v ~ /s$/) return v * 1e6; return v }
    /^ +50%/ { p50 = us($2) } /^ +99%/ { p99 = us($2) } /Requests\/sec:/ { rps = $2 }
    /requests in/ { n = $1 } /Non-2xx/ { e += $NF } /Socket errors/ { gsub(/,/, ""); e += $4 + $6 + $8 + $10 }
    END { printf "%s %s %.0f %.0f %.0f %.0f %.0f %d %d\n", m, t, rps, p50, p99, p, w, n, e }' $TMP/wrk.out
}

cat > $TMP/status.lua <<'LUA'
local shown = 0
response = function(status, headers, body)
  if status ~= 200 and shown < 20 then shown = shown + 1; io.write("status " .. status .. " " .. (body or ""):gsub("%s+$", "") .. "\n") end
end
LUA

# Warm-up, WARM seconds (default 10) per target and mode: nginx, both proxies' upstream pools, and our JIT — tiered
# compilation recompiles the hot methods with profile data over the first seconds of load, on the same core.
for target in l4 ours haproxy; do for h in keep-alive close; do
  timeout $((${WARM:-10} + 20)) taskset -c $LCPU ip netns exec $C wrk -t1 -c$CONNS -d${WARM:-10}s -H "Connection: $h" "$(url_of $target)" >/dev/null 2>&1 || true
done; done

echo "rig: $ROUNDS rounds × modes ($MODES) × targets (l4 ours haproxy), $SECS s each; proxies on core $PCPU, wrk and nginx on core $LCPU; load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
: > $TMP/results
for r in $(seq $ROUNDS); do
  order="l4 ours haproxy"; [ $((r % 2)) = 0 ] && order="haproxy ours l4"
  for mode in $MODES; do for target in $order; do
    line=$(run $mode $target); echo "round $r: $line" >&2; echo "$line" >> $TMP/results
  done; done
done
LOADEND=$(cut -d' ' -f1-3 /proc/loadavg)

# Medians per mode and target, then the table with the ratios ours / HAProxy.
awk -v conns=$CONNS -v secs=$SECS -v rounds=$ROUNDS -v load="$LOADEND" '
  function median(key, col,   n, i, j, t, a) {
    n = cnt[key]; for (i = 1; i <= n; i++) a[i] = v[key, i, col]
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
  { k = $1 " " $2; c = ++cnt[k]; for (i = 3; i <= 9; i++) v[k, c, i] = $i
    # proxy CPU per request (µs) and requests per proxy-core-second for this run
    v[k, c, 10] = $8 > 0 ? $6 / 1000 / $8 : 0; v[k, c, 11] = $6 > 0 ? $8 / ($6 / 1e9) : 0; modes[$1] = 1 }
  END {
    printf "\n| mode | target | req/s | p50 µs | p99 µs | proxy CPU µs/req | req/s per proxy core | errors |\n|---|---|---:|---:|---:|---:|---:|---:|\n"
    split("keepalive close latency", order, " ")
    for (mi = 1; mi <= 3; mi++) { m = order[mi]; if (!(m in modes)) continue
      split("l4 ours haproxy", ts, " ")
      for (ti = 1; ti <= 3; ti++) { k = m " " ts[ti]; if (!(k in cnt)) continue
        rps[k] = median(k, 3); p50[k] = median(k, 4); p99[k] = median(k, 5); cpu[k] = median(k, 10); core[k] = median(k, 11)
        err = 0; for (i = 1; i <= cnt[k]; i++) err += v[k, i, 9]
        printf "| %s | %s | %.0f | %.0f | %.0f | %s | %s | %d |\n", m, ts[ti], rps[k], p50[k], p99[k],
          ts[ti] == "l4" ? "–" : sprintf("%.1f", cpu[k]), ts[ti] == "l4" ? "–" : sprintf("%.0f", core[k]), err }
      o = m " ours"; h = m " haproxy"; l = m " l4"
      if ((o in rps) && (h in rps) && rps[h] > 0 && core[h] > 0)
        printf "| %s | **ours / HAProxy** | **%.2f×** | %.2f× | %.2f× | %.2f× | **%.2f×** | |\n", m, rps[o] / rps[h], p50[o] / p50[h], p99[o] / p99[h], cpu[o] / cpu[h], core[o] / core[h]
      if ((o in rps) && (l in rps))
        printf "| %s | ours − l4 (redirect) | | %+.0f | %+.0f | | | |\n", m, p50[o] - p50[l], p99[o] - p99[l] }
    printf "\nwrk -t1, %d connections (latency: 1), %d s per run, medians of %d rounds; load average at the end %s\n", conns, secs, rounds, load }' $TMP/results
grep -E "^exit: " $TMP/agent.log >&2 || true
