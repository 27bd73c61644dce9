using Dataplane.Control.Compiler;
using Dataplane.Control.Config;
using Dataplane.Core.Identity;
using Dataplane.Core.IpCache;
using Dataplane.Node.Api;
using Dataplane.Node.Endpoints;

namespace Dataplane.Core.Tests.Policy;

/// <summary>
/// Cilium's entities, one test each, through the real loader, compiler and pipeline: who gets which reserved
/// identity (Cilium's numbers), and what each entity selects (docs "Entities based", pkg/policy/api/entity.go).
/// node-a (198.18.0.1) is this node, node-b (198.18.0.2) a remote one.
/// </summary>
public class EntityTests
{
    private static string Cnp(string name, string ns, string spec) =>
        $"apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {{name: {name}, namespace: {ns}}}\n{spec}\n";

    private static string Ccnp(string name, string spec) =>
        $"apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {{name: {name}}}\n{spec}\n";

    /// <summary>The kubernetes Service's EndpointSlice, as the apiserver writes it, with the given addresses.</summary>
    private static string ApiServerSlice(params string[] addresses) =>
        "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
        + "metadata: {name: kubernetes, namespace: default, labels: {kubernetes.io/service-name: kubernetes}}\n"
        + "addressType: IPv4\n"
        + "endpoints: [" + string.Join(", ", addresses.Select(a => "{addresses: [\"" + a + "\"]}")) + "]\n"
        + "ports: [{name: https, port: 6443, protocol: TCP}]";

    private const string WebToApiServer = """
        spec:
          endpointSelector: {matchLabels: {app: web}}
          egress: [{toEntities: [kube-apiserver]}]
        """;

    private static Func<string, string> AnnotateNodeB(string annotations) =>
        yaml => yaml.Replace("metadata: {name: node-b}", $"metadata: {{name: node-b, annotations: {{{annotations}}}}}");

