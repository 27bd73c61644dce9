#!/usr/bin/env bash
# Lpm4 vs DPDK rte_lpm, in TSC cycles per lookup, on the same core in the same go.
#
# 1. Runs DPDK's own `dpdk-test` `lpm_perf_autotest` (package dpdk-dev): ~1.08 M rules, 2048 tbl8 groups,
#    1024 x 4096 uniformly random addresses; it prints average TSC cycles per single / bulk(32) / x4 lookup.
#    Its add phase takes minutes (rte_lpm keeps rules in sorted arrays); once the three lookup figures are
#    printed the script stops it — or, with LPM_UPDATES=1, once it has deleted every rule too, so the add and
#    delete cost per rule are compared as well (a BGP table arrives and churns as a stream of such updates).
# 2. Right after, on the same core, runs `Dataplane.Benchmarks lpm-cycles`: the same rule set and lookup
#    pattern on our Lpm4, timed with rdtsc the same way (see perf/Dataplane.Benchmarks/Routing/LpmCycles.cs),
#    once with tbl24 on transparent huge pages (our default) and once on 4 KiB pages (--no-thp), which is
#    like for like with dpdk-test --no-huge.
# 3. Prints a markdown table of both and the ratio (target: ours <= 1.0x rte_lpm).
#
# On a shared 2-vCPU machine the figures move with what runs on the other vCPU; compare only within a run.
# Usage: perf/lpm-vs-rte.sh [cpu]   (default cpu 0; LPM_RUNS=n runs of ours per page size, default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
cpu="${1:-0}"
out="$(mktemp -d)"
trap 'rm -rf "$out" "/var/run/dpdk/lpmperf$$"' EXIT

dotnet build -c Release perf/Dataplane.Benchmarks -nologo -v q >"$out/build.txt" 2>&1 || { cat "$out/build.txt"; exit 1; }
bench="perf/Dataplane.Benchmarks/bin/Release/net10.0/Dataplane.Benchmarks.dll"

echo "running dpdk-test lpm_perf_autotest on cpu $cpu (takes ~3 min, mostly rte_lpm adds)..." >&2
dpdk-test --no-huge -m 2048 --no-pci -l "$cpu" --file-prefix "lpmperf$$" < <(echo lpm_perf_autotest; echo quit) >"$out/rte.txt" 2>&1 &
rte_pid=$!
updates="${LPM_UPDATES:-0}"
last_line="LPM LookupX4"
[ "$updates" = 1 ] && last_line="Average LPM Delete"
while kill -0 "$rte_pid" 2>/dev/null && ! grep -qs "$last_line" "$out/rte.txt"; do sleep 1; done
kill "$rte_pid" 2>/dev/null || true
wait "$rte_pid" 2>/dev/null || true
grep -q "$last_line" "$out/rte.txt" || { echo "dpdk-test did not report '$last_line':" >&2; cat "$out/rte.txt" >&2; exit 1; }

# A fresh process's 64 MiB table lands on different physical pages each time, and on this VM the lookup
# cost moves with them (rte_lpm's table sits in a 2 GiB preallocated region and varies less), so ours runs
# several times per page size and the table shows the median, with the range beside it.
runs="${LPM_RUNS:-5}"
echo "running Dataplane.Benchmarks lpm-cycles on cpu $cpu, $runs runs each with tbl24 on THP and on 4 KiB pages..." >&2
for ((i = 1; i <= runs; i++)); do
    taskset -c "$cpu" dotnet "$bench" lpm-cycles >"$out/ours.$i.txt"
    taskset -c "$cpu" dotnet "$bench" lpm-cycles --no-thp >"$out/ours4k.$i.txt"
done

rte() { awk -v key="$1" -v col="$2" 'index($0, key) == 1 { print $col }' "$out/rte.txt"; }
# Median and range of one RESULT field over the runs of one kind: "median min max".
ours() { sed -n "s/^RESULT .*$1=\([0-9.]*\).*/\1/p" "$out"/"$2".*.txt | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)], v[1], v[NR] }'; }
ghz=$(ours tsc_ghz ours | cut -d' ' -f1)

row() {
    awk -v n="$1" -v o="$(ours "$2" ours)" -v o4="$(ours "$2" ours4k)" -v r="$3" 'BEGIN {
        split(o, a, " "); split(o4, b, " ")
        printf "| %s | %.1f (%.1f-%.1f) | %.1f (%.1f-%.1f) | %.1f | %.2fx | %.2fx |\n", n, a[1], a[2], a[3], b[1], b[2], b[3], r, a[1] / r, b[1] / r }'
}
echo
echo "rte_lpm: $(grep -E '^(No. routes|Unique added)' "$out/rte.txt" | tr '\n' ' ')"
echo "ours:    $(grep -E '^(No. routes|Unique added|Counter|tbl24 pages)' "$out/ours.1.txt" | tr '\n' ' ')"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine moves these figures; compare within a run)"
echo
echo "TSC cycles per lookup (TSC ${ghz} GHz, cpu ${cpu}, 1024 x 4096 random addresses; ours: median (min-max) of $runs runs):"
echo
echo "| lookup | Lpm4, THP | Lpm4, 4 KiB pages | rte_lpm (--no-huge) | ours/rte, THP | ours/rte, 4 KiB |"
echo "|---|---:|---:|---:|---:|---:|"
row "single" single "$(rte 'Average LPM Lookup:' 4)"
row "bulk (32)" bulk "$(rte 'BULK LPM Lookup:' 4)"
row "x4" x4 "$(rte 'LPM LookupX4:' 3)"
if [ "$updates" = 1 ]; then
    echo
    echo "TSC cycles per rule update (the same rules added, then deleted in the order added; lower is faster):"
    echo
    echo "| update | Lpm4, THP | Lpm4, 4 KiB pages | rte_lpm (--no-huge) | ours/rte, THP | ours/rte, 4 KiB |"
    echo "|---|---:|---:|---:|---:|---:|"
    row "add" add "$(rte 'Average LPM Add:' 4)"
    row "delete" delete "$(rte 'Average LPM Delete:' 4)"
fi
