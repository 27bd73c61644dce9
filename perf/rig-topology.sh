# Shared by forward-rig.sh and dpdk-rig.sh (sourced, not run): the client — dataplane — server namespaces joined
# by two veth pairs, offloads off so forwarders see whole frames, and the dataplane node's config for them.
# Expects C D V (namespaces), IC IA IB IS (veths), SINK_IP SINK_MAC and TMP; sets MA MB MC MS (the veths' MACs).
ip netns add $C; ip netns add $D; ip netns add $V
ip link add $IC netns $C type veth peer name $IA netns $D
ip link add $IS netns $V type veth peer name $IB netns $D
for n in $C $D $V; do ip -n $n link set lo up; done
ip netns exec $D sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip -n $C addr add 198.18.1.2/24 dev $IC
ip -n $V addr add 198.18.2.2/24 dev $IS
for p in "$C $IC" "$D $IA" "$D $IB" "$V $IS"; do
  set -- $p; ip -n $1 link set $2 up
  ip netns exec $1 ethtool -K $2 tx off tso off gso off gro off >/dev/null 2>&1 || true
done
mac() { ip -n $1 -br link show $2 | awk '{print $3}'; }
MA=$(mac $D $IA) MB=$(mac $D $IB) MC=$(mac $C $IC) MS=$(mac $V $IS)
mkdir -p $TMP/cfg
cat > $TMP/cfg/node.yaml <<YAML
apiVersion: v1
kind: Node
metadata: {name: dp}
spec: {podCIDRs: ["198.18.100.0/24"]}
status: {addresses: [{type: InternalIP, address: 198.18.1.1}]}
---
apiVersion: dataplane.io/v1alpha1
kind: DataplaneNode
metadata: {name: dp}
spec:
  interfaces:
    - {name: $IA, mac: "$MA", addresses: ["198.18.1.1/24"]}
    - {name: $IB, mac: "$MB", addresses: ["198.18.2.1/24"]}
  neighbors:
    - {ip: 198.18.1.2, mac: "$MC"}
    - {ip: 198.18.2.2, mac: "$MS"}
    - {ip: $SINK_IP, mac: "$SINK_MAC"}
YAML
