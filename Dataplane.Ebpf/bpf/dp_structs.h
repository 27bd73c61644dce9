// SPDX-License-Identifier: GPL-2.0
// The structs the datapath shares with user space: map keys and values, the verdict record, flow events, test
// metadata. Every one has a C# mirror in Dataplane.Ebpf/Maps/MapLayouts.cs with the same size and field offsets
// (MapLayoutTests reads them from the BTF of the compiled object).
#pragma once
#include <linux/types.h>
#include "dp_consts.h"

/// Everything the datapath reads that is not a table: one array slot, written by the map filler.
struct dp_config {
	__u64 router_mac;       // low 48 bits, MAC as a big-endian number
	__s64 clock_offset_ns;  // added to bpf_ktime_get_ns() to give Unix time (CLOCK_REALTIME - CLOCK_MONOTONIC)
	__u32 port_count;
	__u32 world4;           // identity of an IPv4 address the ipcache does not cover
	__u32 world6;
	__u32 ct_tcp_established;
	__u32 ct_tcp_syn;
	__u32 ct_tcp_close;
	__u32 ct_any;
	__u16 vxlan_port;
	__u8 ct_enabled;        // 0: stateless, every packet goes through policy
	__u8 test_meta;         // 1: trust the in-port / clock carried in XDP metadata (BPF_PROG_TEST_RUN only)
	__u8 flow_events;       // 1: publish a flow event per packet into the ring buffer
	__u8 masq_enabled;      // MasqueradeState.Enabled: pod traffic leaving through an interface is SNATed
	__u16 nat_port_min;     // the SNAT port range (MasqueradeState.PortMin .. PortMax)
	__u16 nat_port_max;
	__u8 overlay;           // OVERLAY_*: what of the overlay the snapshot configures
	__u8 egw_enabled;       // the snapshot has egress gateway policies
	__u8 host_audit;        // DatapathSnapshot.HostPolicyAudit: the host endpoint in policy audit mode
	__u8 pad[7];
};

struct dp_port {
	__u64 mac;
	__u32 endpoint;
	__u8 kind;
	__u8 pad[3];
};

struct dp_endpoint {
	__u32 identity;
	__u8 ipv4[4];
	__u8 ipv6[16];
	__u8 has4;
	__u8 has6;
	__u8 ingress_mode;      // POL_*
	__u8 egress_mode;
};

struct dp_nexthop {
	__u8 eth[12];           // destination MAC, source MAC: the rewritten Ethernet addresses
	__u32 endpoint;
	__u16 port;
	__u8 kind;
	__u8 pad;
};

/// Overlay address table key: an address in its IPv4-mapped IPv6 form (::ffff:a.b.c.d), as the C# AddressIndex
/// keys it, and which set it belongs to (OVL_*).
struct ovl_key {
	__u8 addr[16];
	__u8 kind;
	__u8 pad[3];
};

struct lpm4_key {
	__u32 prefixlen;
	__u8 addr[4];
};

struct lpm6_key {
	__u32 prefixlen;
	__u8 addr[16];
};

struct policy_key {
	__u32 endpoint;
	__u32 identity;         // 0 = any peer
	__u8 proto;             // 0 = any protocol
	__u8 egress;            // 1 = egress map of the endpoint, 0 = ingress
	__u16 pad;
};

struct policy_range {
	__u16 low;
	__u16 high;
	__u32 rule;
	__u8 deny;
	__u8 pad[3];
};

/// The port ranges under one key, denies first (as PolicyMap stores them).
struct policy_value {
	__u32 count;
	__u32 pad;
	struct policy_range ranges[POLICY_RANGES];
};

/// A connection's tuple as its first packet carried it (IPv4 addresses in the first 4 bytes).
struct ct_key {
	__u8 src[16];
	__u8 dst[16];
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 family;
	__u16 pad;
};

/// The part of CtEntry after the key.
struct ct_value {
	__u32 expires;          // Unix seconds; the agent's GC deletes entries at or past it
	__u16 state;            // TcpTracker bits
	__u16 flags;
	__u32 rev_nat;
	__u32 backend;
	__u32 policy_rule;
	__u32 packets;
	__u8 nat_addr[16];      // CT_DNAT: the backend (the key holds the frontend the client sent to); CT_SNAT: the new source
	__u16 nat_port;
	__u16 pad;
};

/// dp_egw_dst / dp_egw_excl key: a policy's destination (or excluded) IPv4 prefix; prefixlen counts the policy
/// byte too (8 + the prefix length), so a lookup matches only that policy's prefixes.
struct egw_lpm_key {
	__u32 prefixlen;
	__u8 policy;
	__u8 addr[4];
	__u8 pad[3];
};

/// dp_egw_gw value, slot policy * EGW_MAX_GATEWAYS + i: a gateway node of a policy (EgressGateway.Gateway).
struct egw_gateway {
	__u8 egress_ip[4];      // the source traffic leaves the gateway with (zero: the interface's address)
	__u32 next_hop;         // the Tunnel next hop toward the gateway node
	__u32 seed;             // its rendezvous-hash seed
	__u8 local;             // the gateway is this node
	__u8 live;
	__u8 pad[2];
};

/// The address traffic leaving through a port is masqueraded to (dp_masq_addr value; zero: none).
struct masq_addr {
	__u8 ipv4[4];
	__u8 ipv6[16];
};

