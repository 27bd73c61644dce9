using Dataplane.Control.Config;
using Dataplane.Core.Conntrack;
using Dataplane.Control.Compiler;
using Dataplane.Core.Packets;
using Dataplane.Core.Pipeline;
using Dataplane.Core.Snapshot;
using Dataplane.Testing.Packets;

namespace Dataplane.Testing.Fixtures;

/// <summary>
/// A three-node cluster seen from node-a, compiled by the real loader and compiler and driven through the real
/// pipeline with conntrack. Dual-stack. node-a (local, 198.18.0.1, eth0) runs prod/client, prod/web-1, prod/web-2,
/// dev/other; node-b (198.18.0.2) runs prod/web-3; node-c (198.18.0.3) runs nothing. The world is behind the
/// gateway 198.18.0.254. Frames are sent as received on a pod's port or on eth0 and come back as bytes.
/// </summary>
public sealed class ServiceCluster : IDisposable
{
    public static readonly string Base = ClusterYaml.Docs(
        ClusterYaml.DataplaneNode("node-a", "02:00:00:00:0a:01", ["198.18.0.1/24", "2001:db8:0:1::1/64"],
            [("198.18.0.2", "02:00:00:00:0b:01"), ("198.18.0.3", "02:00:00:00:0c:01"), ("198.18.0.254", "02:00:00:00:00:fe"),
             ("2001:db8:0:1::2", "02:00:00:00:0b:01"), ("2001:db8:0:1::fe", "02:00:00:00:00:fe")],
            [("0.0.0.0/0", "198.18.0.254"), ("::/0", "2001:db8:0:1::fe")]),
        ClusterYaml.Node("node-a", ["10.0.1.0/24", "fd00:1::/64"], ["198.18.0.1", "2001:db8:0:1::1"], labels: "role: worker"),
        ClusterYaml.Node("node-b", ["10.0.2.0/24", "fd00:2::/64"], ["198.18.0.2", "2001:db8:0:1::2"], labels: "role: worker"),
        ClusterYaml.Node("node-c", ["10.0.3.0/24"], ["198.18.0.3"], labels: "role: worker"),
        ClusterYaml.Pod("prod", "client", "app: client", "node-a", ["10.0.1.30", "fd00:1::30"]),
        ClusterYaml.Pod("prod", "web-1", "app: web", "node-a", ["10.0.1.10", "fd00:1::10"]),
        ClusterYaml.Pod("prod", "web-2", "app: web", "node-a", ["10.0.1.11", "fd00:1::11"]),
        ClusterYaml.Pod("dev", "other", "app: other", "node-a", ["10.0.1.40"]),
        ClusterYaml.Pod("prod", "web-3", "app: web", "node-b", ["10.0.2.10", "fd00:2::10"]));

    public const ulong RouterMac = 0x02_00_00_00_00_99, Eth0Mac = 0x02_00_00_00_0a_01, GatewayMac = 0x02_00_00_00_00_fe,
        NodeBMac = 0x02_00_00_00_0b_01;

    private readonly PacketPool _pool = new(512);
    private readonly Batch _batch = new();
    private readonly PacketPipeline _pipeline;
    private readonly string _localNode;
    public WorkerContext Context { get; }
    public PacketPipeline Pipeline => _pipeline;
    public PacketPool Pool => _pool;
    public Batch Batch => _batch;
    public ConfigModel Model { get; private set; }
    public DatapathSnapshot Snapshot => _pipeline.Snapshots.Current;

    /// <param name="docs">Documents added to <see cref="Base"/> (services, slices, policies …).</param>
    /// <param name="baseYaml">Replaces <see cref="Base"/>.</param>
    public ServiceCluster(string docs, string? baseYaml = null, int conntrackFlows = 4096, string dataplaneSpecExtra = "")
    {
        _baseYaml = (baseYaml ?? Base).Replace("  routerMac: \"02:00:00:00:00:99\"\n", "  routerMac: \"02:00:00:00:00:99\"\n" + dataplaneSpecExtra);
        Model = ConfigLoader.Load([("base.yaml", _baseYaml), ("docs.yaml", docs)]);
        _localNode = Model.Local.Name;
        Context = new WorkerContext(0, conntrack: new ConntrackTable(conntrackFlows));
        _pipeline = new PacketPipeline(new SnapshotHolder(SnapshotCompiler.Compile(Model)));
    }

    private readonly string _baseYaml;
    private long _generation = 1;

    /// <summary>Recompiles with other documents and swaps the snapshot; connections (conntrack) survive.</summary>
    public void Swap(string docs, string? baseYaml = null)
    {
        Model = ConfigLoader.Load([("base.yaml", baseYaml ?? _baseYaml), ("docs.yaml", docs)]);
        _pipeline.Snapshots.Swap(SnapshotCompiler.Compile(Model, ++_generation, _pipeline.Snapshots.Current));
    }

