using System.Net;
using Dataplane.Control.Config;
using Dataplane.Control.Compiler;
using Dataplane.Core.Drops;
using Dataplane.Core.Packets;
using Dataplane.Core.Pipeline;
using Dataplane.Core.Snapshot;
using Dataplane.Core.Flows;
using Dataplane.Testing.Packets;

namespace Dataplane.Testing.Fixtures;

/// <summary>What a probe expects: forwarded (or delivered to the host), or dropped with 133 / 181.</summary>
public enum Expect { Allow, NoAllow, Deny }

/// <summary>
/// A dual-stack two-node cluster plus some policies, compiled by the real loader and compiler and driven
/// through the real pipeline. Local pods on node-a: prod/web, prod/db, prod/client, dev/client,
/// kube-system/coredns; remote pods on node-b: prod/api, dev/tester. Outside: anything else.
/// </summary>
public sealed class PolicyCluster : IDisposable
{
    private static readonly string[] DualStackA = ["198.18.0.1", "2001:db8:0:1::1"], DualStackB = ["198.18.0.2", "2001:db8:0:1::2"];

    public static readonly string Base = ClusterYaml.Docs(
        ClusterYaml.DataplaneNode("node-a", "02:00:00:00:0a:01", ["198.18.0.1/24", "2001:db8:0:1::1/64"],
            [("198.18.0.2", "02:00:00:00:0b:01"), ("2001:db8:0:1::2", "02:00:00:00:0b:01"),
             ("198.18.0.254", "02:00:00:00:00:fe"), ("2001:db8:0:1::fe", "02:00:00:00:00:fe")],
            [("0.0.0.0/0", "198.18.0.254"), ("::/0", "2001:db8:0:1::fe")]),
        ClusterYaml.Node("node-a", ["10.0.1.0/24", "fd00:1::/64"], DualStackA),
        ClusterYaml.Node("node-b", ["10.0.2.0/24", "fd00:2::/64"], DualStackB),
        ClusterYaml.Namespace("prod", "env: production, team: shop"),
        ClusterYaml.Namespace("dev", "env: development"),
        ClusterYaml.Pod("prod", "web", "app: web, tier: frontend", "node-a", ["10.0.1.10", "fd00:1::10"], specExtra: ", serviceAccountName: web-sa"),
        ClusterYaml.Pod("prod", "db", "app: db, tier: backend", "node-a", ["10.0.1.20", "fd00:1::20"]),
        ClusterYaml.Pod("prod", "client", "app: client, role: frontend", "node-a", ["10.0.1.30", "fd00:1::30"]),
        ClusterYaml.Pod("dev", "client", "app: client", "node-a", ["10.0.1.40", "fd00:1::40"]),
        ClusterYaml.Pod("kube-system", "coredns", "k8s-app: kube-dns", "node-a", ["10.0.1.53"]),
        ClusterYaml.Pod("prod", "api", "app: api", "node-b", ["10.0.2.10", "fd00:2::10"]),
        ClusterYaml.Pod("dev", "tester", "app: tester", "node-b", ["10.0.2.20"]));

    /// <summary>The same cluster with IPv4 only (single-stack: the world is identity 2).</summary>
    public static readonly string Base4 = ClusterYaml.Docs(
        ClusterYaml.DataplaneNode("node-a", "02:00:00:00:0a:01", ["198.18.0.1/24"],
            [("198.18.0.2", "02:00:00:00:0b:01"), ("198.18.0.254", "02:00:00:00:00:fe")], [("0.0.0.0/0", "198.18.0.254")]),
        ClusterYaml.Node("node-a", ["10.0.1.0/24"], ["198.18.0.1"]),
        ClusterYaml.Node("node-b", ["10.0.2.0/24"], ["198.18.0.2"]),
        ClusterYaml.Pod("prod", "web", "app: web, tier: frontend", "node-a", ["10.0.1.10"]),
        ClusterYaml.Pod("prod", "client", "app: client, role: frontend", "node-a", ["10.0.1.30"]),
        ClusterYaml.Pod("prod", "api", "app: api", "node-b", ["10.0.2.10"]));

