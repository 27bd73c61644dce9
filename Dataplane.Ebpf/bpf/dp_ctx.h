// SPDX-License-Identifier: GPL-2.0
// The packet context the stages work on, for both entry points: dataplane.bpf.c is compiled once as XDP and once
// with -DDP_TC as a TC (sched_cls) program over struct __sk_buff. The stages only touch the packet through these
// helpers, so the pipeline has one source and the two builds differ in nothing but how bytes are reached and
// moved. Offsets always count from the Ethernet header, which is where skb->data points at TC ingress too.
#pragma once
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "dp_maps.h"

#ifdef DP_TC
#define DP_CTX struct __sk_buff
// skb->tc_index bit dp_tc sets on what it redirects: judged by the datapath already, so the host firewall's egress
// hook (host_egress.h) on the interface it leaves by lets it through (Cilium's TC_INDEX_F_SKIP_HOST_FIREWALL).
#define DP_TC_INDEX_FORWARDED 0x0100

static __always_inline __u32 dp_len(DP_CTX *ctx)
{
	// skb->len, not data_end - data: the linear part of a real skb may end before the packet does.
	return ctx->len;
}

static __always_inline int dp_load(DP_CTX *ctx, __u32 off, void *buf, __u32 len)
{
	return bpf_skb_load_bytes(ctx, off, buf, len);
}

static __always_inline int dp_store(DP_CTX *ctx, __u32 off, void *buf, __u32 len)
{
	// RECOMPUTE_CSUM keeps skb->csum right for CHECKSUM_COMPLETE packets (a real NIC's), which the stack would
	// otherwise find wrong after the rewrite; it does nothing for the other checksum states.
	return bpf_skb_store_bytes(ctx, off, buf, len, BPF_F_RECOMPUTE_CSUM);
}

/// bpf_xdp_adjust_head(ctx, n > 0) for an skb: drops the first n bytes. bpf_skb_adjust_room removes room after
/// the MAC header and only for IPv4/IPv6 skb->protocol (a VLAN-tagged frame is 802.1Q), so the bytes after n
/// are moved to the front through the per-CPU scratch instead and the tail is cut; 16 KiB at most, like
/// csum_packet. Its own function so its loop and buffer stay off the callers' stack frames.
__attribute__((noinline)) int dp_skb_pull(DP_CTX *ctx, __u32 n)
{
	__u32 zero = 0;
	struct csum_scratch *s = bpf_map_lookup_elem(&dp_csum_scratch, &zero);
	if (!ctx || !s)
		return -1;
	__u64 len = ctx->len;
	if (n >= len)
		return -1;
	__u64 rest = len - n, at = 0;
	for (int i = 0; i < 32; i++) {
		if (rest == 0)
			break;
		// As in csum_packet: 64-bit and behind a barrier so the verifier sees the bound the helper needs.
		__u64 c = rest > CSUM_CHUNK ? CSUM_CHUNK : rest;
		asm volatile("" : "+r"(c));
		if (c == 0 || c > CSUM_CHUNK)
			break;
		// The whole chunk is read before any of it is written: source and destination overlap when n < c.
		if (bpf_skb_load_bytes(ctx, at + n, s->b, c) || bpf_skb_store_bytes(ctx, at, s->b, c, BPF_F_RECOMPUTE_CSUM))
			return -1;
		at += c;
		rest -= c;
	}
	if (rest)
		return -1;
	return bpf_skb_change_tail(ctx, len - n, 0);
}

/// XDP's head adjustment: delta < 0 makes -delta bytes of room in front (bpf_skb_change_head pushes them
/// before the MAC header, zeroed, exactly where bpf_xdp_adjust_head puts them), delta > 0 drops delta bytes.
static __always_inline int dp_adjust_head(DP_CTX *ctx, int delta)
{
	if (delta < 0)
		return bpf_skb_change_head(ctx, (__u32)-delta, 0);
	if (delta > 0)
		return dp_skb_pull(ctx, (__u32)delta);
	return 0;
}

/// XDP's tail adjustment: the packet grows (zeroed) or shrinks by delta bytes at its end.
static __always_inline int dp_adjust_tail(DP_CTX *ctx, int delta)
{
	return bpf_skb_change_tail(ctx, ctx->len + delta, 0);
}

#else
#define DP_CTX struct xdp_md

static __always_inline __u32 dp_len(DP_CTX *ctx)
{
	return (__u32)(ctx->data_end - ctx->data);
}

static __always_inline int dp_load(DP_CTX *ctx, __u32 off, void *buf, __u32 len)
{
	return bpf_xdp_load_bytes(ctx, off, buf, len);
}

static __always_inline int dp_store(DP_CTX *ctx, __u32 off, void *buf, __u32 len)
{
	return bpf_xdp_store_bytes(ctx, off, buf, len);
}

static __always_inline int dp_adjust_head(DP_CTX *ctx, int delta)
{
	return bpf_xdp_adjust_head(ctx, delta);
}

static __always_inline int dp_adjust_tail(DP_CTX *ctx, int delta)
{
	return bpf_xdp_adjust_tail(ctx, delta);
}
#endif
