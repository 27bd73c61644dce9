// SPDX-License-Identifier: GPL-2.0
// L2 → L4 parse with the same checks, order and drop reasons as Dataplane.Core/Parsing/PacketParser.cs:
// 134 bad L2/L3, 135 truncated L4, 139 unknown EtherType, 153 bad IPv4 header checksum, 156 bad IPv6
// extension chain, 166 more than two VLAN tags, 183 VXLAN without the I flag.
#pragma once
#include "dp_pkt.h"

#define ETH_P_IPV4 0x0800
#define ETH_P_ARP_ 0x0806
#define ETH_P_8021Q_ 0x8100
#define ETH_P_8021AD_ 0x88A8
#define ETH_P_IPV6_ 0x86DD

#define P_HOPOPTS 0
#define P_ICMP 1
#define P_TCP 6
#define P_UDP 17
#define P_ROUTING 43
#define P_FRAGMENT 44
#define P_AH 51
#define P_ICMPV6 58
#define P_DSTOPTS 60
#define P_SCTP 132

#define MAX_IPV6_EXT 8

DP_STAGE int parse_vxlan(DP_CTX *ctx, struct dp_pkt *p, int avail)
{
	if (!p)
		return 0;
	__u8 v[8];
	if (avail < 8 + 14 || dp_load(ctx, p->payload, v, 8)) {
		dp_drop(p, DROP_INVALID);
		return 0;
	}
	if ((v[0] & 0x08) == 0) {
		dp_drop(p, DROP_INVALID_VNI);
		return 0;
	}
	p->flags |= F_VXLAN;
	p->vni = ((__u32)v[4] << 16) | ((__u32)v[5] << 8) | v[6];
	p->inner = p->payload + 8;
	return 0;
}

DP_STAGE int parse_l4(DP_CTX *ctx, struct dp_pkt *p, int l4, int end,
				     const struct dp_config *cfg)
{
	if (!p || !cfg)
		return 0;
	int avail = end - l4;
	__u8 h[20];
	switch (p->proto) {
	case P_TCP: {
		if (avail < 20 || dp_load(ctx, l4, h, 20)) { dp_drop(p, DROP_CT_INVALID_HDR); return 0; }
		int doff = (h[12] >> 4) * 4;
		if (doff < 20 || doff > avail) { dp_drop(p, DROP_CT_INVALID_HDR); return 0; }
		p->sport = be16(h);
		p->dport = be16(h + 2);
		p->tcp_flags = h[13];
		p->payload = l4 + doff;
		return 0;
	}
	case P_UDP: {
		if (avail < 8 || dp_load(ctx, l4, h, 8)) { dp_drop(p, DROP_CT_INVALID_HDR); return 0; }
		int ulen = be16(h + 4);
		if (ulen < 8 || ulen > avail) { dp_drop(p, DROP_CT_INVALID_HDR); return 0; }
		p->sport = be16(h);
		p->dport = be16(h + 2);
		p->payload = l4 + 8;
		if (cfg->vxlan_port != 0 && p->dport == cfg->vxlan_port && !p->reparse)
			parse_vxlan(ctx, p, ulen - 8);
		return 0;
	}
	case P_SCTP: {
		if (avail < 12 || dp_load(ctx, l4, h, 4)) { dp_drop(p, DROP_CT_INVALID_HDR); return 0; }
		p->sport = be16(h);
		p->dport = be16(h + 2);
		p->payload = l4 + 12;
		return 0;
	}
	case P_ICMP: {
		if (avail < 8 || dp_load(ctx, l4, h, 8)) { dp_drop(p, DROP_CT_INVALID_HDR); return 0; }
		__u8 t = h[0];
		p->icmp_type = t;
		p->icmp_code = h[1];
		p->dport = be16(h);
		if (t == 0 || t == 8 || t == 13 || t == 14)
			p->sport = be16(h + 4);
		else if (t == 3 || t == 4 || t == 5 || t == 11 || t == 12)
			p->flags |= F_ICMP_ERROR;
		p->payload = l4 + 8;
		return 0;
	}
	case P_ICMPV6: {
		if (avail < 8 || dp_load(ctx, l4, h, 8)) { dp_drop(p, DROP_CT_INVALID_HDR); return 0; }
		__u8 t = h[0];
		p->icmp_type = t;
		p->icmp_code = h[1];
		p->dport = be16(h);
		if (t == 128 || t == 129)
			p->sport = be16(h + 4);
		else if (t >= 1 && t <= 4)
			p->flags |= F_ICMP_ERROR;
		else if (t >= 133 && t <= 137) {
			// NS/NA/redirect carry a target address after the 8-byte header.
			if (t >= 135 && avail < 24) { dp_drop(p, DROP_CT_INVALID_HDR); return 0; }
			p->flags |= F_NDP;
		}
		p->payload = l4 + 8;
		return 0;
	}
	default:
		p->payload = l4;
		return 0;
	}
	return 0;
}

