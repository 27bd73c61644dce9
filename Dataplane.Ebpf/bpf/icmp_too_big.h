// SPDX-License-Identifier: GPL-2.0
// ICMP errors for packets too big for the tunnel (Dataplane.Core/Overlay/IcmpTooBig.cs): fragmentation needed
// (IPv4) or packet too big (IPv6) back to the sender from the overlay's ICMP source, quoting the packet.
#pragma once
#include "dp_pkt.h"
#include "dp_maps.h"
#include "csum.h"
#include "scratch.h"

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
