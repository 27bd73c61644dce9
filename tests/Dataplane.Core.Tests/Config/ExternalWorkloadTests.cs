using System.Net;
using Dataplane.Control.Compiler;
using Dataplane.Control.Config;
using Dataplane.Core.Policy;
using Dataplane.Core.Routing;

namespace Dataplane.Core.Tests.Config;

/// <summary>
/// ExternalWorkload (a VM, a server, a subnet outside Kubernetes): its labels give it an identity a
/// CiliumNetworkPolicy selects like a pod's, its addresses enter the ipcache with it, nodes route them to the gateway
/// that serves it through the overlay; mistakes are ConfigExceptions at their line.
/// </summary>
public class ExternalWorkloadTests
{
    private static readonly string Workload = ClusterYaml.ExternalWorkload("default", "billing-vm", "app: billing", ["198.18.131.10", "198.18.132.0/24"], "gw-1");

    /// <summary>node-1 (pod web) and gw-1 (no pods) on 198.18.141.0/24, VXLAN; <paramref name="local"/> is whose DataplaneNode.</summary>
    private static string Cluster(string local, string? workload = null) => ClusterYaml.Docs(
        ClusterYaml.Node("gw-1", [], ["198.18.141.1"]),
        ClusterYaml.Node("node-1", ["198.18.150.0/24"], ["198.18.141.2"]),
        ClusterYaml.Pod("default", "web", "app: web", "node-1", ["198.18.150.10"]),
        ClusterYaml.Pod("default", "other", "app: other", "node-1", ["198.18.150.11"]),
        workload ?? Workload, ClusterYaml.WebFromBilling,
        $$"""
        apiVersion: dataplane.io/v1alpha1
        kind: DataplaneNode
        metadata: {name: {{local}}}
        spec:
          interfaces: [{name: eth0, mac: "02:00:00:00:0e:01", addresses: ["{{(local == "gw-1" ? "198.18.141.1" : "198.18.141.2")}}/24"]}]
          overlay: {mode: vxlan}
        """);

    private static Core.Snapshot.DatapathSnapshot Compile(string yaml) => SnapshotCompiler.Compile(ConfigLoader.Load([("c.yaml", yaml)]));

    [Fact]
    public void LabelsGiveAnIdentityThatPolicySelects()
    {
        var s = Compile(Cluster("node-1"));
        uint vm = s.IpCache.Lookup(IPAddress.Parse("198.18.131.10"));
        Assert.Equal(vm, s.IpCache.Lookup(IPAddress.Parse("198.18.132.77")));   // the subnet: same workload, same identity
        Assert.True(vm >= 256, $"identity {vm}");
        var key = s.Policy.Identities.Get(vm)!.Labels.Key;
        Assert.Contains("k8s:app=billing;", key);
        Assert.Contains("k8s:io.kubernetes.pod.namespace=default;", key);
        Assert.DoesNotContain("serviceaccount", key);

        int web = Array.FindIndex(s.Endpoints, e => e?.Name == "web");
        Assert.Equal(PolicyVerdict.Allowed, s.IngressPolicy[web].Lookup(vm, 6, 8080, out _));
        Assert.Equal(PolicyVerdict.NoAllow, s.IngressPolicy[web].Lookup(vm, 6, 9090, out _));
        uint other = s.IpCache.Lookup(IPAddress.Parse("198.18.150.11"));
        Assert.Equal(PolicyVerdict.NoAllow, s.IngressPolicy[web].Lookup(other, 6, 8080, out _));
    }

