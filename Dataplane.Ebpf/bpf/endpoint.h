// SPDX-License-Identifier: GPL-2.0
// Endpoint anti-spoofing (Dataplane.Core/Pipeline/EndpointStage.cs): a packet received on a pod's port belongs
// to that endpoint and takes its identity; the pod may only send from its own addresses (IPv6 link-local and
// unspecified sources are allowed for NDP/DAD), else INVALID_SOURCE_IP (132).
#pragma once
#include "dp_pkt.h"
#include "dp_maps.h"

DP_STAGE int endpoint_stage(struct dp_pkt *p, const struct dp_config *cfg)
{
	if (!p || !cfg)
		return 0;
	if (p->in_port >= cfg->port_count) { dp_drop(p, DROP_INVALID); return 0; }
	__u32 k = p->in_port;
	struct dp_port *port = bpf_map_lookup_elem(&dp_ports, &k);
	if (!port) { dp_drop(p, DROP_INVALID); return 0; }
	__u32 id = port->endpoint;
	if (id == 0)
		return 0;
	struct dp_endpoint *ep = bpf_map_lookup_elem(&dp_endpoints, &id);
	if (!ep) { dp_drop(p, DROP_INVALID); return 0; }
	p->src_endpoint = id;
	p->direction = DIR_EGRESS;
	p->src_identity = ep->identity;
	if (p->ip_version == 4) {
		if (!ep->has4 || !addr_eq(p->src, ep->ipv4, 4))
			dp_drop(p, DROP_INVALID_SIP);
	} else if (p->ip_version == 6) {
		if (addr_zero16(p->src) || is_link_local6(p->src))
			return 0;
		if (!ep->has6 || !addr_eq(p->src, ep->ipv6, 16))
			dp_drop(p, DROP_INVALID_SIP);
	}
	return 0;
}
