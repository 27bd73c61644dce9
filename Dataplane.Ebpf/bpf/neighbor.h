// SPDX-License-Identifier: GPL-2.0
// ARP and IPv6 neighbour-solicitation responder, as Dataplane.Core/Pipeline/NeighborStage.cs: pods get the
// router MAC for every address but their own, node interfaces an answer for the node's own addresses; the
// request becomes the reply in place and leaves by the port it came in on. Other ARP/NDP goes to the host.
// Before that, frames not addressed to the port's MAC are dropped (131), as the C# stage does.
#pragma once
#include "dp_pkt.h"
#include "dp_maps.h"
#include "route.h"

/// MAC we answer with on the packet's port (0 = none) when we own target there.
static __always_inline __u64 neigh_owner_mac(struct dp_pkt *p, const struct dp_config *cfg, __u8 ip_version,
					     const __u8 *target, const __u8 *requester)
{
	struct dp_port *port = NULL;
	if (p->in_port < cfg->port_count) {
		__u32 k = p->in_port;
		port = bpf_map_lookup_elem(&dp_ports, &k);
	}
	if (port && port->kind == PORT_ENDPOINT) {
		// Never answer for the pod's own address: that is duplicate address detection / gratuitous ARP.
		int zero = ip_version == 4 ? (target[0] | target[1] | target[2] | target[3]) == 0 : addr_zero16(target);
		if (zero || (ip_version == 4 ? addr_eq(target, requester, 4) : addr_eq(target, requester, 16)))
			return 0;
		return cfg->router_mac;
	}
	__u64 mac = port ? port->mac : 0;
	if (mac == 0)
		return 0;
	__u32 index;
	struct dp_nexthop *nh = route_lookup(ip_version, target, &index);
	return nh && nh->kind == NH_HOST ? mac : 0;
}

DP_STAGE int neigh_arp(DP_CTX *ctx, struct dp_pkt *p, const struct dp_config *cfg)
{
	if (!p || !cfg)
		return 0;
	__u8 a[28];
	if (dp_load(ctx, p->l3, a, 28)) { p->verdict = V_LOCAL; return 0; }
	__u8 spa[4], tpa[4];
	__builtin_memcpy(spa, a + 14, 4);
	__builtin_memcpy(tpa, a + 24, 4);
	__u64 mac = be16(a + 6) == 1 ? neigh_owner_mac(p, cfg, 4, tpa, spa) : 0;
	if (mac == 0) { p->verdict = V_LOCAL; return 0; }
	// Reply: target ← sender, sender ← (our MAC, requested IP). Ethernet: back to the requester.
	__u8 eth[12];
	__builtin_memcpy(a + 18, a + 8, 10);
	mac_to_bytes(mac, a + 8);
	__builtin_memcpy(a + 14, tpa, 4);
	a[6] = 0;
	a[7] = 2;
	__builtin_memcpy(eth, a + 18, 6);
	mac_to_bytes(mac, eth + 6);
	dp_store(ctx, p->l3, a, 28);
	dp_store(ctx, 0, eth, 12);
	p->out_port = p->in_port;
	p->verdict = V_TX;
	return 0;
}

