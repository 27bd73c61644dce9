using Dataplane.Core.Drops;
using Dataplane.Core.Packets;
using Dataplane.Core.Parsing;

namespace Dataplane.Core.Overlay;

/// <summary>
/// RFC 8986 §4 endpoint behaviours for a packet whose destination is a local SID. End and End.X take the next
/// segment (Segments Left − 1, destination ← Segment List[SL]); End routes on it, End.X sends it out of its
/// adjacency. End.DT4/DT6/DT46 require SL = 0, strip the outer IPv6 header and its extension headers and route the
/// inner packet. Violations are counted drops: no segment left for End/End.X → 185, SL ≠ 0 at a DT SID → 156,
/// an inner family the SID does not decapsulate → 139; an address inside a locator that is no SID → 185.
/// </summary>
public static unsafe class Srv6Endpoint
{
    public static void Process(ref PacketMeta p, OverlayState overlay)
    {
        UInt128 dst = Addr.Dst6(p);
        int s = overlay.SidIndex.Find(dst);
        if (s < 0)
        {
            if (overlay.Locators.Length != 0 && overlay.InLocator(dst)) p.Drop(DropReason.NoSid);
            return;
        }
        ref readonly LocalSid sid = ref overlay.Sids[s];
        bool hasSrh = (p.Flags & PacketFlags.Srh) != 0;
        byte* srh = p.Data + p.SrhOffset;
        int sl = hasSrh ? srh[3] : 0;
        switch (sid.Behavior)
        {
            case Srv6Behavior.End:
            case Srv6Behavior.EndX:
                if (sl == 0) { p.Drop(DropReason.NoSid); return; }
                sl--;
                srh[3] = (byte)sl;
                Buffer.MemoryCopy(srh + HeaderSizes.Srh + 16 * sl, p.Data + p.L3Offset + 24, 16, 16);
                if (sid.Behavior == Srv6Behavior.EndX) CrossConnect(ref p, in sid);
                return;                                    // End: the route stage forwards on the new destination
            default:
                if (sl != 0) { p.Drop(DropReason.InvalidIpv6ExtensionHeader); return; }
                Decapsulate(ref p, sid.Behavior);
                return;
        }
    }

    private static void CrossConnect(ref PacketMeta p, in LocalSid sid)
    {
        byte* ip = p.Data + p.L3Offset;
        if (ip[7] <= 1) { p.Drop(DropReason.TtlExceeded); return; }
        ip[7]--;
        System.Runtime.CompilerServices.Unsafe.WriteUnaligned(p.Data, sid.EthWord0);
        System.Runtime.CompilerServices.Unsafe.WriteUnaligned(p.Data + 8, sid.EthWord1);
        p.OutPort = sid.Port;
        p.Verdict = PacketVerdict.Tx;
    }

    private static void Decapsulate(ref PacketMeta p, Srv6Behavior behavior)
    {
        if ((p.Flags & PacketFlags.Fragment) != 0) { p.Drop(DropReason.IpFragmentationNotSupported); return; }
        ushort etherType;
        if (p.L4Proto == 4 && behavior is Srv6Behavior.EndDT4 or Srv6Behavior.EndDT46) etherType = EtherTypes.Ipv4;
        else if (p.L4Proto == 41 && behavior is Srv6Behavior.EndDT6 or Srv6Behavior.EndDT46) etherType = EtherTypes.Ipv6;
        else { p.Drop(DropReason.UnsupportedL3Protocol); return; }
        // The inner IP header is at L4Offset: move the 12 MAC bytes right in front of it with the new EtherType.
        int l2 = p.L4Offset - HeaderSizes.Ethernet;
        byte* d = p.Data;
        Buffer.MemoryCopy(d, d + l2, 12, 12);
        d[l2 + 12] = (byte)(etherType >> 8); d[l2 + 13] = (byte)etherType;
        Decapsulation.Reparse(ref p, l2);
    }
}
