using System.Buffers.Binary;
using System.Net;

namespace Dataplane.Bgp.Wire;

/// <summary>
/// Encodes UPDATEs. IPv4 prefixes go in the classic NLRI/withdrawn fields, IPv6 ones in MP_REACH_NLRI /
/// MP_UNREACH_NLRI (RFC 4760). Prefix lists are split so that no message exceeds 4096 bytes.
/// </summary>
public static class UpdateWriter
{
    /// <summary>Announcements of <paramref name="prefixes"/> (one family) sharing <paramref name="attributes"/>.</summary>
    public static List<byte[]> Announce(PathAttributes attributes, IPAddress nextHop, IReadOnlyList<BgpPrefix> prefixes, bool fourOctetAs)
    {
        var messages = new List<byte[]>();
        if (prefixes.Count == 0) return messages;
        bool v4 = prefixes[0].IsIpv4;
        byte[] common = EncodeCommonAttributes(attributes, v4 ? nextHop : null, fourOctetAs);
        // Room for NLRI: 4096 - header - 2 withdrawn len - 2 attr len - attributes (- MP_REACH overhead).
        int mpOverhead = v4 ? 0 : 4 + 5 + 16;
        int room = MessageFraming.MaxMessageLength - MessageFraming.HeaderLength - 4 - common.Length - mpOverhead;
        int i = 0;
        while (i < prefixes.Count)
        {
            int start = i, bytes = 0;
            while (i < prefixes.Count && bytes + PrefixCodec.EncodedLength(prefixes[i]) <= room) bytes += PrefixCodec.EncodedLength(prefixes[i++]);
            var nlri = new byte[bytes];
            int off = 0;
            for (int k = start; k < i; k++) off += PrefixCodec.Write(nlri.AsSpan(off), prefixes[k]);
            messages.Add(v4 ? Build([], common, [], nlri) : Build([], common, MpReach(nextHop, nlri), []));
        }
        return messages;
    }

    /// <summary>Withdrawals of <paramref name="prefixes"/> (one family).</summary>
    public static List<byte[]> Withdraw(IReadOnlyList<BgpPrefix> prefixes)
    {
        var messages = new List<byte[]>();
        if (prefixes.Count == 0) return messages;
        bool v4 = prefixes[0].IsIpv4;
        int room = MessageFraming.MaxMessageLength - MessageFraming.HeaderLength - 4 - (v4 ? 0 : 4 + 3);
        int i = 0;
        while (i < prefixes.Count)
        {
            int start = i, bytes = 0;
            while (i < prefixes.Count && bytes + PrefixCodec.EncodedLength(prefixes[i]) <= room) bytes += PrefixCodec.EncodedLength(prefixes[i++]);
            var field = new byte[bytes];
            int off = 0;
            for (int k = start; k < i; k++) off += PrefixCodec.Write(field.AsSpan(off), prefixes[k]);
            messages.Add(v4 ? Build(field, [], [], []) : Build([], [], MpUnreach(Afi.Ipv6, field), []));
        }
        return messages;
    }

    /// <summary>End-of-RIB (RFC 4724 §2): an empty UPDATE for IPv4, an empty MP_UNREACH for other families.</summary>
    public static byte[] EndOfRib(Family family) =>
        family == Family.Ipv4Unicast ? Build([], [], [], []) : Build([], [], MpUnreach(family.Afi, []), []);

    private static byte[] Build(ReadOnlySpan<byte> withdrawn, ReadOnlySpan<byte> attrs, ReadOnlySpan<byte> moreAttrs, ReadOnlySpan<byte> nlri)
    {
        int total = MessageFraming.HeaderLength + 2 + withdrawn.Length + 2 + attrs.Length + moreAttrs.Length + nlri.Length;
        var msg = new byte[total];
        MessageFraming.WriteHeader(msg, MessageType.Update, total);
        var s = msg.AsSpan(MessageFraming.HeaderLength);
        BinaryPrimitives.WriteUInt16BigEndian(s, (ushort)withdrawn.Length);
        withdrawn.CopyTo(s[2..]);
        s = s[(2 + withdrawn.Length)..];
        BinaryPrimitives.WriteUInt16BigEndian(s, (ushort)(attrs.Length + moreAttrs.Length));
        attrs.CopyTo(s[2..]);
        moreAttrs.CopyTo(s[(2 + attrs.Length)..]);
        nlri.CopyTo(s[(2 + attrs.Length + moreAttrs.Length)..]);
        return msg;
    }