    [Fact]
    public void KubeApiServerOnARemoteNodeIsIdentitySevenAndAlsoRemoteNode()
    {
        using var c = new PolicyCluster(ApiServerSlice("198.18.0.2") + "\n---\n" + Cnp("api", "prod", WebToApiServer));
        var m = c.Send("prod/web", "198.18.0.2", "tcp", 6443);
        Assert.Equal(NumericIdentity.KubeApiServer, m.DstIdentity);
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(m));
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("prod/web", "prod/api", "tcp", 6443)));
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("prod/web", "8.8.8.8", "tcp", 6443)));
        // Identity 7 is labelled reserved:remote-node too, so remote-node selects it (Cilium's reserved labels).
        using var rn = new PolicyCluster(ApiServerSlice("198.18.0.2") + "\n---\n" + Cnp("rn", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              egress: [{toEntities: [remote-node]}]
            """));
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(rn.Send("prod/web", "198.18.0.2", "tcp", 6443)));
    }

    [Fact]
    public void KubeApiServerOnThisNodeIsTheHostIdentityWithTheLabel()
    {
        using var c = new PolicyCluster(ApiServerSlice("198.18.0.1") + "\n---\n" + Cnp("api", "prod", WebToApiServer));
        var m = c.Send("prod/web", "198.18.0.1", "tcp", 6443);
        Assert.Equal(NumericIdentity.Host, m.DstIdentity);
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(m));
        Assert.True(c.Snapshot.Policy.Identities.Get(NumericIdentity.Host)!.Labels.TryGet(Label.SourceReserved, "kube-apiserver", out _));
        // Without the apiserver here, the host is not the kube-apiserver entity.
        using var other = new PolicyCluster(ApiServerSlice("198.18.0.2") + "\n---\n" + Cnp("api", "prod", WebToApiServer));
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(other.Send("prod/web", "198.18.0.1", "tcp", 6443)));
    }

    [Fact]
    public void KubeApiServerOutsideTheClusterIsACidrIdentityThatWorldSelectsToo()
    {
        using var c = new PolicyCluster(ApiServerSlice("203.0.113.10") + "\n---\n" + Cnp("api", "prod", WebToApiServer));
        var m = c.Send("prod/web", "203.0.113.10", "tcp", 6443);
        Assert.True(NumericIdentity.IsLocalScope(m.DstIdentity), $"identity {m.DstIdentity}");
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(m));
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("prod/web", "203.0.113.11", "tcp", 6443)));
        using var world = new PolicyCluster(ApiServerSlice("203.0.113.10") + "\n---\n" + Cnp("w", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              egress: [{toEntities: [world]}]
            """));
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(world.Send("prod/web", "203.0.113.10", "tcp", 6443)));
    }

    [Fact]
    public void RemoteNodeSelectsOtherNodesNotTheirPodsNorThisHost()
    {
        using var c = new PolicyCluster(Cnp("rn", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: web}}
              egress: [{toEntities: [remote-node]}]
            """));
        var m = c.Send("prod/web", "198.18.0.2", "tcp", 10250);
        Assert.Equal(NumericIdentity.RemoteNode, m.DstIdentity);
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(m));
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("prod/web", "prod/api", "tcp", 10250)));
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("prod/web", "198.18.0.1", "tcp", 10250)));
    }

    [Fact]
    public void HostSelectsThisNodesAddressesOnly()
    {
        using var c = new PolicyCluster(Cnp("h", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: db}}
              ingress: [{fromEntities: [host]}]
            """));
        var m = c.Send("198.18.0.1", "prod/db", "tcp", 5432);
        Assert.Equal(NumericIdentity.Host, m.SrcIdentity);
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(m));
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("198.18.0.2", "prod/db", "tcp", 5432)));
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("prod/web", "prod/db", "tcp", 5432)));
    }

    [Fact]
    public void HealthEndpointsFromTheNodeAnnotationAreIdentityFour()
    {
        using var c = new PolicyCluster(Cnp("health", "prod", """
                spec:
                  endpointSelector: {matchLabels: {app: db}}
                  ingress: [{fromEntities: [health]}]
                """), editBase: AnnotateNodeB("network.cilium.io/ipv4-health-ip: 10.0.2.250"));
        var m = c.Send("10.0.2.250", "prod/db", "tcp", 4240);
        Assert.Equal(NumericIdentity.Health, m.SrcIdentity);
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(m));
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("198.18.0.2", "prod/db", "tcp", 4240)));
        // The older io.cilium.network. spelling of the annotation names a health endpoint as well.
        using var old = new PolicyCluster("", editBase: AnnotateNodeB("io.cilium.network.ipv4-health-ip: 10.0.2.249"));
        Assert.Equal(NumericIdentity.Health, old.Send("10.0.2.249", "prod/db", "tcp", 4240).SrcIdentity);
    }

    [Fact]
    public void AHealthAnnotationThatIsNoAddressIsAnErrorAtItsLine()
    {
        var e = Assert.Throws<ConfigException>(() =>
            new PolicyCluster("", editBase: AnnotateNodeB("network.cilium.io/ipv4-health-ip: not-an-ip")).Dispose());
        Assert.Contains("invalid IP address 'not-an-ip'", e.Message);
    }

    [Fact]
    public void IngressProxyAddressesAreIdentityEight()
    {
        using var c = new PolicyCluster(Cnp("ing", "prod", """
                spec:
                  endpointSelector: {matchLabels: {app: web}}
                  ingress: [{fromEntities: [ingress], toPorts: [{ports: [{port: "80", protocol: TCP}]}]}]
                """), editBase: AnnotateNodeB("network.cilium.io/ipv4-Ingress-ip: 10.0.2.251"));
        var m = c.Send("10.0.2.251", "prod/web", "tcp", 80);
        Assert.Equal(NumericIdentity.Ingress, m.SrcIdentity);
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(m));
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("10.0.2.251", "prod/web", "tcp", 81)));
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("prod/client", "prod/web", "tcp", 80)));
    }

    /// <summary>A CNI attachment with no Pod object and no labels: reserved:init until it is labelled.</summary>
    private static ConfigModel WithUnlabelledEndpoint(ConfigModel model) => EndpointMerger.Merge(model,
        [new EndpointRegistration("c0ffee", "eth0", "prod", "fresh", [], "/var/run/netns/x", "lxcfresh0", "02:00:00:00:77:01", ["10.0.1.77"])],
        "/nonexistent");

    [Fact]
    public void InitEndpointsAreSelectedByTheReservedDotInitKeyAndTheInitEntity()
    {
        // Cilium's documented policy for initializing endpoints, with the reserved.init key form a Kubernetes
        // selector can hold; it is not namespace-scoped, nor are its peers.
        var policies = Ccnp("init", """
            spec:
              endpointSelector: {matchLabels: {reserved.init: ""}}
              egress: [{toEntities: [all], toPorts: [{ports: [{port: "53", protocol: UDP}]}]}]
            """) + "---\n" + Cnp("db-from-init", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: db}}
              ingress: [{fromEntities: [init]}]
            """);
        using var c = new PolicyCluster(policies, editModel: WithUnlabelledEndpoint);
        var dns = c.Send("prod/fresh", "8.8.8.8", "udp", 53);
        Assert.Equal(NumericIdentity.Init, dns.SrcIdentity);
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(dns));
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("prod/fresh", "8.8.8.8", "tcp", 443)));
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(c.Send("prod/web", "8.8.8.8", "tcp", 443)));
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("prod/fresh", "prod/db", "tcp", 5432)));
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("prod/web", "prod/db", "tcp", 5432)));
        using var toDb = new PolicyCluster(policies.Replace("port: \"53\", protocol: UDP", "port: \"5432\", protocol: TCP"), editModel: WithUnlabelledEndpoint);
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(toDb.Send("prod/fresh", "prod/db", "tcp", 5432)));
    }

    [Fact]
    public void UnmanagedEndpointsLearnedFromAPeerAreSelectedByUnmanagedAndCluster()
    {
        // Cilium gives a pod address no agent manages identity 3; a peer cluster's ipcache can carry such entries.
        var external = new ExternalIdentities([],
            [new IpCacheEntry(new System.Net.IPNetwork(System.Net.IPAddress.Parse("10.9.0.5"), 32), NumericIdentity.Unmanaged, null)]);
        string Policy(string entity) => Cnp("u", "prod",
            "spec:\n  endpointSelector: {matchLabels: {app: db}}\n  ingress: [{fromEntities: [" + entity + "]}]");
        using var c = new PolicyCluster(Policy("unmanaged"), external: external);
        var m = c.Send("10.9.0.5", "prod/db", "tcp", 5432);
        Assert.Equal(NumericIdentity.Unmanaged, m.SrcIdentity);
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(m));
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("10.9.0.6", "prod/db", "tcp", 5432)));
        using var cluster = new PolicyCluster(Policy("cluster"), external: external);
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(cluster.Send("10.9.0.5", "prod/db", "tcp", 5432)));
        using var world = new PolicyCluster(Policy("world"), external: external);
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(world.Send("10.9.0.5", "prod/db", "tcp", 5432)));
    }

    [Fact]
    public void ClusterIsEveryReservedInClusterIdentityAndTheClustersPodsButNotTheWorld()
    {
        using var c = new PolicyCluster(ApiServerSlice("203.0.113.10") + "\n---\n" + Cnp("in", "prod", """
                spec:
                  endpointSelector: {matchLabels: {app: db}}
                  ingress: [{fromEntities: [cluster]}]
                """), editBase: AnnotateNodeB("network.cilium.io/ipv4-health-ip: 10.0.2.250, network.cilium.io/ipv4-Ingress-ip: 10.0.2.251"));
        foreach (var from in new[] { "198.18.0.1", "198.18.0.2", "10.0.2.250", "10.0.2.251", "prod/api", "dev/client", "203.0.113.10" })
            Assert.True(PolicyCluster.Outcome(c.Send(from, "prod/db", "tcp", 5432)) == Expect.Allow, from);
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("203.0.113.11", "prod/db", "tcp", 5432)));
        // none selects nothing; all selects everything.
        using var none = new PolicyCluster(Cnp("none", "prod", """
            spec:
              endpointSelector: {matchLabels: {app: db}}
              ingress: [{fromEntities: [none]}]
            """));
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(none.Send("198.18.0.1", "prod/db", "tcp", 5432)));
    }

    [Fact]
    public void ReservedIdentityNumbersAreCiliums()
    {
        Assert.Equal(new uint[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 },
            new[] { "host", "world", "unmanaged", "health", "init", "remote-node", "kube-apiserver", "ingress", "world-ipv4", "world-ipv6" }
                .Select(n => Enumerable.Range(1, 10).Select(i => (uint)i).Single(i => NumericIdentity.ReservedName(i) == n)));
        Assert.Equal("reserved:kube-apiserver=;reserved:remote-node=;", IdentityLabels.Reserved(NumericIdentity.KubeApiServer).Key);
        Assert.Equal((Label.SourceReserved, "init"), Label.SplitKey("reserved.init"));
        Assert.Equal((Label.SourceReserved, "host"), Label.SplitKey("$host"));
    }
}