    public const ulong RouterMac = 0x02_00_00_00_00_99, Eth0Mac = 0x02_00_00_00_0a_01, GatewayMac = 0x02_00_00_00_00_fe;

    private readonly PacketPool _pool = new(64);
    private readonly Batch _batch = new();
    private readonly WorkerContext _context;
    public DatapathSnapshot Snapshot { get; }
    public ConfigModel Model { get; }
    private readonly PacketPipeline _pipeline;

    /// <param name="policies">Policy documents added to the base cluster.</param>
    /// <param name="enforcement">DataplaneNode policyEnforcement: default, always or never.</param>
    /// <param name="singleStack">Use <see cref="Base4"/> (IPv4 only) instead of the dual-stack cluster.</param>
    /// <param name="conntrackFlows">Track connections in a table of this size (0: stateless, every packet checked).</param>
    /// <param name="dataplaneSpecExtra">Lines added to node-a's DataplaneNode spec (masquerade, overlay …).</param>
    /// <param name="editBase">Edits the base cluster's text (labels or annotations on its Nodes …).</param>
    /// <param name="editModel">Changes the loaded model before compiling (what a host merges in, e.g. CNI endpoints).</param>
    /// <param name="external">Identities and ipcache entries learned outside the config (Cluster Mesh).</param>
    public PolicyCluster(string policies, string enforcement = "default", bool singleStack = false, int conntrackFlows = 0,
        string dataplaneSpecExtra = "", Func<string, string>? editBase = null, Func<ConfigModel, ConfigModel>? editModel = null,
        ExternalIdentities? external = null)
    {
        _context = new WorkerContext(0, new FlowRing(64), conntrackFlows > 0 ? new Core.Conntrack.ConntrackTable(conntrackFlows) : null);
        var baseYaml = (singleStack ? Base4 : Base).Replace("  routerMac: \"02:00:00:00:00:99\"\n",
            $"  routerMac: \"02:00:00:00:00:99\"\n  policyEnforcement: {enforcement}\n{dataplaneSpecExtra}");
        if (editBase != null) baseYaml = editBase(baseYaml);
        Model = ConfigLoader.Load([("base.yaml", baseYaml), ("policy.yaml", policies)]);
        if (editModel != null) Model = editModel(Model);
        Snapshot = SnapshotCompiler.Compile(Model, external: external);
        _pipeline = new PacketPipeline(new SnapshotHolder(Snapshot));
    }

    /// <summary>"ns/name" of a pod, or an IP address.</summary>
    public (ushort Port, ulong Mac, ulong DstMac, string Ip4, string? Ip6, bool Local) Resolve(string who)
    {
        var pod = Model.Pods.FirstOrDefault(p => $"{p.Namespace}/{p.Name}" == who);
        if (pod == null) return (0, GatewayMac, Eth0Mac, who, who, false);
        var ip4 = pod.Ips.First(i => i.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork).ToString();
        var ip6 = pod.Ips.FirstOrDefault(i => i.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)?.ToString();
        if (pod.NodeName != "node-a") return (0, 0x02_00_00_00_0b_01, Eth0Mac, ip4, ip6, false);
        var ep = Snapshot.Endpoints.First(e => e != null && e.Namespace == pod.Namespace && e.Name == pod.Name)!;
        return (ep.Port, ep.Mac, RouterMac, ip4, ip6, true);
    }

    /// <summary>Replaces the policies (the base cluster stays) with one atomic snapshot swap.</summary>
    public void SwapPolicies(string policies)
    {
        var model = ConfigLoader.Load([("base.yaml", Base), ("policy.yaml", policies)]);
        _pipeline.Snapshots.Swap(SnapshotCompiler.Compile(model, generation: 2, previous: _pipeline.Snapshots.Current));
    }

