// SPDX-License-Identifier: GPL-2.0
// Internet checksums (Dataplane.Core/Checksums/InetChecksum.cs) over packet bytes and over accumulated words, for
// the headers encapsulation and ICMP errors build.
#pragma once
#include "dp_pkt.h"
#include "dp_maps.h"

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

/// Folds a 64-bit accumulation of big-endian words and complements it (InetChecksum.Fold).
static __always_inline __u16 csum_final(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	return (__u16)~csum_fold_nc((__u32)sum);
}
