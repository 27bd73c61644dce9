// SPDX-License-Identifier: GPL-2.0
// The per-packet state the stages pass along (PacketMeta's fields that matter here), plus byte helpers.
#pragma once
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "dp_structs.h"
#include "drop_reasons.h"
#include "dp_ctx.h"

struct dp_pkt {
	__u32 len;
	__u32 now;
	__u16 in_port;
	__u16 out_port;
	__u16 ethertype;
	__u16 vlan_id;
	__u16 l3;
	__u16 l4;
	__u16 payload;
	__u16 flags;
	__u16 sport;
	__u16 dport;
	__u8 ip_version;
	__u8 proto;
	__u8 tcp_flags;
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 ttl;
	__u8 verdict;
	__u8 drop_reason;
	__u8 direction;
	__u8 ct_state;
	__u8 reparse;           // parsing the inner frame of a terminated tunnel: no VXLAN recognition
	__u8 hashed;            // flow_hash is already the parsed packet's (srv6.h computes it before End rewrites)
	__u16 inner;            // VXLAN: offset of the inner Ethernet frame
	__u16 srh;              // F_SRH: offset of the segment routing header
	__u32 vni;
	__u32 src_identity;
	__u32 dst_identity;
	__u32 src_endpoint;
	__u32 dst_endpoint;
	__u32 policy_rule;
	__u32 ingress_rule;
	__u8 src[16];           // IPv4: first 4 bytes, rest zero
	__u8 dst[16];
	__u8 svc_dnat;          // services.h DNATed this new connection from svc_addr:svc_port (NatIntent)
	__u8 pad3;
	__u16 svc_port;
	__u8 svc_addr[16];
	__u8 snat;              // snat.h: this new connection is SNATed to snat_addr at conntrack create (NatIntent.Snat)
	__u8 pad4[3];
	__u8 snat_addr[16];
	__u32 flow_hash;
	__u32 nexthop;          // index of the next hop routing chose (PacketMeta.NextHop), for encap.h
};

static __always_inline void dp_drop(struct dp_pkt *p, __u8 reason)
{
	p->verdict = V_DROP;
	p->drop_reason = reason;
}

static __always_inline __u16 be16(const __u8 *b)
{
	return (__u16)((b[0] << 8) | b[1]);
}

static __always_inline int addr_eq(const __u8 *a, const __u8 *b, int n)
{
	int diff = 0;
	for (int i = 0; i < n; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}

static __always_inline int addr_zero16(const __u8 *a)
{
	int acc = 0;
	for (int i = 0; i < 16; i++)
		acc |= a[i];
	return acc == 0;
}

// fe80::/10
static __always_inline int is_link_local6(const __u8 *a)
{
	return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

static __always_inline void mac_to_bytes(__u64 mac, __u8 *b)
{
	b[0] = mac >> 40; b[1] = mac >> 32; b[2] = mac >> 24;
	b[3] = mac >> 16; b[4] = mac >> 8; b[5] = mac;
}

// One's-complement helpers (RFC 1071 / 1624), as Dataplane.Core/Checksums/InetChecksum.
static __always_inline __u16 csum_fold_nc(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

static __always_inline __u16 csum_update16(__u16 csum, __u16 old_word, __u16 new_word)
{
	return (__u16)~csum_fold_nc((__u32)(__u16)~csum + (__u16)~old_word + new_word);
}

// Stages are global BPF functions (BPF-to-BPF calls, not inlined): the verifier checks each one once, on
// its own, with its own stack frame, instead of every path through every stage combined. Their pointer
// arguments may be NULL as far as the verifier knows, hence the guards at their top.
#define DP_STAGE __attribute__((noinline))