    /// <summary>Sends one packet from → to; proto "tcp", "udp", "sctp", "icmp" (port = ICMP type); v6 uses IPv6 addresses.</summary>
    public PacketMeta Send(string from, string to, string proto, int port, bool v6 = false,
        ushort sport = 40000, byte tcpFlags = 0x02, ushort icmpId = 0x1234)
    {
        var f = Resolve(from);
        var t = Resolve(to);
        string src = v6 ? f.Ip6! : f.Ip4, dst = v6 ? t.Ip6! : t.Ip4;
        byte[] l4 = proto switch
        {
            "tcp" => PacketBuilder.Tcp(sport, (ushort)port, tcpFlags),
            "udp" => PacketBuilder.Udp(sport, (ushort)port),
            "sctp" => Sctp((ushort)port),
            "icmp" => v6 ? PacketBuilder.Icmp6((byte)port, 0, icmpId) : PacketBuilder.Icmp((byte)port, 0, icmpId),
            _ => throw new ArgumentException(proto),
        };
        byte p = proto switch { "tcp" => 6, "udp" => 17, "sctp" => 132, _ => v6 ? (byte)58 : (byte)1 };
        var frame = v6
            ? PacketBuilder.Eth6(PacketBuilder.Ipv6(src, dst, p, l4), f.DstMac, f.Mac)
            : PacketBuilder.Eth4(PacketBuilder.Ipv4(src, dst, p, l4), f.DstMac, f.Mac);
        return Run(frame, f.Port);
    }

    /// <summary>
    /// Sends an ICMP error (v4: destination unreachable/port unreachable; v6: destination unreachable/port
    /// unreachable) from → to, quoting <paramref name="quoted"/> (an IP header + at least 8 bytes of L4).
    /// </summary>
    public PacketMeta SendIcmpError(string from, string to, byte[] quoted, bool v6 = false)
    {
        var f = Resolve(from);
        var t = Resolve(to);
        var icmp = new byte[8 + quoted.Length];
        icmp[0] = v6 ? (byte)1 : (byte)3; icmp[1] = v6 ? (byte)4 : (byte)3;
        quoted.CopyTo(icmp, 8);
        if (!v6)
        {
            ushort c = PacketBuilder.Checksum(icmp);
            icmp[2] = (byte)(c >> 8); icmp[3] = (byte)c;
        }
        var frame = v6
            ? PacketBuilder.Eth6(PacketBuilder.Ipv6(f.Ip6!, t.Ip6!, 58, icmp), f.DstMac, f.Mac)
            : PacketBuilder.Eth4(PacketBuilder.Ipv4(f.Ip4, t.Ip4, 1, icmp), f.DstMac, f.Mac);
        return Run(frame, f.Port);
    }

    /// <summary>One frame through the pipeline as received on <paramref name="inPort"/>; its metadata after.</summary>
    private PacketMeta Run(byte[] frame, ushort inPort)
    {
        _batch.Count = 0;
        Assert.True(_pool.TryLoad(ref _batch[0], frame, inPort));
        _batch.Count = 1;
        _pipeline.Process(_batch, _context);
        var meta = _batch[0];
        _pool.Free(_batch[0]);
        while (_context.Flows!.TryRead(out _)) { }
        return meta;
    }

    private static byte[] Sctp(ushort dport)
    {
        var b = new byte[12];
        b[0] = 40000 >> 8; b[1] = 40000 & 0xFF; b[2] = (byte)(dport >> 8); b[3] = (byte)dport;
        return b;
    }

    public static Expect Outcome(in PacketMeta m) => m.Verdict switch
    {
        PacketVerdict.Drop when m.DropReason == DropReason.PolicyDenied => Expect.NoAllow,
        PacketVerdict.Drop when m.DropReason == DropReason.PolicyDeny => Expect.Deny,
        PacketVerdict.Tx or PacketVerdict.Local => Expect.Allow,
        _ => throw new Xunit.Sdk.XunitException($"unexpected verdict {m.Verdict} {m.DropReason}"),
    };

    public void Dispose() { _pool.Dispose(); _batch.Dispose(); _context.Conntrack?.Dispose(); }
}
