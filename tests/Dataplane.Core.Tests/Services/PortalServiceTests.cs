using System.Buffers.Binary;
using System.Net;
using Dataplane.ClusterMesh.Model;
using Dataplane.ClusterMesh.Remote;
using Dataplane.ClusterMesh.Services;
using Dataplane.Control.Compiler;
using Dataplane.Control.Config;
using Dataplane.Core.Conntrack;
using Dataplane.Core.Packets;
using Dataplane.Core.Pipeline;
using Dataplane.Core.Routing;
using Dataplane.Core.Snapshot;
using Dataplane.Host.Mesh;
using Dataplane.Testing.Fixtures;
using Dataplane.Testing.Packets;
using static Dataplane.Testing.Packets.PacketBuilder;

namespace Dataplane.Core.Tests.Services;

/// <summary>
/// Portal services through the gateway's pipeline, in memory: the gateway gw-1 (on-prem port 0, 198.18.140.1; mesh
/// port 1, 198.18.141.1) serves the VIP LB-IPAM gave the global + portal LoadBalancer service web; a client behind
/// the on-prem router (198.18.131.0/24) opens connections to it; each is DNATed by Maglev to a pod on node-1 or
/// node-2 and leaves VXLAN-encapsulated toward that node, the client SNATed to the gateway's InternalIP (the
/// client's identity stays in the VNI); the backend's reply to that address is reverse-translated to the VIP and
/// leaves toward the router. Nodes also route the gateway's on-prem prefixes to it through the overlay.
/// </summary>
public sealed class PortalServiceTests : IDisposable
{
    private const ulong OnPremMac = 0x02_00_00_00_d0_01, MeshMac = 0x02_00_00_00_d0_02, RouterMac = 0x02_00_00_00_d0_99;
    private const ulong Node1Mac = 0x02_00_00_00_e0_01, Node2Mac = 0x02_00_00_00_e0_02;
    private const ushort OnPrem = 0, Mesh = 1;
    private const string Client = "198.18.131.10";

    private static string Service(string name, string annotations, int nodePort, string clusterIp) => $$"""
        apiVersion: v1
        kind: Service
        metadata: {name: {{name}}, namespace: default, labels: {app: {{name}} }, annotations: { {{annotations}} } }
        spec:
          type: LoadBalancer
          clusterIP: {{clusterIp}}
          selector: {app: web}
          ports: [{name: http, port: 80, targetPort: 8080, nodePort: {{nodePort}}}]
        """;

    /// <summary>The cluster's manifests, the same on every host; <paramref name="local"/>'s DataplaneNode appended.</summary>
    public static string Cluster(string local, string webAnnotations = "service.cilium.io/global: \"true\", io.cilium/portal: \"true\"") => ClusterYaml.Docs(
        ClusterYaml.Node("gw-1", [], ["198.18.141.1"], "dataplane.io/role: gateway"),
        ClusterYaml.Node("node-1", ["198.18.150.0/24"], ["198.18.141.2"]),
        ClusterYaml.Node("node-2", ["198.18.151.0/24"], ["198.18.141.3"]),
        ClusterYaml.Pod("default", "web-1", "app: web", "node-1", ["198.18.150.10"]),
        ClusterYaml.Pod("default", "web-2", "app: web", "node-2", ["198.18.151.10"]),
        Service("web", webAnnotations, 30080, "198.18.170.10"),
        Service("plain", "service.cilium.io/global: \"true\"", 30081, "198.18.170.11"),
        """
        apiVersion: cilium.io/v2
        kind: CiliumLoadBalancerIPPool
        metadata: {name: portal}
        spec:
          blocks: [{cidr: 198.18.160.0/28}]
        ---
        apiVersion: dataplane.io/v1alpha1
        kind: DataplaneGateway
        metadata: {name: gw-1}
        spec:
          meshInterfaces: [eth-mesh]
          onPremInterfaces: [eth-onprem]
          onPremPrefixes: ["198.18.131.0/24"]
        """,
        local == "gw-1" ? """
            apiVersion: dataplane.io/v1alpha1
            kind: DataplaneNode
            metadata: {name: gw-1}
            spec:
              routerMac: "02:00:00:00:00:99"
              interfaces:
              - {name: eth-onprem, mac: "02:00:00:00:d0:01", addresses: ["198.18.140.1/24"]}
              - {name: eth-mesh, mac: "02:00:00:00:d0:02", addresses: ["198.18.141.1/24"]}
              neighbors:
              - {ip: 198.18.140.2, mac: "02:00:00:00:d0:99"}
              - {ip: 198.18.141.2, mac: "02:00:00:00:e0:01"}
              - {ip: 198.18.141.3, mac: "02:00:00:00:e0:02"}
              - {ip: 198.18.141.9, mac: "02:00:00:00:e0:09"}
              routes: [{destination: 198.18.131.0/24, via: 198.18.140.2}]
              overlay: {mode: vxlan}
            """ : $$"""
            apiVersion: dataplane.io/v1alpha1
            kind: DataplaneNode
            metadata: {name: {{local}}}
            spec:
              interfaces: [{name: eth0, mac: "02:00:00:00:e0:01", addresses: ["198.18.141.2/24"]}]
              overlay: {mode: vxlan}
            """);

