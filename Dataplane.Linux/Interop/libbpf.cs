using System.Runtime.InteropServices;

namespace Dataplane.Linux.Interop;

/// <summary>&lt;bpf/libbpf.h&gt; and &lt;bpf/bpf.h&gt; (libbpf 1.x, Debian's libbpf1): the few calls the AF_XDP backend needs.</summary>
public static unsafe partial class LibBpf
{
    private const string Lib = "libbpf.so.1";

    /// <summary>enum bpf_attach_type: BPF_XDP.</summary>
    public const int BPF_XDP = 37;
    public const uint XDP_FLAGS_UPDATE_IF_NOEXIST = 1 << 0;
    public const uint XDP_FLAGS_SKB_MODE = 1 << 1;
    public const uint XDP_FLAGS_DRV_MODE = 1 << 2;

    [LibraryImport(Lib, SetLastError = true)]
    public static partial void* bpf_object__open_mem(void* buf, nuint size, void* opts);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int bpf_object__load(void* obj);

    [LibraryImport(Lib)]
    public static partial void bpf_object__close(void* obj);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial void* bpf_object__find_program_by_name(void* obj, string name);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial void* bpf_object__find_map_by_name(void* obj, string name);

    [LibraryImport(Lib)]
    public static partial int bpf_program__fd(void* prog);

    [LibraryImport(Lib)]
    public static partial int bpf_map__fd(void* map);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int bpf_map_update_elem(int fd, void* key, void* value, ulong flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int bpf_link_create(int prog_fd, int target_fd, int attach_type, bpf_link_create_opts* opts);
}

/// <summary>The head of struct bpf_link_create_opts: libbpf reads only the first <see cref="sz"/> bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct bpf_link_create_opts
{
    public nuint sz;
    public uint flags;
    public uint pad;
}
