using System.Collections.Immutable;
using System.Net;
using Dataplane.Control.Compiler;
using Dataplane.Control.Config;
using Dataplane.Core.Drops;
using Dataplane.Core.Neighbors;
using Dataplane.Core.Packets;
using Dataplane.Core.Pipeline;
using Dataplane.Core.Routing;
using Dataplane.Core.Snapshot;
using Dataplane.Testing.Packets;

namespace Dataplane.Core.Tests.Neighbors;

/// <summary>
/// Neighbour resolution through the real pipeline, on a snapshot compiled from a config with no static neighbour: a
/// pod's packet to a host on the uplink's subnet (glean) or beyond the default gateway is queued and solicited, the
/// ARP reply / NA that comes back through the pipeline resolves it, the queued packet leaves with the learned MAC
/// and the next packet is rewritten directly. Without a resolver the same packet is dropped with 169.
/// </summary>
public sealed class NeighborPipelineTests : IDisposable
{
    private const ulong Eth0Mac = 0x02_00_00_00_0e_01, HostMac = 0x02_00_00_00_0e_07, GwMac = 0x02_00_00_00_0e_fe,
        PodMac = 0x02_00_00_00_0a_0a;
    private const ushort Uplink = 0, PodPort = 1;

    private const string Config = """
        apiVersion: v1
        kind: Node
        metadata: {name: node-a}
        spec: {podCIDRs: ["198.18.100.0/24", "fd00:100::/64"]}
        status: {addresses: [{type: InternalIP, address: 198.18.0.1}]}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: web, namespace: default, labels: {app: web}, annotations: {dataplane.io/mac: "02:00:00:00:0a:0a"}}
        spec: {nodeName: node-a}
        status: {podIPs: [{ip: 198.18.100.10}, {ip: "fd00:100::10"}]}
        ---
        apiVersion: dataplane.io/v1alpha1
        kind: DataplaneNode
        metadata: {name: node-a}
        spec:
          routerMac: "02:00:00:00:00:99"
          interfaces:
          - {name: eth0, mac: "02:00:00:00:0e:01", addresses: ["198.18.0.1/24", "2001:db8:0:1::1/64"]}
          routes:
          - {destination: 0.0.0.0/0, via: 198.18.0.254}
          - {destination: "::/0", via: "2001:db8:0:1::fe"}
        """;

    private readonly long _now = 1_000_000;
    private readonly List<(ushort Port, byte[] Frame)> _sent = [];
    private readonly DatapathSnapshot _snapshot;
    private readonly NeighborResolver _resolver;
    private readonly WorkerNeighbors _neighbors;
    private readonly PacketPool _pool = new(64);
    private readonly Batch _batch = new();

    public NeighborPipelineTests()
    {
        _snapshot = SnapshotCompiler.Compile(ConfigLoader.Load([("node.yaml", Config)]));
        _resolver = new NeighborResolver(null, () => _now) { Transmit = (p, f) => { _sent.Add((p, f.ToArray())); return true; } };
        _neighbors = new WorkerNeighbors(_resolver.Table, 64);
        _resolver.Configure(_snapshot);
        _sent.Clear();
    }

    [Fact]
    public void Compiler_MakesConnectedSubnetsGlean_AndGatewaysResolved()
    {
        Assert.True(_snapshot.Routes4.TryLookup(RoutePrefix.ToUInt32(IPAddress.Parse("198.18.0.7")), out uint nh));
        Assert.Equal(NextHopKind.Glean, _snapshot.NextHops[nh].Kind);
        Assert.True(_snapshot.Routes4.TryLookup(RoutePrefix.ToUInt32(IPAddress.Parse("198.19.5.5")), out nh));
        var gw = _snapshot.NextHops[nh];
        Assert.Equal(NextHopKind.Gateway, gw.Kind);
        Assert.Equal((UInt128)RoutePrefix.ToUInt32(IPAddress.Parse("198.18.0.254")), gw.Via);
        Assert.Empty(_snapshot.StaticNeighbors);
    }

