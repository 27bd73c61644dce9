// SPDX-License-Identifier: GPL-2.0
// VXLAN and SRv6 (H.Encaps) encapsulation toward Tunnel next hops, after policy and conntrack have seen the inner
// packet, as Dataplane.Core/Overlay/OverlayEncapStage.cs with Encapsulation.Vxlan/Srv6 and IcmpTooBig. VXLAN:
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

/// InetChecksum.Sum over len packet bytes from off (even), folded without complement: the one's-complement sum
/// of the bytes as big-endian 16-bit words, an odd tail padded with zero (0 only for all-zero bytes). bpf_csum_diff
/// sums host-order words; a one's-complement sum of byte-swapped words is the byte-swapped sum, so on a
/// little-endian host the folded result is swapped once at the end. -1 when the bytes cannot be read (or the
/// frame is over 16 KiB: the packet is then dropped with 141).
DP_STAGE int csum_packet(DP_CTX *ctx, __u32 off, __u32 len)
{
	__u32 zero = 0;
	struct csum_scratch *s = bpf_map_lookup_elem(&dp_csum_scratch, &zero);
	if (!ctx || !s)
		return -1;
	__u64 sum = 0, rest = len, at = off;
	// 32 chunks of 512 bytes: more than any frame the datapath carries.
	for (int i = 0; i < 32; i++) {
		if (rest == 0)
			break;
		// 64-bit throughout: a 32-bit n would reach the helper as a register whose upper half the verifier
		// cannot bound; the barrier keeps clang from using an unclamped copy.
		__u64 n = rest > CSUM_CHUNK ? CSUM_CHUNK : rest;
		asm volatile("" : "+r"(n));
		if (n == 0 || n > CSUM_CHUNK)
			break;
		// A tail that is no multiple of 4 is summed with zeros after it.
		if (n & 3)
			*(__u32 *)(s->b + (n & (CSUM_CHUNK - 4))) = 0;
		if (dp_load(ctx, at, s->b, n))
			return -1;
		__s64 part = bpf_csum_diff(NULL, 0, (__be32 *)s->b, (n + 3) & ~3u, 0);
		if (part < 0)
			return -1;
		sum += (__u32)part;
		at += n;
		rest -= n;
	}
	if (rest)
		return -1;
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return __builtin_bswap16(csum_fold_nc((__u32)sum));
#else
	return csum_fold_nc((__u32)sum);
#endif
}

/// The per-CPU scratch buffer, also where headers are assembled before one store into the packet (the stack is
/// too small for them along the deepest call chain). Free again once they are stored.
static __always_inline __u8 *scratch(void)
{
	__u32 zero = 0;
	struct csum_scratch *s = bpf_map_lookup_elem(&dp_csum_scratch, &zero);
	return s ? s->b : NULL;
}

/// Folds a 64-bit accumulation of big-endian words and complements it (InetChecksum.Fold).
static __always_inline __u16 csum_final(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	return (__u16)~csum_fold_nc((__u32)sum);
}

static __always_inline void put16(__u8 *b, __u16 v)
{
	b[0] = v >> 8;
	b[1] = v;
}

/// IcmpTooBig.Finish: the error leaves by the port the packet came in on, back to its sender; the parsed fields
/// now describe the ICMP error.
static __always_inline void too_big_finish(struct dp_pkt *p, __u32 length, __u8 proto, __u8 type, __u8 code, int ip_header)
{
	p->len = length;
	p->l3 = 14;
	p->l4 = 14 + ip_header;
	p->payload = p->l4 + 8;
	p->proto = proto;
	p->icmp_type = type;
	p->icmp_code = code;
	p->sport = 0;
	p->dport = ((__u16)type << 8) | code;
	p->flags = (p->flags & ~F_TUNNEL_ENCAP) | F_ICMP_ERROR;
	p->out_port = p->in_port;
	p->dst_endpoint = p->src_endpoint;
	p->verdict = V_TX;
}

/// Moves the frame to `want` bytes from the end (the quote is shorter than the packet it quotes).
static __always_inline int trim_to(DP_CTX *ctx, __u32 want)
{
	int cur = (int)dp_len(ctx);
	return cur > (int)want ? dp_adjust_tail(ctx, (int)want - cur) : 0;
}

