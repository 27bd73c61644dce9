// SPDX-License-Identifier: GPL-2.0
// Service load balancing, the ClusterIP/Maglev slice of Dataplane.Core/Pipeline/ServiceStage: a new TCP/UDP
// connection to a frontend gets the backend in its Maglev ring slot — slot = CtKey.Hash() % ring length, a
// bit-exact copy of the C# hash (CRC32-C over the key's five little-endian 64-bit words in two lanes, the first
// lane's 32-bit result folded into the second, then a 64-bit mix) — and is DNATed to it with NatRewrite's incremental checksum updates; no backend drops with 158.
// The connection's entry (conntrack.h) reverse-translates replies. MapFiller offers this program only
// snapshots inside the slice (OffloadSupport).
#pragma once
#include "dp_pkt.h"
#include "dp_maps.h"
#include "conntrack.h"
#include "nat.h"
#include "hash.h"

DP_STAGE int service_stage(struct xdp_md *ctx, struct dp_pkt *p)
{
	if (!ctx || !p)
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
	if (fe->ring_len == 0) {
		dp_drop(p, DROP_SERVICE_BACKEND_NOT_FOUND);
		return 0;
	}
	struct ct_key k;
	ct_key_of(p, &k);
	__u32 slot = fe->ring_base + (__u32)(ct_hash(&k) % fe->ring_len);
	struct lb_slot *be = bpf_map_lookup_elem(&dp_lb_ring, &slot);
	if (!be) {
		dp_drop(p, DROP_SERVICE_BACKEND_NOT_FOUND);
		return 0;
	}
	p->svc_dnat = 1;
	__builtin_memcpy(p->svc_addr, p->dst, 16);
	p->svc_port = p->dport;
	struct lb_slot to = *be;
	nat_rewrite(ctx, p, &to, 0);
	return 0;
}
