using System.Diagnostics;
using System.Threading.Channels;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Observer;
using Relay;

namespace Dataplane.Host.Hubble;

/// <summary>
/// Hubble Relay's role: one Observer over several agents' Observers. <c>GetFlows</c> sends the same request
/// (filters, number, window, follow) to every peer and merges the answers in time order — whole and sorted when
/// the request ends (the last or first N overall), through a sort buffer while following (a flow waits until
/// <see cref="SortBufferLength"/> newer ones arrived or nothing came for <see cref="SortBufferDrain"/>, Hubble
/// Relay's --sort-buffer-len-max and --sort-buffer-drain-timeout). Peers that cannot be reached are reported
/// in-stream as <c>node_status</c> NODE_UNAVAILABLE and in <c>ServerStatus</c>; the others still answer.
/// </summary>
public sealed class RelayService(IReadOnlyList<string> peers) : global::Observer.Observer.ObserverBase, IDisposable
{
    public const int SortBufferLength = 100;
    public static readonly TimeSpan SortBufferDrain = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(10);

    private readonly (string Address, GrpcChannel Channel)[] _peers = [.. peers.Select(p => (p, HubbleChannel.Open(p)))];
    private readonly long _started = Stopwatch.GetTimestamp();

    private global::Observer.Observer.ObserverClient Client(int i) => new(_peers[i].Channel);

    public override async Task GetFlows(GetFlowsRequest request, IServerStreamWriter<GetFlowsResponse> stream, ServerCallContext context)
    {
        FlowQuery.From(request); // refuses what every peer would refuse, before asking them
        var cancel = context.CancellationToken;
        var merged = Channel.CreateBounded<GetFlowsResponse>(new BoundedChannelOptions(4096) { SingleReader = true });
        var failed = new List<string>();
        var readers = Enumerable.Range(0, _peers.Length).Select(i => Read(i, request, merged.Writer, failed, cancel)).ToArray();
        _ = Task.WhenAll(readers).ContinueWith(_ => merged.Writer.TryComplete(), TaskScheduler.Default);

        if (!request.Follow)
        {
            var all = new List<GetFlowsResponse>();
            await foreach (var r in merged.Reader.ReadAllAsync(cancel)) all.Add(r);
            foreach (var r in Ordered(all, request)) await stream.WriteAsync(r, cancel);
            await ReportUnavailable(stream, failed, cancel);
            return;
        }
        await ReportUnavailable(stream, failed, cancel);
        var buffer = new PriorityQueue<GetFlowsResponse, long>();
        while (!cancel.IsCancellationRequested)
        {
            using var drain = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            drain.CancelAfter(SortBufferDrain);
            try
            {
                if (!await merged.Reader.WaitToReadAsync(drain.Token)) break;
                while (merged.Reader.TryRead(out var r))
                {
                    buffer.Enqueue(r, Time(r));
                    if (buffer.Count > SortBufferLength) await stream.WriteAsync(buffer.Dequeue(), cancel);
                }
            }
            catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
            {
                // Quiet for a drain timeout: what is buffered goes out, oldest first.
                while (buffer.Count > 0) await stream.WriteAsync(buffer.Dequeue(), cancel);
                await ReportUnavailable(stream, failed, cancel);
            }
        }
        while (buffer.Count > 0 && !cancel.IsCancellationRequested) await stream.WriteAsync(buffer.Dequeue(), cancel);
    }

    /// <summary>The peers' answers in time order, cut to the last (or first) N overall.</summary>
    private static IEnumerable<GetFlowsResponse> Ordered(List<GetFlowsResponse> all, GetFlowsRequest request)
    {
        var sorted = all.OrderBy(Time).ToList();
        if (request.Number == 0 || (ulong)sorted.Count <= request.Number) return sorted;
        int n = (int)request.Number;
        return request.First ? sorted.Take(n) : sorted.Skip(sorted.Count - n);
    }

    private static long Time(GetFlowsResponse r) =>
        r.Time is { } t ? FlowQuery.Nanos(t) : r.Flow?.Time is { } ft ? FlowQuery.Nanos(ft) : 0;

    private async Task Read(int peer, GetFlowsRequest request, ChannelWriter<GetFlowsResponse> into, List<string> failed, CancellationToken cancel)
    {
        try
        {
            using var call = Client(peer).GetFlows(request, cancellationToken: cancel);
            await foreach (var r in call.ResponseStream.ReadAllAsync(cancel))
                if (r.ResponseTypesCase != GetFlowsResponse.ResponseTypesOneofCase.NodeStatus) await into.WriteAsync(r, cancel);
        }
        catch (RpcException e) when (!cancel.IsCancellationRequested)
        {
            lock (failed) failed.Add($"{_peers[peer].Address}: {e.Status.StatusCode} {e.Status.Detail}");
        }
        catch (OperationCanceledException) { }
    }

    private static async Task ReportUnavailable(IServerStreamWriter<GetFlowsResponse> stream, List<string> failed, CancellationToken cancel)
    {
        string[] now;
        lock (failed)
        {
            now = [.. failed];
            failed.Clear();
        }
        if (now.Length == 0) return;
        var status = new NodeStatusEvent { StateChange = NodeState.NodeUnavailable, Message = string.Join("; ", now) };
        status.NodeNames.Add(now.Select(f => f[..f.IndexOf(": ", StringComparison.Ordinal)]));
        await stream.WriteAsync(new GetFlowsResponse { NodeStatus = status, Time = Timestamp.FromDateTime(DateTime.UtcNow) }, cancel);
    }

    public override async Task<GetNodesResponse> GetNodes(GetNodesRequest request, ServerCallContext context)
    {
        var answers = await Task.WhenAll(_peers.Select(async (p, i) =>
        {
            try { return (await Client(i).GetNodesAsync(request, deadline: DateTime.UtcNow + CallTimeout, cancellationToken: context.CancellationToken)).Nodes.ToArray(); }
            catch (RpcException e) { return [new Node { Name = p.Address, Address = p.Address, State = NodeState.NodeUnavailable, Version = e.Status.Detail }]; }
        }));
        var response = new GetNodesResponse();
        for (int i = 0; i < answers.Length; i++)
            foreach (var n in answers[i])
            {
                // What the peer says of itself, with the address the relay reaches it at.
                n.Address = _peers[i].Address;
                response.Nodes.Add(n);
            }
        return response;
    }

    public override async Task<ServerStatusResponse> ServerStatus(ServerStatusRequest request, ServerCallContext context)
    {
        var total = new ServerStatusResponse { Version = FlowRecords.Version, UptimeNs = (ulong)Stopwatch.GetElapsedTime(_started).Ticks * 100 };
        uint connected = 0;
        foreach (var (p, i) in _peers.Select((p, i) => (p, i)))
        {
            try
            {
                var s = await Client(i).ServerStatusAsync(request, deadline: DateTime.UtcNow + CallTimeout, cancellationToken: context.CancellationToken);
                total.NumFlows += s.NumFlows; total.MaxFlows += s.MaxFlows; total.SeenFlows += s.SeenFlows;
                connected += s.NumConnectedNodes ?? 1;
            }
            catch (RpcException) { total.UnavailableNodes.Add(p.Address); }
        }
        total.NumConnectedNodes = connected;
        total.NumUnavailableNodes = (uint)total.UnavailableNodes.Count;
        return total;
    }

    public void Dispose()
    {
        foreach (var (_, channel) in _peers) channel.Dispose();
    }
}
