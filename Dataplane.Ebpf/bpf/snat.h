// SPDX-License-Identifier: GPL-2.0
// Source NAT, as Dataplane.Core/Pipeline/MasqueradeStage.cs (the decision, after routing) and
// SnatPortAllocator.TryAllocate (the translation, at conntrack create): pod traffic leaving through a node
// interface to a destination outside the exempt CIDRs when masquerading is on, and a client from outside DNATed
// to a backend behind an interface (NodePort SNAT mode: replies must come back here), get the interface's
// address and a source port (ICMP echo: identifier) from the NAT range whose reply tuple no connection uses. The
// search is the C# one step for step — the original port when inside the range, then candidates from
// CtKey.Hash() (a range of at most SNAT_RETRIES ports is scanned in order, a larger one probed with a golden-ratio
// stride) — and "in use" is the same question asked of the same table (ct_find: forward keys, reply index,
// plain reverses), so both sides pick the same port given the same connections. Only TCP, UDP and echo requests
// can be translated (else 168; later fragments 157); no address on the interface drops with 167, an exhausted
// range with 167 too, a full map with 155.
#pragma once
#include "dp_pkt.h"
#include "dp_maps.h"
#include "conntrack.h"
#include "hash.h"
#include "nat.h"

// Cilium's SNAT_COLLISION_RETRIES, as SnatPortAllocator.Retries.
#define SNAT_RETRIES 32

/// MasqueradeState.Exempt.Contains(destination).
static __always_inline int masq_exempt(const struct dp_pkt *p)
{
	if (p->ip_version == 4) {
		struct lpm4_key k = { .prefixlen = 32 };
		__builtin_memcpy(k.addr, p->dst, 4);
		return bpf_map_lookup_elem(&dp_masq_exempt4, &k) != NULL;
	}
	struct lpm6_key k = { .prefixlen = 128 };
	__builtin_memcpy(k.addr, p->dst, 16);
	return bpf_map_lookup_elem(&dp_masq_exempt6, &k) != NULL;
}

/// MasqueradeStage: marks the new connections to SNAT (p->snat, p->snat_addr; the egress gateway may have marked
/// one already, with its egress IP); conntrack create translates them.
DP_STAGE int masquerade_stage(struct dp_pkt *p, const struct dp_config *cfg)
{
	if (!p || !cfg)
		return 0;
	if (p->verdict != V_TX || p->ct_state != CT_NEW || (p->flags & F_ICMP_ERROR))
		return 0;
	__u32 port = p->out_port;
	struct dp_port *out = p->dst_endpoint == 0 && port < cfg->port_count ? bpf_map_lookup_elem(&dp_ports, &port) : NULL;
	if (!out || out->kind != PORT_INTERFACE) {
		// Not leaving through an interface: not even the egress gateway's mark holds.
		p->snat = 0;
		return 0;
	}
	if (!p->snat) {
		int snat = p->svc_dnat ? p->src_endpoint == 0
				       : cfg->masq_enabled && p->src_endpoint != 0 && !masq_exempt(p);
		if (!snat)
			return 0;
	}
	int translatable = p->proto == 6 || p->proto == 17 || (p->proto == 1 && p->icmp_type == 8)
			   || (p->proto == 58 && p->icmp_type == 128);
	if (p->flags & F_LATER_FRAGMENT) {
		dp_drop(p, DROP_FRAG_NOSUPPORT);
		return 0;
	}
	if (!translatable) {
		dp_drop(p, DROP_NAT_UNSUPP_PROTO);
		return 0;
	}
	if (addr_zero16(p->snat_addr)) {
		// The egress gateway's egress IP, else the interface's own address.
		struct masq_addr *a = bpf_map_lookup_elem(&dp_masq_addr, &port);
		if (!a) {
			dp_drop(p, DROP_NAT_NO_MAPPING);
			return 0;
		}
		if (p->ip_version == 4)
			__builtin_memcpy(p->snat_addr, a->ipv4, 4);
		else
			__builtin_memcpy(p->snat_addr, a->ipv6, 16);
	}
	if (addr_zero16(p->snat_addr)) {
		dp_drop(p, DROP_NAT_NO_MAPPING);
		return 0;
	}
	p->snat = 1;
	return 0;
}