    /// <summary>Where "ns/name" sends from (its port, its MAC, the MAC it addresses) or, for an address, eth0.</summary>
    public (ushort Port, ulong Mac, ulong DstMac) From(string who)
    {
        var pod = Model.Pods.FirstOrDefault(p => $"{p.Namespace}/{p.Name}" == who);
        if (pod == null || pod.NodeName != _localNode) return (0, who.StartsWith("10.0.2.") || who.StartsWith("fd00:2:") ? NodeBMac : GatewayMac, Eth0Mac);
        var ep = Snapshot.Endpoints.First(e => e != null && e.Namespace == pod.Namespace && e.Name == pod.Name)!;
        return (ep.Port, ep.Mac, RouterMac);
    }

    public string Ip(string who, bool v6 = false)
    {
        var pod = Model.Pods.FirstOrDefault(p => $"{p.Namespace}/{p.Name}" == who);
        if (pod == null) return who;
        return pod.Ips.First(i => (i.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6) == v6).ToString();
    }

    /// <summary>The local pod whose port a packet left by, or null.</summary>
    public string? PodOnPort(ushort port) =>
        Snapshot.Endpoints.FirstOrDefault(e => e != null && e.Port == port) is { } e ? $"{e.Namespace}/{e.Name}" : null;

    /// <summary>A TCP (or UDP) packet from <paramref name="from"/> (pod "ns/name" or an address arriving on eth0).</summary>
    public (PacketMeta Meta, Wire? Out) Send(string from, string dst, ushort dport, ushort sport = 40000, byte tcpFlags = 0x02,
        bool udp = false, bool v6 = false, string? srcIp = null)
    {
        var f = From(srcIp ?? from);
        if (Model.Pods.Any(p => $"{p.Namespace}/{p.Name}" == from)) f = From(from);
        string src = srcIp ?? Ip(from, v6);
        byte[] l4 = udp ? PacketBuilder.Udp(sport, dport, [1, 2, 3, 4, 5]) : PacketBuilder.Tcp(sport, dport, tcpFlags, payload: 5);
        byte proto = udp ? (byte)17 : (byte)6;
        var frame = v6
            ? PacketBuilder.Eth6(PacketBuilder.Ipv6(src, dst, proto, l4), f.DstMac, f.Mac)
            : PacketBuilder.Eth4(PacketBuilder.Ipv4(src, dst, proto, l4), f.DstMac, f.Mac);
        return Run(frame, f.Port);
    }

    public (PacketMeta Meta, Wire? Out) SendIcmpEcho(string from, string dst, ushort id, bool reply = false, bool v6 = false, string? srcIp = null)
    {
        var f = Model.Pods.Any(p => $"{p.Namespace}/{p.Name}" == from) ? From(from) : From(srcIp ?? from);
        string src = srcIp ?? Ip(from, v6);
        var frame = v6
            ? PacketBuilder.Eth6(PacketBuilder.Ipv6(src, dst, 58, PacketBuilder.Icmp6(reply ? (byte)129 : (byte)128, 0, id)), f.DstMac, f.Mac)
            : PacketBuilder.Eth4(PacketBuilder.Ipv4(src, dst, 1, PacketBuilder.Icmp(reply ? (byte)0 : (byte)8, 0, id)), f.DstMac, f.Mac);
        return Run(frame, f.Port);
    }

    public (PacketMeta Meta, Wire? Out) SendSctp(string from, string dst, ushort dport)
    {
        var f = From(from);
        var b = new byte[12];
        b[0] = 40000 >> 8; b[1] = 40000 & 0xFF; b[2] = (byte)(dport >> 8); b[3] = (byte)dport;
        return Run(PacketBuilder.Eth4(PacketBuilder.Ipv4(Ip(from), dst, 132, b), f.DstMac, f.Mac), f.Port);
    }

    /// <summary>One frame through the pipeline as received on <paramref name="inPort"/>: its metadata and, when
    /// transmitted, the frame as it leaves.</summary>
    public (PacketMeta Meta, Wire? Out) Run(byte[] frame, ushort inPort)
    {
        _batch.Count = 0;
        Assert.True(_pool.TryLoad(ref _batch[0], frame, inPort));
        _batch.Count = 1;
        _pipeline.Process(_batch, Context);
        var meta = _batch[0];
        LastFrame = meta.Verdict == PacketVerdict.Tx ? meta.Bytes.ToArray() : [];
        Wire? wire = meta.Verdict == PacketVerdict.Tx ? Wire.Read(LastFrame) : null;
        _pool.Free(_batch[0]);
        return (meta, wire);
    }

    /// <summary>The last transmitted frame as it left (empty when the last packet was not transmitted).</summary>
    public byte[] LastFrame { get; private set; } = [];

    public ulong Drops(Core.Drops.DropReason reason) => Context.Counters.Drops[(byte)reason];

    public void Dispose() { _pool.Dispose(); _batch.Dispose(); Context.Conntrack?.Dispose(); }
}
