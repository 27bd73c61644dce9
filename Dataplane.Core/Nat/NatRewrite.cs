using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Dataplane.Core.Checksums;
using Dataplane.Core.Packets;
using Dataplane.Core.Parsing;

namespace Dataplane.Core.Nat;

/// <summary>
/// In-place address/port rewrites for DNAT, SNAT and their reverses, with RFC 1624 incremental checksum updates:
/// the IPv4 header checksum for the address, the TCP/UDP checksum for address (pseudo-header) and port, the ICMP
/// checksum for the echo identifier (ICMPv6 also covers the addresses). A UDP checksum of 0 stays 0. The
/// packet's parsed ports are updated too, so later stages (conntrack commit, flow records) see the new tuple.
/// </summary>
public static unsafe class NatRewrite
{
    /// <summary>Rewrites the destination address and port (ICMP echo: the identifier).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Destination(ref PacketMeta p, UInt128 addr, ushort port) => Rewrite(ref p, addr, port, source: false);

    /// <summary>Rewrites the source address and port (ICMP echo: the identifier).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Source(ref PacketMeta p, UInt128 addr, ushort port) => Rewrite(ref p, addr, port, source: true);

    private static void Rewrite(ref PacketMeta p, UInt128 addr, ushort port, bool source)
    {
        byte* ip = p.Data + p.L3Offset;
        byte* l4 = p.Data + p.L4Offset;
        bool hasL4 = (p.Flags & PacketFlags.LaterFragment) == 0;
        byte proto = p.L4Proto;
        bool echo = proto is IpProtocols.Icmp or IpProtocols.Icmpv6;
        // Checksum field offset within L4 and the port field being replaced.
        int csumOff = proto switch { IpProtocols.Tcp => 16, IpProtocols.Udp => 6, _ => 2 };
        int portOff = echo ? 4 : source ? 0 : 2;
        bool udp = proto == IpProtocols.Udp;
        ushort oldPort = hasL4 ? BinaryPrimitives.ReadUInt16BigEndian(new ReadOnlySpan<byte>(l4 + portOff, 2)) : (ushort)0;
        ushort csum = hasL4 ? BinaryPrimitives.ReadUInt16BigEndian(new ReadOnlySpan<byte>(l4 + csumOff, 2)) : (ushort)0;

        if (p.IpVersion == 4)
        {
            byte* field = ip + (source ? 12 : 16);
            uint oldAddr = BinaryPrimitives.ReadUInt32BigEndian(new ReadOnlySpan<byte>(field, 4)), newAddr = (uint)addr;
            if (oldAddr != newAddr)
            {
                ushort ipCsum = BinaryPrimitives.ReadUInt16BigEndian(new ReadOnlySpan<byte>(ip + 10, 2));
                BinaryPrimitives.WriteUInt16BigEndian(new Span<byte>(ip + 10, 2), InetChecksum.Update32(ipCsum, oldAddr, newAddr));
                BinaryPrimitives.WriteUInt32BigEndian(new Span<byte>(field, 4), newAddr);
                // ICMPv4's checksum does not cover the IP addresses.
                if (hasL4 && !echo)
                    csum = udp ? InetChecksum.UpdateUdp32(csum, oldAddr, newAddr) : InetChecksum.Update32(csum, oldAddr, newAddr);
            }
        }
        else
        {
            byte* field = ip + (source ? 8 : 24);
            Span<byte> newBytes = stackalloc byte[16];
            BinaryPrimitives.WriteUInt128BigEndian(newBytes, addr);
            var old = new Span<byte>(field, 16);
            if (!old.SequenceEqual(newBytes))
            {
                if (hasL4)
                    csum = udp ? InetChecksum.UpdateUdp128(csum, old, newBytes) : InetChecksum.Update128(csum, old, newBytes);
                newBytes.CopyTo(old);
            }
        }

        if (hasL4)
        {
            if (oldPort != port)
            {
                csum = udp ? InetChecksum.UpdateUdp16(csum, oldPort, port) : InetChecksum.Update16(csum, oldPort, port);
                BinaryPrimitives.WriteUInt16BigEndian(new Span<byte>(l4 + portOff, 2), port);
            }
            BinaryPrimitives.WriteUInt16BigEndian(new Span<byte>(l4 + csumOff, 2), csum);
        }
        if (echo) p.SrcPort = port;
        else if (source) p.SrcPort = port;
        else p.DstPort = port;
    }
}
