// SPDX-License-Identifier: GPL-2.0
// VXLAN termination, right after parsing, as Dataplane.Core/Pipeline/OverlayDecapStage.cs: a VXLAN packet addressed
// to one of this node's underlay addresses must come from a known tunnel peer (else 172) with a valid VNI (the
// peer's fixed one, or one naming a known identity; else 183); it is stripped to its inner frame and parsed again
// (no nested VXLAN), and the VNI becomes its source identity. Inner ARP / neighbour discovery go to the host.
// VXLAN to any other address is transit, routed like any UDP.
#pragma once
#include "dp_pkt.h"
#include "dp_maps.h"
#include "parse.h"

/// The IPv4-mapped form of a packet's 4- or 16-byte address, as AddressIndex keys it.
static __always_inline void ovl_key_of(struct ovl_key *k, __u8 ip_version, const __u8 *addr, __u8 kind)
{
	__builtin_memset(k, 0, sizeof(*k));
	if (ip_version == 4) {
		k->addr[10] = 0xff;
		k->addr[11] = 0xff;
		__builtin_memcpy(k->addr + 12, addr, 4);
	} else
		__builtin_memcpy(k->addr, addr, 16);
	k->kind = kind;
}

static __always_inline int vni_valid(__u32 vni)
{
	if (vni >= (1u << 16))
		return 0;
	__u32 word = vni >> 6;
	__u64 *bits = bpf_map_lookup_elem(&dp_vni, &word);
	return bits && (*bits & (1ull << (vni & 63)));
}

DP_STAGE int overlay_decap(DP_CTX *ctx, struct dp_pkt *p, const struct dp_config *cfg)
{
	if (!p || !cfg)
		return 0;
	struct ovl_key k;
	ovl_key_of(&k, p->ip_version, p->dst, OVL_LOCAL);
	if (!bpf_map_lookup_elem(&dp_overlay, &k))
		return 0;
	ovl_key_of(&k, p->ip_version, p->src, OVL_PEER);
	__u32 *fixed = bpf_map_lookup_elem(&dp_overlay, &k);
	if (!fixed) {
		dp_drop(p, DROP_UNKNOWN_SENDER);
		return 0;
	}
	__u32 fixed_vni = *fixed, vni = p->vni;
	if (fixed_vni != 0 ? vni != fixed_vni : !vni_valid(vni)) {
		dp_drop(p, DROP_INVALID_VNI);
		return 0;
	}
	int inner = p->inner;
	__u16 in_port = p->in_port;
	__u32 now = p->now;
	if (dp_adjust_head(ctx, inner)) {
		dp_drop(p, DROP_INVALID);
		return 0;
	}
	// As if just received on the same port (PacketMeta.ResetForRx).
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
	if (p->ip_version == 0 || (p->flags & F_NDP)) {
		p->verdict = V_LOCAL;
		return 0;
	}
	if (fixed_vni == 0) {
		p->src_identity = vni;
		p->flags |= F_TUNNEL_IDENTITY;
	}
	return 0;
}
