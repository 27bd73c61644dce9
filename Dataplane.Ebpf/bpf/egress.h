// SPDX-License-Identifier: GPL-2.0
// Egress gateway, as Dataplane.Core/Pipeline/EgressGatewayStage.cs (Cilium's egress_gw_request_needs_redirect /
// egress_gw_snat_needed), after identity and before routing: IPv4 traffic from a pod a policy selects, to a
// destination outside the cluster (world or CIDR identity) inside the policy's destinations and outside its
// exclusions (the lowest-numbered such policy), goes through one of the policy's live gateways, picked by
// rendezvous hashing — FlowHash.Finish(Mix((uint)CtKey.Hash(), seed)), highest score, first on ties — so every
// node and both pipelines pick the same one. Another node: the next hop is preset to the Tunnel hop toward it.
// This node, or a remote pod's traffic arriving while this node is a live gateway: the new connection is
// marked for SNAT to the egress IP (snat.h). No live gateway: 194.
#pragma once
#include "dp_pkt.h"
#include "dp_maps.h"
#include "conntrack.h"
#include "hash.h"

static __always_inline int egw_in(void *map, __u32 policy, const __u8 *dst)
{
	struct egw_lpm_key k = { .prefixlen = 8 + 32, .policy = (__u8)policy };
	__builtin_memcpy(k.addr, dst, 4);
	return bpf_map_lookup_elem(map, &k) != NULL;
}

static __always_inline void egw_mark_snat(struct dp_pkt *p, const struct egw_gateway *g)
{
	p->snat = 1;
	__builtin_memset(p->snat_addr, 0, 16);
	__builtin_memcpy(p->snat_addr, g->egress_ip, 4);
}

DP_STAGE int egress_gateway_stage(struct dp_pkt *p)
{
	if (!p)
		return 0;
	if (p->verdict != V_CONTINUE || p->ip_version != 4 || p->ct_state == CT_REPLY || p->ct_state == CT_RELATED
	    || (p->flags & (F_ICMP_ERROR | F_NDP)))
		return 0;
	__u32 dst_id = p->dst_identity;
	if (!(dst_id == ID_WORLD || dst_id == ID_WORLD_IPV4 || dst_id == ID_WORLD_IPV6
	      || (dst_id & ID_SCOPE_MASK) == ID_LOCAL_SCOPE_FLAG))
		return 0;
	__u32 src;
	__builtin_memcpy(&src, p->src, 4);
	__u64 *maskp = bpf_map_lookup_elem(&dp_egw_src, &src);
	if (!maskp)
		return 0;
	__u64 mask = *maskp;
	__u32 policy = EGW_MAX_POLICIES;
	for (__u32 i = 0; i < EGW_MAX_POLICIES; i++) {
		if (!(mask & (1ull << i)))
			continue;
		if (egw_in(&dp_egw_dst, i, p->dst) && !egw_in(&dp_egw_excl, i, p->dst)) {
			policy = i;
			break;
		}
	}
	if (policy >= EGW_MAX_POLICIES)
		return 0;
	__u32 *countp = bpf_map_lookup_elem(&dp_egw_count, &policy);
	__u32 count = countp ? *countp : 0;
	if (p->src_endpoint == 0) {
		// From a pod on another node, tunnelled here: SNATed here if this node is one of the live gateways.
		for (__u32 i = 0; i < EGW_MAX_GATEWAYS; i++) {
			if (i >= count)
				break;
			__u32 slot = policy * EGW_MAX_GATEWAYS + i;
			struct egw_gateway *g = bpf_map_lookup_elem(&dp_egw_gw, &slot);
			if (g && g->local && g->live) {
				if (p->ct_state == CT_NEW)
					egw_mark_snat(p, g);
				break;
			}
		}
		return 0;
	}
	struct ct_key k;
	ct_key_of(p, &k);
	__u32 h = (__u32)ct_hash(&k);
	struct egw_gateway *best = NULL;
	__u32 best_score = 0;
	for (__u32 i = 0; i < EGW_MAX_GATEWAYS; i++) {
		if (i >= count)
			break;
		__u32 slot = policy * EGW_MAX_GATEWAYS + i;
		struct egw_gateway *g = bpf_map_lookup_elem(&dp_egw_gw, &slot);
		if (!g || !g->live)
			continue;
		__u32 score = flow_finish(dp_crc32c(h, g->seed, 32));
		if (!best || score > best_score) {
			best = g;
			best_score = score;
		}
	}
	if (!best) {
		dp_drop(p, DROP_NO_EGRESS_GATEWAY);
		return 0;
	}
	if (best->local) {
		if (p->ct_state == CT_NEW)
			egw_mark_snat(p, best);
		return 0;
	}
	p->nexthop = best->next_hop;
	p->flags |= F_NEXTHOP_PRESET;
	return 0;
}
