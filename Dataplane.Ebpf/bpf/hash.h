// SPDX-License-Identifier: GPL-2.0
// The two hashes the C# pipeline computes with CRC32-C, bit for bit: the x86 crc32 step itself, and the
// packet's flow hash (Dataplane.Core/Parsing/FlowHash.cs, as PacketParser applies it), which picks the VXLAN
// source port and the outer IPv6 flow label. The conntrack key hash that picks a Maglev slot is in services.h.
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
/// then, unless it is a later fragment (no L4 header), the ports and the protocol mixed in. Computed when first
/// needed rather than in the parser (only encapsulation reads it), but always from the parsed tuple: nat.h pins
/// it before the first rewrite changes the addresses or ports.
static __always_inline void flow_hash_pin(struct dp_pkt *p)
{
	if (p->hash_set)
		return;
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
	p->hash_set = 1;
}
