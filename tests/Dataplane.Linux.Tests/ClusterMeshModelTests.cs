using System.Net;
using Dataplane.ClusterMesh.Model;
using Dataplane.ClusterMesh.Remote;
using Dataplane.Control.Config;
using Dataplane.Control.Compiler;
using Dataplane.Core.Identity;
using Dataplane.Core.IpCache;
using Dataplane.Core.Policy;
using Dataplane.Core.Routing;
using Dataplane.Host.Mesh;

namespace Dataplane.Linux.Tests;

/// <summary>
/// How the agent folds a Cluster Mesh state into its model and snapshot (no root, no etcd): remote nodes as VXLAN
/// peers, global services merged with affinity, remote and pinned identities in policy and VNI checks.
/// </summary>
public class ClusterMeshModelTests
{
    private const uint RemoteWeb = (2u << 16) + 1, PinnedWeb = (1u << 16) + 3;

    private static string Yaml(bool localReady, string affinity = "local", bool global = true) => $$$"""
        apiVersion: v1
        kind: Node
        metadata: {name: node-a}
        spec: {podCIDRs: ["198.18.110.0/24"]}
        status: {addresses: [{type: InternalIP, address: 198.18.0.1}]}
        ---
        apiVersion: dataplane.io/v1alpha1
        kind: DataplaneNode
        metadata: {name: node-a}
        spec:
          interfaces: [{name: eth0, mac: "02:00:00:00:00:01", addresses: ["198.18.0.1/24"]}]
          neighbors: [{ip: 198.18.0.2, mac: "02:00:00:00:00:02"}]
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: web-a, namespace: default, labels: {app: web}}
        spec: {nodeName: node-a}
        status: {podIPs: [{ip: 198.18.110.20}]}
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: web
          namespace: default
          annotations: {service.cilium.io/global: "{{{(global ? "true" : "false")}}}", service.cilium.io/affinity: {{{affinity}}}}
        spec: {clusterIP: 198.18.130.10, ports: [{name: http, port: 80, targetPort: 5001}]}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: web-1, namespace: default, labels: {kubernetes.io/service-name: web} }
        addressType: IPv4
        ports: [{name: http, port: 5001}]
        endpoints: [{addresses: [198.18.110.20], nodeName: node-a, conditions: {ready: {{{(localReady ? "true" : "false")}}} } }]
        """;

    private static ConfigModel Model(bool localReady, string affinity = "local", bool global = true) =>
        ConfigLoader.Load([("node.yaml", Yaml(localReady, affinity, global))]);

    private static readonly IPAddress Web = IPAddress.Parse("198.18.110.20");

    private static MeshState State(IReadOnlyDictionary<string, SecurityIdentity>? pinned = null)
    {
        var c2 = new LabelSet([new Label("k8s", "app", "web"), new Label("k8s", IdentityLabels.ClusterLabel, "c2")]);
        var nodes = new List<TunnelEndpoint>
        {
            new("c2", 2, "node-b", [IPAddress.Parse("198.18.0.2")], [IPNetwork.Parse("198.18.120.0/24")]),
            // A name this cluster already has, and a pod CIDR overlapping ours: both left out.
            new("c2", 2, "node-a", [IPAddress.Parse("198.18.0.3")], [IPNetwork.Parse("198.18.121.0/24")]),
            new("c3", 3, "node-c", [IPAddress.Parse("198.18.0.4")], [IPNetwork.Parse("198.18.110.0/25")]),
        };
        var external = new ExternalIdentities([new SecurityIdentity(RemoteWeb, c2)],
            [new IpCacheEntry(IPNetwork.Parse("198.18.120.20/32"), RemoteWeb, IPAddress.Parse("198.18.0.2"))])
        { Pinned = pinned ?? new Dictionary<string, SecurityIdentity>() };
        var svc = new ClusterService
        {
            Cluster = "c2", ClusterId = 2, Namespace = "default", Name = "web", IncludeExternal = true, Shared = true,
            Backends = new() { ["198.18.120.20"] = new() { ["http"] = new L4Addr("TCP", 5001) } },
        };
        return new MeshState(1, nodes, external, [svc]);
    }