DP_STAGE int parse_ipv4(DP_CTX *ctx, struct dp_pkt *p, int off,
				       const struct dp_config *cfg)
{
	if (!p || !cfg)
		return 0;
	int avail = p->len - off;
	__u8 h[60];
	if (avail < 20 || dp_load(ctx, off, h, 20)) { dp_drop(p, DROP_INVALID); return 0; }
	int ihl = (h[0] & 0x0f) * 4;
	if ((h[0] >> 4) != 4 || ihl < 20 || ihl > avail) { dp_drop(p, DROP_INVALID); return 0; }
	int total = be16(h + 2);
	// Trailing Ethernet padding is fine; a total length beyond the frame or inside the header is not.
	if (total < ihl || total > avail) { dp_drop(p, DROP_INVALID); return 0; }
	__u32 sum = 0;
#pragma unroll
	for (int i = 20; i < 60; i += 4) {
		if (i < ihl && dp_load(ctx, off + i, h + i, 4) == 0)
			sum += be16(h + i) + be16(h + i + 2);
	}
#pragma unroll
	for (int i = 0; i < 20; i += 2)
		sum += be16(h + i);
	if (csum_fold_nc(sum) != 0xffff) { dp_drop(p, DROP_CSUM_L3); return 0; }

	p->ip_version = 4;
	p->ttl = h[8];
	p->proto = h[9];
	__builtin_memcpy(p->src, h + 12, 4);
	__builtin_memcpy(p->dst, h + 16, 4);
	if (ihl > 20)
		p->flags |= F_IPV4_OPTIONS;
	int frag = be16(h + 6);
	int l4 = off + ihl;
	p->l4 = l4;
	if ((frag & 0x2000) || (frag & 0x1fff)) {
		p->flags |= F_FRAGMENT;
		if (frag & 0x1fff) {
			// No L4 header in later fragments: ports stay zero.
			p->flags |= F_LATER_FRAGMENT;
			p->payload = l4;
			return 0;
		}
	}
	parse_l4(ctx, p, l4, off + total, cfg);
	return 0;
}

static __always_inline int is_ext_header(__u8 next)
{
	return next == P_HOPOPTS || next == P_ROUTING || next == P_FRAGMENT || next == P_DSTOPTS || next == P_AH;
}

