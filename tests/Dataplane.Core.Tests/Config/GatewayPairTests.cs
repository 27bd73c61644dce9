using System.Net;
using Dataplane.ClusterMesh.Services;
using Dataplane.Control.Compiler;
using Dataplane.Control.Config;
using Dataplane.Core.Policy;
using Dataplane.Core.Routing;

namespace Dataplane.Core.Tests.Config;

/// <summary>
/// Two gateways serving the same on-prem network (high availability), both DataplaneGateways in the cluster's shared
/// manifests: each gateway reaches the network itself (never through a tunnel to its peer), each enforces the policy
/// of the workloads on it even when the workload names the other, and a node still routes the network to a gateway.
/// </summary>
public class GatewayPairTests
{
    private static string Cluster(string local) => ClusterYaml.Docs(
        ClusterYaml.Node("gw-1", [], ["198.18.141.1"], "dataplane.io/role: gateway"),
        ClusterYaml.Node("gw-2", [], ["198.18.141.4"], "dataplane.io/role: gateway"),
        ClusterYaml.Node("node-1", ["198.18.150.0/24"], ["198.18.141.2"]),
        ClusterYaml.Pod("default", "web", "app: web", "node-1", ["198.18.150.10"]),
        ClusterYaml.ExternalWorkload("default", "billing-vm", "app: billing", ["198.18.131.10"], "gw-1"),
        Gateway("gw-1"), Gateway("gw-2"),
        """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: billing-out, namespace: default}
        spec:
          endpointSelector: {matchLabels: {app: billing}}
          egress: [{toEndpoints: [{matchLabels: {app: web}}], toPorts: [{ports: [{port: "8080", protocol: TCP}]}]}]
        """,
        $$"""
        apiVersion: dataplane.io/v1alpha1
        kind: DataplaneNode
        metadata: {name: {{local}}}
        spec:
          interfaces:
          - {name: eth-onprem, mac: "02:00:00:00:0e:01", addresses: ["198.18.140.{{(local == "gw-2" ? 4 : 1)}}/24"]}
          - {name: eth-mesh, mac: "02:00:00:00:0e:02", addresses: ["198.18.141.{{local switch { "gw-1" => 1, "gw-2" => 4, _ => 2 }}}/24"]}
          overlay: {mode: vxlan}
        """);

    private static string Gateway(string name) => $$"""
        apiVersion: dataplane.io/v1alpha1
        kind: DataplaneGateway
        metadata: {name: {{name}}}
        spec: {meshInterfaces: [eth-mesh], onPremInterfaces: [eth-onprem], onPremPrefixes: ["198.18.131.0/24"]}
        """;

    private static Core.Snapshot.DatapathSnapshot Compile(string local) => SnapshotCompiler.Compile(ConfigLoader.Load([("c.yaml", Cluster(local))]));

    [Theory]
    [InlineData("gw-1")]
    [InlineData("gw-2")]
    public void EachGatewayReachesTheSharedNetworkItselfAndEnforcesItsWorkloadsPolicy(string local)
    {
        var gw = Compile(local);
        foreach (var prefix in new[] { "198.18.131.0/24", "198.18.131.10/32" })
            Assert.DoesNotContain(gw.Routes, r => r.Prefix == IPNetwork.Parse(prefix));
        uint vm = gw.IpCache.Lookup(IPAddress.Parse("198.18.131.10")), web = gw.IpCache.Lookup(IPAddress.Parse("198.18.150.10"));
        int slot = gw.Policy.Workloads.IndexOf(vm);
        Assert.True(slot >= 0, $"{local} does not enforce the VM's policy");
        Assert.Equal(PolicyVerdict.Allowed, gw.Policy.Workloads.Egress[slot].Lookup(web, 6, 8080, out _));
        Assert.Equal(PolicyVerdict.NoAllow, gw.Policy.Workloads.Egress[slot].Lookup(web, 6, 9090, out _));
    }

    [Fact]
    public void ANodeRoutesTheSharedNetworkToAGatewayThroughTheOverlayAndEnforcesNoWorkloadPolicy()
    {
        var node = Compile("node-1");
        var (_, nh) = Assert.Single(node.Routes, r => r.Prefix == IPNetwork.Parse("198.18.131.0/24"));
        Assert.Equal(NextHopKind.Tunnel, node.NextHops[nh].Kind);
        var endpoint = node.NextHops[nh].TunnelEndpoint;
        Assert.True(endpoint == RoutePrefix.ToUInt32(IPAddress.Parse("198.18.141.1")) || endpoint == RoutePrefix.ToUInt32(IPAddress.Parse("198.18.141.4")), $"tunnel endpoint {endpoint}");
        Assert.Equal(0, node.Policy.Workloads.Count);
    }

    [Fact]
    public void APortalServiceIsBalancedWithMaglevOnTheGatewayWhateverTheNodesDefault()
    {
        string yaml = Cluster("gw-1") + "\n---\n" + """
            apiVersion: v1
            kind: Service
            metadata: {name: web, namespace: default, annotations: {service.cilium.io/global: "true", io.cilium/portal: "true"}}
            spec: {type: LoadBalancer, clusterIP: 198.18.170.10, loadBalancerIP: 198.18.160.1, selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: pinned, namespace: default, annotations: {service.cilium.io/global: "true", io.cilium/portal: "true", service.cilium.io/lb-algorithm: random}}
            spec: {type: LoadBalancer, clusterIP: 198.18.170.11, loadBalancerIP: 198.18.160.2, selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
            """;
        var files = ConfigLoader.Load([("c.yaml", yaml)]);
        Assert.Equal(LbAlgorithm.Default, files.Services.Single(s => s.Name == "web").Algorithm);
        var onGateway = PortalServices.OnGateway(files);
        Assert.Equal(LbAlgorithm.Maglev, onGateway.Services.Single(s => s.Name == "web").Algorithm);
        Assert.Equal(LbAlgorithm.Random, onGateway.Services.Single(s => s.Name == "pinned").Algorithm);
    }
}