    [Fact]
    public void WithoutResolver_DynamicNextHopsDropAsFibLookupFailed()
    {
        var (meta, _) = Run(new WorkerContext(0), FromPod("198.18.0.7"), PodPort);
        Assert.Equal(PacketVerdict.Drop, meta.Verdict);
        Assert.Equal(DropReason.FibLookupFailed, meta.DropReason);
    }

    [Fact]
    public void OnLinkHost_QueuedAndSolicited_ReplyReleasesIt_NextPacketGoesDirect()
    {
        var ctx = new WorkerContext(0) { Neighbors = _neighbors };
        var (meta, _) = Run(ctx, FromPod("198.18.0.7"), PodPort);
        Assert.Equal(PacketVerdict.Queued, meta.Verdict);
        Assert.Equal(1UL, ctx.Counters.QueuedPackets);
        _resolver.Drain(_neighbors.ToResolver);
        var arp = Assert.Single(_sent);
        Assert.Equal(Uplink, arp.Port);
        Assert.Equal(0x0806, arp.Frame[12] << 8 | arp.Frame[13]);
        _sent.Clear();

        // The host answers; the reply goes through the pipeline (to the host stack) and confirms the neighbour.
        var reply = PacketBuilder.Ethernet(Eth0Mac, HostMac, 0x0806, PacketBuilder.ArpRequest(HostMac, "198.18.0.7", "198.18.0.1", op: 2));
        Run(ctx, reply, Uplink);
        _resolver.Drain(_neighbors.ToResolver);
        var released = Assert.Single(_sent);
        Assert.Equal(Uplink, released.Port);
        Assert.Equal(HostMac, PacketBuilder.ReadMac(released.Frame));
        Assert.Equal(Eth0Mac, PacketBuilder.ReadMac(released.Frame.AsSpan(6)));
        Assert.Equal(63, released.Frame[14 + 8]);                                    // routed: TTL decremented

        var (next, bytes) = Run(ctx, FromPod("198.18.0.7"), PodPort);
        Assert.Equal(PacketVerdict.Tx, next.Verdict);
        Assert.Equal(Uplink, next.OutPort);
        Assert.Equal(HostMac, PacketBuilder.ReadMac(bytes));
    }

    [Fact]
    public void BeyondTheGateway_TheGatewayIsResolved_OverIpv6ByNeighbourAdvertisement()
    {
        var ctx = new WorkerContext(0) { Neighbors = _neighbors };
        var (meta, _) = Run(ctx, FromPod6("2001:db8:77::5"), PodPort);
        Assert.Equal(PacketVerdict.Queued, meta.Verdict);
        Assert.True(_neighbors.ToResolver.TryPeek(out var miss, out _));
        Assert.Equal(new NeighborKey(Uplink, true, RoutePrefix.ToUInt128(IPAddress.Parse("2001:db8:0:1::fe"))), miss.Key);
        _resolver.Drain(_neighbors.ToResolver);
        Assert.Equal(135, Assert.Single(_sent).Frame[54]);
        _sent.Clear();

        var na = new byte[32];
        na[0] = 136; na[4] = 0x40 | 0x20;                                            // solicited, override
        IPAddress.Parse("2001:db8:0:1::fe").TryWriteBytes(na.AsSpan(8), out _);
        na[24] = 2; na[25] = 1; PacketBuilder.WriteMac(na.AsSpan(26), GwMac);
        Run(ctx, PacketBuilder.Eth6(PacketBuilder.Ipv6("2001:db8:0:1::fe", "2001:db8:0:1::1", 58, na, hopLimit: 255), Eth0Mac, GwMac), Uplink);
        _resolver.Drain(_neighbors.ToResolver);
        Assert.Equal(GwMac, PacketBuilder.ReadMac(Assert.Single(_sent).Frame));
        Assert.Equal(NudState.Reachable, Assert.Single(_resolver.List()).State);
    }

