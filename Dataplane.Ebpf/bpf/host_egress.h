// SPDX-License-Identifier: GPL-2.0
// The host firewall on what the node's own stack sends (Dataplane.Core/Pipeline/HostEgressPipeline.cs), run at
// tcx egress of the node's interfaces as Cilium runs its host firewall in to-netdev: only with host policies on;
// only IP packets from one of the host's addresses (ipcache: the host identity) to anything but the host; the
// rest leaves untouched and uncounted — non-IP frames, neighbour discovery, forwarded traffic (the ingress program
// marks what it redirects, DP_TC_INDEX_FORWARDED in dp_ctx.h), packets of pods the kernel routes. A judged packet: conntrack
// (a reply of a connection the host's ingress admitted, or a later packet of one the host opened, passes), the
// host endpoint's egress policy against the destination identity (and a local pod's ingress), conntrack create
// for an allowed new connection (so its replies pass the host's ingress as replies), accounting as every packet.
// An IP packet the parser refuses is judged too, and dropped with its reason: the firewall fails closed.
#pragma once
#include "dp_pkt.h"
#include "dp_maps.h"
#include "parse.h"
#include "ipcache.h"
#include "policy.h"
#include "conntrack.h"
#include "ct_create.h"
#include "account.h"

/// Whether the egress hook judges the packet (HostEgressPipeline.Judged): identities as the ipcache gives them.
static __always_inline int host_egress_judged(const struct dp_pkt *p)
{
	if (p->verdict == V_DROP)
		return p->ethertype == 0x0800 || p->ethertype == 0x86dd;
	return p->verdict == V_CONTINUE && p->ip_version != 0 && !(p->flags & F_NDP)
		&& p->src_identity == ID_HOST && p->dst_identity != ID_HOST;
}

/// Runs the egress stages; 1 when the packet was judged (its verdict in p, accounted), 0 when it is not the host's
/// own traffic and must pass untouched. The stage order is HostEgressPipeline.Process's.
static __always_inline int host_egress(DP_CTX *ctx, struct dp_pkt *p, const struct dp_config *cfg, __u32 token)
{
	p->len = dp_len(ctx);
	parse_packet(ctx, p, cfg);
	if (p->verdict == V_CONTINUE)
		identity_stage(p, cfg);
	if (!host_egress_judged(p))
		return 0;
	if (cfg->ct_enabled && ct_tracked(p)) {
		conntrack_stage(ctx, p, cfg);
		// A translated packet (a reply of a DNATed connection) is judged by its new addresses.
		identity_stage(p, cfg);
	}
	if (p->verdict == V_CONTINUE) {
		// Leaves by the interface it is on: the kernel routed it.
		p->verdict = V_TX;
		p->out_port = p->in_port;
		p->direction = DIR_EGRESS;
		policy_stage(p);
		if (cfg->ct_enabled)
			conntrack_commit(p, cfg);
	}
	account(p, token, cfg);
	return 1;
}
