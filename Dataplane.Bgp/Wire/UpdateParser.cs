using System.Buffers.Binary;
using System.Net;

namespace Dataplane.Bgp.Wire;

/// <summary>
/// Decodes UPDATE bodies (RFC 4271 §4.3, RFC 4760, RFC 6793). Never throws on input: every malformation is
/// reported as the code-3 error of RFC 4271 §6.3 whose NOTIFICATION the session then sends. We reset the
/// session on every error rather than applying RFC 7606's treat-as-withdraw; that is always permitted and
/// keeps the RIB free of half-understood paths.
/// </summary>
public static class UpdateParser
{
    /// <summary>Parses one UPDATE body; <c>fourOctetAs</c> says whether both sides advertised the 4-octet
    /// AS capability, so AS_PATH carries 4-byte ASNs.</summary>
    public static bool TryParse(ReadOnlySpan<byte> body, bool fourOctetAs, out UpdateMessage update, out BgpError error)
    {
        update = new UpdateMessage();
        error = default;
        if (body.Length < 4) return Fail(out error, UpdateError.MalformedAttributeList);

        int withdrawnLen = BinaryPrimitives.ReadUInt16BigEndian(body);
        if (2 + withdrawnLen + 2 > body.Length) return Fail(out error, UpdateError.MalformedAttributeList);
        if (!PrefixCodec.TryReadAll(body.Slice(2, withdrawnLen), Afi.Ipv4, update.Withdrawn))
            return Fail(out error, UpdateError.InvalidNetworkField);

        int attrLen = BinaryPrimitives.ReadUInt16BigEndian(body[(2 + withdrawnLen)..]);
        int attrStart = 4 + withdrawnLen;
        if (attrStart + attrLen > body.Length) return Fail(out error, UpdateError.MalformedAttributeList);
        var attrs = body.Slice(attrStart, attrLen);
        var nlri = body[(attrStart + attrLen)..];

        var state = new AttributeState();
        if (!TryParseAttributes(attrs, fourOctetAs, update, ref state, out error)) return false;
        if (!PrefixCodec.TryReadAll(nlri, Afi.Ipv4, update.Announced))
            return Fail(out error, UpdateError.InvalidNetworkField);

        bool ipv4Nlri = !nlri.IsEmpty;
        if (ipv4Nlri || state.MpReachPrefixes > 0)
        {
            // Mandatory well-known attributes when anything is announced (RFC 4271 §6.3, RFC 4760 §3).
            if (!state.Seen(PathAttributeType.Origin)) return Missing(out error, PathAttributeType.Origin);
            if (!state.Seen(PathAttributeType.AsPath)) return Missing(out error, PathAttributeType.AsPath);
            if (ipv4Nlri && !state.Seen(PathAttributeType.NextHop)) return Missing(out error, PathAttributeType.NextHop);
        }

        if (withdrawnLen == 0 && attrLen == 0 && nlri.IsEmpty) update.EndOfRib = Family.Ipv4Unicast;
        else if (state.MpUnreachOnlyFamily is Family f && update.Withdrawn.Count == 0 && update.Announced.Count == 0 && state.Count == 1)
            update.EndOfRib = f;
        return true;
    }

    /// <summary>Which attribute types we have seen (duplicates are an error) and what MP attributes held.</summary>
    private struct AttributeState
    {
        private UInt128 _seen;
        public int Count;
        public int MpReachPrefixes;
        public Family? MpUnreachOnlyFamily;

        public readonly bool Seen(PathAttributeType t) => (_seen & (UInt128.One << (byte)t)) != 0;

        /// <summary>Marks a type as seen; false when it already was. Types ≥ 128 are unknown to us and
        /// ignored for duplicate detection.</summary>
        public bool Mark(byte type)
        {
            Count++;
            if (type >= 128) return true;
            var bit = UInt128.One << type;
            if ((_seen & bit) != 0) return false;
            _seen |= bit;
            return true;
        }
    }