    [Fact]
    public void RemoteNodesBecomeVxlanNodesUnlessTheirNameOrPodCidrCollides()
    {
        var m = MeshModel.Augment(Model(true), State(), "c1", 1);
        var b = Assert.Single(m.Nodes, n => n.Name == "node-b");
        Assert.Equal(Dataplane.Core.Overlay.TunnelMode.Vxlan, b.Tunnel!.Mode);
        Assert.Equal("198.18.120.0/24", Assert.Single(b.PodCidrs).ToString());
        Assert.Equal("198.18.0.1", Assert.Single(m.Nodes, n => n.Name == "node-a").InternalIps.Single().ToString());
        Assert.DoesNotContain(m.Nodes, n => n.Name == "node-c");
        // The empty state changes nothing.
        var plain = Model(true);
        Assert.Same(plain, MeshModel.Augment(plain, MeshState.Empty, "c1", 1));
    }

    [Theory]
    [InlineData(true, "local", true, new[] { "198.18.110.20" })]
    [InlineData(false, "local", true, new[] { "198.18.120.20" })]
    [InlineData(true, "none", true, new[] { "198.18.110.20", "198.18.120.20" })]
    [InlineData(true, "remote", true, new[] { "198.18.120.20" })]
    [InlineData(true, "none", false, new[] { "198.18.110.20" })]
    public void GlobalServiceBackendsAreMergedWithAffinity(bool localReady, string affinity, bool global, string[] expected)
    {
        var snapshot = SnapshotCompiler.Compile(MeshModel.Augment(Model(localReady, affinity, global), State(), "c1", 1));
        var sets = snapshot.Services.Sets.Where(s => s.Backends.Length > 0).ToList();
        var all = sets.OrderByDescending(s => s.Backends.Length).First();
        Assert.Equal(expected, all.Backends.Select(x => RoutePrefix.ToAddress((uint)x.Addr).ToString()).Order());
        Assert.All(all.Backends, x => Assert.Equal(5001, x.Port));
        // Only this node's backend counts as local (traffic policy Local).
        Assert.All(all.Backends, x => Assert.Equal(RoutePrefix.ToAddress((uint)x.Addr).Equals(Web), x.Local));
    }

    [Fact]
    public void ExportedServiceCarriesOnlyReadyBackendsAndTheAnnotations()
    {
        var ready = Assert.Single(MeshServices.Exported(Model(true), "c1", 1));
        Assert.True(ready.IncludeExternal && ready.Shared);
        Assert.Equal(("c1", 1u), (ready.Cluster, ready.ClusterId));
        Assert.Equal(new L4Addr("TCP", 5001), ready.Backends["198.18.110.20"]["http"]);
        Assert.Equal(new L4Addr("TCP", 80), ready.Frontends["198.18.130.10"]["http"]);
        Assert.Empty(Assert.Single(MeshServices.Exported(Model(false), "c1", 1)).Backends);
        Assert.Empty(MeshServices.Exported(Model(true, global: false), "c1", 1));
    }

    [Fact]
    public void PinnedAndRemoteIdentitiesReachPolicyAndTheVniCheck()
    {
        var model = Model(true);
        var web = PolicyCompiler.PodLabels(model).Values.Single();
        var inC1 = new LabelSet([.. web.Labels, new Label("k8s", IdentityLabels.ClusterLabel, "c1")]);
        var state = State(new Dictionary<string, SecurityIdentity> { [web.Key] = new(PinnedWeb, inC1) });
        var snapshot = SnapshotCompiler.Compile(MeshModel.Augment(model, state, "c1", 1), 2, null, state.External);
        Assert.Equal(PinnedWeb, snapshot.Endpoints.Single(e => e is not null)!.Identity);
        Assert.True(snapshot.Overlay.IsValidVni(RemoteWeb));
        Assert.True(snapshot.Overlay.IsValidVni(PinnedWeb));
        Assert.False(snapshot.Overlay.IsValidVni(256));
        Assert.Contains(snapshot.Overlay.Peers, p => p.Name == "node-b");
    }

