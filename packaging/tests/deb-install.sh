#!/usr/bin/env bash
# The .deb as an operator meets it: build it (or take DEB), `dpkg -i` it, check what it installed, start the agent
# with the exact command line of the installed unit's ExecStart (its EnvironmentFile read as systemd does) in a
# fresh network namespace whose eth0 the config names, ask it for its status, attach a pod through the installed
# NativeAOT dataplane-cni (ADD, then DEL), stop the agent with SIGTERM (exit 0), and `dpkg --purge` it.
# Runs as root; refuses to touch an existing installation of the package.
#   packaging/tests/deb-install.sh [DEB]
set -euo pipefail
cd "$(dirname "$0")/../.."
say() { echo "deb-install: $*" >&2; }
fail() { echo "deb-install: FAIL: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root (dpkg -i, network namespaces)"
if dpkg-query -W -f '${db:Status-Status}' dataplane 2>/dev/null | grep -qx installed; then
  fail "the package 'dataplane' is already installed here; this test installs and purges it, so it stops"
fi

id=$(printf '%04x' $((RANDOM % 65536)))
work=$(mktemp -d /tmp/deb-install-XXXXXX)
ns=dpdeb-$id pod_ns=dpdeb-$id-pod
created_state=0
cleanup() {
  set +e
  ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
  ip netns del "$pod_ns" 2>/dev/null
  ip netns del "$ns" 2>/dev/null
  if dpkg-query -W -f '${db:Status-Status}' dataplane 2>/dev/null | grep -q .; then dpkg --purge dataplane >/dev/null 2>&1; fi
  [ "$created_state" = 1 ] && rm -rf /var/lib/dataplane
  rm -rf "$work"
}
trap cleanup EXIT

deb=${1:-}
if [ -z "$deb" ]; then
  say "building the .deb (packaging/package.sh, without the NuGet packages)"
  DATAPLANE_SKIP_NUGET=1 packaging/package.sh "$work/artifacts" >"$work/package.log" 2>&1 \
    || { tail -30 "$work/package.log" >&2; fail "packaging/package.sh failed"; }
  deb=$(ls "$work"/artifacts/dataplane_*.deb)
fi
[ -f "$deb" ] || fail "no .deb at $deb"

say "dpkg -i $(basename "$deb")"
dpkg -i "$deb" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log" >&2; fail "dpkg -i failed"; }
for f in /usr/bin/dataplane-node /usr/lib/cni/dataplane-cni /lib/systemd/system/dataplane-node.service \
         /etc/default/dataplane-node /usr/share/doc/dataplane/README.md /usr/share/doc/dataplane/copyright; do
  [ -e "$f" ] || fail "the package did not install $f"
done
dpkg-query -L dataplane | grep -qx /etc/dataplane || fail "the package does not own /etc/dataplane"
# No .NET on the target: the agent is self-contained, the plugin native (no managed entry assembly beside it).
file_type=$(od -An -c -N4 /usr/lib/cni/dataplane-cni | tr -d ' ')
[ "$file_type" = '177ELF' ] || fail "dataplane-cni is not an ELF executable"
[ ! -e /usr/lib/cni/dataplane-cni.dll ] || fail "dataplane-cni came with a managed assembly"

# The unit's command line, with its EnvironmentFile's variables, as systemd would run it.
exec_start=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/dataplane-node.service)
[ -n "$exec_start" ] || fail "the unit has no ExecStart"
# shellcheck disable=SC1091
. /etc/default/dataplane-node
cmdline=${exec_start//\$DATAPLANE_NODE_ARGS/$DATAPLANE_NODE_ARGS}
say "the unit starts: $cmdline"
case $cmdline in /usr/bin/dataplane-node\ run\ *) ;; *) fail "ExecStart does not run /usr/bin/dataplane-node run: $cmdline" ;; esac

# A node in its own namespace: eth0 (the interface its DataplaneNode names) on a veth, a config that names it.
ip netns add "$ns"
ip netns add "$pod_ns"
ip -n "$ns" link set lo up
ip -n "$ns" link add eth0 type veth peer name uplink netns "$pod_ns"
ip -n "$ns" link set eth0 address 02:00:00:de:b0:01 up
ip -n "$pod_ns" link set uplink up
mkdir -p "$work/etc" "$work/state" "$work/run/dataplane"
cat >"$work/etc/node.yaml" <<EOF
apiVersion: v1
kind: Node
metadata: {name: deb-node}
spec: {podCIDRs: ["198.18.210.0/24"]}
status: {addresses: [{type: InternalIP, address: 198.18.209.1}]}
---
apiVersion: dataplane.io/v1alpha1
kind: DataplaneNode
metadata: {name: deb-node}
spec:
  interfaces:
    - {name: eth0, mac: "02:00:00:de:b0:01", addresses: ["198.18.209.1/24"]}
