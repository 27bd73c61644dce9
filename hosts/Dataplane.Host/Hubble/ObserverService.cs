using System.Diagnostics;
using Flow;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Observer;

namespace Dataplane.Host.Hubble;

/// <summary>
/// Hubble's <c>observer.Observer</c> service on one node, over the flows in <see cref="FlowHistory"/>: <c>GetFlows</c>
/// (the last or first N, a since/until window, whitelist/blacklist filters, and follow), <c>ServerStatus</c>,
/// <c>GetNodes</c> (this node) and <c>GetNamespaces</c>. Agent and debug events are not produced by this
/// dataplane: those calls answer Unimplemented, as the generated base does.
/// </summary>
public sealed class ObserverService(FlowHistory history, NodeView node) : global::Observer.Observer.ObserverBase
{
    private readonly long _started = Stopwatch.GetTimestamp();

    private ulong UptimeNs => (ulong)Stopwatch.GetElapsedTime(_started).Ticks * 100;

    public override async Task GetFlows(GetFlowsRequest request, IServerStreamWriter<GetFlowsResponse> stream, ServerCallContext context)
    {
        var query = FlowQuery.From(request);
        var cancel = context.CancellationToken;
        long end = history.Next;
        foreach (var r in Backlog(query, history.Oldest, end))
            await stream.WriteAsync(r, cancel);
        if (!request.Follow) return;
        long pos = end;
        while (!cancel.IsCancellationRequested)
        {
            await history.WaitFor(pos, cancel);
            for (long next = history.Next; pos < next; pos++)
            {
                var r = history.At(pos);
                if (r is null)
                {
                    // This reader fell more than a ring behind: say how many flows it missed, as Hubble does.
                    long oldest = history.Oldest;
                    await stream.WriteAsync(Lost(oldest - pos, node.Name()), cancel);
                    pos = oldest - 1;
                    continue;
                }
                if (query.After(r.Flow)) return;
                if (query.Wanted(r.Flow)) await stream.WriteAsync(r, cancel);
            }
        }
    }

    /// <summary>What is already in the ring: the first or last N matching flows, or all in the window.</summary>
    private IEnumerable<GetFlowsResponse> Backlog(FlowQuery q, long start, long end)
    {
        var r = new List<GetFlowsResponse>();
        if (q.Number == 0 && q.Request.Follow && q.Request.Since is null) return r;
        if (q.Request.First)
        {
            for (long p = start; p < end && (q.Number == 0 || (ulong)r.Count < q.Number); p++)
                if (history.At(p) is { } f && q.Wanted(f.Flow)) r.Add(f);
            return r;
        }
        for (long p = end - 1; p >= start && (q.Number == 0 || (ulong)r.Count < q.Number); p--)
            if (history.At(p) is { } f && q.Wanted(f.Flow)) r.Add(f);
        r.Reverse();
        return r;
    }

    private static GetFlowsResponse Lost(long n, string nodeName) => new()
    {
        LostEvents = new LostEvent { Source = LostEventSource.HubbleRingBuffer, NumEventsLost = (ulong)n },
        NodeName = nodeName,
        Time = Timestamp.FromDateTime(DateTime.UtcNow),
    };

    public override Task<ServerStatusResponse> ServerStatus(ServerStatusRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerStatusResponse
        {
            NumFlows = (ulong)history.Count,
            MaxFlows = (ulong)history.Capacity,
            SeenFlows = (ulong)history.Next,
            UptimeNs = UptimeNs,
            NumConnectedNodes = 1,
            NumUnavailableNodes = 0,
            Version = FlowRecords.Version,
        });

    public override Task<GetNodesResponse> GetNodes(GetNodesRequest request, ServerCallContext context) =>
        Task.FromResult(new GetNodesResponse { Nodes = { Self() } });

    /// <summary>This node as <c>GetNodes</c> (and a relay's view of it) reports it.</summary>
    public Node Self() => new()
    {
        Name = node.Name(),
        Version = FlowRecords.Version,
        Address = node.Address,
        State = global::Relay.NodeState.NodeConnected,
        Tls = new TLS { Enabled = false },
        UptimeNs = UptimeNs,
        NumFlows = (ulong)history.Count,
        MaxFlows = (ulong)history.Capacity,
        SeenFlows = (ulong)history.Next,
    };

    public override Task<GetNamespacesResponse> GetNamespaces(GetNamespacesRequest request, ServerCallContext context)
    {
        var response = new GetNamespacesResponse();
        foreach (var ns in node.Namespaces().Distinct().Order(StringComparer.Ordinal))
            response.Namespaces.Add(new Namespace { Cluster = node.Cluster, Namespace_ = ns });
        return Task.FromResult(response);
    }
}

/// <summary>What the Observer says about the node it runs on: its name as flows carry it (<c>cluster/node</c>), its
/// cluster, the address the API is served on, and the namespaces of its pods.</summary>
public sealed record NodeView(Func<string> Name, string Cluster, string Address, Func<IEnumerable<string>> Namespaces);

/// <summary>A <c>GetFlowsRequest</c> checked and compiled: filters, number, since/until as nanoseconds.</summary>
public sealed class FlowQuery
{
    private readonly FlowFilters _filters;
    private readonly long _since, _until;

    private FlowQuery(GetFlowsRequest request, FlowFilters filters)
    {
        Request = request;
        _filters = filters;
        _since = request.Since is { } s ? Nanos(s) : long.MinValue;
        _until = request.Until is { } u ? Nanos(u) : long.MaxValue;
    }

    public GetFlowsRequest Request { get; }
    public ulong Number => Request.Number;

    public static FlowQuery From(GetFlowsRequest request)
    {
        if (request.First && request.Follow)
            throw new RpcException(new Status(StatusCode.InvalidArgument, "first cannot be combined with follow"));
        return new FlowQuery(request, FlowFilters.Compile(request.Whitelist, request.Blacklist));
    }

    public static long Nanos(Timestamp t) => t.Seconds * 1_000_000_000 + t.Nanos;

    /// <summary>The flow is in the since/until window and passes the filters.</summary>
    public bool Wanted(Flow.Flow f)
    {
        long t = f.Time is { } ts ? Nanos(ts) : 0;
        return t >= _since && t <= _until && _filters.Matches(f);
    }

    /// <summary>The flow is past <c>until</c>: a follow ends there.</summary>
    public bool After(Flow.Flow f) => f.Time is { } ts && Nanos(ts) > _until;
}
