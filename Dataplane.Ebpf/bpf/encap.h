// SPDX-License-Identifier: GPL-2.0
// VXLAN and SRv6 (H.Encaps) encapsulation toward Tunnel next hops, after policy and conntrack have seen the inner
// packet, as Dataplane.Core/Pipeline/OverlayEncapStage.cs with Encapsulation.Vxlan/Srv6 and IcmpTooBig. VXLAN:
// the next hop's peer
// (dp_tunnels, resolved by the filler; none → 160), the MTU check (too big → ICMP fragmentation-needed /
// packet-too-big back out of the in-port, or 157), then the inner Ethernet header rewritten to the peer's
// VXLAN MAC, Ethernet padding trimmed, and the outer Ethernet + IP + UDP + VXLAN headers pushed in front with
// dp_adjust_head: the VNI carries the source identity (or the peer's fixed VNI), the UDP source port and the
// outer IPv6 flow label come from the inner flow hash (hash.h). The parsed offsets keep describing the inner
// packet, as in C#, so accounting and flow events show the pod addresses.
#pragma once
#include "dp_pkt.h"
#include "dp_maps.h"
#include "hash.h"
#include "csum.h"
#include "scratch.h"
#include "icmp_too_big.h"

/// Encapsulation.Vxlan: the outer headers from the peer's template, lengths, checksums, source port and VNI
/// patched in.
DP_STAGE int vxlan_push(DP_CTX *ctx, struct dp_pkt *p, const struct dp_tunnel *t, __u32 vni, __u32 inner_l3)
{
	if (!ctx || !p || !t)
		return 0;
	__u32 inner_frame = 14 + (inner_l3 & 0xffff);
	if (trim_to(ctx, inner_frame) || dp_store(ctx, 0, (void *)t->inner_eth, 12)) {
		dp_drop(p, DROP_WRITE_ERROR);
		return 0;
	}
	int v6 = t->outer_ipv6;
	int hdr = v6 ? 56 : 36;
	if (dp_adjust_head(ctx, -(14 + hdr))) { dp_drop(p, DROP_WRITE_ERROR); return 0; }
	__u32 fh = p->flow_hash;
	__u32 udp_len = 16 + inner_frame;
	__u8 *b = scratch();
	if (!b) { dp_drop(p, DROP_WRITE_ERROR); return 0; }
	__builtin_memcpy(b, t->eth, 12);
	__builtin_memcpy(b + 14, t->template, 56);
	__u8 *ip = b + 14, *udp;
	if (!v6) {
		b[12] = 0x08;
		b[13] = 0x00;
		__u32 total = 20 + udp_len;
		put16(ip + 2, total);
		put16(ip + 10, (__u16)~csum_fold_nc(t->pseudo_sum + total)); // the template's header sum + the length
		udp = ip + 20;
	} else {
		b[12] = 0x86;
		b[13] = 0xdd;
		ip[1] = (fh >> 16) & 0x0f;
		ip[2] = fh >> 8;
		ip[3] = fh;
		put16(ip + 4, udp_len);
		udp = ip + 40;
	}
	put16(udp, 49152 | (fh & 0x3fff)); // RFC 7348 §5: the dynamic range, spread by flow (Encapsulation.SourcePort)
	put16(udp + 4, udp_len);
	udp[12] = vni >> 16;
	udp[13] = vni >> 8;
	udp[14] = vni;
	int stored = v6 ? dp_store(ctx, 0, b, 70) : dp_store(ctx, 0, b, 50);
	if (stored) { dp_drop(p, DROP_WRITE_ERROR); return 0; }
	if (v6) {
		// IPv6 UDP needs a real checksum (RFC 8200 §8.1): over UDP + VXLAN + inner frame and the pseudo-header.
		int c = csum_packet(ctx, 54, udp_len);
		if (c < 0) { dp_drop(p, DROP_WRITE_ERROR); return 0; }
		__u16 f = csum_final((__u64)t->pseudo_sum + udp_len + c);
		__u8 cb[2];
		put16(cb, f == 0 ? 0xffff : f);
		if (dp_store(ctx, 54 + 6, cb, 2)) { dp_drop(p, DROP_WRITE_ERROR); return 0; }
	}
	__u32 pushed = 14 + hdr;
	p->len = pushed + inner_frame;
	p->l3 += pushed;
	p->l4 += pushed;
	p->payload += pushed;
	p->out_port = t->port;
	return 0;
}

