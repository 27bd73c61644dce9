// SPDX-License-Identifier: GPL-2.0
// The hashes the C# pipeline computes with CRC32-C, bit for bit: the x86 crc32 step itself; the packet's flow
// hash (Dataplane.Core/Parsing/FlowHash.cs, as PacketParser applies it), which picks the VXLAN source port and
// the outer IPv6 flow label; and CtKey.Hash(), which picks a Maglev slot (services.h) and where the SNAT port
// search starts (snat.h).
#pragma once
#include "dp_pkt.h"

/// BitOperations.Crc32C(crc, w): the x86 crc32 instruction over the low `bits` (32 or 64) of w, lowest byte
/// first, no inversion.
__attribute__((noinline)) __u32 dp_crc32c(__u32 crc, __u64 w, __u32 bits)
{
	for (__u32 i = 0; i < 64; i++) {
		if (i >= bits)
			break;
		__u32 bit = (crc ^ (__u32)(w >> i)) & 1;
		crc = (crc >> 1) ^ (bit ? 0x82F63B78u : 0);
	}
	return crc;
}

/// A little-endian load of 4 / 8 bytes: what the C# parser's *(uint*) / ReadUnaligned<ulong> of the header sees.
static __always_inline __u64 le_word(const __u8 *a, int n)
{
	__u64 w = 0;
	for (int i = n - 1; i >= 0; i--)
		w = (w << 8) | a[i];
	return w;
}

/// FlowHash.Finish.
static __always_inline __u32 flow_finish(__u32 h)
{
	h ^= h >> 15;
	h *= 0x2c1b3c6du;
	h ^= h >> 12;
	return h;
}

#define FLOW_SEED 0x9747b28cu

/// PacketMeta.FlowHash of the packet as parsed: FlowHash.Ipv4(src, dst, proto) / FlowHash.Ipv6(addresses),
/// then, unless it is a later fragment (no L4 header), the ports and the protocol mixed in. Only encapsulation
/// reads it, so the program computes it only for snapshots with tunnel next hops, right after parsing and
/// termination, before any NAT rewrite changes the tuple.
DP_STAGE int flow_hash_stage(struct dp_pkt *p)
{
	if (!p)
		return 0;
	__u32 h;
	if (p->ip_version == 4) {
		h = dp_crc32c(FLOW_SEED ^ p->proto, le_word(p->src, 4), 32);
		h = dp_crc32c(h, le_word(p->dst, 4), 32);
	} else {
		h = dp_crc32c(FLOW_SEED, le_word(p->src, 8), 64);
		h = dp_crc32c(h, le_word(p->src + 8, 8), 64);
		h = dp_crc32c(h, le_word(p->dst, 8), 64);
		h = dp_crc32c(h, le_word(p->dst + 8, 8), 64);
	}
	if (!(p->flags & F_LATER_FRAGMENT)) {
		h = dp_crc32c(h, ((__u32)p->sport << 16) | p->dport, 32);
		h = dp_crc32c(h, p->proto, 32);
	}
	p->flow_hash = flow_finish(h);
	return 0;
}

/// An address as the two 64-bit words of the C# UInt128 (IPv4 in the low 32 bits, IPv6 big-endian).
static __always_inline void addr_words(const __u8 *a, __u8 family, __u64 *lo, __u64 *hi)
{
	__u64 l = 0, h = 0;
	if (family == 4) {
		l = ((__u64)a[0] << 24) | ((__u64)a[1] << 16) | ((__u64)a[2] << 8) | a[3];
	} else {
		for (int i = 0; i < 8; i++) {
			h = (h << 8) | a[i];
			l = (l << 8) | a[8 + i];
		}
	}
	*lo = l;
	*hi = h;
}

/// CtKey.Hash().
static __always_inline __u64 ct_hash(const struct ct_key *k)
{
	__u64 s0, s1, d0, d1;
	addr_words(k->src, k->family, &s0, &s1);
	addr_words(k->dst, k->family, &d0, &d1);
	__u64 w4 = (__u64)k->sport | ((__u64)k->dport << 16) | ((__u64)k->proto << 32) | ((__u64)k->family << 40);
	__u32 lo = dp_crc32c(0x811C9DC5u, s0, 64);
	lo = dp_crc32c(lo, s1, 64);
	lo = dp_crc32c(lo, d0, 64);
	__u32 hi = dp_crc32c(0x01000193u, d1, 64);
	hi = dp_crc32c(hi, w4, 64);
	hi = dp_crc32c(hi, lo, 32); // Crc32C(uint, uint): four bytes

	__u64 h = ((__u64)hi << 32) | lo;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	return h;
}
