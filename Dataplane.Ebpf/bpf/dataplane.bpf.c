// SPDX-License-Identifier: GPL-2.0
// The Dataplane pipeline as one BPF program: parse → VXLAN termination / local SRv6 SIDs → neighbour responder
// → endpoint (anti-spoofing) → [flow hash, with tunnels] → conntrack lookup (+ translation of known connections)
// → service DNAT → identity (ipcache) → egress gateway → route + rewrite → masquerade decision → policy →
// conntrack create (+ SNAT) → VXLAN/SRv6 encap → accounting, the same stages in the same order as
// Dataplane.Core/Pipeline/PacketPipeline.cs, one packet at a time.
// Built three times from this file: as XDP (dp_xdp); with -DDP_TC, as a TC classifier over struct __sk_buff
// (dp_tc, for tcx ingress), dp_ctx.h being all that differs for the stages; and with -DDP_TC -DDP_HOST_EGRESS
// as the host firewall's egress hook alone (dp_host_egress, host_egress.h: tcx egress of the node's interfaces). The loader loads the XDP object first
// and hands its map fds to the TC object, so both programs share every map and the filler fills them once.
// Verdicts: transmit → XDP_TX (same port) or XDP_REDIRECT through dp_tx_ports, for TC bpf_redirect to the
// port's ifindex (dp_tx_ifindex) (the receiving interface for the same port) → TC_ACT_REDIRECT; to the host → XDP_PASS /
// TC_ACT_OK; drop → XDP_DROP / TC_ACT_SHOT, with the Cilium reason counted in dp_drops.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "dp_structs.h"
#include "drop_reasons.h"
#include "dp_pkt.h"
#include "dp_maps.h"
#include "parse.h"
#include "overlay.h"
#include "srv6.h"
#include "neighbor.h"
#include "endpoint.h"
#include "ipcache.h"
#include "route.h"
#include "policy.h"
#include "conntrack.h"
#include "services.h"
#include "ct_create.h"
#include "snat.h"
#include "egress.h"
#include "encap.h"
#include "account.h"
#ifdef DP_HOST_EGRESS
#include "host_egress.h"
#endif

/// Unix seconds: bpf_ktime_get_ns (CLOCK_MONOTONIC) shifted by the offset the map filler measured.
static __always_inline __u32 unix_now(const struct dp_config *cfg)
{
	return (bpf_ktime_get_ns() + cfg->clock_offset_ns) / 1000000000ull;
}

/// In-port and clock: from the test metadata under BPF_PROG_TEST_RUN (a zero time there means "the program's
/// own clock"), else the receiving interface and the program's clock. XDP carries the metadata in front of the
/// packet (data_meta); an skb test run has no metadata area, but its ctx_in sets skb->cb[], which the kernel
/// leaves as the caller wrote it: cb[0] magic, cb[1] token, cb[2] time, cb[3] in-port.
static __always_inline __u32 packet_context(DP_CTX *ctx, struct dp_pkt *p, const struct dp_config *cfg)
{
#ifdef DP_TC
	if (cfg->test_meta && ctx->cb[0] == DP_TEST_MAGIC) {
		p->in_port = (__u16)ctx->cb[3];
		p->now = ctx->cb[2] ? ctx->cb[2] : unix_now(cfg);
		return ctx->cb[1];
	}
	// At tc ingress skb->ifindex is the receiving device, at tc egress the one the packet leaves by.
	__u32 ifindex = ctx->ifindex;
#else
	void *meta = (void *)(long)ctx->data_meta;
	void *data = (void *)(long)ctx->data;
	if (cfg->test_meta && meta + sizeof(struct dp_test_meta) <= data) {
		struct dp_test_meta *tm = meta;
		if (tm->magic == DP_TEST_MAGIC) {
			p->in_port = tm->in_port;
			p->now = tm->now ? tm->now : unix_now(cfg);
			return tm->token;
		}
	}
	__u32 ifindex = ctx->ingress_ifindex;
#endif
	__u32 *port = bpf_map_lookup_elem(&dp_ifindex, &ifindex);
	p->in_port = port ? *port : 0xffff;
	p->now = unix_now(cfg);
	return 0;
}

