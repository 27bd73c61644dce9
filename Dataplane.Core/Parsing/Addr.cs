using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Dataplane.Core.Packets;

namespace Dataplane.Core.Parsing;

/// <summary>Reads and writes L3 addresses of a parsed packet (IPv4 host order, IPv6 big-endian UInt128).</summary>
public static unsafe class Addr
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Src4(in PacketMeta m) => BinaryPrimitives.ReadUInt32BigEndian(new ReadOnlySpan<byte>(m.Data + m.L3Offset + 12, 4));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Dst4(in PacketMeta m) => BinaryPrimitives.ReadUInt32BigEndian(new ReadOnlySpan<byte>(m.Data + m.L3Offset + 16, 4));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static UInt128 Src6(in PacketMeta m) => BinaryPrimitives.ReadUInt128BigEndian(new ReadOnlySpan<byte>(m.Data + m.L3Offset + 8, 16));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static UInt128 Dst6(in PacketMeta m) => BinaryPrimitives.ReadUInt128BigEndian(new ReadOnlySpan<byte>(m.Data + m.L3Offset + 24, 16));

    /// <summary>Source address widened to 128 bits (IPv4 in the low 32 bits).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static UInt128 Src(in PacketMeta m) => m.IpVersion == 4 ? Src4(m) : m.IpVersion == 6 ? Src6(m) : UInt128.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static UInt128 Dst(in PacketMeta m) => m.IpVersion == 4 ? Dst4(m) : m.IpVersion == 6 ? Dst6(m) : UInt128.Zero;

    /// <summary>fe80::/10</summary>
    public static bool IsLinkLocal6(UInt128 a) => (ulong)(a >> 118) == 0x3FA;

    /// <summary>ff00::/8</summary>
    public static bool IsMulticast6(UInt128 a) => (byte)(a >> 120) == 0xFF;

    /// <summary>224.0.0.0/4 and the limited broadcast address.</summary>
    public static bool IsMulticastOrBroadcast4(uint a) => (a >> 28) == 0xE || a == 0xFFFFFFFF;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WriteMac(byte* p, ulong mac)
    {
        p[0] = (byte)(mac >> 40); p[1] = (byte)(mac >> 32); p[2] = (byte)(mac >> 24);
        p[3] = (byte)(mac >> 16); p[4] = (byte)(mac >> 8); p[5] = (byte)mac;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong ReadMac(byte* p) =>
        ((ulong)p[0] << 40) | ((ulong)p[1] << 32) | ((ulong)p[2] << 24) | ((ulong)p[3] << 16) | ((ulong)p[4] << 8) | p[5];
}
