// SPDX-License-Identifier: GPL-2.0
// Connection tracking with the semantics of Dataplane.Core/Conntrack + Pipeline/ConntrackStage and
// ConntrackCommitStage: lookup before identity and routing (a known connection is Established or Reply and
// skips policy; an ICMP error quoting one of its packets is Related), create after policy, TCP state and Cilium's timeouts as
// TcpTracker, 155 when the map is full. Like the C# table, lookups do not look at the expiry time: the agent's
// GC (Dataplane.Ebpf/Loader/ConntrackGc.cs) deletes expired entries, as ConntrackTable.Collect does.
#pragma once
#include "dp_pkt.h"
#include "dp_maps.h"
#include "policy.h"
#include "nat.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

static __always_inline int is_echo(__u8 proto, __u8 type)
{
	return proto == 1 ? (type == 0 || type == 8) : (proto == 58 && (type == 128 || type == 129));
}

static __always_inline void ct_key_of(const struct dp_pkt *p, struct ct_key *k)
{
	__builtin_memcpy(k->src, p->src, 16);
	__builtin_memcpy(k->dst, p->dst, 16);
	k->sport = p->sport;
	// ICMP echo request and reply carry the identifier in both port fields (as Cilium keys them).
	k->dport = is_echo(p->proto, p->icmp_type) ? p->sport : p->dport;
	k->proto = p->proto;
	k->family = p->ip_version;
	k->pad = 0;
}

static __always_inline void ct_reverse(const struct ct_key *k, struct ct_key *r)
{
	__builtin_memcpy(r->src, k->dst, 16);
	__builtin_memcpy(r->dst, k->src, 16);
	r->sport = k->dport;
	r->dport = k->sport;
	r->proto = k->proto;
	r->family = k->family;
	r->pad = 0;
}

/// The connection of a tuple in either direction; *reply says which and *orig is its dp_ct key (ConntrackTable.
/// TryLookup: a translated connection answers replies only under its translated reply tuple, via dp_ct_rev —
/// backend → client, peer → masquerade address — never under the plain reverse of its key).
static __always_inline struct ct_value *ct_find(const struct ct_key *k, int *reply, struct ct_key *orig)
{
	struct ct_value *v = bpf_map_lookup_elem(&dp_ct, k);
	if (v) {
		*reply = 0;
		*orig = *k;
		return v;
	}
	*reply = 1;
	struct ct_key *o = bpf_map_lookup_elem(&dp_ct_rev, k);
	if (o) {
		*orig = *o;
		v = bpf_map_lookup_elem(&dp_ct, orig);
		if (v && (v->flags & CT_NAT))
			return v;
	}
	ct_reverse(k, orig);
	v = bpf_map_lookup_elem(&dp_ct, orig);
	return v && !(v->flags & CT_NAT) ? v : 0;
}

/// TcpTracker.Update: advances the state bits and the timer, returns the packet's conntrack state.
static __always_inline __u8 ct_update(struct ct_value *e, const struct dp_pkt *p, int reply, int created,
				      const struct dp_config *cfg)
{
	__u16 s = e->state;
	__u32 lifetime;
	if (reply)
		s |= TCP_SEEN_REPLY;
	if (p->proto == 6) {
		if (p->tcp_flags & TCP_RST)
			s |= TCP_RESET;
		if (p->tcp_flags & TCP_FIN)
			s |= reply ? TCP_FIN_REPLY : TCP_FIN_FORWARD;
		if ((p->tcp_flags & TCP_SYN) == 0)
			s |= TCP_SEEN_NON_SYN;
		int closing = (s & TCP_RESET) || (s & (TCP_FIN_FORWARD | TCP_FIN_REPLY)) == (TCP_FIN_FORWARD | TCP_FIN_REPLY);
		lifetime = closing ? cfg->ct_tcp_close : (s & TCP_SEEN_NON_SYN) == 0 ? cfg->ct_tcp_syn : cfg->ct_tcp_established;
	} else
		lifetime = cfg->ct_any;
	e->state = s;
	__sync_fetch_and_add(&e->packets, 1);
	__u32 exp = p->now + lifetime;
	e->expires = exp < 1 ? 1 : exp;
	return created ? CT_NEW : reply ? CT_REPLY : CT_ESTABLISHED;
}

/// ConntrackStage.Reopens: a forward TCP SYN without ACK on an entry that is closing (TcpTracker.IsClosing: RST
/// seen, or FIN both ways).
static __always_inline int ct_reopens(const struct dp_pkt *p, const struct ct_value *e, int reply)
{
	if (reply || p->proto != 6 || (p->tcp_flags & (TCP_SYN | TCP_ACK)) != TCP_SYN)
		return 0;
	return (e->state & TCP_RESET) || (e->state & (TCP_FIN_FORWARD | TCP_FIN_REPLY)) == (TCP_FIN_FORWARD | TCP_FIN_REPLY);
}