    /// <summary>
    /// With overlapping pod CIDR support, cluster c3's node-c (pod CIDR overlapping ours) stays a tunnel peer, its
    /// address is routed through the tunnel, and its backend with our own web-a's address is a backend of its own,
    /// reached by (cluster 3, address) with c3's identity — beside web-a, reached by address.
    /// </summary>
    [Fact]
    public void OverlappingClusterBackendIsRoutedByClusterAndAddress()
    {
        const uint c3Web = (3u << 16) + 7;
        var c3 = new LabelSet([new Label("k8s", "app", "web"), new Label("k8s", IdentityLabels.ClusterLabel, "c3")]);
        var nodeC = IPAddress.Parse("198.18.0.4");
        var external = new ExternalIdentities([new SecurityIdentity(c3Web, c3)], [])
        {
            ClusterEndpoints = [new ClusterEndpoint(3, Web, c3Web, nodeC)],
        };
        var svc = new ClusterService
        {
            Cluster = "c3", ClusterId = 3, Namespace = "default", Name = "web", IncludeExternal = true, Shared = true,
            Backends = new() { ["198.18.110.20"] = new() { ["http"] = new L4Addr("TCP", 5001) } },
        };
        var state = new MeshState(1, [new("c3", 3, "node-c", [nodeC], [IPNetwork.Parse("198.18.110.0/25")])], external, [svc]);
        var model = MeshModel.Augment(Model(true, "none"), state, "c1", 1, overlapping: true);
        var c = Assert.Single(model.Nodes, n => n.Name == "node-c");
        Assert.Empty(c.PodCidrs);
        Assert.Equal("198.18.0.4/32", Assert.Single(c.TunnelledAddresses).ToString());

        var snapshot = SnapshotCompiler.Compile(model, 2, null, state.External);
        var set = snapshot.Services.Sets.OrderByDescending(x => x.Backends.Length).First();
        Assert.Equal([(RoutePrefix.ToUInt32(Web), (byte)0), (RoutePrefix.ToUInt32(Web), (byte)3)],
            set.Backends.Select(x => ((uint)x.Addr, x.Cluster)));
        Assert.True(snapshot.ClusterRoutes.TryFind(3, RoutePrefix.ToUInt32(Web), out uint hop, out uint id));
        Assert.Equal(c3Web, id);
        Assert.Equal((NextHopKind.Tunnel, (UInt128)RoutePrefix.ToUInt32(nodeC)), (snapshot.NextHops[hop].Kind, snapshot.NextHops[hop].TunnelEndpoint));
        Assert.False(snapshot.ClusterRoutes.TryFind(2, RoutePrefix.ToUInt32(Web), out _, out _));
        Assert.True(snapshot.Routes4.TryLookup(RoutePrefix.ToUInt32(nodeC), out uint toC));
        Assert.Equal(NextHopKind.Tunnel, snapshot.NextHops[toC].Kind);
        Assert.Contains(snapshot.Overlay.Peers, p => p.Name == "node-c");
        // Without the support the node is left out and the backend is one more address, routed to our own pod.
        var plain = SnapshotCompiler.Compile(MeshModel.Augment(Model(true, "none"), state, "c1", 1), 2, null, state.External);
        Assert.Equal(0, plain.ClusterRoutes.Count);
        Assert.DoesNotContain(plain.Overlay.Peers, p => p.Name == "node-c");
        // A translated range of c3's pod CIDR (pod to pod): compiled as a netmap to cluster 3.
        var mapped = SnapshotCompiler.Compile(model, 3, null, state.External with
        {
            ClusterTranslations = [new ClusterTranslation(3, IPNetwork.Parse("198.18.110.0/24"), IPNetwork.Parse("198.18.213.0/24"))],
        });
        Assert.True(mapped.ClusterNetmap.TryMap(RoutePrefix.ToUInt32(IPAddress.Parse("198.18.213.20")), out uint real, out byte cluster));
        Assert.Equal((RoutePrefix.ToUInt32(Web), (byte)3), (real, cluster));
        Assert.False(mapped.ClusterNetmap.TryMap(RoutePrefix.ToUInt32(Web), out _, out _));
        // The eBPF program keys load balancing, conntrack and routes by address only: it refuses this snapshot.
        Assert.Contains(Dataplane.Ebpf.Maps.OffloadSupport.Unsupported(snapshot), f => f.Contains("(cluster, address)", StringComparison.Ordinal));
    }
}
