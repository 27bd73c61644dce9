namespace Dataplane.Core.Flows;

/// <summary>Hubble's L7FlowType (flow.proto).</summary>
public enum L7RecordType : byte { Unknown = 0, Request = 1, Response = 2, Sample = 3 }

/// <summary>
/// The L7 part of a flow record the node's proxy writes (Hubble's <c>l7</c> field with its <c>http</c> record): one
/// per request as the proxy answers it. Never made by the workers (packet events leave it null).
/// </summary>
public sealed record L7Flow(L7RecordType Type, ulong LatencyNanos, string Method, string Url, string Protocol, int Code)
{
    /// <summary>A DNS record instead of an HTTP one (the DNS proxy's): the query name and the answer's rcode.</summary>
    public string? DnsQuery { get; init; }
}