/// The tuple of the packet an ICMP error quotes, as that packet's sender saw it (RFC 792/4443: its IP header
/// and first 8 bytes of L4). 0 when the quote is truncated or not TCP/UDP/SCTP/ICMP echo.
static __always_inline int ct_inner_key(DP_CTX *ctx, const struct dp_pkt *p, struct ct_key *k)
{
	int off = p->payload, end = p->len;
	__u8 proto;
	__builtin_memset(k, 0, sizeof(*k));
	if (p->ip_version == 4) {
		__u8 h[20];
		if (end - off < 20 || dp_load(ctx, off, h, 20) || (h[0] >> 4) != 4)
			return 0;
		int ihl = (h[0] & 0x0f) * 4;
		if (ihl < 20 || end - off < ihl + 8)
			return 0;
		proto = h[9];
		__builtin_memcpy(k->src, h + 12, 4);
		__builtin_memcpy(k->dst, h + 16, 4);
		off += ihl;
	} else {
		__u8 h[40];
		if (end - off < 48 || dp_load(ctx, off, h, 40) || (h[0] >> 4) != 6)
			return 0;
		proto = h[6];
		__builtin_memcpy(k->src, h + 8, 16);
		__builtin_memcpy(k->dst, h + 24, 16);
		off += 40;
	}
	__u8 l4[8];
	if (dp_load(ctx, off, l4, 8))
		return 0;
	__u16 sport = be16(l4), dport = be16(l4 + 2);
	if (proto == 6 || proto == 17 || proto == 132) {
	} else if ((proto == 1 || proto == 58) && is_echo(proto, l4[0])) {
		sport = dport = be16(l4 + 4);
	} else
		return 0;
	k->sport = sport;
	k->dport = dport;
	k->proto = proto;
	k->family = p->ip_version;
	return 1;
}

/// Which packets conntrack looks at (ConntrackStage.Tracked): IP packets still in flight, neighbour discovery
/// excepted — before identity and routing, so a packet routing later drops or hands to the host has still
/// advanced its connection and carries its state.
static __always_inline int ct_tracked(const struct dp_pkt *p)
{
	return p->verdict == V_CONTINUE && p->ip_version != 0 && !(p->flags & F_NDP);
}

DP_STAGE int conntrack_stage(DP_CTX *ctx, struct dp_pkt *p, const struct dp_config *cfg)
{
	__u32 zero = 0;
	struct ct_scratch *s = bpf_map_lookup_elem(&dp_ct_scratch, &zero);
	if (!p || !cfg || !s)
		return 0;
	struct ct_key *k = &s->key, *orig = &s->orig;
	int reply;
	if (p->flags & F_ICMP_ERROR) {
		// An ICMP error quoting a packet of a tracked connection is related to it and passes; any other is new.
		p->ct_state = ct_inner_key(ctx, p, k) && ct_find(k, &reply, orig) ? CT_RELATED : CT_NEW;
		return 0;
	}
	ct_key_of(p, k);
	struct ct_value *e = ct_find(k, &reply, orig);
	if (e && ct_reopens(p, e, reply)) {
		// ConntrackStage.Reopens: a client's SYN on the tuple of a connection being torn down (its port reused)
		// starts a new connection — the old entry goes, and service, policy and commit run again for this one.
		bpf_map_delete_elem(&dp_ct, orig);
		e = 0;
	}
	if (!e) {
		p->ct_state = CT_NEW;
		return 0;
	}
	p->ct_state = ct_update(e, p, reply, 0, cfg);
	if (!reply)
		p->policy_rule = e->policy_rule;
	// ConntrackStage.Translate: forward packets get the backend (DNAT) or the translated source (SNAT); replies
	// the frontend back as source or the pod back as destination. A connection of two chained entries (DNAT,
	// then SNAT toward a remote backend) continues into the second one, whose timer advances too.
	for (int hop = 0; hop < 2; hop++) {
		__u16 flags = e->flags;
		if (!(flags & CT_NAT))
			return 0;
		struct lb_slot *to = &s->to;
		int source;
		to->pad = 0;
		if (!reply) {
			__builtin_memcpy(to->addr, e->nat_addr, 16);
			to->port = e->nat_port;
			source = !(flags & CT_DNAT);
		} else if (flags & CT_DNAT) {
			__builtin_memcpy(to->addr, orig->dst, 16);
			to->port = orig->dport;
			source = 1;
		} else {
			__builtin_memcpy(to->addr, orig->src, 16);
			to->port = orig->sport;
			source = 0;
		}
		nat_rewrite(ctx, p, to, source);
		if (!(flags & (reply ? CT_CHAIN_REPLY : CT_CHAIN_FORWARD)))
			return 0;
		int again;
		ct_key_of(p, k);
		e = ct_find(k, &again, orig);
		if (!e || again != reply)
			return 0;
		ct_update(e, p, reply, 0, cfg);
	}
	return 0;
}
