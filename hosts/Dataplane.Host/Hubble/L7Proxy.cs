using Dataplane.Core.Flows;
using Flow;
using HubbleFlow = Flow.Flow;

namespace Dataplane.Host.Hubble;

/// <summary>
/// A flow record of the node's L7 proxy as Hubble shows one: <c>Type: L7</c>, event type 129 (access log), and
/// <c>l7 {type, latency_ns, http {code, method, url, protocol}}</c>; the summary as hubble prints it
/// (<c>HTTP/1.1 GET http://…</c>, <c>HTTP/1.1 200 3ms (GET http://…)</c>). A denied request is DROPPED without a
/// drop reason, as Cilium's proxy reports it.
/// </summary>
internal static class L7Proxy
{
    private const int MessageTypeAccessLog = 129;

    public static void Fill(HubbleFlow f, L7Flow r)
    {
        f.Type = FlowType.L7;
        f.EventType = new CiliumEventType { Type = MessageTypeAccessLog };
        f.TraceObservationPoint = TraceObservationPoint.UnknownPoint;
#pragma warning disable CS0612 // deprecated in the proto, still what hubble's compact output reads
        f.DropReason = 0;
        f.Summary = r.DnsQuery is { } q
            ? r.Type == L7RecordType.Response ? $"DNS Answer RCode: {r.Code} ({q})" : $"DNS Query {q} A"
            : r.Type == L7RecordType.Response
            ? $"{r.Protocol} {r.Code} {r.LatencyNanos / 1_000_000}ms ({r.Method} {r.Url})"
            : $"{r.Protocol} {r.Method} {r.Url}";
#pragma warning restore CS0612
        f.DropReasonDesc = global::Flow.DropReason.Unknown;
        f.L7 = new Layer7
        {
            Type = r.Type switch
            {
                L7RecordType.Request => L7FlowType.Request,
                L7RecordType.Response => L7FlowType.Response,
                L7RecordType.Sample => L7FlowType.Sample,
                _ => L7FlowType.UnknownL7Type,
            },
            LatencyNs = r.LatencyNanos,
        };
        if (r.DnsQuery is { } query)
        {
            f.L7.Dns = new DNS { Query = query, Rcode = (uint)r.Code, ObservationSource = "proxy" };
            f.L7.Dns.Qtypes.Add("A");
        }
        else f.L7.Http = new HTTP { Code = (uint)r.Code, Method = r.Method, Url = r.Url, Protocol = r.Protocol };
    }
}