    private static bool TryParseAttributes(ReadOnlySpan<byte> attrs, bool fourOctetAs, UpdateMessage update,
        ref AttributeState state, out BgpError error)
    {
        error = default;
        var pa = new PathAttributes();
        List<AsPathSegment>? as4Path = null;
        while (!attrs.IsEmpty)
        {
            if (attrs.Length < 3) return Fail(out error, UpdateError.MalformedAttributeList);
            var flags = (AttributeFlags)attrs[0];
            byte type = attrs[1];
            bool ext = (flags & AttributeFlags.ExtendedLength) != 0;
            int header = ext ? 4 : 3;
            if (attrs.Length < header) return Fail(out error, UpdateError.MalformedAttributeList);
            int len = ext ? BinaryPrimitives.ReadUInt16BigEndian(attrs[2..]) : attrs[2];
            if (attrs.Length < header + len) return Fail(out error, UpdateError.MalformedAttributeList);
            var whole = attrs[..(header + len)];
            var value = attrs.Slice(header, len);
            attrs = attrs[(header + len)..];

            if (!state.Mark(type)) return Fail(out error, UpdateError.MalformedAttributeList);
            if (type == (byte)PathAttributeType.As4Path)
            {
                // RFC 6793 §4.2.3: only meaningful from a 2-octet speaker; a malformed one is discarded,
                // never a reason to reset the session (RFC 7606 §7.1 for its sibling).
                if (!fourOctetAs && AsPathCodec.TryRead(value, 4, out var as4) && as4.All(x => x.Type is AsPathSegmentType.Sequence or AsPathSegmentType.Set))
                    as4Path = as4;
                continue;
            }
            if (!FlagsValid((PathAttributeType)type, flags, out bool known))
                return Fail(out error, UpdateError.AttributeFlagsError, whole);
            if (!known)
            {
                // Unrecognised: an error only if it claims to be well-known (optional bit clear).
                if ((flags & AttributeFlags.Optional) == 0) return Fail(out error, UpdateError.UnrecognizedWellKnownAttribute, whole);
                continue;
            }

            switch ((PathAttributeType)type)
            {
                case PathAttributeType.Origin:
                    if (len != 1) return Fail(out error, UpdateError.AttributeLengthError, whole);
                    if (value[0] > 2) return Fail(out error, UpdateError.InvalidOriginAttribute, whole);
                    pa = pa with { Origin = (Origin)value[0] };
                    break;
                case PathAttributeType.AsPath:
                    if (!AsPathCodec.TryRead(value, fourOctetAs ? 4 : 2, out var path)) return Fail(out error, UpdateError.MalformedAsPath);
                    pa = pa with { AsPath = path };
                    break;
                case PathAttributeType.NextHop:
                    if (len != 4) return Fail(out error, UpdateError.AttributeLengthError, whole);
                    if (value[0] == 0 || value[0] >= 224) return Fail(out error, UpdateError.InvalidNextHopAttribute, whole);
                    update.NextHop4 = new IPAddress(value);
                    pa = pa with { NextHop = update.NextHop4 };
                    break;
                case PathAttributeType.MultiExitDisc:
                    if (len != 4) return Fail(out error, UpdateError.AttributeLengthError, whole);
                    pa = pa with { MultiExitDisc = BinaryPrimitives.ReadUInt32BigEndian(value) };
                    break;
                case PathAttributeType.LocalPref:
                    if (len != 4) return Fail(out error, UpdateError.AttributeLengthError, whole);
                    pa = pa with { LocalPref = BinaryPrimitives.ReadUInt32BigEndian(value) };
                    break;
                case PathAttributeType.AtomicAggregate:
                    if (len != 0) return Fail(out error, UpdateError.AttributeLengthError, whole);
                    pa = pa with { AtomicAggregate = true };
                    break;
                case PathAttributeType.Aggregator:
                    if (len != (fourOctetAs ? 8 : 6)) return Fail(out error, UpdateError.AttributeLengthError, whole);
                    break;
                case PathAttributeType.Communities:
                    if (len == 0 || len % 4 != 0) return Fail(out error, UpdateError.OptionalAttributeError, whole);
                    var comms = new uint[len / 4];
                    for (int i = 0; i < comms.Length; i++) comms[i] = BinaryPrimitives.ReadUInt32BigEndian(value[(4 * i)..]);
                    pa = pa with { Communities = comms };
                    break;
                case PathAttributeType.MpReachNlri:
                    if (!TryParseMpReach(value, update, ref state)) return Fail(out error, UpdateError.OptionalAttributeError, whole);
                    break;
                case PathAttributeType.MpUnreachNlri:
                    if (!TryParseMpUnreach(value, update, ref state)) return Fail(out error, UpdateError.OptionalAttributeError, whole);
                    break;
            }
        }
        if (as4Path is not null) pa = pa with { AsPath = AsPathCodec.MergeAs4(pa.AsPath, as4Path) };
        update.Attributes = pa;
        return true;
    }

