using Dataplane.Core.Conntrack;
using Dataplane.Core.Drops;
using Dataplane.Core.Flows;
using Dataplane.Core.Packets;
using Dataplane.Core.Pipeline;
using Dataplane.Core.Snapshot;
using Dataplane.Core.Tests.Policy;
using Dataplane.Core.Tests.Support;

namespace Dataplane.Core.Tests.Pipeline;

/// <summary>
/// The reproduction: a reply in the same batch as its request was judged as a new connection (every
/// lookup of the batch ran before any entry was created) and dropped by policy; two packets of one new flow in
/// one batch each created state. Every packet must get the verdict it would get arriving alone after the ones
/// before it — whatever its position: here the request and its reply are placed at every pair of positions of
/// a full batch, among established traffic, with policy enforced on the pod's ingress.
/// </summary>
public sealed class BatchPositionTests : IDisposable
{
    private const string IngressEnforced = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: web-ingress-closed, namespace: prod}
        spec:
          endpointSelector: {matchLabels: {app: web}}
          ingress: [{}]
        """;
    private const string Server = "198.19.5.5", Filler = "198.19.6.6";
    private const long ReceivedAt = 1_800_000_000L * 1_000_000_000;

    private readonly PolicyCluster _cluster = new(IngressEnforced, singleStack: true);
    private readonly PacketPool _pool = new(Batch.MaxSize);
    private readonly Batch _batch = new();
    private readonly WorkerContext _context = new(0, new FlowRing(1024), new ConntrackTable(1 << 16));
    private readonly PacketPipeline _pipeline;

    public BatchPositionTests() => _pipeline = new PacketPipeline(new SnapshotHolder(_cluster.Snapshot));

    public void Dispose() { _pool.Dispose(); _batch.Dispose(); _context.Conntrack!.Dispose(); _cluster.Dispose(); }

    private byte[] Frame(string from, string to, byte proto, byte[] l4, out ushort port)
    {
        var f = _cluster.Resolve(from);
        var t = _cluster.Resolve(to);
        port = f.Port;
        return PacketBuilder.Eth4(PacketBuilder.Ipv4(f.Ip4, t.Ip4, proto, l4), f.DstMac, f.Mac);
    }

    /// <summary>Runs one batch; returns each packet's verdict, drop reason and conntrack state.</summary>
    private List<(PacketVerdict Verdict, DropReason Reason, CtState Ct)> RunBatch(List<(byte[] Frame, ushort Port)> frames)
    {
        _batch.Count = 0;
        foreach (var (frame, port) in frames)
        {
            Assert.True(_pool.TryLoad(ref _batch[_batch.Count], frame, port));
            // A fixed receive time: conntrack's clock stands still, so no entry expires however long the test runs.
            _batch[_batch.Count].Timestamp = ReceivedAt;
            _batch.Count++;
        }
        _pipeline.Process(_batch, _context);
        var result = new List<(PacketVerdict, DropReason, CtState)>(_batch.Count);
        for (int i = 0; i < _batch.Count; i++)
        {
            result.Add((_batch[i].Verdict, _batch[i].DropReason, _batch[i].CtState));
            _pool.Free(_batch[i]);
        }
        while (_context.Flows!.TryRead(out _)) { }
        return result;
    }

    /// <summary>Established UDP flows of the pod (egress is not enforced) that fill the batch around the pair.</summary>
    private List<(byte[] Frame, ushort Port)> Fillers(int count)
    {
        var list = new List<(byte[], ushort)>(count);
        for (int i = 0; i < count; i++)
            list.Add((Frame("prod/web", Filler, 17, PacketBuilder.Udp((ushort)(20000 + i), 53), out ushort port), port));
        return list;
    }

    [Fact]
    public void ReplyInTheSameBatchAsItsRequestPassesAtEveryPairOfPositions()
    {
        var fillers = Fillers(Batch.MaxSize - 2);
        Assert.All(RunBatch(fillers), r => Assert.Equal(PacketVerdict.Tx, r.Verdict));   // now established
        int flows = _context.Conntrack!.Count;
        ushort sport = 30000;
        for (int request = 0; request < Batch.MaxSize; request++)
            for (int reply = request + 1; reply < Batch.MaxSize; reply++, sport++)
            {
                var frames = new List<(byte[] Frame, ushort Port)>(fillers);
                var syn = Frame("prod/web", Server, 6, PacketBuilder.Tcp(sport, 80, 0x02), out ushort podPort);
                var synAck = Frame(Server, "prod/web", 6, PacketBuilder.Tcp(80, sport, 0x12), out ushort uplink);
                frames.Insert(request, (syn, podPort));
                frames.Insert(reply, (synAck, uplink));
                var r = RunBatch(frames);
                if (r[request].Verdict != PacketVerdict.Tx || r[reply].Verdict != PacketVerdict.Tx || r[reply].Ct != CtState.Reply)
                    Assert.Fail($"request at {request}, reply at {reply}: request {r[request]}, reply {r[reply]}");
                Assert.Equal(++flows, _context.Conntrack.Count);
            }
    }

    [Fact]
    public void ReplyBeforeItsRequestIsStillANewConnectionAndDenied()
    {
        // Order matters, as on the wire: a reply that arrives first has no connection to belong to.
        var frames = Fillers(10);
        frames.Insert(3, (Frame(Server, "prod/web", 6, PacketBuilder.Tcp(80, 41000, 0x12), out ushort uplink), uplink));
        frames.Insert(7, (Frame("prod/web", Server, 6, PacketBuilder.Tcp(41000, 80, 0x02), out ushort podPort), podPort));
        var r = RunBatch(frames);
        Assert.Equal((PacketVerdict.Drop, DropReason.PolicyDenied), (r[3].Verdict, r[3].Reason));
        Assert.Equal(PacketVerdict.Tx, r[7].Verdict);
    }

    [Fact]
    public void PacketsOfOneNewFlowInOneBatchCreateOneEntryAtEveryPairOfPositions()
    {
        var fillers = Fillers(Batch.MaxSize - 2);
        RunBatch(fillers);
        int flows = _context.Conntrack!.Count;
        ushort sport = 10000;
        for (int first = 0; first < Batch.MaxSize; first++)
            for (int second = first + 1; second < Batch.MaxSize; second += 1 + second / 16, sport++)
            {
                var frames = new List<(byte[] Frame, ushort Port)>(fillers);
                frames.Insert(first, (Frame("prod/web", Server, 17, PacketBuilder.Udp(sport, 443), out ushort port), port));
                frames.Insert(second, (Frame("prod/web", Server, 17, PacketBuilder.Udp(sport, 443), out port), port));
                var r = RunBatch(frames);
                Assert.Equal((PacketVerdict.Tx, CtState.New), (r[first].Verdict, r[first].Ct));
                // As if it arrived alone after the first: an established connection's packet.
                Assert.Equal((PacketVerdict.Tx, CtState.Established), (r[second].Verdict, r[second].Ct));
                Assert.Equal(++flows, _context.Conntrack.Count);
            }
    }
}
