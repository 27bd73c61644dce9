// SPDX-License-Identifier: GPL-2.0
// Never loaded: compiled only for its BTF. clang emits into BTF just the types that maps, globals and functions
// reach, so the program itself carries none of its constant enums; here one map whose value has a member of each
// enum in dp_consts.h and drop_reasons.h puts them all there. ConstantsTests (tests/Dataplane.Ebpf.Tests) reads
// the members of struct dp_shared_consts and compares every enumerator with its C# counterpart. Add a member here
// when adding an enum there.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "dp_consts.h"
#include "drop_reasons.h"

struct dp_shared_consts {
	enum packet_verdict packet_verdict;
	enum ct_state ct_state;
	enum traffic_direction traffic_direction;
	enum packet_flags packet_flags;
	enum next_hop_kind next_hop_kind;
	enum port_kind port_kind;
	enum numeric_identity numeric_identity;
	enum host_endpoint host_endpoint;
	enum datapath_limits datapath_limits;
	enum policy_mode policy_mode;
	enum overlay_bits overlay_bits;
	enum ovl_kind ovl_kind;
	enum ct_flags ct_flags;
	enum tcp_tracker tcp_tracker;
	enum tunnel_mode tunnel_mode;
	enum srv6_behavior srv6_behavior;
	enum stat_slot stat_slot;
	enum dp_test_meta_magic dp_test_meta_magic;
	enum drop_reason drop_reason;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dp_shared_consts);
} dp_shared_consts SEC(".maps");

char LICENSE[] SEC("license") = "GPL";