/// Inlined into the program rather than a stage of its own: the stack frames of the deepest chain (program →
/// too_big6 → csum_packet) must fit the verifier's 512 bytes combined.
/// Encapsulation.Srv6 (H.Encaps, L3): the inner Ethernet header gives way to the outer one, the peer's IPv6 + SRH
/// template goes between, its flow label from the inner flow hash and its payload length patched.
DP_STAGE int srv6_push(DP_CTX *ctx, struct dp_pkt *p, const struct dp_tunnel *t, const struct dp_srv6 *s6,
		       __u32 inner_l3)
{
	if (!ctx || !p || !t || !s6)
		return 0;
	const __u8 *tmpl = p->ip_version == 4 ? s6->template4 : s6->template6;
	__u32 len = (p->ip_version == 4 ? s6->len4 : s6->len6) & 0xff;
	__u32 inner_frame = 14 + (inner_l3 & 0xffff);
	if (len < 40 || len > SRV6_MAX_TEMPLATE || (len & 7)) { dp_drop(p, DROP_NO_SID); return 0; }
	if (trim_to(ctx, inner_frame) || dp_adjust_head(ctx, -(int)len)) { dp_drop(p, DROP_WRITE_ERROR); return 0; }
	// The template in 8-byte pieces (it is a multiple of 8), then the Ethernet header and the patched fields.
	for (__u32 i = 0; i < SRV6_MAX_TEMPLATE / 8; i++) {
		if (i * 8 >= len)
			break;
		if (dp_store(ctx, 14 + i * 8, (void *)(tmpl + i * 8), 8)) { dp_drop(p, DROP_WRITE_ERROR); return 0; }
	}
	__u32 fh = p->flow_hash;
	__u32 payload = len - 40 + (inner_l3 & 0xffff);
	__u8 h[20];
	__builtin_memcpy(h, t->eth, 12);
	h[12] = 0x86;
	h[13] = 0xdd;
	h[14] = 0x60;                           // template byte 0: version 6, traffic class high bits 0
	h[15] = (fh >> 16) & 0x0f;
	h[16] = fh >> 8;
	h[17] = fh;
	put16(h + 18, payload);
	if (dp_store(ctx, 0, h, 20)) { dp_drop(p, DROP_WRITE_ERROR); return 0; }
	p->len = len + inner_frame;
	p->l3 += len;
	p->l4 += len;
	p->payload += len;
	p->out_port = t->port;
	return 0;
}

static __always_inline int overlay_encap(DP_CTX *ctx, struct dp_pkt *p)
{
	__u32 idx = p->nexthop;
	struct dp_tunnel *t = bpf_map_lookup_elem(&dp_tunnels, &idx);
	if (!t) { dp_drop(p, DROP_NO_TUNNEL_ENDPOINT); return 0; }
	// An underlay next hop resolved at run time (ARP/ND) has no MAC here: the program does not resolve
	// (docs/network.md), so it drops as the C# pipeline does without a resolver.
	if ((t->eth[0] | t->eth[1] | t->eth[2] | t->eth[3] | t->eth[4] | t->eth[5]) == 0) { dp_drop(p, DROP_NO_FIB); return 0; }
	__u8 h[6];
	if (dp_load(ctx, p->l3, h, 6)) { dp_drop(p, DROP_WRITE_ERROR); return 0; }
	int inner_l3 = p->ip_version == 4 ? be16(h + 2) : 40 + be16(h + 4);
	int mtu = (int)t->mtu;
	struct dp_srv6 *s6 = NULL;
	__u32 tlen = 0;
	if (t->mode == TUNNEL_SRV6) {
		s6 = bpf_map_lookup_elem(&dp_srv6, &idx);
		if (s6)
			tlen = p->ip_version == 4 ? s6->len4 : s6->len6;
		if (tlen == 0) { dp_drop(p, DROP_NO_SID); return 0; }
	}
	// The outer IP packet is outer IP + UDP + VXLAN + inner Ethernet + inner IP: the inner IP plus 50/70; SRv6
	// replaces the inner Ethernet header: the inner IP plus the template.
	int overhead = s6 ? (int)tlen : t->outer_ipv6 ? 70 : 50;
	if (inner_l3 + overhead > mtu) {
		if (p->flags & F_ICMP_ERROR)
			// Never an ICMP error about an ICMP error (RFC 1122 §3.2.2, RFC 4443 §2.4).
			dp_drop(p, DROP_FRAG_NOSUPPORT);
		else if (p->ip_version == 4)
			too_big4(ctx, p, t, mtu - overhead);
		else
			too_big6(ctx, p, t, mtu - overhead);
		return 0;
	}
	if (s6) {
		srv6_push(ctx, p, t, s6, inner_l3);
		return 0;
	}
	__u32 id = p->src_identity;
	__u32 vni = t->fixed_vni ? t->fixed_vni : id > 0 && id < (1u << 24) ? id : ID_WORLD;
	vxlan_push(ctx, p, t, vni, inner_l3);
	return 0;
}
