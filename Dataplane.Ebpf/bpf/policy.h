// SPDX-License-Identifier: GPL-2.0
// Policy enforcement (Dataplane.Core/Pipeline/PolicyStage.cs + Policy/PolicyMap.cs): egress of the source
// endpoint against the destination identity, then ingress of the destination endpoint against the source
// identity. Each side probes (peer, proto), (peer, any), (any, proto), (any, any); any matching deny wins
// (181), otherwise the first allow in that order decides; an enforcing side without an allow drops (133).
#pragma once
#include "dp_pkt.h"
#include "dp_maps.h"

#define PV_NOT_ENFORCED 1
#define PV_ALLOWED 0
#define PV_NO_ALLOW -1
#define PV_DENIED -2

/// 1 when a deny matched (its rule in *deny); records the first allow seen in *allow.
static __always_inline int policy_probe(__u32 endpoint, __u8 egress, __u32 peer, __u8 proto, __u16 port,
					__u32 *allow, __u32 *deny)
{
	struct policy_key k = { .endpoint = endpoint, .identity = peer, .proto = proto, .egress = egress };
	struct policy_value *v = bpf_map_lookup_elem(&dp_policy, &k);
	if (!v)
		return 0;
	__u32 n = v->count;
	for (__u32 j = 0; j < POLICY_RANGES; j++) {
		if (j >= n)
			break;
		struct policy_range *r = &v->ranges[j];
		if (port < r->low || port > r->high)
			continue;
		if (r->deny) {
			*deny = r->rule;
			return 1;
		}
		if (*allow == 0)
			*allow = r->rule;
	}
	return 0;
}

static __always_inline int policy_lookup(__u32 endpoint, __u8 egress, __u8 mode, __u32 peer, __u8 proto,
					 __u16 port, __u32 *rule)
{
	__u32 allow = 0;
	*rule = 0;
	if (policy_probe(endpoint, egress, peer, proto, port, &allow, rule)
	    || policy_probe(endpoint, egress, peer, 0, port, &allow, rule)
	    || policy_probe(endpoint, egress, 0, proto, port, &allow, rule)
	    || policy_probe(endpoint, egress, 0, 0, port, &allow, rule))
		return PV_DENIED;
	*rule = allow;
	if (allow)
		return PV_ALLOWED;
	return mode == POL_ENFORCED ? PV_NO_ALLOW : PV_NOT_ENFORCED;
}

/// Policy audit mode (Dataplane.Core/Policy/PolicyAudit.cs): the packet passes, carrying the drop reason it would
/// have had and the direction of the policy that would have dropped it.
static __always_inline void policy_audit(struct dp_pkt *p, int would_be, __u8 direction)
{
	p->drop_reason = would_be == PV_DENIED ? DROP_POLICY_DENY : DROP_POLICY;
	p->direction = direction;
}

/// The host endpoint (Dataplane.Core/Policy/HostEndpoint.cs) is endpoint HOST_POLICY_SLOT: the source of a packet
/// from the host's addresses and no pod, the destination of one handed to the host (Cilium's lib/host_firewall.h:
/// egress only for packets from host IPs, ingress only for packets to host IPs); host to host is never judged. With
/// host_audit (the host endpoint in policy audit mode), what the host's own maps would drop passes, marked.
static __always_inline int policy_evaluate(struct dp_pkt *p, __u8 host_audit)
{
	__u8 proto = p->proto;
	__u16 port = (p->flags & F_LATER_FRAGMENT) ? 0
		: (proto == 1 || proto == 58) ? p->icmp_type : p->dport;
	int result = PV_NOT_ENFORCED;
	int self_host = p->src_identity == ID_HOST && p->dst_identity == ID_HOST;
	if (p->src_endpoint != 0 || (p->src_identity == ID_HOST && !self_host)) {
		__u32 k = p->src_endpoint;
		struct dp_endpoint *ep = bpf_map_lookup_elem(&dp_endpoints, &k);
		if (ep && ep->egress_mode != POL_NONE) {
			__u32 rule;
			result = policy_lookup(p->src_endpoint, 1, ep->egress_mode, p->dst_identity, proto, port, &rule);
			p->policy_rule = rule;
			if (result < 0) {
				if (p->src_endpoint != HOST_POLICY_SLOT || !host_audit) {
					p->direction = DIR_EGRESS;
					return result;
				}
				policy_audit(p, result, DIR_EGRESS);
				result = PV_NOT_ENFORCED;
			}
		}
	}
	int to_host = p->verdict == V_LOCAL && p->dst_identity == ID_HOST && !self_host;
	if (p->dst_endpoint != 0 || to_host) {
		__u32 k = p->dst_endpoint;
		struct dp_endpoint *ep = bpf_map_lookup_elem(&dp_endpoints, &k);
		if (ep && ep->ingress_mode != POL_NONE) {
			__u32 rule;
			int v = policy_lookup(p->dst_endpoint, 0, ep->ingress_mode, p->src_identity, proto, port, &rule);
			p->ingress_rule = rule;
			if (v < 0) {
				if (p->dst_endpoint != HOST_POLICY_SLOT || !host_audit) {
					p->direction = DIR_INGRESS;
					return v;
				}
				policy_audit(p, v, DIR_INGRESS);
			} else if (v == PV_ALLOWED)
				result = v;
		}
	}
	return result;
}

/// Whether host policies select this node: the host endpoint's slot has a policy mode.
static __always_inline int host_firewall_on(void)
{
	__u32 k = HOST_POLICY_SLOT;
	struct dp_endpoint *host = bpf_map_lookup_elem(&dp_endpoints, &k);
	return host && (host->ingress_mode != POL_NONE || host->egress_mode != POL_NONE);
}

/// Which packets policy (and so conntrack) looks at: IP packets being forwarded, packets from a pod to this
/// host's own addresses and, with the host firewall on, every packet to them. Neighbour discovery never is.
static __always_inline int policy_applies(const struct dp_pkt *p)
{
	if (p->ip_version == 0 || (p->flags & F_NDP))
		return 0;
	if (p->verdict == V_TX)
		return 1;
	return p->verdict == V_LOCAL && p->dst_identity == ID_HOST && (p->src_endpoint != 0 || host_firewall_on());
}

DP_STAGE int policy_stage(struct dp_pkt *p)
{
	if (!p)
		return 0;
	if (p->ct_state == CT_ESTABLISHED || p->ct_state == CT_REPLY || p->ct_state == CT_RELATED)
		return 0;
	__u32 zero = 0;
	struct dp_config *cfg = bpf_map_lookup_elem(&dp_config, &zero);
	int v = policy_evaluate(p, cfg && cfg->host_audit);
	if (v == PV_DENIED)
		dp_drop(p, DROP_POLICY_DENY);
	else if (v == PV_NO_ALLOW)
		dp_drop(p, DROP_POLICY);
	return 0;
}
