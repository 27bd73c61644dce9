// SPDX-License-Identifier: GPL-2.0
// The constants the datapath shares with C#. Each enum mirrors the C# type its tag names in snake case, member
// for member (C# PacketVerdict.Tx = V_TX): enums, not #defines, so that their values land in the object's BTF,
// where ConstantsTests (tests/Dataplane.Ebpf.Tests) compares every one with the C# side.
#pragma once

// Dataplane.Core.Packets.PacketVerdict.
enum packet_verdict {
	V_CONTINUE = 0,
	V_TX = 1,
	V_DROP = 2,
	V_LOCAL = 3,
	V_QUEUED = 4, // C# only: held for neighbour resolution (the BPF program never resolves)
};

// Dataplane.Core.Packets.CtState.
enum ct_state {
	CT_NONE = 0,
	CT_NEW = 1,
	CT_ESTABLISHED = 2,
	CT_REPLY = 3,
	CT_RELATED = 4,
};

// Dataplane.Core.Packets.TrafficDirection (Hubble's).
enum traffic_direction {
	DIR_UNKNOWN = 0,
	DIR_INGRESS = 1,
	DIR_EGRESS = 2,
};

// Dataplane.Core.Packets.PacketFlags bits.
enum packet_flags {
	F_NONE = 0,
	F_VLAN = 1 << 0,
	F_QINQ = 1 << 1,
	F_ARP = 1 << 2,
	F_FRAGMENT = 1 << 3,
	F_LATER_FRAGMENT = 1 << 4,
	F_IPV4_OPTIONS = 1 << 5,
	F_IPV6_EXT_HEADERS = 1 << 6,
	F_SRH = 1 << 7,
	F_VXLAN = 1 << 8,
	F_ICMP_ERROR = 1 << 9,
	F_NDP = 1 << 10,
	F_L2_MULTICAST = 1 << 11,
	F_NEXTHOP_PRESET = 1 << 12,
	F_TUNNEL_ENCAP = 1 << 13,
	F_TUNNEL_IDENTITY = 1 << 14,
	F_DECAPSULATED = 1 << 15,
};

// Dataplane.Core.Routing.NextHopKind.
enum next_hop_kind {
	NH_UNRESOLVED = 0,
	NH_PORT = 1,
	NH_ENDPOINT = 2,
	NH_HOST = 3,
	NH_NO_ENDPOINT = 4,
	NH_TUNNEL = 5,
	NH_MULTIPATH = 6, // never loaded: the offload refuses ECMP (Maps/OffloadSupport.cs)
	NH_GLEAN = 7,
	NH_GATEWAY = 8,
};

// Dataplane.Core.Snapshot.PortKind.
enum port_kind {
	PORT_INTERFACE = 0,
	PORT_ENDPOINT = 1,
};

// Dataplane.Core.Identity.NumericIdentity: the reserved identities the datapath tests for (the world: also a
// VXLAN source identity outside the 24-bit VNI) and the scope bits of CIDR identities.
enum numeric_identity {
	ID_HOST = 1,
	ID_WORLD = 2,
	ID_WORLD_IPV4 = 9,
	ID_WORLD_IPV6 = 10,
	ID_LOCAL_SCOPE_FLAG = 1 << 24,
	ID_SCOPE_MASK = 0xff000000u,
};

// Dataplane.Core.Policy.HostEndpoint: the host endpoint's slot in dp_endpoints and dp_policy (no pod has it).
enum host_endpoint {
	HOST_POLICY_SLOT = 0,
};

// Dataplane.Ebpf.Maps.DatapathLimits: table sizes (max_entries) and fixed array lengths.
enum datapath_limits {
	MAX_PORTS = 1024,
	MAX_ENDPOINTS = 4096,
	MAX_NEXTHOPS = 65536,
	POLICY_RANGES = 64,
	// Egress gateway: at most 64 policies (the source map holds a 64-bit mask), each with at most 8 gateway
	// nodes (MapFiller refuses more).
	EGW_MAX_POLICIES = 64,
	EGW_MAX_GATEWAYS = 8,
	SRV6_MAX_TEMPLATE = 120,
	TUNNEL_TEMPLATE_BYTES = 56,
	// dp_drops: one slot per (traffic direction, drop reason), direction * 256 + reason, as WorkerCounters'
	// DirectionalDrops (3 directions: unknown, ingress, egress).
	DROP_SLOTS = 3 * 256,
};