#ifndef DP_HOST_EGRESS
/// Every stage, in PacketPipeline's order; the verdict is left in p for the entry point to map.
static __always_inline void pipeline(DP_CTX *ctx, struct dp_pkt *p, const struct dp_config *cfg)
{
	__u32 token = packet_context(ctx, p, cfg);
	p->len = dp_len(ctx);

	parse_packet(ctx, p, cfg);
	// OverlayDecapStage: VXLAN when this node has underlay addresses, else SRv6 SIDs for IPv6.
	if (p->verdict == V_CONTINUE && (p->flags & F_VXLAN) && (cfg->overlay & OVERLAY_LOCAL))
		overlay_decap(ctx, p, cfg);
	else if (p->verdict == V_CONTINUE && p->ip_version == 6 && (cfg->overlay & OVERLAY_SIDS))
		srv6_stage(ctx, p, cfg);
	if (p->verdict == V_CONTINUE)
		neighbor_stage(ctx, p, cfg);
	if (p->verdict == V_CONTINUE)
		endpoint_stage(p, cfg);
	if ((cfg->overlay & OVERLAY_TUNNELS) && p->verdict == V_CONTINUE && p->ip_version != 0 && !p->hashed)
		flow_hash_stage(p);
	if (cfg->ct_enabled && ct_tracked(p))
		conntrack_stage(ctx, p, cfg);
	if (cfg->ct_enabled && p->verdict == V_CONTINUE)
		service_stage(ctx, p);
	if (p->verdict == V_CONTINUE)
		identity_stage(p, cfg);
	if (cfg->egw_enabled && p->verdict == V_CONTINUE)
		egress_gateway_stage(p);
	if (p->verdict == V_CONTINUE)
		route_stage(ctx, p);
	if (cfg->ct_enabled)
		masquerade_stage(p, cfg);
	if (policy_applies(p)) {
		policy_stage(p);
		if (cfg->ct_enabled && conntrack_commit(p, cfg))
			snat_commit(ctx, p, cfg);
	}
	if (p->verdict == V_TX && (p->flags & F_TUNNEL_ENCAP))
		overlay_encap(ctx, p);
	account(p, token, cfg);
}
#endif

#ifdef DP_TC
#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#endif

#ifdef DP_HOST_EGRESS
SEC("tc")
int dp_host_egress(struct __sk_buff *ctx)
{
	__u32 zero = 0;
	struct dp_config *cfg = bpf_map_lookup_elem(&dp_config, &zero);
	if (!cfg || (ctx->tc_index & DP_TC_INDEX_FORWARDED) || !host_firewall_on())
		return TC_ACT_OK;
	struct dp_pkt pkt = {};
	struct dp_pkt *p = &pkt;
	__u32 token = packet_context(ctx, p, cfg);
	if (!host_egress(ctx, p, cfg, token))
		return TC_ACT_OK;
	return p->verdict == V_TX ? TC_ACT_OK : TC_ACT_SHOT;
}
#elif defined(DP_TC)
SEC("tc")
int dp_tc(struct __sk_buff *ctx)
{
	__u32 zero = 0;
	struct dp_config *cfg = bpf_map_lookup_elem(&dp_config, &zero);
	if (!cfg)
		return TC_ACT_OK;
	struct dp_pkt pkt = {};
	struct dp_pkt *p = &pkt;
	pipeline(ctx, p, cfg);

	switch (p->verdict) {
	case V_TX: {
		// XDP_TX: back out of the receiving interface. Else the port's ifindex (dp_tx_ifindex, filled with
		// dp_tx_ports), and no interface drops, as bpf_redirect_map's XDP_DROP fallback does.
		// Judged here: the host firewall's egress hook (host_egress.h) lets it leave.
		ctx->tc_index |= DP_TC_INDEX_FORWARDED;
		if (p->out_port == p->in_port)
			return bpf_redirect(ctx->ifindex, 0);
		__u32 port = p->out_port;
		__u32 *ifindex = bpf_map_lookup_elem(&dp_tx_ifindex, &port);
		return ifindex && *ifindex ? bpf_redirect(*ifindex, 0) : TC_ACT_SHOT;
	}
	case V_LOCAL:
		return TC_ACT_OK;
	default:
		return TC_ACT_SHOT;
	}
}
#else
SEC("xdp")
int dp_xdp(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct dp_config *cfg = bpf_map_lookup_elem(&dp_config, &zero);
	if (!cfg)
		return XDP_PASS;
	struct dp_pkt pkt = {};
	struct dp_pkt *p = &pkt;
	pipeline(ctx, p, cfg);

	switch (p->verdict) {
	case V_TX:
		if (p->out_port == p->in_port)
			return XDP_TX;
		return bpf_redirect_map(&dp_tx_ports, p->out_port, XDP_DROP);
	case V_LOCAL:
		return XDP_PASS;
	default:
		return XDP_DROP;
	}
}
#endif

// Never called: its prototype puts the structs user space reads out of the ring buffer and writes into XDP
// metadata into the object's BTF, so MapLayoutTests can hold the C# mirrors to them. libbpf loads only the
// subprograms a program calls, so it costs nothing.
__attribute__((noinline)) int dp_btf_anchor(struct dp_flow_event *e, struct dp_test_meta *m)
{
	return e && m;
}

#ifndef DP_TC
// For the far end of a veth the datapath redirects to: veth hands XDP_REDIRECT/XDP_TX frames only to a peer
// whose NAPI is on, which an attached XDP program turns on. It lets everything through.
SEC("xdp")
int dp_xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}
#endif

char _license[] SEC("license") = "GPL";
