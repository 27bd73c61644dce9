// SPDX-License-Identifier: GPL-2.0
// Minimal XDP program for the AF_XDP backend: every frame received on queue q goes to the AF_XDP socket in
// xsks_map[q]; when no socket is registered for that queue the frame passes to the kernel stack.
// Built at build time with `clang -O2 -target bpf` (see Dataplane.Linux.csproj) and embedded in the assembly.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_XSKMAP);
    __uint(max_entries, 64);
    __type(key, __u32);
    __type(value, __u32);
} xsks_map SEC(".maps");

SEC("xdp")
int xsk_redirect(struct xdp_md *ctx)
{
    return bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
}

char _license[] SEC("license") = "GPL";
