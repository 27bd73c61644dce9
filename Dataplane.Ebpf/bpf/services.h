// SPDX-License-Identifier: GPL-2.0
// Service load balancing as Dataplane.Core/Pipeline/ServiceStage: a new TCP/UDP connection to a frontend
// (ClusterIP, NodePort on a node address, external/LoadBalancer IP; a Local traffic policy is the frontend's
// narrowed set, compiled) gets a backend — the client's sessionAffinity binding while it names an active backend,
// else the Maglev ring slot CtKey.Hash() % ring length (hash.h, bit for bit), else (lb-algorithm random)
// xorshift64* % backends as LbWorkerState — and is DNATed to it with NatRewrite's incremental checksum updates;
// no backend drops with 158. The connection's entry (ct_create.h) reverse-translates replies.
#pragma once
#include "dp_pkt.h"
#include "dp_maps.h"
#include "conntrack.h"
#include "nat.h"
#include "hash.h"

/// LbWorkerState.NextRandom: xorshift64* from the shared state.
static __always_inline __u32 lb_random(void)
{
	__u32 zero = 0;
	__u64 *state = bpf_map_lookup_elem(&dp_lb_rng, &zero);
	if (!state)
		return 0;
	__u64 x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return (__u32)((x * 0x2545F4914F6CDD1Dull) >> 32);
}

DP_STAGE int service_stage(DP_CTX *ctx, struct dp_pkt *p)
{
	__u32 zero = 0;
	struct ct_scratch *s = bpf_map_lookup_elem(&dp_ct_scratch, &zero);
	if (!ctx || !p || !s)
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
	if (fe->backend_count == 0) {
		dp_drop(p, DROP_NO_SERVICE);
		return 0;
	}
	__u32 timeout = fe->affinity_timeout;
	struct lb_affinity_key *ak = &s->affinity;
	struct lb_slot *be = NULL;
	if (timeout) {
		// ServiceStage.Select: the client's binding holds while its backend is still active.
		__builtin_memcpy(ak->client, p->src, 16);
		ak->service = fe->service_id;
		ak->family = p->ip_version;
		ak->pad[0] = ak->pad[1] = ak->pad[2] = 0;
		struct lb_affinity *a = bpf_map_lookup_elem(&dp_lb_affinity, ak);
		if (a && a->expires > p->now) {
			struct lb_member_key *mk = &s->member;
			mk->base = fe->backend_base;
			__builtin_memcpy(mk->addr, a->backend, 16);
			mk->port = a->port;
			mk->pad = 0;
			__u32 *index = bpf_map_lookup_elem(&dp_lb_member, mk);
			if (index) {
				__u32 slot = fe->backend_base + *index;
				be = bpf_map_lookup_elem(&dp_lb_backends, &slot);
			}
		}
	}
	if (!be) {
		__u32 slot;
		if (fe->ring_len) {
			struct ct_key *k = &s->key;
			ct_key_of(p, k);
			slot = fe->ring_base + (__u32)(ct_hash(k) % fe->ring_len);
			be = bpf_map_lookup_elem(&dp_lb_ring, &slot);
		} else {
			slot = fe->backend_base + lb_random() % fe->backend_count;
			be = bpf_map_lookup_elem(&dp_lb_backends, &slot);
		}
	}
	if (!be) {
		dp_drop(p, DROP_NO_SERVICE);
		return 0;
	}
	struct lb_slot *to = &s->to;
	*to = *be;
	if (timeout) {
		// (Re)bound until now + timeout, as AffinityTable.Set (never 0: 0 is "no binding").
		struct lb_affinity *b = &s->binding;
		__builtin_memcpy(b->backend, to->addr, 16);
		b->port = to->port;
		b->pad = 0;
		__u32 exp = p->now + timeout;
		b->expires = exp < 1 ? 1 : exp;
		bpf_map_update_elem(&dp_lb_affinity, ak, b, BPF_ANY);
	}
	p->svc_dnat = 1;
	__builtin_memcpy(p->svc_addr, p->dst, 16);
	p->svc_port = p->dport;
	nat_rewrite(ctx, p, to, 0);
	return 0;
}
