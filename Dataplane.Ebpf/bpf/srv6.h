// SPDX-License-Identifier: GPL-2.0
// Local SRv6 SIDs, as Dataplane.Core/Overlay/Srv6Endpoint.cs (RFC 8986 §4), right after parsing for an IPv6 packet
// addressed to one: End and End.X take the next segment (Segments Left − 1, destination ← Segment List[SL]; none
// left → 185), End then routes on it, End.X leaves by its adjacency (hop limit 1 → 196); End.DT4/DT6/DT46 need
// SL = 0 (else 156), strip the outer IPv6 header and its extension headers (fragments: 157; an inner family the
// SID does not take: 139) and the inner packet is parsed again and routed. An address inside a locator that is
// no SID drops with 185.
#pragma once
#include "dp_pkt.h"
#include "dp_maps.h"
#include "parse.h"
#include "hash.h"

DP_STAGE int srv6_stage(DP_CTX *ctx, struct dp_pkt *p, const struct dp_config *cfg)
{
	if (!ctx || !p || !cfg)
		return 0;
	struct lpm6_key k = { .prefixlen = 128 };
	__builtin_memcpy(k.addr, p->dst, 16);
	struct srv6_sid *sid = bpf_map_lookup_elem(&dp_srv6_sid, &k);
	if (!sid) {
		if (bpf_map_lookup_elem(&dp_srv6_locator, &k))
			dp_drop(p, DROP_NO_SID);
		return 0;
	}
	__u8 behavior = sid->behavior;
	__u8 sl = 0;
	int has_srh = (p->flags & F_SRH) != 0;
	if (has_srh && dp_load(ctx, p->srh + 3, &sl, 1)) { dp_drop(p, DROP_INVALID); return 0; }
	if (behavior == SRV6_END || behavior == SRV6_END_X) {
		if (sl == 0) { dp_drop(p, DROP_NO_SID); return 0; }
		// The flow hash is the parsed packet's, taken before the destination changes (PacketMeta.FlowHash).
		if (cfg->overlay & OVERLAY_TUNNELS) {
			flow_hash_stage(p);
			p->hashed = 1;
		}
		sl--;
		if (dp_store(ctx, p->srh + 3, &sl, 1) || dp_load(ctx, p->srh + 8 + 16 * (__u32)sl, p->dst, 16)
		    || dp_store(ctx, p->l3 + 24, p->dst, 16)) {
			dp_drop(p, DROP_INVALID);
			return 0;
		}
		if (behavior == SRV6_END_X) {
			__u8 hop;
			if (dp_load(ctx, p->l3 + 7, &hop, 1)) { dp_drop(p, DROP_INVALID); return 0; }
			if (hop <= 1) { dp_drop(p, DROP_TTL_EXCEEDED); return 0; }
			hop--;
			__u8 eth[12];
			__builtin_memcpy(eth, sid->eth, 12);
			if (dp_store(ctx, p->l3 + 7, &hop, 1) || dp_store(ctx, 0, eth, 12)) { dp_drop(p, DROP_INVALID); return 0; }
			p->out_port = sid->port;
			p->verdict = V_TX;
		}
		return 0;
	}
	if (sl != 0) { dp_drop(p, DROP_INVALID_EXTHDR); return 0; }
	if (p->flags & F_FRAGMENT) { dp_drop(p, DROP_FRAG_NOSUPPORT); return 0; }
	__u16 ethertype;
	if (p->proto == 4 && (behavior == SRV6_END_DT4 || behavior == SRV6_END_DT46))
		ethertype = 0x0800;
	else if (p->proto == 41 && (behavior == SRV6_END_DT6 || behavior == SRV6_END_DT46))
		ethertype = 0x86dd;
	else { dp_drop(p, DROP_UNKNOWN_L3); return 0; }
	// The inner IP header is at l4: the 12 MAC bytes and the new EtherType go right in front of it.
	int l2 = p->l4 - 14;
	__u8 eth[14];
	if (l2 < 0 || dp_load(ctx, 0, eth, 12)) { dp_drop(p, DROP_INVALID); return 0; }
	eth[12] = ethertype >> 8;
	eth[13] = ethertype;
	if (dp_store(ctx, l2, eth, 14) || dp_adjust_head(ctx, l2)) { dp_drop(p, DROP_INVALID); return 0; }
	// As if just received on the same port (OverlayDecapStage.Reparse), no VXLAN recognition.
	__u16 in_port = p->in_port;
	__u32 now = p->now;
	__builtin_memset(p, 0, sizeof(*p));
	p->in_port = in_port;
	p->now = now;
	p->len = dp_len(ctx);
	p->reparse = 1;
	parse_packet(ctx, p, cfg);
	p->reparse = 0;
	if (p->verdict != V_CONTINUE)
		return 0;
	p->flags |= F_DECAPSULATED;
	if (p->ip_version == 0 || (p->flags & F_NDP))
		p->verdict = V_LOCAL;
	return 0;
}
