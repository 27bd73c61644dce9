using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;

namespace Dataplane.Control.Config;

/// <summary>
/// A 48-bit Ethernet address held in the low bits of a <see cref="ulong"/>, first octet most significant,
/// so it compares, hashes and stores like a number and converts to wire order with one shift.
/// </summary>
public readonly record struct MacAddress(ulong Value)
{
    private const ulong Mask = 0xFFFF_FFFF_FFFFUL;

    public ulong Value { get; } = Value <= Mask
        ? Value
        : throw new ArgumentOutOfRangeException(nameof(Value), "a MAC address has 48 bits");

    /// <summary>I/G bit of the first octet: set for multicast and broadcast; never a valid source.</summary>
    public bool IsMulticast => (Value & (1UL << 40)) != 0;

    public bool IsZero => Value == 0;

    /// <summary>U/L bit of the first octet: set for addresses we invent rather than burned-in ones.</summary>
    public bool IsLocallyAdministered => (Value & (2UL << 40)) != 0;

    public static MacAddress Parse(string s) =>
        TryParse(s, out var mac) ? mac : throw new FormatException($"invalid MAC address '{s}'");

    /// <summary>Accepts six two-digit hex octets separated consistently by ':' or '-', any case.</summary>
    public static bool TryParse([NotNullWhen(true)] string? s, out MacAddress mac)
    {
        mac = default;
        if (s is null || s.Length != 17)
            return false;
        char sep = s[2];
        if (sep != ':' && sep != '-')
            return false;
        ulong value = 0;
        for (int octet = 0; octet < 6; octet++)
        {
            int at = octet * 3;
            if (octet > 0 && s[at - 1] != sep)
                return false;
            int hi = HexValue(s[at]), lo = HexValue(s[at + 1]);
            if (hi < 0 || lo < 0)
                return false;
            value = (value << 8) | (uint)(hi << 4 | lo);
        }
        mac = new MacAddress(value);
        return true;
    }

    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };

    /// <summary>Writes the address in wire order (first octet first).</summary>
    public void WriteTo(Span<byte> six)
    {
        if (six.Length < 6)
            throw new ArgumentException("need 6 bytes", nameof(six));
        BinaryPrimitives.WriteUInt16BigEndian(six, (ushort)(Value >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(six[2..], (uint)Value);
    }

    /// <summary>Reads an address in wire order (first octet first).</summary>
    public static MacAddress Read(ReadOnlySpan<byte> six)
    {
        if (six.Length < 6)
            throw new ArgumentException("need 6 bytes", nameof(six));
        return new MacAddress((ulong)BinaryPrimitives.ReadUInt16BigEndian(six) << 32
                              | BinaryPrimitives.ReadUInt32BigEndian(six[2..]));
    }

    /// <summary>
    /// A locally administered unicast address that is a pure function of <paramref name="seed"/>, so a pod
    /// or router keeps its MAC across restarts and on every replica of the config without storing state.
    /// The first octet is fixed to 0x02 and the other five are the first bytes of SHA-256(seed).
    /// </summary>
    public static MacAddress Derive(string seed)
    {
        ArgumentNullException.ThrowIfNull(seed);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(seed), hash);
        Span<byte> six = stackalloc byte[6];
        six[0] = 0x02;
        hash[..5].CopyTo(six[1..]);
        return Read(six);
    }

    public override string ToString() => string.Create(17, Value, static (dst, v) =>
    {
        const string hex = "0123456789abcdef";
        for (int octet = 0; octet < 6; octet++)
        {
            int b = (int)(v >> (40 - 8 * octet)) & 0xFF;
            dst[octet * 3] = hex[b >> 4];
            dst[octet * 3 + 1] = hex[b & 0xF];
            if (octet < 5)
                dst[octet * 3 + 2] = ':';
        }
    });
}