    /// <summary>Well-known attributes must be transitive and not optional; optional ones must carry the
    /// transitive bit their definition gives (RFC 4271 §6.3).</summary>
    private static bool FlagsValid(PathAttributeType type, AttributeFlags flags, out bool known)
    {
        known = true;
        var ot = flags & (AttributeFlags.Optional | AttributeFlags.Transitive);
        switch (type)
        {
            case PathAttributeType.Origin or PathAttributeType.AsPath or PathAttributeType.NextHop
                or PathAttributeType.LocalPref or PathAttributeType.AtomicAggregate:
                return ot == AttributeFlags.Transitive && (flags & AttributeFlags.Partial) == 0;
            case PathAttributeType.MultiExitDisc or PathAttributeType.MpReachNlri or PathAttributeType.MpUnreachNlri:
                return ot == AttributeFlags.Optional;
            case PathAttributeType.Aggregator or PathAttributeType.Communities:
                return ot == (AttributeFlags.Optional | AttributeFlags.Transitive);
            default:
                known = false;
                return true;
        }
    }

    private static bool TryParseMpReach(ReadOnlySpan<byte> v, UpdateMessage update, ref AttributeState state)
    {
        if (v.Length < 5) return false;
        var afi = (Afi)BinaryPrimitives.ReadUInt16BigEndian(v);
        var safi = (Safi)v[2];
        int nhLen = v[3];
        if (v.Length < 4 + nhLen + 1) return false;
        var nh = v.Slice(4, nhLen);
        var nlri = v[(5 + nhLen)..];
        if (safi != Safi.Unicast || (afi != Afi.Ipv4 && afi != Afi.Ipv6)) return true; // Not negotiated: ignore.
        // IPv6: a global address, optionally followed by a link-local one (RFC 2545 §3). IPv4 prefixes may
        // also carry an IPv6 next hop (RFC 8950).
        if (nhLen is 16 or 32) update.MpNextHop = new IPAddress(nh[..16]);
        else if (nhLen == 4 && afi == Afi.Ipv4) update.MpNextHop = new IPAddress(nh);
        else return false;
        if (afi == Afi.Ipv6) update.NextHop6 = update.MpNextHop;
        int before = update.Announced.Count;
        if (!PrefixCodec.TryReadAll(nlri, afi, update.Announced)) return false;
        state.MpReachPrefixes += update.Announced.Count - before;
        update.MpReachCount = update.Announced.Count;
        return true;
    }

    private static bool TryParseMpUnreach(ReadOnlySpan<byte> v, UpdateMessage update, ref AttributeState state)
    {
        if (v.Length < 3) return false;
        var afi = (Afi)BinaryPrimitives.ReadUInt16BigEndian(v);
        var safi = (Safi)v[2];
        if (safi != Safi.Unicast || (afi != Afi.Ipv4 && afi != Afi.Ipv6)) return true;
        if (v.Length == 3) state.MpUnreachOnlyFamily = new Family(afi, safi);
        return PrefixCodec.TryReadAll(v[3..], afi, update.Withdrawn);
    }

    private static bool Fail(out BgpError error, UpdateError sub, ReadOnlySpan<byte> data = default)
    {
        error = BgpError.Update(sub, data.ToArray());
        return false;
    }

    private static bool Missing(out BgpError error, PathAttributeType type)
    {
        error = BgpError.Update(UpdateError.MissingWellKnownAttribute, [(byte)type]);
        return false;
    }
}