    private readonly PacketPool _pool = new(64);
    private readonly Batch _batch = new();
    private readonly WorkerContext _context = new(0, conntrack: new ConntrackTable(4096));
    private readonly ConfigModel _model;
    private readonly PacketPipeline _pipeline;

    /// <param name="mesh">What Cluster Mesh adds, after the gateway's own view of the services (the host's order).</param>
    private PortalServiceTests(string? webAnnotations, MeshState? mesh = null)
    {
        var files = ConfigLoader.Load([("cluster.yaml", webAnnotations is null ? Cluster("gw-1") : Cluster("gw-1", webAnnotations))]);
        _model = PortalServices.OnGateway(files);   // what dataplane-gateway compiles
        if (mesh is not null) _model = MeshModel.Augment(_model, mesh, "c1", 1);
        _pipeline = new PacketPipeline(new SnapshotHolder(SnapshotCompiler.Compile(_model)));
    }

    public PortalServiceTests() : this(null) { }

    private IPAddress Vip(string service) => _model.Services.Single(s => s.Name == service).LoadBalancerIps.Single();

    private (PacketMeta Meta, byte[] Out) Run(byte[] frame, ushort port)
    {
        _batch.Count = 0;
        Assert.True(_pool.TryLoad(ref _batch[0], frame, port));
        _batch.Count = 1;
        _pipeline.Process(_batch, _context);
        var r = (_batch[0], _batch[0].Bytes.ToArray());
        _pool.Free(_batch[0]);
        return r;
    }

    private static byte[] FromClient(string dst, ushort sport, byte flags = 0x02) =>
        Eth4(Ipv4(Client, dst, 6, Tcp(sport, 80, flags)), dst: OnPremMac, src: RouterMac);

