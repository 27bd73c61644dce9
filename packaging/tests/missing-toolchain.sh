#!/usr/bin/env bash
# The build fails loudly, naming the Debian package and the set-up command, when a tool the BPF programs need is
# missing — never a library without its program. Each case points one of build/Bpf.targets' paths at nothing and
# builds the projects that embed BPF programs; the build must fail with that error. Then a normal build must pass
# and embed the programs (read back from the assemblies' manifest resources).
set -euo pipefail
cd "$(dirname "$0")/../.."
fail() { echo "missing-toolchain: FAIL: $*" >&2; exit 1; }
log=$(mktemp); trap 'rm -f "$log"' EXIT
nowhere=/nonexistent-$RANDOM

expect_error() {  # project, property=value, error code, package named in the message
  local project=$1 prop=$2 code=$3 package=$4
  if dotnet build "$project" -c Release -nologo -p:"$prop" >"$log" 2>&1; then
    fail "$project built with $prop (expected error $code)"
  fi
  grep -q "error $code:.*Debian package: $package.*dev setup build" "$log" \
    || { tail -20 "$log" >&2; fail "$project with $prop: no '$code' error naming $package and ./dev setup build"; }
  echo "missing-toolchain: ok   $project with $prop fails with $code naming $package"
}

for project in Dataplane.Linux Dataplane.Ebpf; do
  expect_error $project "BpfClang=$nowhere/clang" DPBPF001 clang
  expect_error $project "BpfLibbpfHeader=$nowhere/bpf_helpers.h" DPBPF002 libbpf-dev
  expect_error $project "BpfUapiHeader=$nowhere/bpf.h" DPBPF003 linux-libc-dev
done

# With the tools present the same projects build and carry their programs.
dotnet build Dataplane.Ebpf -c Release -nologo -v quiet -clp:ErrorsOnly >"$log" 2>&1 || { cat "$log" >&2; fail "normal build failed"; }
for dll in Dataplane.Linux/bin/Release/net10.0/Dataplane.Linux.dll Dataplane.Ebpf/bin/Release/net10.0/Dataplane.Ebpf.dll; do
  for res in $(case $dll in *Linux*) echo xsk_redirect.bpf.o ;; *) echo dataplane.bpf.o dataplane.tc.bpf.o ;; esac); do
    grep -qa "$res" "$dll" || fail "$dll does not embed $res"
  done
done
echo "missing-toolchain: ok   the normal build embeds xsk_redirect.bpf.o, dataplane.bpf.o and dataplane.tc.bpf.o"