DP_STAGE int neigh_ndp(DP_CTX *ctx, struct dp_pkt *p, const struct dp_config *cfg)
{
	if (!p || !cfg)
		return 0;
	// Only solicitations with hop limit 255 (RFC 4861 §7.1.1) are answered; other NDP goes to the host.
	if (p->icmp_type != 135 || p->icmp_code != 0 || p->ttl != 255) { p->verdict = V_LOCAL; return 0; }
	__u8 target[16];
	if (dp_load(ctx, p->l4 + 8, target, 16)) { p->verdict = V_LOCAL; return 0; }
	__u64 mac = neigh_owner_mac(p, cfg, 6, target, p->src);
	if (mac == 0) { p->verdict = V_LOCAL; return 0; }

	int dad = addr_zero16(p->src);
	__u8 eth[12];
	if (dp_load(ctx, 0, eth, 12)) { p->verdict = V_LOCAL; return 0; }
	// The advertisement (24 bytes + target link-layer address option) right after the fixed IPv6 header.
	int delta = (int)(p->l3 + 40 + 32) - (int)p->len;
	if (delta != 0 && dp_adjust_tail(ctx, delta)) { p->verdict = V_LOCAL; return 0; }
	p->len += delta;

	struct {
		__u8 ip[36];    // IPv6 header from byte 4: payload length, next header, hop limit, addresses
		__u8 na[32];
	} r = {};
	r.ip[1] = 32;
	r.ip[2] = P_ICMPV6;
	r.ip[3] = 255;
	__builtin_memcpy(r.ip + 4, target, 16);
	if (dad) {
		r.ip[20] = 0xff; r.ip[21] = 0x02; r.ip[35] = 1; // ff02::1
	} else
		__builtin_memcpy(r.ip + 20, p->src, 16);
	r.na[0] = 136;
	r.na[4] = 0x80 | (dad ? 0 : 0x40) | 0x20; // Router, Solicited, Override
	__builtin_memcpy(r.na + 8, target, 16);
	r.na[24] = 2;
	r.na[25] = 1;
	mac_to_bytes(mac, r.na + 26);
	__u32 sum = 32 + P_ICMPV6;
#pragma unroll
	for (int i = 4; i < 36; i += 2)
		sum += be16(r.ip + i);
#pragma unroll
	for (int i = 0; i < 32; i += 2)
		sum += be16(r.na + i);
	__u16 csum = ~csum_fold_nc(sum);
	r.na[2] = csum >> 8;
	r.na[3] = csum;

	if (dad) {
		eth[0] = 0x33; eth[1] = 0x33; eth[2] = 0; eth[3] = 0; eth[4] = 0; eth[5] = 1;
	} else
		__builtin_memcpy(eth, eth + 6, 6);
	mac_to_bytes(mac, eth + 6);
	dp_store(ctx, 0, eth, 12);
	dp_store(ctx, p->l3 + 4, &r, sizeof(r));
	// Flow records show the packet as it leaves: from the target, to the solicitor.
	__builtin_memcpy(p->src, r.ip + 4, 16);
	__builtin_memcpy(p->dst, r.ip + 20, 16);
	p->out_port = p->in_port;
	p->verdict = V_TX;
	return 0;
}

/// As NeighborStage.AddressedToUs: a router routes only frames for its port's MAC; link-layer broadcast and
/// multicast only for ARP, NDP or a multicast/broadcast IP destination. Ports with no MAC are not checked.
static __always_inline int neigh_addressed_to_us(DP_CTX *ctx, struct dp_pkt *p, const struct dp_config *cfg)
{
	if (p->flags & F_L2_MULTICAST) {
		if (p->flags & (F_ARP | F_NDP))
			return 1;
		if (p->ip_version == 4)
			return (p->dst[0] & 0xF0) == 0xE0 || (p->dst[0] & p->dst[1] & p->dst[2] & p->dst[3]) == 0xFF;
		return p->ip_version != 6 || p->dst[0] == 0xFF;
	}
	if (p->in_port >= cfg->port_count)
		return 1;
	__u32 k = p->in_port;
	struct dp_port *port = bpf_map_lookup_elem(&dp_ports, &k);
	if (!port || port->mac == 0)
		return 1;
	__u8 d[6];
	if (dp_load(ctx, 0, d, 6))
		return 1;
	__u64 dst = ((__u64)d[0] << 40) | ((__u64)d[1] << 32) | ((__u64)d[2] << 24) | ((__u64)d[3] << 16) | ((__u64)d[4] << 8) | d[5];
	return dst == port->mac;
}

DP_STAGE int neighbor_stage(DP_CTX *ctx, struct dp_pkt *p, const struct dp_config *cfg)
{
	if (!p || !cfg)
		return 0;
	if (!(p->flags & F_DECAPSULATED) && !neigh_addressed_to_us(ctx, p, cfg)) {
		dp_drop(p, DROP_INVALID_DMAC);
		return 0;
	}
	if (p->flags & F_ARP)
		neigh_arp(ctx, p, cfg);
	else if (p->flags & F_NDP)
		neigh_ndp(ctx, p, cfg);
	return 0;
}
