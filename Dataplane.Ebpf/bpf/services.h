// SPDX-License-Identifier: GPL-2.0
// Service load balancing, the ClusterIP/Maglev slice of Dataplane.Core/Pipeline/ServiceStage: a new TCP/UDP
// connection to a frontend gets the backend in its Maglev ring slot — slot = CtKey.Hash() % ring length, a
// bit-exact copy of the C# hash (CRC32-C over the key's five little-endian 64-bit words in two lanes, the first
// lane's 32-bit result folded into the second, then a 64-bit mix) — and is DNATed to it with NatRewrite's incremental checksum updates; no backend drops with 158.
// The connection's entry (conntrack.h) reverse-translates replies. MapFiller offers this program only
// snapshots inside the slice (OffloadSupport).
#pragma once
#include "dp_pkt.h"
#include "dp_maps.h"
#include "conntrack.h"
#include "nat.h"
#include "hash.h"

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

DP_STAGE int service_stage(struct xdp_md *ctx, struct dp_pkt *p)
{
	if (!ctx || !p)
		return 0;
	if (p->verdict != V_CONTINUE || p->ct_state != CT_NEW || (p->proto != 6 && p->proto != 17)
	    || (p->flags & (F_ICMP_ERROR | F_LATER_FRAGMENT)))
		return 0;
	struct lb_fe_key fk = {};
	__builtin_memcpy(fk.addr, p->dst, 16);
	fk.port = p->dport;
	fk.proto = p->proto;
	fk.family = p->ip_version;
	struct lb_fe *fe = bpf_map_lookup_elem(&dp_lb_fe, &fk);
	if (!fe)
		return 0;
	if (fe->ring_len == 0) {
		dp_drop(p, DROP_SERVICE_BACKEND_NOT_FOUND);
		return 0;
	}
	struct ct_key k;
	ct_key_of(p, &k);
	__u32 slot = fe->ring_base + (__u32)(ct_hash(&k) % fe->ring_len);
	struct lb_slot *be = bpf_map_lookup_elem(&dp_lb_ring, &slot);
	if (!be) {
		dp_drop(p, DROP_SERVICE_BACKEND_NOT_FOUND);
		return 0;
	}
	p->svc_dnat = 1;
	__builtin_memcpy(p->svc_addr, p->dst, 16);
	p->svc_port = p->dport;
	struct lb_slot to = *be;
	nat_rewrite(ctx, p, &to, 0);
	return 0;
}
