using System.Runtime.InteropServices;

namespace Dataplane.Ebpf.Maps;

/// <summary>
/// Equality of map keys as the kernel sees them: their bytes. (The default struct equality of a fixed buffer
/// compares its first element only, which would merge 10.0.1.10/32 and 10.0.1.20/32.)
/// </summary>
public sealed class BytewiseComparer<T> : IEqualityComparer<T> where T : unmanaged
{
    public static BytewiseComparer<T> Instance { get; } = new();

    public bool Equals(T x, T y) => Bytes(ref x).SequenceEqual(Bytes(ref y));

    public int GetHashCode(T obj)
    {
        var h = new HashCode();
        h.AddBytes(Bytes(ref obj));
        return h.ToHashCode();
    }

    private static ReadOnlySpan<byte> Bytes(ref T value) => MemoryMarshal.AsBytes(new ReadOnlySpan<T>(ref value));
}
