using System.Runtime.InteropServices;

namespace Dataplane.Ebpf.Interop;

/// <summary>
/// The libbpf 1.x calls the eBPF backend needs beyond Dataplane.Linux's <c>LibBpf</c> (Debian's libbpf1; object
/// open/load/lookup come from there): map sizing, element access, XDP attach through netlink (survives the
/// process, unlike a BPF link), test runs and ring buffers, and the structs they take.
/// </summary>
public static unsafe partial class Bpf
{
    private const string Lib = "libbpf.so.1";

    public const ulong BPF_ANY = 0, BPF_NOEXIST = 1, BPF_EXIST = 2;
    public const uint XDP_FLAGS_UPDATE_IF_NOEXIST = 1 << 0, XDP_FLAGS_SKB_MODE = 1 << 1, XDP_FLAGS_DRV_MODE = 1 << 2;

    [LibraryImport(Lib)]
    public static partial int bpf_map__set_max_entries(void* map, uint maxEntries);

    [LibraryImport(Lib)]
    public static partial uint bpf_map__max_entries(void* map);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int bpf_map_lookup_elem(int fd, void* key, void* value);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int bpf_map_delete_elem(int fd, void* key);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int bpf_map_get_next_key(int fd, void* key, void* nextKey);

    [LibraryImport(Lib)]
    public static partial int bpf_prog_test_run_opts(int progFd, bpf_test_run_opts* opts);

    [LibraryImport(Lib)]
    public static partial int bpf_xdp_attach(int ifindex, int progFd, uint flags, void* opts);

    [LibraryImport(Lib)]
    public static partial int bpf_xdp_detach(int ifindex, uint flags, void* opts);

    [LibraryImport(Lib)]
    public static partial int libbpf_num_possible_cpus();

    /// <summary>enum bpf_attach_type: BPF_TCX_INGRESS (kernel 6.6+; newer than Debian's libbpf 1.1 headers).</summary>
    public const int BPF_TCX_INGRESS = 46;
    /// <summary>enum bpf_attach_type: BPF_TCX_EGRESS (kernel 6.6+).</summary>
    public const int BPF_TCX_EGRESS = 47;

    /// <summary>
    /// BPF_LINK_CREATE. libbpf 1.1 has no bpf_program__attach_tcx (1.3+), but its bpf_link_create passes an
    /// attach type it does not know straight to the kernel with target_fd as the ifindex, which is what a tcx
    /// link needs (no options: attached after whatever is already there).
    /// </summary>
    [LibraryImport(Lib, SetLastError = true)]
    public static partial int bpf_link_create(int progFd, int targetFd, int attachType, void* opts);

    /// <summary>Pins an object (here: a tcx link) in bpffs so it outlives every fd — the agent's restart.</summary>
    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int bpf_obj_pin(int fd, string path);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int bpf_obj_get(string path);

    /// <summary>Replaces a link's program in place (tcx supports it): no moment without a program on the interface.</summary>
    [LibraryImport(Lib, SetLastError = true)]
    public static partial int bpf_link_update(int linkFd, int newProgFd, void* opts);

    [LibraryImport(Lib)]
    public static partial int bpf_map__reuse_fd(void* map, int fd);

    [LibraryImport(Lib)]
    [return: MarshalAs(UnmanagedType.U1)]
    public static partial bool bpf_map__is_internal(void* map);

    [LibraryImport(Lib)]
    public static partial byte* bpf_map__name(void* map);

    [LibraryImport(Lib)]
    public static partial void* bpf_object__next_map(void* obj, void* prev);

    [LibraryImport(Lib)]
    public static partial void* ring_buffer__new(int mapFd, delegate* unmanaged<void*, void*, nuint, int> sample, void* ctx, void* opts);

    [LibraryImport(Lib)]
    public static partial int ring_buffer__consume(void* rb);

    [LibraryImport(Lib)]
    public static partial int ring_buffer__poll(void* rb, int timeoutMs);

    [LibraryImport(Lib)]
    public static partial void ring_buffer__free(void* rb);

    /// <summary>A libbpf return value as an errno: libbpf 1.x returns -errno directly.</summary>
    public static int Err(int rc) => rc == -1 ? Marshal.GetLastPInvokeError() : -rc;
}

/// <summary>struct bpf_object_open_opts (libbpf 1.1).</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct bpf_object_open_opts
{
    public nuint sz;
    public byte* object_name;
    public byte relaxed_maps;
    public byte* pin_root_path;
    public uint attach_prog_fd_stub;
    public byte* kconfig;
    public byte* btf_custom_path;
    public byte* kernel_log_buf;
    public nuint kernel_log_size;
    public uint kernel_log_level;
}

/// <summary>struct bpf_test_run_opts.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct bpf_test_run_opts
{
    public nuint sz;
    public void* data_in;
    public void* data_out;
    public uint data_size_in;
    public uint data_size_out;
    public void* ctx_in;
    public void* ctx_out;
    public uint ctx_size_in;
    public uint ctx_size_out;
    public uint retval;
    public int repeat;
    public uint duration;
    public uint flags;
    public uint cpu;
    public uint batch_size;
}

/// <summary>struct xdp_md as BPF_PROG_TEST_RUN takes it: offsets of the packet inside data_in.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct xdp_md
{
    public uint data;
    public uint data_end;
    public uint data_meta;
    public uint ingress_ifindex;
    public uint rx_queue_index;
    public uint egress_ifindex;
}

/// <summary>
/// The start of struct __sk_buff, up to and including cb[]: what an skb BPF_PROG_TEST_RUN takes as ctx_in (the
/// kernel zero-fills the rest and refuses non-zero fields other than mark, priority, ifindexes, cb and tstamp).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct sk_buff_test_ctx
{
    public uint len;
    public uint pkt_type;
    public uint mark;
    public uint queue_mapping;
    public uint protocol;
    public uint vlan_present;
    public uint vlan_tci;
    public uint vlan_proto;
    public uint priority;
    public uint ingress_ifindex;
    public uint ifindex;
    public uint tc_index;
    public fixed uint cb[5];
}

/// <summary>The TC actions the datapath's TC program returns (linux/pkt_cls.h).</summary>
public enum TcAction : uint
{
    Ok = 0,
    Shot = 2,
    Redirect = 7,
}

/// <summary>XDP return codes.</summary>
public enum XdpAction : uint
{
    Aborted = 0,
    Drop = 1,
    Pass = 2,
    Tx = 3,
    Redirect = 4,
}