    [Fact]
    public void NodesRouteTheWorkloadToItsGatewayThroughTheOverlay()
    {
        var s = Compile(Cluster("node-1"));
        foreach (var prefix in new[] { "198.18.131.10/32", "198.18.132.0/24" })
        {
            var (_, nh) = Assert.Single(s.Routes, r => r.Prefix == IPNetwork.Parse(prefix));
            Assert.Equal(NextHopKind.Tunnel, s.NextHops[nh].Kind);
            Assert.Equal(RoutePrefix.ToUInt32(IPAddress.Parse("198.18.141.1")), s.NextHops[nh].TunnelEndpoint);
        }
        // The gateway itself reaches them on its on-prem side (BGP), not through a tunnel to itself.
        Assert.DoesNotContain(Compile(Cluster("gw-1")).Routes, r => r.Prefix == IPNetwork.Parse("198.18.131.10/32"));
    }

    [Fact]
    public void NodeAndGatewayNumberTheWorkloadAlike()
    {
        var node = Compile(Cluster("node-1"));
        var gw = Compile(Cluster("gw-1"));
        var ip = IPAddress.Parse("198.18.131.10");
        Assert.Equal(node.IpCache.Lookup(ip), gw.IpCache.Lookup(ip));
        // The VNI the gateway sends is a known identity on the node.
        Assert.True(node.Overlay.IsValidVni(gw.IpCache.Lookup(ip)));
    }

    [Fact]
    public void TheGatewayEnforcesPoliciesSelectingItsWorkloads()
    {
        const string egress = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: billing-out, namespace: default}
            spec:
              endpointSelector: {matchLabels: {app: billing}}
              egress: [{toEndpoints: [{matchLabels: {app: web}}], toPorts: [{ports: [{port: "8080", protocol: TCP}]}]}]
            """;
        var gw = Compile(ClusterYaml.Docs(Cluster("gw-1"), egress));
        uint vm = gw.IpCache.Lookup(IPAddress.Parse("198.18.131.10"));
        uint web = gw.IpCache.Lookup(IPAddress.Parse("198.18.150.10"));
        var workloads = gw.Policy.Workloads;
        int slot = workloads.IndexOf(vm);
        Assert.Equal(0, slot);
        Assert.Equal(1, workloads.Count);
        Assert.Equal(PolicyVerdict.Allowed, workloads.Egress[slot].Lookup(web, 6, 8080, out _));
        Assert.Equal(PolicyVerdict.NoAllow, workloads.Egress[slot].Lookup(web, 6, 9090, out _));
        Assert.Equal(PolicyVerdict.NotEnforced, workloads.Ingress[slot].Lookup(web, 6, 22, out _));
        // A node does not serve the workload: the pod's own maps apply there, not the VM's.
        Assert.Equal(0, Compile(ClusterYaml.Docs(Cluster("node-1"), egress)).Policy.Workloads.Count);
    }

    [Theory]
    [InlineData("addresses: [\"198.18.150.0/25\"]", "198.18.150.0/25 overlaps pod CIDR 198.18.150.0/24 of node node-1")]
    [InlineData("addresses: [\"198.18.141.0/24\"]", "contains 198.18.141.1, an InternalIP of node gw-1")]
    [InlineData("addresses: [\"198.18.131.1/24\"]", "has host bits set")]
    [InlineData("addresses: []", "at least one address is required")]
    [InlineData("addresses: [\"198.18.131.10\"], gateway: gw-9", "gateway gw-9 has no Node object")]
    [InlineData("addresses: [\"198.18.131.0/24\", \"198.18.131.10\"]", "198.18.131.10/32 overlaps 198.18.131.0/24 of the same workload")]
    public void MistakesAreRefusedAtTheirLine(string spec, string reason)
    {
        var yaml = Cluster("node-1", Workload.Replace("addresses: [\"198.18.131.10\", \"198.18.132.0/24\"], gateway: gw-1", spec));
        Assert.NotEqual(Cluster("node-1"), yaml);   // the replacement took
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load([("c.yaml", yaml)]));
        Assert.Contains(reason, e.Message);
        int line = yaml.Split('\n').ToList().FindIndex(l => l.Contains("kind: ExternalWorkload")) + 3;
        Assert.StartsWith($"c.yaml:{line}:", e.Message);
    }
}
