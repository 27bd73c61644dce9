// SPDX-License-Identifier: GPL-2.0
// Accounting of every packet exactly once (PacketPipeline.Account): per-CPU counters by verdict and drop
// reason, the per-CPU "last verdict" record, and one flow event per packet into the ring buffer.
#pragma once
#include "dp_pkt.h"
#include "dp_maps.h"

static __always_inline void stat_add(__u32 slot, __u64 n)
{
	__u64 *c = bpf_map_lookup_elem(&dp_stats, &slot);
	if (c)
		*c += n;
}

DP_STAGE int emit_flow(const struct dp_pkt *p)
{
	if (!p)
		return 0;
	struct dp_flow_event *e = bpf_ringbuf_reserve(&dp_events, sizeof(*e), 0);
	if (!e) {
		stat_add(STAT_EVENTS_LOST, 1);
		return 0;
	}
	e->time_ns = (__u64)p->now * 1000000000ull;
	__builtin_memcpy(e->src, p->src, 16);
	__builtin_memcpy(e->dst, p->dst, 16);
	e->src_identity = p->src_identity;
	e->dst_identity = p->dst_identity;
	e->src_endpoint = p->src_endpoint;
	e->dst_endpoint = p->dst_endpoint;
	e->policy_rule = p->policy_rule;
	e->ingress_rule = p->ingress_rule;
	e->sport = p->sport;
	e->dport = p->dport;
	e->in_port = p->in_port;
	e->out_port = p->out_port;
	e->length = p->len;
	e->ethertype = p->ethertype;
	e->flags = p->flags;
	e->ip_version = p->ip_version;
	e->proto = p->proto;
	e->tcp_flags = p->tcp_flags;
	e->icmp_type = p->icmp_type;
	e->icmp_code = p->icmp_code;
	e->verdict = p->verdict;
	e->drop_reason = p->drop_reason;
	e->direction = p->direction;
	e->ct_state = p->ct_state;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

DP_STAGE int account(struct dp_pkt *p, __u32 token, const struct dp_config *cfg)
{
	if (!p || !cfg)
		return 0;
	if (p->verdict == V_CONTINUE)
		// A packet no stage decided on is a bug in the graph; never let it vanish uncounted.
		dp_drop(p, DROP_INVALID);
	stat_add(STAT_RX_PACKETS, 1);
	// Policy audit mode let it through (PolicyAudit.IsAudited): the drop reason it would have had, no drop.
	if (p->verdict != V_DROP && (p->drop_reason == DROP_POLICY || p->drop_reason == DROP_POLICY_DENY))
		stat_add(STAT_AUDITED + (p->direction < 3 ? p->direction : 0), 1);
	stat_add(STAT_RX_BYTES, p->len);
	if (p->verdict == V_TX) {
		stat_add(STAT_TX_PACKETS, 1);
		stat_add(STAT_TX_BYTES, p->len);
	} else if (p->verdict == V_LOCAL)
		stat_add(STAT_LOCAL_PACKETS, 1);
	else {
		// By direction and reason (cilium_drop_count_total{reason,direction}); DROP_SLOTS / 256 directions.
		__u32 r = (p->direction < DROP_SLOTS / 256 ? (__u32)p->direction * 256 : 0) + p->drop_reason;
		struct drop_counter *d = bpf_map_lookup_elem(&dp_drops, &r);
		if (d) {
			d->packets++;
			d->bytes += p->len;
		}
	}
	__u32 zero = 0;
	struct dp_verdict *l = bpf_map_lookup_elem(&dp_last, &zero);
	if (l) {
		l->token = token;
		l->length = p->len;
		l->src_identity = p->src_identity;
		l->dst_identity = p->dst_identity;
		l->src_endpoint = p->src_endpoint;
		l->dst_endpoint = p->dst_endpoint;
		l->policy_rule = p->policy_rule;
		l->ingress_rule = p->ingress_rule;
		l->in_port = p->in_port;
		l->out_port = p->out_port;
		l->flags = p->flags;
		l->verdict = p->verdict;
		l->drop_reason = p->drop_reason;
		l->direction = p->direction;
		l->ct_state = p->ct_state;
	}
	if (cfg->flow_events)
		emit_flow(p);
	return 0;
}
