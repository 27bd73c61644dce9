// SPDX-License-Identifier: GPL-2.0
// Every map of the datapath. All but the devmap are pinned by name (libbpf reuses a pinned map of the same
// shape at the next load), so connections, counters and config survive an agent restart. The filler (Dataplane.Ebpf/Maps/
// MapFiller.cs) writes the config tables from the same DatapathSnapshot the C# pipeline runs on.
#pragma once
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "dp_structs.h"
#include "drop_reasons.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dp_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dp_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_PORTS);
	__type(key, __u32);
	__type(value, struct dp_port);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dp_ports SEC(".maps");

// ifindex → port number, for packets arriving on a real interface.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_PORTS);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dp_ifindex SEC(".maps");

// port number → ifindex, the XDP_REDIRECT targets. Not pinned: the kernel adds BPF_F_RDONLY_PROG to every
// devmap, which libbpf 1.1 then sees as a mismatch with this definition and refuses to reuse; the filler
// writes it at every start anyway (it is configuration, not state).
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, MAX_PORTS);
	__type(key, __u32);
	__type(value, __u32);
} dp_tx_ports SEC(".maps");

// port number → ifindex for the TC program's bpf_redirect (0: none). The same content as dp_tx_ports, but a
// devmap cannot be shared: the kernel refuses a TC program that uses a devmap an XDP program already uses.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_PORTS);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dp_tx_ifindex SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_ENDPOINTS);
	__type(key, __u32);
	__type(value, struct dp_endpoint);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dp_endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 65536);
	__type(key, struct lpm4_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dp_routes4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 65536);
	__type(key, struct lpm6_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dp_routes6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_NEXTHOPS);
	__type(key, __u32);
	__type(value, struct dp_nexthop);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dp_nexthops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 65536);
	__type(key, struct lpm4_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dp_ipcache4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 65536);
	__type(key, struct lpm6_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dp_ipcache6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct policy_key);
	__type(value, struct policy_value);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dp_policy SEC(".maps");

// Connections: one entry per connection under its forward tuple; a reply finds it under the reversed tuple.
// max_entries is set by the loader (--ct-max); a full map drops new connections with 155.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ct_key);
	__type(value, struct ct_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dp_ct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dp_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DROP_SLOTS);
	__type(key, __u32);
	__type(value, struct drop_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dp_drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dp_verdict);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dp_last SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dp_events SEC(".maps");

// This node's underlay addresses and the tunnel peers (OverlayState.LocalAddresses / PeerIndex): VXLAN addressed
// to a local address is terminated here. Empty with no overlay addresses: every VXLAN packet is transit.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct ovl_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dp_overlay SEC(".maps");

// Which VNIs name a known security identity (OverlayState.IsValidVni): bit vni & 63 of word vni >> 6.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dp_vni SEC(".maps");

/// Service frontends and their Maglev rings (services.h), filled by MapFiller.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct lb_fe_key);
	__type(value, struct lb_fe);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dp_lb_fe SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 20);
	__type(key, __u32);
	__type(value, struct lb_slot);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dp_lb_ring SEC(".maps");

/// Each backend set's backends, laid out like the rings (random selection takes one by index), and the same
/// backends by (set, address, port) for checking that a sessionAffinity binding still names an active one.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 18);
	__type(key, __u32);
	__type(value, struct lb_slot);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dp_lb_backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 18);
	__type(key, struct lb_member_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dp_lb_member SEC(".maps");

/// sessionAffinity ClientIP bindings (Cilium's lb affinity map). LRU: a full map forgets the least recently used
/// binding, which degrades affinity, never the datapath (AffinityTable replaces the soonest to expire).
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct lb_affinity_key);
	__type(value, struct lb_affinity);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dp_lb_affinity SEC(".maps");

/// The xorshift64* state of random backend selection (LbWorkerState.NextRandom). One slot for all CPUs, not
/// per-CPU: a packet's pick then does not depend on which CPU ran it, so one packet at a time gives the C#
/// worker's sequence bit for bit; concurrent CPUs may race on it, which only repeats a pick.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dp_lb_rng SEC(".maps");

/// A translated connection's reply tuple → its dp_ct key, as ConntrackTable indexes it under ReplyKeyOf: DNAT
/// backend → client for client → frontend, SNAT peer → translated source for pod → peer.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ct_key);
	__type(value, struct ct_key);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dp_ct_rev SEC(".maps");

/// Tunnel next hops → their VXLAN peer (encap.h); a Tunnel next hop without an entry names no known peer (160).
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_NEXTHOPS);
	__type(key, __u32);
	__type(value, struct dp_tunnel);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dp_tunnels SEC(".maps");

/// Tunnel next hops toward SRv6 peers → their H.Encaps templates (encap.h).
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_NEXTHOPS);
	__type(key, __u32);
	__type(value, struct dp_srv6);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dp_srv6 SEC(".maps");

/// Per-CPU staging for checksums over packet bytes: bpf_csum_diff reads at most 512 bytes from memory the
/// verifier can bound, so packet data is summed in chunks copied here (the 4 spare bytes: tail padding). encap.h
/// also assembles outer headers here, off the stack.
#define CSUM_CHUNK 512
struct csum_scratch {
	__u8 b[CSUM_CHUNK + 4];
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct csum_scratch);
} dp_csum_scratch SEC(".maps");

/// Masquerade (snat.h): destinations exempt from it (every node's pod CIDRs and the non-masquerade CIDRs,
/// MasqueradeState.Exempt; any value) and the address each port masquerades to.
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__type(key, struct lpm4_key);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dp_masq_exempt4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__type(key, struct lpm6_key);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dp_masq_exempt6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_PORTS);
	__type(key, __u32);
	__type(value, struct masq_addr);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dp_masq_addr SEC(".maps");

/// Per-CPU room for the conntrack keys, entries, NAT targets and affinity keys conntrack_stage, service_stage and
/// snat_commit build: on their stack frames
/// they would not fit the verifier's 512 bytes along the deepest call chain (program → stage → nat_rewrite).
/// The stages run one after the other and keep nothing here between packets.
struct ct_scratch {
	struct ct_key key;      // the tuple looked up
	struct ct_key orig;     // the dp_ct key ct_find found it under
	struct ct_key conn;     // snat_commit: the connection's tuple
	struct ct_value value;  // snat_commit: its new entry
	struct lb_slot to;      // the NAT target handed to nat_rewrite
	struct lb_affinity_key affinity;  // service_stage: the client's binding
	struct lb_member_key member;      // service_stage: is its backend still active
	struct lb_affinity binding;       // service_stage: the binding to write
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ct_scratch);
} dp_ct_scratch SEC(".maps");

/// Egress gateway (egress.h): source pod address (IPv4, as in the packet) → the policies selecting it (bit i:
/// policy i), each policy's destination and excluded prefixes, its gateway count and gateways.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u64);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dp_egw_src SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16384);
	__type(key, struct egw_lpm_key);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dp_egw_dst SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16384);
	__type(key, struct egw_lpm_key);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dp_egw_excl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, EGW_MAX_POLICIES);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dp_egw_count SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, EGW_MAX_POLICIES * EGW_MAX_GATEWAYS);
	__type(key, __u32);
	__type(value, struct egw_gateway);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dp_egw_gw SEC(".maps");

/// Local SRv6 SIDs (OverlayState.Sids: SID → behaviour) and locators (an address inside one that is no SID: 185).
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct lpm6_key);
	__type(value, struct srv6_sid);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dp_srv6_sid SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__type(key, struct lpm6_key);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dp_srv6_locator SEC(".maps");
