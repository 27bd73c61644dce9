// SPDX-License-Identifier: GPL-2.0
// IP forwarding exactly as Dataplane.Core/Pipeline/RouteStage.cs: LPM on the destination (our route map:
// LPM trie → next-hop array), act on the next hop (a Tunnel one is marked for encap.h), TTL / hop-limit decrement with an incremental IPv4
// checksum update, VLAN tags removed, Ethernet addresses rewritten.
#pragma once
#include "dp_pkt.h"
#include "dp_maps.h"

/// The next hop of an address (4 or 16 bytes) and its index, or NULL when no route covers it.
static __always_inline struct dp_nexthop *route_lookup(__u8 ip_version, const __u8 *addr, __u32 *index)
{
	__u32 *idx;
	if (ip_version == 4) {
		struct lpm4_key k = { .prefixlen = 32 };
		__builtin_memcpy(k.addr, addr, 4);
		idx = bpf_map_lookup_elem(&dp_routes4, &k);
	} else {
		struct lpm6_key k = { .prefixlen = 128 };
		__builtin_memcpy(k.addr, addr, 16);
		idx = bpf_map_lookup_elem(&dp_routes6, &k);
	}
	if (!idx)
		return NULL;
	__u32 i = *idx;
	*index = i;
	return bpf_map_lookup_elem(&dp_nexthops, &i);
}

/// Routed packets leave untagged: the MAC addresses and the EtherType move in front of L3 and the tags leave the
/// frame. The MACs matter where routing does not rewrite them: a Tunnel hop (its ICMP too-big error goes back to
/// the sender's MAC) and a packet dropped later, whose bytes the differential tests compare.
static __always_inline int strip_vlan(DP_CTX *ctx, struct dp_pkt *p)
{
	int tag_bytes = p->l3 - 14;
	__u8 eth[14];
	if (tag_bytes != 4 && tag_bytes != 8)
		return -1;
	if (dp_load(ctx, 0, eth, 12))
		return -1;
	eth[12] = p->ethertype >> 8;
	eth[13] = p->ethertype;
	if (dp_store(ctx, tag_bytes, eth, 14) || dp_adjust_head(ctx, tag_bytes))
		return -1;
	p->len -= tag_bytes;
	p->l3 -= tag_bytes;
	p->l4 -= tag_bytes;
	p->payload -= tag_bytes;
	p->flags &= ~(F_VLAN | F_QINQ);
	p->vlan_id = 0;
	return 0;
}

DP_STAGE int forward(DP_CTX *ctx, struct dp_pkt *p, struct dp_nexthop *nh)
{
	if (!p || !nh)
		return 0;
	switch (nh->kind) {
	case NH_HOST: p->verdict = V_LOCAL; return 0;
	case NH_UNRESOLVED: dp_drop(p, DROP_NO_FIB); return 0;
	// Next hops whose MAC is resolved at run time (ARP/ND): the program has no resolver (docs/network.md), so
	// like Cilium's XDP path without a neighbour entry it drops them with DROP_NO_FIB, as the C# pipeline does
	// when no resolver is attached.
	case NH_GLEAN: dp_drop(p, DROP_NO_FIB); return 0;
	case NH_GATEWAY: dp_drop(p, DROP_NO_FIB); return 0;
	case NH_NO_ENDPOINT: dp_drop(p, DROP_NO_LXC); return 0;
	}
	if (p->ip_version == 4) {
		__u8 h[4]; // TTL, protocol, checksum: one 16-bit word and the checksum
		if (dp_load(ctx, p->l3 + 8, h, 4)) { dp_drop(p, DROP_INVALID); return 0; }
		if (h[0] <= 1) { dp_drop(p, DROP_TTL_EXCEEDED); return 0; }
		__u16 old_word = be16(h);
		__u16 csum = csum_update16(be16(h + 2), old_word, old_word - 0x100);
		h[0]--;
		h[2] = csum >> 8;
		h[3] = csum;
		dp_store(ctx, p->l3 + 8, h, 4);
	} else {
		__u8 hop;
		if (dp_load(ctx, p->l3 + 7, &hop, 1)) { dp_drop(p, DROP_INVALID); return 0; }
		if (hop <= 1) { dp_drop(p, DROP_TTL_EXCEEDED); return 0; }
		hop--;
		dp_store(ctx, p->l3 + 7, &hop, 1);
	}
	if (p->l3 != 14 && strip_vlan(ctx, p)) { dp_drop(p, DROP_INVALID); return 0; }
	if (nh->kind == NH_TUNNEL) {
		// Policy and conntrack see the inner packet; encap.h adds the outer headers and the underlay Ethernet
		// header last (p->nexthop names the hop). The out port is the one the next hop names until then.
		p->flags |= F_TUNNEL_ENCAP;
		p->out_port = nh->port;
		p->dst_endpoint = 0;
		p->verdict = V_TX;
		return 0;
	}
	__u8 eth[12];
	__builtin_memcpy(eth, nh->eth, 12);
	dp_store(ctx, 0, eth, 12);
	p->out_port = nh->port;
	p->dst_endpoint = nh->endpoint;
	if (nh->kind == NH_ENDPOINT && p->src_endpoint == 0)
		p->direction = DIR_INGRESS;
	p->verdict = V_TX;
	return 0;
}

DP_STAGE int route_stage(DP_CTX *ctx, struct dp_pkt *p)
{
	if (!p)
		return 0;
	if (p->flags & F_NEXTHOP_PRESET) {
		// Steered before routing (egress.h): the next hop is already chosen.
		__u32 index = p->nexthop;
		struct dp_nexthop *preset = bpf_map_lookup_elem(&dp_nexthops, &index);
		if (!preset) { dp_drop(p, DROP_NO_FIB); return 0; }
		forward(ctx, p, preset);
		return 0;
	}
	if (p->ip_version == 4) {
		// 224.0.0.0/4 and the limited broadcast go to the host.
		if ((p->dst[0] >> 4) == 0xe || (p->dst[0] == 0xff && p->dst[1] == 0xff && p->dst[2] == 0xff && p->dst[3] == 0xff)) {
			p->verdict = V_LOCAL;
			return 0;
		}
	} else if (p->ip_version == 6) {
		if (p->dst[0] == 0xff || is_link_local6(p->dst)) {
			p->verdict = V_LOCAL;
			return 0;
		}
	} else {
		p->verdict = V_LOCAL;
		return 0;
	}
	struct dp_nexthop *nh = route_lookup(p->ip_version, p->dst, &p->nexthop);
	if (!nh) { dp_drop(p, DROP_NO_FIB); return 0; }
	forward(ctx, p, nh);
	return 0;
}