DP_STAGE int parse_ipv6(DP_CTX *ctx, struct dp_pkt *p, int off,
				       const struct dp_config *cfg)
{
	if (!p || !cfg)
		return 0;
	int avail = p->len - off;
	__u8 h[40];
	if (avail < 40 || dp_load(ctx, off, h, 40)) { dp_drop(p, DROP_INVALID); return 0; }
	if ((h[0] >> 4) != 6) { dp_drop(p, DROP_INVALID); return 0; }
	int payload = be16(h + 4);
	if (40 + payload > avail) { dp_drop(p, DROP_INVALID); return 0; }
	p->ip_version = 6;
	p->ttl = h[7];
	__builtin_memcpy(p->src, h + 8, 16);
	__builtin_memcpy(p->dst, h + 24, 16);
	int end = off + 40 + payload;
	__u8 next = h[6];
	int cur = off + 40;
	for (int n = 0; n <= MAX_IPV6_EXT; n++) {
		if (!is_ext_header(next))
			break;
		if (n >= MAX_IPV6_EXT) { dp_drop(p, DROP_INVALID_EXTHDR); return 0; }
		// Hop-by-hop options are only valid directly after the fixed header (RFC 8200 §4.1).
		if (next == P_HOPOPTS && n != 0) { dp_drop(p, DROP_INVALID_EXTHDR); return 0; }
		__u8 e[8];
		if (end - cur < 8 || dp_load(ctx, cur, e, 8)) { dp_drop(p, DROP_INVALID_EXTHDR); return 0; }
		int hlen = next == P_AH ? (e[1] + 2) * 4 : next == P_FRAGMENT ? 8 : (e[1] + 1) * 8;
		if (hlen > end - cur) { dp_drop(p, DROP_INVALID_EXTHDR); return 0; }
		p->flags |= F_IPV6_EXT_HEADERS;
		if (next == P_ROUTING && e[2] == 4) {
			// RFC 8754 §2: room for Last Entry + 1 segments, Segments Left within them.
			int last = e[4];
			if (8 + (last + 1) * 16 > hlen || e[3] > last + 1) { dp_drop(p, DROP_INVALID_EXTHDR); return 0; }
			p->flags |= F_SRH;
			p->srh = cur;
		} else if (next == P_FRAGMENT) {
			p->flags |= F_FRAGMENT;
			if (be16(e + 2) & 0xfff8) {
				p->flags |= F_LATER_FRAGMENT;
				p->proto = e[0];
				p->l4 = p->payload = cur + hlen;
				return 0;
			}
		}
		next = e[0];
		cur += hlen;
	}
	p->proto = next;
	p->l4 = cur;
	parse_l4(ctx, p, cur, end, cfg);
	return 0;
}

DP_STAGE int parse_arp(DP_CTX *ctx, struct dp_pkt *p, int off)
{
	if (!p)
		return 0;
	__u8 a[6];
	if (p->len - off < 28 || dp_load(ctx, off, a, 6)) { dp_drop(p, DROP_INVALID); return 0; }
	// Ethernet/IPv4 ARP only: htype 1, ptype 0x0800, hlen 6, plen 4.
	if (a[0] != 0 || a[1] != 1 || a[2] != 0x08 || a[3] != 0 || a[4] != 6 || a[5] != 4) {
		dp_drop(p, DROP_INVALID);
		return 0;
	}
	p->flags |= F_ARP;
	return 0;
}

DP_STAGE int parse_packet(DP_CTX *ctx, struct dp_pkt *p, const struct dp_config *cfg)
{
	if (!p || !cfg)
		return 0;
	__u8 eth[14];
	if (p->len < 14 || dp_load(ctx, 0, eth, 14)) { dp_drop(p, DROP_INVALID); return 0; }
	if (eth[0] & 1)
		p->flags |= F_L2_MULTICAST;
	int off = 12;
	__u16 type = be16(eth + 12);
	int tags = 0;
	for (int i = 0; i < 3; i++) {
		if (type != ETH_P_8021Q_ && type != ETH_P_8021AD_)
			break;
		// Outer S-tag + inner C-tag is the deepest stacking we accept.
		if (++tags > 2) { dp_drop(p, DROP_UNSUPPORTED_L2); return 0; }
		__u8 t[4];
		if (p->len < off + 8 || dp_load(ctx, off + 2, t, 4)) { dp_drop(p, DROP_INVALID); return 0; }
		if (tags == 1) {
			p->flags |= F_VLAN;
			p->vlan_id = be16(t) & 0x0fff;
		} else
			p->flags |= F_QINQ;
		off += 4;
		type = be16(t + 2);
	}
	off += 2;
	p->ethertype = type;
	p->l3 = off;
	if (type == ETH_P_IPV4)
		parse_ipv4(ctx, p, off, cfg);
	else if (type == ETH_P_IPV6_)
		parse_ipv6(ctx, p, off, cfg);
	else if (type == ETH_P_ARP_)
		parse_arp(ctx, p, off);
	else
		dp_drop(p, DROP_UNKNOWN_L3);
	return 0;
}