    [Fact]
    public void ThePortalVipIsDnatedByMaglevToEveryNodesBackendsAndCarriedOverVxlanWithTheClientsIdentity()
    {
        // LB-IPAM gave the portal service a VIP from the pool; the plain global service lost its VIP on the gateway.
        var vip = Vip("web");
        Assert.True(IPNetwork.Parse("198.18.160.0/28").Contains(vip), vip.ToString());
        Assert.Empty(_model.Services.Single(s => s.Name == "plain").LoadBalancerIps);
        Assert.All(_model.Services.SelectMany(s => s.Ports), p => Assert.Equal(0, p.NodePort));

        var byNode = new Dictionary<ulong, int>();
        for (ushort sport = 20000; sport < 20064; sport++)
        {
            var (m, o) = Run(FromClient(vip.ToString(), sport), OnPrem);
            Assert.Equal(PacketVerdict.Tx, m.Verdict);
            Assert.Equal(Mesh, m.OutPort);
            // Outer: VXLAN from the gateway's InternalIP to the backend's node, the client's identity (world) in the VNI.
            ulong nodeMac = ReadMac(o);
            Assert.Equal(MeshMac, ReadMac(o.AsSpan(6)));
            var outer = o.AsSpan(14);
            Assert.Equal(IPAddress.Parse("198.18.141.1"), new IPAddress(outer.Slice(12, 4)));
            string nodeIp = new IPAddress(outer.Slice(16, 4)).ToString();
            Assert.Equal(8472, BinaryPrimitives.ReadUInt16BigEndian(outer[22..]));
            uint vni = (uint)(outer[32] << 16 | outer[33] << 8 | outer[34]);
            Assert.Equal(2u, vni);
            // Inner: the client SNATed to the gateway's mesh address (its InternalIP), the VIP translated to the
            // backend pod on that node; the VNI still names the client's identity, so the node's policy judges the client.
            var inner = Wire.Read(o[50..]);
            Assert.True(inner.ChecksumsOk);
            Assert.Equal(("198.18.141.1", (ushort)8080), (inner.Src, inner.DstPort));
            Assert.Equal(nodeMac == Node1Mac ? ("198.18.141.2", "198.18.150.10") : ("198.18.141.3", "198.18.151.10"), (nodeIp, inner.Dst));
            byNode[nodeMac] = byNode.GetValueOrDefault(nodeMac) + 1;

            // The backend's node sends the reply to the gateway's address (any node of any cluster reaches it); it
            // leaves toward the router from the VIP to the client.
            var reply = Eth4(Ipv4(inner.Dst, "198.18.141.1", 6, Tcp(8080, inner.SrcPort, 0x12)), dst: MeshMac, src: nodeMac);
            var (rm, r) = Run(reply, Mesh);
            Assert.Equal(PacketVerdict.Tx, rm.Verdict);
            Assert.Equal(OnPrem, rm.OutPort);
            var back = Wire.Read(r);
            Assert.Equal((vip.ToString(), (ushort)80, Client, sport, RouterMac), (back.Src, back.SrcPort, back.Dst, back.DstPort, back.DstMac));
            Assert.True(back.ChecksumsOk);
        }
        // Both nodes' backends take connections (Maglev over the whole set).
        Assert.Equal(2, byNode.Count);
        Assert.All(byNode.Values, n => Assert.True(n >= 8, string.Join(", ", byNode)));
    }

    [Fact]
    public void ASegmentTooBigForTheTunnelGetsFragmentationNeededQuotingTheClientsOwnTuple()
    {
        var vip = Vip("web").ToString();
        Assert.Equal(PacketVerdict.Tx, Run(FromClient(vip, 21000), OnPrem).Meta.Verdict);
        // A full-size segment of the connection: 1500 bytes of IP do not fit a 1500-byte underlay once wrapped in VXLAN.
        var (m, o) = Run(Eth4(Ipv4(Client, vip, 6, Tcp(21000, 80, 0x10, payload: 1460)), dst: OnPremMac, src: RouterMac), OnPrem);
        Assert.Equal(PacketVerdict.Tx, m.Verdict);
        Assert.Equal(OnPrem, m.OutPort);
        Assert.Equal(RouterMac, ReadMac(o));
        var ip = o.AsSpan(14);
        Assert.Equal(Client, new IPAddress(ip.Slice(16, 4)).ToString());
        Assert.Equal((3, 4), (ip[20], ip[21]));
        Assert.Equal(1450, BinaryPrimitives.ReadUInt16BigEndian(ip[26..]));
        // The quote is the segment as the client sent it (to the VIP, its own port), so its kernel finds the socket.
        var quote = ip[28..];
        Assert.Equal((Client, vip), (new IPAddress(quote.Slice(12, 4)).ToString(), new IPAddress(quote.Slice(16, 4)).ToString()));
        Assert.Equal((21000, 80), (BinaryPrimitives.ReadUInt16BigEndian(quote[20..]), BinaryPrimitives.ReadUInt16BigEndian(quote[22..])));
        Assert.Equal(0, Checksum(quote[..20]));
    }

