// SPDX-License-Identifier: GPL-2.0
// Security identities of both ends (Dataplane.Core/Pipeline/IdentityStage.cs): the ipcache is an LPM trie
// per family; an address nothing covers is the world identity of its family.
#pragma once
#include "dp_pkt.h"
#include "dp_maps.h"

static __always_inline __u32 ipcache_lookup(__u8 ip_version, const __u8 *addr, const struct dp_config *cfg)
{
	__u32 *id;
	if (ip_version == 4) {
		struct lpm4_key k = { .prefixlen = 32 };
		__builtin_memcpy(k.addr, addr, 4);
		id = bpf_map_lookup_elem(&dp_ipcache4, &k);
		return id ? *id : cfg->world4;
	}
	struct lpm6_key k = { .prefixlen = 128 };
	__builtin_memcpy(k.addr, addr, 16);
	id = bpf_map_lookup_elem(&dp_ipcache6, &k);
	return id ? *id : cfg->world6;
}

DP_STAGE int identity_stage(struct dp_pkt *p, const struct dp_config *cfg)
{
	if (!p || !cfg)
		return 0;
	if (p->ip_version == 0)
		return 0;
	// A packet from a local endpoint keeps the endpoint's own identity, one decapsulated from VXLAN its VNI's.
	if (p->src_endpoint == 0 && !(p->flags & F_TUNNEL_IDENTITY))
		p->src_identity = ipcache_lookup(p->ip_version, p->src, cfg);
	p->dst_identity = ipcache_lookup(p->ip_version, p->dst, cfg);
	return 0;
}