/// A service frontend (dp_lb_fe key): address as in ct_key, port, protocol, family.
struct lb_fe_key {
	__u8 addr[16];
	__u16 port;
	__u8 proto;
	__u8 family;
};

/// Its backend set: the Maglev ring, slots ring_base .. ring_base + ring_len - 1 of dp_lb_ring (0: random
/// selection), the backends themselves at backend_base .. + backend_count - 1 of dp_lb_backends (0: none, 158),
/// and the service port's sessionAffinity (ServiceInfo.Id and the ClientIP timeout; 0: none).
struct lb_fe {
	__u32 ring_base;
	__u32 ring_len;
	__u32 backend_base;
	__u32 backend_count;
	__u32 service_id;
	__u32 affinity_timeout;
};

/// dp_lb_member key: a backend of the set laid out at `base` (whether a sessionAffinity binding is still active).
struct lb_member_key {
	__u32 base;
	__u8 addr[16];
	__u16 port;
	__u16 pad;
};

/// dp_lb_affinity: a client's binding to a backend for one service port, as AffinityTable holds it.
struct lb_affinity_key {
	__u8 client[16];
	__u32 service;
	__u8 family;
	__u8 pad[3];
};

struct lb_affinity {
	__u8 backend[16];
	__u16 port;
	__u16 pad;
	__u32 expires;          // Unix seconds; a binding at or past it is gone
};

/// A ring slot's backend (also a NAT target).
struct lb_slot {
	__u8 addr[16];
	__u16 port;
	__u16 pad;
};

/// A Tunnel next hop's VXLAN peer (dp_tunnels value, keyed by the next hop's index), resolved by the filler from
/// OverlayState.Peers: TunnelPeer's pre-built outer headers plus the overlay's ICMP error sources.
struct dp_tunnel {
	__u8 template[TUNNEL_TEMPLATE_BYTES];    // outer IPv4 (36 bytes used) or IPv6 (56) + UDP + VXLAN, lengths/checksums zero
	__u8 eth[12];           // outer destination, source MAC
	__u8 inner_eth[12];     // inner destination (the peer's VXLAN MAC), source (our router MAC)
	__u32 pseudo_sum;       // TunnelPeer.PseudoSum
	__u32 fixed_vni;        // 0: the VNI carries the source identity
	__u32 mtu;              // underlay MTU: the largest outer IP packet
	__u16 port;             // underlay port
	__u8 outer_ipv6;
	__u8 mode;              // TunnelMode: 1 VXLAN, 2 SRv6 (its templates in dp_srv6)
	__u8 icmp_source4[4];    // OverlayState.IcmpSource4 / 6: source of fragmentation-needed / packet-too-big
	__u8 icmp_source6[16];   // (zero: none, the packet is dropped with 157)
};

// An SRv6 peer's H.Encaps headers (dp_srv6 value, keyed like dp_tunnels): outer IPv6 + SRH per inner family,
// TunnelPeer.Srv6Template4/6 (length 0: no SID for that family, 185). Both are multiples of 8 bytes.
struct dp_srv6 {
	__u8 template4[SRV6_MAX_TEMPLATE];
	__u8 template6[SRV6_MAX_TEMPLATE];
	__u16 len4;
	__u16 len6;
};

/// A local SID (dp_srv6_sid value): its behaviour (SRV6_*) and, for End.X, its adjacency.
struct srv6_sid {
	__u8 behavior;
	__u8 pad;
	__u16 port;
	__u8 eth[12];
};

struct drop_counter {
	__u64 packets;
	__u64 bytes;
};

/// The outcome of the last packet on this CPU (what the differential tests compare).
struct dp_verdict {
	__u32 token;            // copied from the test metadata, so the reader finds the CPU that ran the packet
	__u32 length;
	__u32 src_identity;
	__u32 dst_identity;
	__u32 src_endpoint;
	__u32 dst_endpoint;
	__u32 policy_rule;
	__u32 ingress_rule;
	__u16 in_port;
	__u16 out_port;
	__u16 flags;
	__u8 verdict;
	__u8 drop_reason;
	__u8 direction;
	__u8 ct_state;
	__u8 pad[2];
};

/// One flow event in the ring buffer (FlowEvent's fields; addresses as on the wire).
struct dp_flow_event {
	__u64 time_ns;
	__u8 src[16];
	__u8 dst[16];
	__u32 src_identity;
	__u32 dst_identity;
	__u32 src_endpoint;
	__u32 dst_endpoint;
	__u32 policy_rule;
	__u32 ingress_rule;
	__u16 sport;
	__u16 dport;
	__u16 in_port;
	__u16 out_port;
	__u16 length;
	__u16 ethertype;
	__u16 flags;
	__u8 ip_version;
	__u8 proto;
	__u8 tcp_flags;
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 verdict;
	__u8 drop_reason;
	__u8 direction;
	__u8 ct_state;
	__u8 pad[5];
};

/// What BPF_PROG_TEST_RUN callers put in front of the packet as XDP metadata (honoured only with test_meta).
struct dp_test_meta {
	__u32 magic;
	__u32 token;
	__u32 now;              // Unix seconds; 0 = the program's own clock
	__u16 in_port;
	__u16 pad;
};
