namespace Dataplane.Core.Overlay;

/// <summary>SRv6 endpoint behaviours of RFC 8986 §4 that the local SID table supports.</summary>
public enum Srv6Behavior : byte
{
    /// <summary>Endpoint: next segment, then route on it.</summary>
    End = 1,
    /// <summary>Endpoint with L3 cross-connect: next segment, then out of a fixed adjacency.</summary>
    EndX = 2,
    /// <summary>Decapsulate and look the inner IPv4 packet up in the (here single) routing table.</summary>
    EndDT4 = 3,
    EndDT6 = 4,
    /// <summary>Decapsulate IPv4 or IPv6.</summary>
    EndDT46 = 5,
}

/// <summary>One entry of the local SID table. End.X carries its adjacency (port and Ethernet header).</summary>
public readonly record struct LocalSid(UInt128 Sid, Srv6Behavior Behavior, ushort Port = 0, ulong EthWord0 = 0, uint EthWord1 = 0);
