using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Dataplane.WireGuard.Crypto;

/// <summary>
/// A 32-byte key (public, private or preshared) as a value: comparable and hashable without an allocation, so
/// it can key the peer table; written as base64, the way `wg` and Cilium's annotation spell it.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public readonly struct WgKey : IEquatable<WgKey>
{
    public const int Size = 32;
    private readonly ulong _a, _b, _c, _d;

    public WgKey(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Size) throw new ArgumentException($"a WireGuard key is {Size} bytes, not {bytes.Length}", nameof(bytes));
        _a = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        _b = BinaryPrimitives.ReadUInt64LittleEndian(bytes[8..]);
        _c = BinaryPrimitives.ReadUInt64LittleEndian(bytes[16..]);
        _d = BinaryPrimitives.ReadUInt64LittleEndian(bytes[24..]);
    }

    public bool IsZero => (_a | _b | _c | _d) == 0;

    public void CopyTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(destination, _a);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], _b);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[16..], _c);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[24..], _d);
    }

    public byte[] ToArray()
    {
        var b = new byte[Size];
        CopyTo(b);
        return b;
    }

    public string ToBase64() => Convert.ToBase64String(ToArray());

    public override string ToString() => ToBase64();

    /// <summary>Parses the base64 form; a clear error names what was wrong.</summary>
    public static WgKey Parse(string base64)
    {
        if (!TryParse(base64, out var key)) throw new FormatException($"'{base64}' is not a base64 WireGuard key of {Size} bytes");
        return key;
    }

    public static bool TryParse(string? base64, out WgKey key)
    {
        key = default;
        Span<byte> b = stackalloc byte[Size + 3];
        if (base64 is null || !Convert.TryFromBase64String(base64.Trim(), b, out int n) || n != Size) return false;
        key = new WgKey(b[..Size]);
        return true;
    }

    /// <summary>A new private key (clamped) from the system CSPRNG.</summary>
    public static WgKey GeneratePrivate()
    {
        Span<byte> k = stackalloc byte[Size];
        Curve25519.GeneratePrivateKey(k);
        var key = new WgKey(k);
        k.Clear();
        return key;
    }

    /// <summary>The public key of this private key.</summary>
    public WgKey PublicKey()
    {
        Span<byte> priv = stackalloc byte[Size], pub = stackalloc byte[Size];
        CopyTo(priv);
        Curve25519.PublicKey(priv, pub);
        priv.Clear();
        return new WgKey(pub);
    }

    public bool Equals(WgKey other) => _a == other._a && _b == other._b && _c == other._c && _d == other._d;
    public override bool Equals(object? obj) => obj is WgKey k && Equals(k);
    public override int GetHashCode() => HashCode.Combine(_a, _b, _c, _d);
    public static bool operator ==(WgKey l, WgKey r) => l.Equals(r);
    public static bool operator !=(WgKey l, WgKey r) => !l.Equals(r);
}