EOF
[ -d /var/lib/dataplane ] || { mkdir -p /var/lib/dataplane; created_state=1; }

# In the namespace, in a private mount namespace: the unit's paths (/etc/dataplane, /run/dataplane,
# /var/lib/dataplane) are this test's directories, so nothing of the machine's is read or written.
cat >"$work/run-agent.sh" <<EOF
set -u
mount --bind "$work/etc" /etc/dataplane
mount --rbind "$work/run" /run
mount --bind "$work/state" /var/lib/dataplane
$cmdline >"$work/agent.log" 2>&1 &
agent=\$!
up=0
for _ in \$(seq 1 120); do
  if /usr/bin/dataplane-node status --socket /run/dataplane/agent.sock >"$work/status.txt" 2>&1; then up=1; break; fi
  kill -0 \$agent 2>/dev/null || break
  sleep 0.5
done
if [ \$up = 1 ]; then
  cni() { CNI_COMMAND=\$1 CNI_CONTAINERID=deb-$id CNI_NETNS=/run/netns/$pod_ns CNI_IFNAME=eth0 CNI_PATH=/usr/lib/cni \
          /usr/lib/cni/dataplane-cni; }
  conf='{"cniVersion":"1.0.0","name":"pods","type":"dataplane-cni","namespace":"deb","agentSocket":"/run/dataplane/agent.sock"}'
  echo "\$conf" | cni ADD >"$work/cni-add.json" 2>"$work/cni-add.err"; echo \$? >"$work/cni-add.rc"
  ip -n $pod_ns -o addr show dev eth0 >"$work/pod-addr.txt" 2>&1
  /usr/bin/dataplane-node status --socket /run/dataplane/agent.sock >"$work/status-pod.txt" 2>&1
  echo "\$conf" | cni DEL >"$work/cni-del.json" 2>"$work/cni-del.err"; echo \$? >"$work/cni-del.rc"
  ip -n $pod_ns link show dev eth0 >"$work/pod-after-del.txt" 2>&1; echo \$? >"$work/pod-after-del.rc"
fi
kill -TERM \$agent 2>/dev/null
wait \$agent; echo \$? >"$work/agent.rc"
EOF
# The pod's namespace must be reachable under /run/netns inside the bind-mounted /run as well.
mkdir -p "$work/run/netns"
touch "$work/run/netns/$pod_ns"
mount --bind "/run/netns/$pod_ns" "$work/run/netns/$pod_ns"
timeout 180 ip netns exec "$ns" unshare --mount --propagation private sh "$work/run-agent.sh" || true
umount "$work/run/netns/$pod_ns" 2>/dev/null || true

show() { sed 's/^/    /' "$1" >&2; }
[ -s "$work/status.txt" ] && grep -q '^node: *deb-node' "$work/status.txt" \
  || { say "agent log:"; show "$work/agent.log"; fail "the agent started by the unit's command line did not answer 'status' as deb-node"; }
grep -q 'eth0.*attached' "$work/status.txt" || { show "$work/status.txt"; fail "eth0 is not attached"; }
say "ok   the unit's command line runs the agent: $(grep -m1 '^backend:' "$work/status.txt")"
[ "$(cat "$work/cni-add.rc")" = 0 ] || { show "$work/cni-add.json"; show "$work/cni-add.err"; fail "dataplane-cni ADD failed"; }
grep -q '"198\.18\.210\.' "$work/cni-add.json" || { show "$work/cni-add.json"; fail "ADD's result has no address from the node's pod CIDR"; }
grep -q "deb/deb-$id" "$work/status-pod.txt" || { show "$work/status-pod.txt"; fail "the agent does not list the pod dataplane-cni added"; }
grep -q 'inet 198\.18\.210\.' "$work/pod-addr.txt" || { show "$work/pod-addr.txt"; fail "the pod's eth0 got no address"; }
[ "$(cat "$work/cni-del.rc")" = 0 ] || { show "$work/cni-del.err"; fail "dataplane-cni DEL failed"; }
[ "$(cat "$work/pod-after-del.rc")" != 0 ] || fail "the pod's eth0 is still there after DEL"
say "ok   the NativeAOT dataplane-cni added and deleted a pod through the agent's API"
[ "$(cat "$work/agent.rc")" = 0 ] || { show "$work/agent.log"; fail "the agent exited $(cat "$work/agent.rc") on SIGTERM"; }
say "ok   SIGTERM stops the agent with exit 0"

dpkg --purge dataplane >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log" >&2; fail "dpkg --purge failed"; }
for f in /usr/bin/dataplane-node /usr/lib/cni/dataplane-cni /lib/systemd/system/dataplane-node.service /etc/default/dataplane-node; do
  [ ! -e "$f" ] || fail "$f is left after dpkg --purge"
done
say "ok   dpkg --purge removes it"
say "passed"