    private static byte[] EncodeCommonAttributes(PathAttributes a, IPAddress? nextHop4, bool fourOctetAs)
    {
        var buf = new List<byte>(64);
        Attr(buf, AttributeFlags.Transitive, PathAttributeType.Origin, [(byte)a.Origin]);
        Attr(buf, AttributeFlags.Transitive, PathAttributeType.AsPath, AsPathCodec.Write(a.AsPath, fourOctetAs ? 4 : 2));
        // A 2-octet peer sees AS_TRANS in AS_PATH; AS4_PATH carries the real ASNs through it (RFC 6793 §4.2.2).
        if (!fourOctetAs && AsPathCodec.NeedsAs4Path(a.AsPath))
            Attr(buf, AttributeFlags.Optional | AttributeFlags.Transitive, PathAttributeType.As4Path, AsPathCodec.Write(a.AsPath, 4));
        if (nextHop4 is not null) Attr(buf, AttributeFlags.Transitive, PathAttributeType.NextHop, nextHop4.GetAddressBytes());
        if (a.MultiExitDisc is uint med) Attr(buf, AttributeFlags.Optional, PathAttributeType.MultiExitDisc, U32(med));
        if (a.LocalPref is uint lp) Attr(buf, AttributeFlags.Transitive, PathAttributeType.LocalPref, U32(lp));
        if (a.AtomicAggregate) Attr(buf, AttributeFlags.Transitive, PathAttributeType.AtomicAggregate, []);
        if (a.Communities.Count > 0)
        {
            var c = new byte[4 * a.Communities.Count];
            for (int i = 0; i < a.Communities.Count; i++) BinaryPrimitives.WriteUInt32BigEndian(c.AsSpan(4 * i), a.Communities[i]);
            Attr(buf, AttributeFlags.Optional | AttributeFlags.Transitive, PathAttributeType.Communities, c);
        }
        return [.. buf];
    }

    private static byte[] MpReach(IPAddress nextHop, ReadOnlySpan<byte> nlri)
    {
        var v = new byte[5 + 16 + nlri.Length];
        BinaryPrimitives.WriteUInt16BigEndian(v, (ushort)Afi.Ipv6);
        v[2] = (byte)Safi.Unicast;
        v[3] = 16;
        nextHop.TryWriteBytes(v.AsSpan(4, 16), out _);
        v[20] = 0;
        nlri.CopyTo(v.AsSpan(21));
        var buf = new List<byte>(v.Length + 4);
        Attr(buf, AttributeFlags.Optional, PathAttributeType.MpReachNlri, v);
        return [.. buf];
    }

    private static byte[] MpUnreach(Afi afi, ReadOnlySpan<byte> withdrawn)
    {
        var v = new byte[3 + withdrawn.Length];
        BinaryPrimitives.WriteUInt16BigEndian(v, (ushort)afi);
        v[2] = (byte)Safi.Unicast;
        withdrawn.CopyTo(v.AsSpan(3));
        var buf = new List<byte>(v.Length + 4);
        Attr(buf, AttributeFlags.Optional, PathAttributeType.MpUnreachNlri, v);
        return [.. buf];
    }

    private static void Attr(List<byte> buf, AttributeFlags flags, PathAttributeType type, ReadOnlySpan<byte> value)
    {
        bool ext = value.Length > 255;
        buf.Add((byte)(flags | (ext ? AttributeFlags.ExtendedLength : 0)));
        buf.Add((byte)type);
        if (ext) buf.Add((byte)(value.Length >> 8));
        buf.Add((byte)value.Length);
        foreach (byte b in value) buf.Add(b);
    }

    private static byte[] U32(uint v)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, v);
        return b;
    }
}
