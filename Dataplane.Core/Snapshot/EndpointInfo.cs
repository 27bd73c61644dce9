using System.Collections.Immutable;

namespace Dataplane.Core.Snapshot;

/// <summary>
/// A local endpoint (pod) as the pipeline sees it. Id 0 is reserved for "none". Addresses are kept in the
/// raw forms the hot path compares against (IPv4 host order, IPv6 as big-endian UInt128).
/// </summary>
public sealed record EndpointInfo(
    uint Id,
    string Namespace,
    string Name,
    ImmutableSortedDictionary<string, string> Labels,
    ushort Port,
    ulong Mac,
    uint Ipv4,
    UInt128 Ipv6,
    bool HasIpv4,
    bool HasIpv6,
    uint Identity);