    [Fact]
    public void AnotherClustersBackendsFromClusterMeshAreBalancedToo()
    {
        // Cluster c2 shares default/web (global) with one backend on its node node-r, reached over VXLAN like ours.
        var state = new MeshState(1,
            [new TunnelEndpoint("c2", 2, "node-r", [IPAddress.Parse("198.18.141.9")], [IPNetwork.Parse("198.18.152.0/24")])],
            new ExternalIdentities([], []),
            [new ClusterService
            {
                Cluster = "c2", ClusterId = 2, Namespace = "default", Name = "web", IncludeExternal = true, Shared = true,
                Backends = new() { ["198.18.152.10"] = new() { ["http"] = new L4Addr("TCP", 8080) } },
            }]);
        using var t = new PortalServiceTests(null, state);
        var vip = t.Vip("web").ToString();
        var seen = new Dictionary<string, int>();
        for (ushort sport = 22000; sport < 22096; sport++)
        {
            var (m, o) = t.Run(FromClient(vip, sport), OnPrem);
            Assert.Equal(PacketVerdict.Tx, m.Verdict);
            string node = new IPAddress(o.AsSpan(14 + 16, 4)).ToString(), backend = Wire.Read(o[50..]).Dst;
            if (backend == "198.18.152.10") Assert.Equal("198.18.141.9", node);   // the remote cluster's node
            seen[backend] = seen.GetValueOrDefault(backend) + 1;
        }
        Assert.Equal(["198.18.150.10", "198.18.151.10", "198.18.152.10"], seen.Keys.Order());
    }

    [Fact]
    public void TheSameFlowPicksTheSameBackendOnAnyGatewayCompiledFromTheSameConfig()
    {
        using var other = new PortalServiceTests();
        var vip = Vip("web").ToString();
        for (ushort sport = 30000; sport < 30032; sport++)
            Assert.Equal(Wire.Read(Run(FromClient(vip, sport), OnPrem).Out[50..]).Dst, Wire.Read(other.Run(FromClient(vip, sport), OnPrem).Out[50..]).Dst);
    }

    [Fact]
    public void AServiceWithoutThePortalAnnotationIsNotServedOnTheGateway()
    {
        using var t = new PortalServiceTests("service.cilium.io/global: \"true\"");
        Assert.Empty(t._model.Services.Single(s => s.Name == "web").LoadBalancerIps);
        // The older spelling of global is accepted.
        using var old = new PortalServiceTests("io.cilium/global-service: \"true\", io.cilium/portal: \"true\"");
        var vip = old.Vip("web").ToString();
        Assert.Equal(PacketVerdict.Tx, old.Run(FromClient(vip, 40000), OnPrem).Meta.Verdict);
        Assert.Equal(Mesh, old.Run(FromClient(vip, 40001), OnPrem).Meta.OutPort);
        // Portal without global is not a portal.
        using var local = new PortalServiceTests("io.cilium/portal: \"true\"");
        Assert.Empty(local._model.Services.Single(s => s.Name == "web").LoadBalancerIps);
    }

    [Fact]
    public void NodesRouteTheGatewaysOnPremPrefixesBackToItThroughTheOverlay()
    {
        var node = SnapshotCompiler.Compile(ConfigLoader.Load([("cluster.yaml", Cluster("node-1"))]));
        var (_, nh) = Assert.Single(node.Routes, r => r.Prefix == IPNetwork.Parse("198.18.131.0/24"));
        Assert.Equal(NextHopKind.Tunnel, node.NextHops[nh].Kind);
        Assert.Equal(RoutePrefix.ToUInt32(IPAddress.Parse("198.18.141.1")), node.NextHops[nh].TunnelEndpoint);
        // And every host numbers the VIP alike: LB-IPAM is a function of the configuration.
        var nodeModel = ConfigLoader.Load([("cluster.yaml", Cluster("node-1"))]);
        Assert.Equal(Vip("web"), nodeModel.Services.Single(s => s.Name == "web").LoadBalancerIps.Single());
    }

    public void Dispose()
    {
        _pool.Dispose();
        _batch.Dispose();
        _context.Conntrack?.Dispose();
    }
}