// Dataplane.Ebpf.Maps.PolicyMode: per-endpoint policy modes: no map (endpoint outside the policy arrays), a
// map that does not enforce default-deny, an enforcing map.
enum policy_mode {
	POL_NONE = 0,
	POL_OPEN = 1,
	POL_ENFORCED = 2,
};

// Dataplane.Ebpf.Maps.OverlayBits, dp_config.overlay: Tunnel next hops (compute the flow hash encapsulation
// needs), local SRv6 SIDs or locators, local underlay addresses (VXLAN to them is terminated, and never looked
// at as SRv6).
enum overlay_bits {
	OVERLAY_TUNNELS = 1 << 0,
	OVERLAY_SIDS = 1 << 1,
	OVERLAY_LOCAL = 1 << 2,
};

// Dataplane.Ebpf.Maps.OvlKind, ovl_key.kind: which set an overlay address belongs to: this node's underlay
// addresses, or tunnel peers (value: the peer's fixed VNI).
enum ovl_kind {
	OVL_LOCAL = 0,
	OVL_PEER = 1,
};

// Dataplane.Core.Conntrack.CtFlags, ct_value.flags: the translation (nat_addr:nat_port is the backend for DNAT,
// the translated source for SNAT) and, for a connection of two chained entries (DNAT then SNAT), which packets
// continue into the other.
enum ct_flags {
	CT_DNAT = 1 << 0,
	CT_SNAT = 1 << 1,
	CT_CHAIN_FORWARD = 1 << 2,
	CT_CHAIN_REPLY = 1 << 3,
	CT_NAT = CT_DNAT | CT_SNAT,
};

// Dataplane.Core.Conntrack.TcpTracker, ct_value.state bits.
enum tcp_tracker {
	TCP_SEEN_REPLY = 1 << 0,
	TCP_SEEN_NON_SYN = 1 << 1,
	TCP_FIN_FORWARD = 1 << 2,
	TCP_FIN_REPLY = 1 << 3,
	TCP_RESET = 1 << 4,
};

// Dataplane.Core.Overlay.TunnelMode, dp_tunnel.mode (SRv6: its templates in dp_srv6).
enum tunnel_mode {
	TUNNEL_NATIVE = 0,
	TUNNEL_VXLAN = 1,
	TUNNEL_SRV6 = 2,
};

// Dataplane.Core.Overlay.Srv6Behavior: local SID behaviours (srv6_sid.behavior).
enum srv6_behavior {
	SRV6_END = 1,
	SRV6_END_X = 2,
	SRV6_END_DT4 = 3,
	SRV6_END_DT6 = 4,
	SRV6_END_DT46 = 5,
};

// Dataplane.Ebpf.Maps.StatSlot: counter slots of the per-CPU dp_stats array.
enum stat_slot {
	STAT_RX_PACKETS = 0,
	STAT_RX_BYTES = 1,
	STAT_TX_PACKETS = 2,
	STAT_TX_BYTES = 3,
	STAT_LOCAL_PACKETS = 4,
	STAT_EVENTS_LOST = 5,
	STAT_AUDITED = 8,       // + direction: packets policy audit mode let through (WorkerCounters.AuditedPackets)
	STAT_COUNT = 16,
};

// Dataplane.Ebpf.Maps.DpTestMeta.TestMagic: dp_test_meta.magic ("DPMT"), what BPF_PROG_TEST_RUN callers put in
// front of the packet so that the program trusts the in-port and clock they carry (only with test_meta).
enum dp_test_meta_magic {
	DP_TEST_MAGIC = 0x44504d54,
};