    [Fact]
    public void RequestForOurAddress_IsAnswered_AndLeavesAStaleEntry()
    {
        var ctx = new WorkerContext(0) { Neighbors = _neighbors };
        var request = PacketBuilder.Ethernet(NeighborFrames.Broadcast, HostMac, 0x0806, PacketBuilder.ArpRequest(HostMac, "198.18.0.7", "198.18.0.1"));
        var (meta, _) = Run(ctx, request, Uplink);
        Assert.Equal(PacketVerdict.Tx, meta.Verdict);                                // the reply
        _resolver.Drain(_neighbors.ToResolver);
        var e = Assert.Single(_resolver.List());
        Assert.Equal(NudState.Stale, e.State);
        Assert.Equal(HostMac, e.Mac);

        var (next, bytes) = Run(ctx, FromPod("198.18.0.7"), PodPort);                // usable at once
        Assert.Equal(PacketVerdict.Tx, next.Verdict);
        Assert.Equal(HostMac, PacketBuilder.ReadMac(bytes));
    }

    [Fact]
    public void StaticNeighbour_OverridesResolution()
    {
        var yaml = Config + "\n  neighbors:\n  - {ip: 198.18.0.254, mac: \"02:00:00:00:0e:fe\"}\n";
        var snapshot = SnapshotCompiler.Compile(ConfigLoader.Load([("node.yaml", yaml)]));
        Assert.Single(snapshot.StaticNeighbors);
        var pipeline = new PacketPipeline(new SnapshotHolder(snapshot));
        var ctx = new WorkerContext(0) { Neighbors = _neighbors };
        var (meta, bytes) = Run(ctx, FromPod("198.19.5.5"), PodPort, pipeline);
        Assert.Equal(PacketVerdict.Tx, meta.Verdict);
        Assert.Equal(GwMac, PacketBuilder.ReadMac(bytes));
        Assert.Equal(0, _neighbors.ToResolver.Count);
    }

    [Fact]
    public void ResolverRingFull_DropsCounted()
    {
        var ctx = new WorkerContext(0) { Neighbors = new WorkerNeighbors(_resolver.Table, ringRecords: 2) };
        Run(ctx, FromPod("198.18.0.7"), PodPort);
        Run(ctx, FromPod("198.18.0.7"), PodPort);
        var (meta, _) = Run(ctx, FromPod("198.18.0.7"), PodPort);
        Assert.Equal(DropReason.FibLookupFailed, meta.DropReason);
        Assert.Equal(1UL, ctx.Counters.Drops[(int)DropReason.FibLookupFailed]);
    }

    private static byte[] FromPod(string dst) =>
        PacketBuilder.Eth4(PacketBuilder.Ipv4("198.18.100.10", dst, 17, PacketBuilder.Udp(4000, 53)), 0x02_00_00_00_00_99, PodMac);

    private static byte[] FromPod6(string dst) =>
        PacketBuilder.Eth6(PacketBuilder.Ipv6("fd00:100::10", dst, 17, PacketBuilder.Udp(4000, 53)), 0x02_00_00_00_00_99, PodMac);

    private (PacketMeta Meta, byte[] Out) Run(WorkerContext ctx, byte[] frame, ushort inPort, PacketPipeline? pipeline = null)
    {
        _batch.Count = 0;
        Assert.True(_pool.TryLoad(ref _batch[0], frame, inPort));
        _batch.Count = 1;
        (pipeline ?? new PacketPipeline(new SnapshotHolder(_snapshot))).Process(_batch, ctx);
        var result = (_batch[0], _batch[0].Bytes.ToArray());
        _pool.Free(_batch[0]);
        return result;
    }

    public void Dispose() { _pool.Dispose(); _batch.Dispose(); }
}
