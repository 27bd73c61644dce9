// SPDX-License-Identifier: GPL-2.0
// Where headers are assembled before one store into the packet, and the byte helper that writes them.
#pragma once
#include "dp_pkt.h"
#include "dp_maps.h"

/// The per-CPU scratch buffer, also where headers are assembled before one store into the packet (the stack is
/// too small for them along the deepest call chain). Free again once they are stored.
static __always_inline __u8 *scratch(void)
{
	__u32 zero = 0;
	struct csum_scratch *s = bpf_map_lookup_elem(&dp_csum_scratch, &zero);
	return s ? s->b : NULL;
}

static __always_inline void put16(__u8 *b, __u16 v)
{
	b[0] = v >> 8;
	b[1] = v;
}
