using Dataplane.Core.Checksums;
using Dataplane.Core.Drops;
using Dataplane.Core.Neighbors;
using Dataplane.Core.Packets;
using Dataplane.Core.Parsing;
using Dataplane.Core.Routing;
using Dataplane.Core.Snapshot;

namespace Dataplane.Core.Pipeline;

/// <summary>
/// Answers ARP requests and IPv6 neighbour solicitations in place, turning the request into the reply and
/// sending it back out of the port it came in on. Pods get the router MAC for every address but their own (as
/// Cilium's lxc ARP/NDP responder does, so all pod traffic goes through the dataplane); node interfaces get an
/// answer for the node's own addresses. Everything else of ARP/NDP is handed to the host stack. With neighbour
/// resolution attached, node interfaces also learn: ARP replies and solicited NAs confirm the neighbour they name,
/// and a neighbour's own request for our address leaves a stale entry (as the kernel's neigh_event_ns), posted to the
/// resolver through the worker's ring.
/// </summary>
/// <remarks>
/// L2 as a router sees it: a port receives every frame on its segment (AF_PACKET and AF_XDP run promiscuous), but
/// only frames addressed to the port's MAC are routed. A unicast frame for another host's MAC (what the kernel marks
/// PACKET_OTHERHOST) and a broadcast or multicast frame carrying a unicast IP destination are dropped with
/// INVALID_DESTINATION_MAC (131). Broadcast ARP and multicast NDP go on to the responder. Frames that came out of
/// a tunnel are not checked (their inner MACs are the remote node's business), nor are ports with no MAC known.
/// </remarks>
public readonly struct NeighborStage : IStage
{
    public static StageId Id => StageId.Neighbor;

    private const ushort ArpRequest = 1, ArpReply = 2;

    public static unsafe int Process(Batch batch, DatapathSnapshot snapshot, WorkerContext context)
    {
        PacketMeta* m = batch.Meta;
        int n = batch.Count, seen = 0;
        for (int i = 0; i < n; i++)
        {
            ref PacketMeta p = ref m[i];
            if (p.Verdict != PacketVerdict.Continue) continue;
            seen++;
            if ((p.Flags & PacketFlags.Decapsulated) == 0 && !AddressedToUs(ref p, snapshot))
            {
                p.Drop(DropReason.InvalidDestinationMac);
                continue;
            }
            if ((p.Flags & PacketFlags.Arp) != 0) Arp(ref p, snapshot, context.Neighbors);
            else if ((p.Flags & PacketFlags.Ndp) != 0) Ndp(ref p, snapshot, context.Neighbors);
        }
        return seen;
    }

    /// <summary>Whether a router would take this frame: addressed to the port's MAC, or link-layer broadcast/multicast
    /// for ARP, NDP or a multicast/broadcast IP destination.</summary>
    private static unsafe bool AddressedToUs(ref PacketMeta p, DatapathSnapshot s)
    {
        if ((p.Flags & PacketFlags.L2Multicast) != 0)
        {
            if ((p.Flags & (PacketFlags.Arp | PacketFlags.Ndp)) != 0) return true;
            return p.IpVersion == 4 ? Addr.IsMulticastOrBroadcast4(Addr.Dst4(p))
                : p.IpVersion != 6 || Addr.IsMulticast6(Addr.Dst6(p));
        }
        ulong mine = (uint)p.InPort < (uint)s.PortMacs.Length ? s.PortMacs[p.InPort] : 0;
        if (mine == 0) return true;
        byte* d = p.Data;
        ulong dst = ((ulong)d[0] << 40) | ((ulong)d[1] << 32) | ((ulong)d[2] << 24) | ((ulong)d[3] << 16) | ((ulong)d[4] << 8) | d[5];
        return dst == mine;
    }

    /// <summary>MAC we answer with on this port and whether we own <paramref name="target"/> there.</summary>
    private static bool Owns(DatapathSnapshot s, ushort inPort, bool ipv6, UInt128 target, UInt128 requesterOwn, out ulong mac)
    {
        if ((uint)inPort < (uint)s.PortKinds.Length && s.PortKinds[inPort] == PortKind.Endpoint)
        {
            mac = s.RouterMac;
            // Never answer for the pod's own address: that is duplicate address detection / gratuitous ARP.
            return target != requesterOwn && target != UInt128.Zero;
        }
        mac = (uint)inPort < (uint)s.PortMacs.Length ? s.PortMacs[inPort] : 0;
        uint nh;
        bool found = ipv6 ? s.Routes6.TryLookup(target, out nh) : s.Routes4.TryLookup((uint)target, out nh);
        return found && s.NextHops[nh].Kind == NextHopKind.Host;
    }

    private static unsafe void Arp(ref PacketMeta p, DatapathSnapshot s, WorkerNeighbors? nb)
    {
        byte* eth = p.Data;
        byte* a = p.Data + p.L3Offset;
        ushort op = (ushort)((a[6] << 8) | a[7]);
        uint spa = (uint)((a[14] << 24) | (a[15] << 16) | (a[16] << 8) | a[17]);
        uint tpa = (uint)((a[24] << 24) | (a[25] << 16) | (a[26] << 8) | a[27]);
        bool learns = nb is not null && spa != 0 && IsInterface(s, p.InPort);
        // A reply to our request confirms the neighbour (reachable); the host stack gets it as before.
        if (op == ArpReply && learns) nb!.Post(FrameKind.Confirmed, p.InPort, false, spa, Addr.ReadMac(a + 8));
        if (op != ArpRequest || !Owns(s, p.InPort, false, tpa, spa, out ulong mac) || mac == 0)
        {
            p.Verdict = PacketVerdict.Local;
            return;
        }
        // A request for our address names the requester's MAC: the kernel keeps it as a stale entry.
        if (learns) nb!.Post(FrameKind.Seen, p.InPort, false, spa, Addr.ReadMac(a + 8));
        // Reply: target ← sender, sender ← (our MAC, requested IP). Ethernet: back to the requester.
        Buffer.MemoryCopy(a + 8, a + 18, 10, 10);
        Addr.WriteMac(a + 8, mac);
        a[14] = (byte)(tpa >> 24); a[15] = (byte)(tpa >> 16); a[16] = (byte)(tpa >> 8); a[17] = (byte)tpa;
        a[6] = 0; a[7] = (byte)ArpReply;
        Buffer.MemoryCopy(a + 18, eth, 6, 6);
        Addr.WriteMac(eth + 6, mac);
        p.OutPort = p.InPort;
        p.Verdict = PacketVerdict.Tx;
    }

    private static unsafe void Ndp(ref PacketMeta p, DatapathSnapshot s, WorkerNeighbors? nb)
    {
        byte* ip = p.Data + p.L3Offset;
        byte* icmp = p.Data + p.L4Offset;
        bool learns = nb is not null && ip[7] == 255 && p.IcmpCode == 0 && IsInterface(s, p.InPort) && p.L4Offset + 24 <= p.Length;
        // A solicited advertisement confirms the neighbour (RFC 4861 §7.2.5); without a target link-layer option (the
        // answer to a unicast probe) the MAC stays the one probed.
        if (p.IcmpType == 136 && learns && (icmp[4] & 0x40) != 0)
            nb!.Post(FrameKind.Confirmed, p.InPort, true, ReadAddr(icmp + 8), LinkLayerOption(ref p, 2));
        // Only solicitations with hop limit 255 (RFC 4861 §7.1.1) are answered; other NDP goes to the host.
        if (p.IcmpType != 135 || p.IcmpCode != 0 || ip[7] != 255) { p.Verdict = PacketVerdict.Local; return; }
        var target = ReadAddr(icmp + 8);
        var src = Addr.Src6(p);
        if (!Owns(s, p.InPort, true, target, src, out ulong mac) || mac == 0) { p.Verdict = PacketVerdict.Local; return; }
        // A solicitation for our address with the solicitor's link-layer option: a stale entry, as the kernel makes.
        if (learns && src != UInt128.Zero && LinkLayerOption(ref p, 1) is var sll and not 0)
            nb!.Post(FrameKind.Seen, p.InPort, true, src, sll);

        const int naLen = 32; // 24-byte NA + target link-layer address option
        int l4 = p.L3Offset + HeaderSizes.Ipv6;
        if (l4 + naLen > p.Capacity) { p.Verdict = PacketVerdict.Local; return; }
        bool dad = src == UInt128.Zero;
        byte* na = p.Data + l4;

        // IPv6 header: from the target, to the solicitor (all-nodes for DAD), hop limit 255, no ext headers.
        ip[4] = 0; ip[5] = naLen; ip[6] = IpProtocols.Icmpv6; ip[7] = 255;
        if (dad) { WriteAddr(ip + 24, (UInt128)0xff02 << 112 | 1); }
        else Buffer.MemoryCopy(ip + 8, ip + 24, 16, 16);
        WriteAddr(ip + 8, target);

        na[0] = 136; na[1] = 0; na[2] = 0; na[3] = 0;
        na[4] = (byte)(0x80 | (dad ? 0 : 0x40) | 0x20); na[5] = na[6] = na[7] = 0; // Router, Solicited, Override
        WriteAddr(na + 8, target);
        na[24] = 2; na[25] = 1; Addr.WriteMac(na + 26, mac);
        uint sum = InetChecksum.Sum(ip + 8, 32, naLen + IpProtocols.Icmpv6);
        ushort csum = InetChecksum.Fold(InetChecksum.Sum(na, naLen, sum));
        na[2] = (byte)(csum >> 8); na[3] = (byte)csum;

        byte* eth = p.Data;
        if (dad) { eth[0] = 0x33; eth[1] = 0x33; eth[2] = 0; eth[3] = 0; eth[4] = 0; eth[5] = 1; }
        else Buffer.MemoryCopy(eth + 6, eth, 6, 6);
        Addr.WriteMac(eth + 6, mac);
        p.Length = (ushort)(l4 + naLen);
        p.OutPort = p.InPort;
        p.Verdict = PacketVerdict.Tx;
    }

    private static bool IsInterface(DatapathSnapshot s, ushort port) =>
        (uint)port < (uint)s.PortKinds.Length && s.PortKinds[port] == PortKind.Interface;

    private static unsafe UInt128 ReadAddr(byte* p) =>
        System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(new ReadOnlySpan<byte>(p, 16));

    /// <summary>The MAC in the NS/NA's source (1) or target (2) link-layer address option; 0 when absent.</summary>
    private static unsafe ulong LinkLayerOption(ref PacketMeta p, byte type)
    {
        int at = p.L4Offset + 24, end = p.Length;
        for (int guard = 0; guard < 16 && at + 8 <= end; guard++)
        {
            byte* o = p.Data + at;
            int len = o[1] * 8;
            if (len == 0) return 0;
            if (o[0] == type && len >= 8) return Addr.ReadMac(o + 2);
            at += len;
        }
        return 0;
    }

    private static unsafe void WriteAddr(byte* p, UInt128 a) =>
        System.Buffers.Binary.BinaryPrimitives.WriteUInt128BigEndian(new Span<byte>(p, 16), a);
}
