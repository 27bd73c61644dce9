namespace Dataplane.Bgp.Wire;

/// <summary>Path attribute type codes (RFC 4271 §5, RFC 1997, RFC 4760, RFC 6793).</summary>
public enum PathAttributeType : byte
{
    Origin = 1,
    AsPath = 2,
    NextHop = 3,
    MultiExitDisc = 4,
    LocalPref = 5,
    AtomicAggregate = 6,
    Aggregator = 7,
    Communities = 8,
    MpReachNlri = 14,
    MpUnreachNlri = 15,
    As4Path = 17,
    As4Aggregator = 18,
}

/// <summary>Attribute flag bits (RFC 4271 §4.3).</summary>
[Flags]
public enum AttributeFlags : byte
{
    Optional = 0x80,
    Transitive = 0x40,
    Partial = 0x20,
    ExtendedLength = 0x10,
}

/// <summary>ORIGIN values; lower is preferred in best-path selection.</summary>
public enum Origin : byte
{
    Igp = 0,
    Egp = 1,
    Incomplete = 2,
}

/// <summary>AS_PATH segment types (RFC 4271 §4.3, RFC 5065 for confederations).</summary>
public enum AsPathSegmentType : byte
{
    Set = 1,
    Sequence = 2,
    ConfedSequence = 3,
    ConfedSet = 4,
}

/// <summary>One AS_PATH segment.</summary>
public sealed record AsPathSegment(AsPathSegmentType Type, uint[] Asns);
