// SPDX-License-Identifier: GPL-2.0
// Conntrack create after the policy verdict, as Dataplane.Core/Pipeline/ConntrackCommitStage.cs: a new connection
// policy let through gets its entry with the translation the service and masquerade stages decided — plain; DNAT
// (keyed client → frontend, indexed for replies under backend → client); SNAT (snat.h picks the port and makes the entry); or, for
// a client from outside reaching a backend behind an interface, DNAT then SNAT as two chained entries. A full map
// drops with 155.
#pragma once
#include "dp_pkt.h"
#include "dp_maps.h"
#include "conntrack.h"

/// 1 when the connection is to be SNATed: snat_commit (snat.h) makes that entry next, as a stage of its own so
/// the two stack frames are never on the call chain together.
DP_STAGE int conntrack_commit(struct dp_pkt *p, const struct dp_config *cfg)
{
	if (!p || !cfg)
		return 0;
	if (p->ct_state != CT_NEW || p->verdict == V_DROP || (p->flags & F_ICMP_ERROR))
		return 0;
	struct ct_key k;
	ct_key_of(p, &k);
	if (!p->svc_dnat) {
		if (p->snat)
			return 1;
		struct ct_value v = {};
		v.policy_rule = p->policy_rule;
		ct_update(&v, p, 0, 1, cfg);
		if (bpf_map_update_elem(&dp_ct, &k, &v, BPF_NOEXIST))
			dp_drop(p, DROP_CT_CREATE_FAILED);
		return 0;
	}
	// A DNATed connection: keyed by client → frontend, indexed for replies under backend → client, which no
	// live connection may use (a stale index entry the GC left is overwritten).
	struct ct_key reply_key, orig, fk = k;
	struct ct_value v = {};
	v.policy_rule = p->policy_rule;
	ct_update(&v, p, 0, 1, cfg);
	__builtin_memcpy(fk.dst, p->svc_addr, 16);
	fk.dport = p->svc_port;
	ct_reverse(&k, &reply_key);
	int reply;
	__builtin_memcpy(v.nat_addr, p->dst, 16);
	v.nat_port = p->dport;
	v.flags = CT_DNAT | (p->snat ? CT_CHAIN_FORWARD : 0); // the SNAT leg follows (snat_commit)
	if (ct_find(&reply_key, &reply, &orig) || bpf_map_update_elem(&dp_ct, &fk, &v, BPF_NOEXIST)) {
		dp_drop(p, DROP_CT_CREATE_FAILED);
		return 0;
	}
	if (bpf_map_update_elem(&dp_ct_rev, &reply_key, &fk, BPF_ANY)) {
		bpf_map_delete_elem(&dp_ct, &fk);
		dp_drop(p, DROP_CT_CREATE_FAILED);
		return 0;
	}
	// Second leg: the DNATed tuple (client → backend) SNATed to this node.
	return p->snat;
}
