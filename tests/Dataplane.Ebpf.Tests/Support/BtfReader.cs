using System.Runtime.InteropServices;

namespace Dataplane.Ebpf.Tests.Support;

/// <summary>
/// The BTF of a compiled BPF object, read through libbpf: struct sizes and members, enum members and values —
/// what the compiler made of the C declarations, so tests compare C# with that rather than with a restatement.
/// </summary>
public sealed unsafe partial class BtfReader : IDisposable
{
    private const uint KindStruct = 4, KindEnum = 6;

    /// <summary>A struct member: its name, its type's BTF id and its offset in bytes.</summary>
    public readonly record struct Member(string Name, uint TypeId, int Offset);

    private readonly byte[] _bytes;
    private readonly GCHandle _pin;
    private void* _obj;
    private readonly void* _btf;

    /// <summary>Opens the object embedded in <paramref name="assembly"/> as <paramref name="resource"/>.</summary>
    public static BtfReader FromResource(System.Reflection.Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"{resource} is not embedded in {assembly.GetName().Name} (was clang there at build time?)");
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return new BtfReader(bytes, resource);
    }

    private BtfReader(byte[] bytes, string what)
    {
        // libbpf keeps pointers into the buffer for the object's lifetime.
        _bytes = bytes;
        _pin = GCHandle.Alloc(_bytes, GCHandleType.Pinned);
        _obj = bpf_object__open_mem((void*)_pin.AddrOfPinnedObject(), (nuint)_bytes.Length, null);
        if (_obj == null) { _pin.Free(); throw new InvalidOperationException($"{what} does not open as a BPF object"); }
        _btf = bpf_object__btf(_obj);
        if (_btf == null) { Dispose(); throw new InvalidOperationException($"{what} carries no BTF"); }
    }

    /// <summary>The struct's size and members (padding included), or null when the BTF has no such struct.</summary>
    public (int Size, Member[] Members)? Struct(string name)
    {
        int id = btf__find_by_name_kind(_btf, name, KindStruct);
        if (id <= 0) return null;
        uint* t = btf__type_by_id(_btf, (uint)id);
        uint vlen = t[1] & 0xFFFF;
        var members = new Member[vlen];
        for (uint i = 0; i < vlen; i++)
        {
            uint* m = t + 3 + 3 * i; // struct btf_member { name_off, type, offset (bits) }
            members[i] = new Member(NameAt(m[0]), m[1], (int)(m[2] / 8));
        }
        return ((int)t[2], members);
    }

    /// <summary>The enum with BTF id <paramref name="id"/>: its name and members (name, value as 32 bits), or null when the type is no enum.</summary>
    public (string Name, (string Name, uint Value)[] Members)? Enum(uint id)
    {
        uint* t = btf__type_by_id(_btf, id);
        if (t == null || ((t[1] >> 24) & 0x1F) != KindEnum) return null;
        uint vlen = t[1] & 0xFFFF;
        var members = new (string, uint)[vlen];
        for (uint i = 0; i < vlen; i++)
        {
            uint* e = t + 3 + 2 * i; // struct btf_enum { name_off, val }
            members[i] = (NameAt(e[0]), e[1]);
        }
        return (NameAt(t[0]), members);
    }

    private string NameAt(uint offset) => Marshal.PtrToStringUTF8((nint)btf__name_by_offset(_btf, offset)) ?? "";

    public void Dispose()
    {
        if (_obj != null) { bpf_object__close(_obj); _obj = null; }
        if (_pin.IsAllocated) _pin.Free();
    }

    [LibraryImport("libbpf.so.1")]
    private static partial void* bpf_object__open_mem(void* buf, nuint size, void* opts);

    [LibraryImport("libbpf.so.1")]
    private static partial void bpf_object__close(void* obj);

    [LibraryImport("libbpf.so.1")]
    private static partial void* bpf_object__btf(void* obj);

    [LibraryImport("libbpf.so.1", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int btf__find_by_name_kind(void* btf, string name, uint kind);

    [LibraryImport("libbpf.so.1")]
    private static partial uint* btf__type_by_id(void* btf, uint id);

    [LibraryImport("libbpf.so.1")]
    private static partial byte* btf__name_by_offset(void* btf, uint offset);
}