/// IcmpTooBig.Reply4: fragmentation needed (3/4, RFC 1191) from the overlay's IPv4 ICMP source, quoting up to
/// 576 bytes in all (RFC 1812); without DF (not ours to fragment) or without a source: 157.
DP_STAGE int too_big4(DP_CTX *ctx, struct dp_pkt *p, const struct dp_tunnel *t, int mtu)
{
	if (!ctx || !p || !t)
		return 0;
	__u8 o[20];
	if (dp_load(ctx, p->l3, o, 20)) { dp_drop(p, DROP_WRITE_ERROR); return 0; }
	int ip_len = be16(o + 2);
	__u32 src;
	__builtin_memcpy(&src, t->icmp_source4, 4);
	if (!(o[6] & 0x40) || src == 0) { dp_drop(p, DROP_FRAG_NOSUPPORT); return 0; }
	if (p->l3 != 14 || dp_adjust_head(ctx, -28)) { dp_drop(p, DROP_WRITE_ERROR); return 0; }
	int quote = ip_len < 576 - 28 ? ip_len : 576 - 28;
	int total = 28 + quote;
	__u8 *h = scratch();
	__u8 mac[12];
	if (!h) { dp_drop(p, DROP_WRITE_ERROR); return 0; }
	__builtin_memset(h, 0, 42);
	if (dp_load(ctx, 28, mac, 12) || trim_to(ctx, 14 + total)) { dp_drop(p, DROP_WRITE_ERROR); return 0; }
	__builtin_memcpy(h, mac + 6, 6);       // to the sender's MAC, from the one it addressed (ours)
	__builtin_memcpy(h + 6, mac, 6);
	h[12] = 0x08;
	__u8 *ip = h + 14;
	ip[0] = 0x45;
	put16(ip + 2, total);
	ip[8] = 64;
	ip[9] = 1;
	__builtin_memcpy(ip + 12, t->icmp_source4, 4);
	__builtin_memcpy(ip + 16, o + 12, 4);
	__u64 sum = 0;
	for (int i = 0; i < 20; i += 2)
		sum += be16(ip + i);
	put16(ip + 10, csum_final(sum));
	__u8 *icmp = ip + 20;
	icmp[0] = 3;
	icmp[1] = 4;
	put16(icmp + 6, mtu);
	if (dp_store(ctx, 0, h, 42)) { dp_drop(p, DROP_WRITE_ERROR); return 0; }
	// The scratch buffer is the checksum's next: take what is still needed from it first.
	__builtin_memset(p->src, 0, 16);
	__builtin_memset(p->dst, 0, 16);
	__builtin_memcpy(p->src, ip + 12, 4);
	__builtin_memcpy(p->dst, ip + 16, 4);
	int c = csum_packet(ctx, 34, 8 + quote);
	if (c < 0) { dp_drop(p, DROP_WRITE_ERROR); return 0; }
	__u8 cb[2];
	put16(cb, csum_final(c));
	if (dp_store(ctx, 36, cb, 2)) { dp_drop(p, DROP_WRITE_ERROR); return 0; }
	too_big_finish(p, 14 + total, 1, 3, 4, 20);
	return 0;
}

/// IcmpTooBig.Reply6: packet too big (2/0, RFC 8201) from the overlay's IPv6 ICMP source, quoting up to 1280
/// bytes in all (RFC 4443); without a source: 157.
DP_STAGE int too_big6(DP_CTX *ctx, struct dp_pkt *p, const struct dp_tunnel *t, int mtu)
{
	if (!ctx || !p || !t)
		return 0;
	// Assembled in the scratch buffer from the start: the quoted addresses go there at once rather than being
	// held in registers across the helper calls below (spilled, past the stack budget).
	__u8 *h = scratch();
	if (!h) { dp_drop(p, DROP_WRITE_ERROR); return 0; }
	__builtin_memset(h, 0, 62);
	__u8 *ip = h + 14;
	if (dp_load(ctx, p->l3, ip, 40)) { dp_drop(p, DROP_WRITE_ERROR); return 0; }
	int ip_len = 40 + be16(ip + 4);
	if (addr_zero16(t->icmp_source6)) { dp_drop(p, DROP_FRAG_NOSUPPORT); return 0; }
	if (p->l3 != 14 || dp_adjust_head(ctx, -48)) { dp_drop(p, DROP_WRITE_ERROR); return 0; }
	int quote = ip_len < 1280 - 48 ? ip_len : 1280 - 48;
	int payload = 8 + quote;
	__builtin_memcpy(ip + 24, ip + 8, 16); // to the original sender
	__builtin_memcpy(ip + 8, t->icmp_source6, 16);
	__builtin_memset(ip, 0, 8);
	__builtin_memset(ip + 40, 0, 8);
	if (dp_load(ctx, 48, h + 62, 12) || trim_to(ctx, 14 + 40 + payload)) { dp_drop(p, DROP_WRITE_ERROR); return 0; }
	__builtin_memcpy(h, h + 62 + 6, 6);     // to the sender's MAC, from the one it addressed (ours)
	__builtin_memcpy(h + 6, h + 62, 6);
	h[12] = 0x86;
	h[13] = 0xdd;
	ip[0] = 0x60;
	put16(ip + 4, payload);
	ip[6] = 58;
	ip[7] = 64;
	__u8 *icmp = ip + 40;
	icmp[0] = 2;
	icmp[4] = (__u32)mtu >> 24;
	icmp[5] = (__u32)mtu >> 16;
	icmp[6] = (__u32)mtu >> 8;
	icmp[7] = mtu;
	if (dp_store(ctx, 0, h, 62)) { dp_drop(p, DROP_WRITE_ERROR); return 0; }
	// The new addresses for the flow event, read back by the helper straight into the packet state: copied
	// through registers, 32 bytes would be spilled past the stack budget of the deepest call chain.
	if (dp_load(ctx, 14 + 8, p->src, 16) || dp_load(ctx, 14 + 24, p->dst, 16)) { dp_drop(p, DROP_WRITE_ERROR); return 0; }
	// Pseudo-header: the two addresses (summed where they lie in the packet) + length + next header.
	int a = csum_packet(ctx, 14 + 8, 32);
	int c = csum_packet(ctx, 54, payload);
	if (a < 0 || c < 0) { dp_drop(p, DROP_WRITE_ERROR); return 0; }
	__u64 sum = (__u64)payload + 58 + a + c;
	__u8 cb[2];
	put16(cb, csum_final(sum));
	if (dp_store(ctx, 56, cb, 2)) { dp_drop(p, DROP_WRITE_ERROR); return 0; }
	too_big_finish(p, 14 + 40 + payload, 58, 2, 0, 40);
	return 0;
}

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
