#!/usr/bin/env bash
# Lpm4 vs DPDK rte_lpm, in TSC cycles per lookup, on the same core in the same go.
#
# 1. Runs DPDK's own `dpdk-test` `lpm_perf_autotest` (package dpdk-dev): ~1.08 M rules, 2048 tbl8 groups,
#    1024 x 4096 uniformly random addresses; it prints average TSC cycles per single / bulk(32) / x4 lookup.
#    Its add phase takes minutes (rte_lpm keeps rules in sorted arrays); once the three lookup figures are
#    printed the script stops it (its delete phase is not compared).
# 2. Right after, on the same core, runs `Dataplane.Benchmarks lpm-cycles`: the same rule set and lookup
#    pattern on our Lpm4, timed with rdtsc the same way (see perf/Dataplane.Benchmarks/Routing/LpmCycles.cs).
# 3. Prints a markdown table of both and the ratio (target: ours <= 1.0x rte_lpm).
#
# On a shared 2-vCPU machine the figures move with what runs on the other vCPU; compare only within a run.
# Usage: perf/lpm-vs-rte.sh [cpu]   (default cpu 0)
set -euo pipefail
cd "$(dirname "$0")/.."
cpu="${1:-0}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

dotnet build -c Release perf/Dataplane.Benchmarks -nologo -v q >"$out/build.txt" 2>&1 || { cat "$out/build.txt"; exit 1; }
bench="perf/Dataplane.Benchmarks/bin/Release/net10.0/Dataplane.Benchmarks.dll"

echo "running dpdk-test lpm_perf_autotest on cpu $cpu (takes ~3 min, mostly rte_lpm adds)..." >&2
dpdk-test --no-huge -m 2048 --no-pci -l "$cpu" < <(echo lpm_perf_autotest; echo quit) >"$out/rte.txt" 2>&1 &
rte_pid=$!
while kill -0 "$rte_pid" 2>/dev/null && ! grep -q "LPM LookupX4" "$out/rte.txt"; do sleep 1; done
kill "$rte_pid" 2>/dev/null || true
wait "$rte_pid" 2>/dev/null || true
grep -q "LPM LookupX4" "$out/rte.txt" || { echo "dpdk-test did not report lookups:" >&2; cat "$out/rte.txt" >&2; exit 1; }

echo "running Dataplane.Benchmarks lpm-cycles on cpu $cpu..." >&2
taskset -c "$cpu" dotnet "$bench" lpm-cycles >"$out/ours.txt"

rte_single=$(awk '/^Average LPM Lookup:/ {print $4}' "$out/rte.txt")
rte_bulk=$(awk '/^BULK LPM Lookup:/ {print $4}' "$out/rte.txt")
rte_x4=$(awk '/^LPM LookupX4:/ {print $3}' "$out/rte.txt")
ours_single=$(sed -n 's/^RESULT .*single=\([0-9.]*\).*/\1/p' "$out/ours.txt")
ours_bulk=$(sed -n 's/^RESULT .*bulk=\([0-9.]*\).*/\1/p' "$out/ours.txt")
ours_x4=$(sed -n 's/^RESULT .*x4=\([0-9.]*\).*/\1/p' "$out/ours.txt")
ghz=$(sed -n 's/^RESULT .*tsc_ghz=\([0-9.]*\).*/\1/p' "$out/ours.txt")

row() { awk -v n="$1" -v o="$2" -v r="$3" 'BEGIN { printf "| %s | %.1f | %.1f | %.2fx |\n", n, o, r, o / r }'; }
echo
echo "rte_lpm: $(grep -E '^(No. routes|Unique added)' "$out/rte.txt" | tr '\n' ' ')"
echo "ours:    $(grep -E '^(No. routes|Unique added|Counter)' "$out/ours.txt" | tr '\n' ' ')"
echo
echo "| lookup (cycles/lookup, TSC ${ghz} GHz, cpu ${cpu}) | Lpm4 (ours) | rte_lpm | ours / rte |"
echo "|---|---:|---:|---:|"
row "single" "$ours_single" "$rte_single"
row "bulk (32)" "$ours_bulk" "$rte_bulk"
row "x4" "$ours_x4" "$rte_x4"
