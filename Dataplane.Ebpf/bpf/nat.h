// SPDX-License-Identifier: GPL-2.0
// In-place address/port rewrites for DNAT, SNAT and their reverses, as Dataplane.Core/Nat/NatRewrite with
// InetChecksum's RFC 1624 incremental updates (same arithmetic, so the same bytes, 0 vs 0xffff included).
#pragma once
#include "dp_pkt.h"

/// InetChecksum.Update32: RFC 1624 over two 16-bit words.
static __always_inline __u16 csum_update32(__u16 csum, __u32 old_v, __u32 new_v)
{
	return (__u16)~csum_fold_nc((__u32)(__u16)~csum + (__u16)~(old_v >> 16) + (__u16)~old_v
				    + (new_v >> 16) + (new_v & 0xffff));
}

/// The eight big-endian 16-bit words of an IPv6 address, summed (read as four 32-bit words: byte-wise reads
/// would be kept in registers and spilled, past the stack budget).
static __always_inline __u32 sum_words16(const __u8 *a)
{
	__u32 s = 0;
	for (int i = 0; i < 16; i += 4) {
		__u32 w;
		__builtin_memcpy(&w, a + i, 4);
		w = __builtin_bswap32(w);
		s += (w >> 16) + (w & 0xffff);
	}
	return s;
}

static __always_inline int addr6_eq(const __u8 *a, const __u8 *b)
{
	__u64 x0, x1, y0, y1;
	__builtin_memcpy(&x0, a, 8);
	__builtin_memcpy(&x1, a + 8, 8);
	__builtin_memcpy(&y0, b, 8);
	__builtin_memcpy(&y1, b + 8, 8);
	return ((x0 ^ y0) | (x1 ^ y1)) == 0;
}

/// InetChecksum.Update128: the old address's folded sum complemented, then the new address's.
static __always_inline __u16 csum_update128(__u16 csum, const __u8 *old_a, const __u8 *new_a)
{
	__u32 sum = (__u32)(__u16)~csum + (__u16)~csum_fold_nc(sum_words16(old_a));
	return (__u16)~csum_fold_nc(sum + csum_fold_nc(sum_words16(new_a)));
}

/// UDP keeps 0 ("no checksum") and sends a computed 0 as 0xffff.
static __always_inline __u16 udp_fix(__u16 before, __u16 after)
{
	return before == 0 ? 0 : after == 0 ? 0xffff : after;
}

/// NatRewrite.Destination / Source: address, port (ICMP echo: the identifier) and the checksums covering them —
/// the IPv4 header's, TCP/UDP's (pseudo-header and port), ICMP's (identifier; ICMPv6's also the addresses); the
/// parsed tuple follows.
DP_STAGE int nat_rewrite(DP_CTX *ctx, struct dp_pkt *p, const struct lb_slot *to, int source)
{
	if (!ctx || !p || !to)
		return 0;
	const __u8 *addr = to->addr;
	__u16 port = to->port;
	int has_l4 = !(p->flags & F_LATER_FRAGMENT);
	int udp = p->proto == 17;
	int echo = p->proto == 1 || p->proto == 58;
	int csum_off = p->proto == 6 ? 16 : udp ? 6 : 2;
	int port_off = echo ? 4 : source ? 0 : 2;
	__u8 b[2];
	__u16 old_port = 0, csum = 0, orig_csum = 0;
	if (has_l4) {
		if (dp_load(ctx, p->l4 + port_off, b, 2))
			return 0;
		old_port = be16(b);
		if (dp_load(ctx, p->l4 + csum_off, b, 2))
			return 0;
		csum = orig_csum = be16(b);
	}
	__u8 *field = source ? p->src : p->dst;
	if (p->ip_version == 4) {
		__u32 old_v = ((__u32)field[0] << 24) | ((__u32)field[1] << 16) | ((__u32)field[2] << 8) | field[3];
		__u32 new_v = ((__u32)addr[0] << 24) | ((__u32)addr[1] << 16) | ((__u32)addr[2] << 8) | addr[3];
		if (old_v != new_v) {
			if (dp_load(ctx, p->l3 + 10, b, 2))
				return 0;
			__u16 ip_csum = csum_update32(be16(b), old_v, new_v);
			b[0] = ip_csum >> 8;
			b[1] = ip_csum;
			if (dp_store(ctx, p->l3 + 10, b, 2) || dp_store(ctx, p->l3 + (source ? 12 : 16), (void *)addr, 4))
				return 0;
			// ICMPv4's checksum does not cover the IP addresses.
			if (has_l4 && !echo)
				csum = udp ? udp_fix(orig_csum, csum_update32(csum, old_v, new_v)) : csum_update32(csum, old_v, new_v);
			__builtin_memcpy(field, addr, 4);
		}
	} else if (!addr6_eq(field, addr)) {
		if (has_l4)
			csum = udp ? udp_fix(orig_csum, csum_update128(csum, field, addr)) : csum_update128(csum, field, addr);
		if (dp_store(ctx, p->l3 + (source ? 8 : 24), (void *)addr, 16))
			return 0;
		__builtin_memcpy(field, addr, 16);
	}
	if (has_l4) {
		if (old_port != port) {
			__u16 c = csum_update16(csum, old_port, port);
			csum = udp ? udp_fix(csum, c) : c;
			b[0] = port >> 8;
			b[1] = port;
			if (dp_store(ctx, p->l4 + port_off, b, 2))
				return 0;
		}
		b[0] = csum >> 8;
		b[1] = csum;
		if (dp_store(ctx, p->l4 + csum_off, b, 2))
			return 0;
	}
	if (echo || source)
		p->sport = port;
	else
		p->dport = port;
	return 0;
}