/// SnatPortAllocator.TryAllocate, after conntrack_commit made any DNAT entry: a free source port for the packet's
/// tuple translated to p->snat_addr, the SNAT entry (CT_CHAIN_REPLY when it continues a DNATed connection, whose
/// entry then goes if no port is free) and its reply index, then the packet's source rewritten.
DP_STAGE int snat_commit(DP_CTX *ctx, struct dp_pkt *p, const struct dp_config *cfg)
{
	__u32 zero = 0;
	struct ct_scratch *s = bpf_map_lookup_elem(&dp_ct_scratch, &zero);
	if (!ctx || !p || !cfg || !s)
		return 0;
	struct ct_key *key = &s->conn;
	ct_key_of(p, key);
	__u32 min = cfg->nat_port_min, max = cfg->nat_port_max;
	int icmp = key->proto == 1 || key->proto == 58;
	__u32 range = max - min + 1;
	__u32 start = (__u32)(ct_hash(key) % range);
	int scan = range <= SNAT_RETRIES;
	__u32 tries = scan ? range : SNAT_RETRIES + 1;
	struct ct_key *rk = &s->key;
	for (__u32 t = 0; t < SNAT_RETRIES + 1; t++) {
		if (t >= tries)
			break;
		__u16 port;
		if (t == 0 && !scan && key->sport >= min && key->sport <= max)
			port = key->sport;
		else if (scan)
			port = min + (start + t) % range;
		else
			port = min + (__u32)(((__u64)start + (__u64)t * 0x9E3779B1ull) % range);
		// The tuple replies will carry; ICMP echo keys hold the identifier as both ports.
		__builtin_memcpy(rk->src, key->dst, 16);
		__builtin_memcpy(rk->dst, p->snat_addr, 16);
		rk->sport = icmp ? port : key->dport;
		rk->dport = port;
		rk->proto = key->proto;
		rk->family = key->family;
		rk->pad = 0;
		int reply;
		if (ct_find(rk, &reply, &s->orig))
			continue;
		struct ct_value *v = &s->value;
		__builtin_memset(v, 0, sizeof(*v));
		v->policy_rule = p->policy_rule;
		v->flags = CT_SNAT | (p->svc_dnat ? CT_CHAIN_REPLY : 0);
		__builtin_memcpy(v->nat_addr, p->snat_addr, 16);
		v->nat_port = port;
		ct_update(v, p, 0, 1, cfg);
		if (bpf_map_update_elem(&dp_ct, key, v, BPF_NOEXIST)) {
			dp_drop(p, DROP_CT_CREATE_FAILED);
			break;
		}
		if (bpf_map_update_elem(&dp_ct_rev, rk, key, BPF_ANY)) {
			bpf_map_delete_elem(&dp_ct, key);
			dp_drop(p, DROP_CT_CREATE_FAILED);
			break;
		}
		struct lb_slot *to = &s->to;
		__builtin_memcpy(to->addr, p->snat_addr, 16);
		to->port = port;
		to->pad = 0;
		nat_rewrite(ctx, p, to, 1);
		return 0;
	}
	if (p->verdict != V_DROP)
		dp_drop(p, DROP_NAT_NO_MAPPING);
	if (p->svc_dnat) {
		// The DNAT entry (client → frontend) and its reply index (backend → client) go too.
		ct_reverse(key, rk);
		bpf_map_delete_elem(&dp_ct_rev, rk);
		__builtin_memcpy(key->dst, p->svc_addr, 16);
		key->dport = p->svc_port;
		bpf_map_delete_elem(&dp_ct, key);
	}
	return 0;
}
