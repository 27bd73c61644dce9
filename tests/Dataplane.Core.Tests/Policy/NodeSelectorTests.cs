using Dataplane.Core.Identity;

namespace Dataplane.Core.Tests.Policy;

/// <summary>
/// fromNodes / toNodes: selectors over Node labels, as Cilium applies them with enable-node-selector-labels —
/// each remote node gets an identity of its own (remote-node scope, labels reserved:remote-node + node:…), the host
/// identity carries this node's labels, and the remote-node entity still selects every remote node.
/// node-a (198.18.0.1, this node), node-b (198.18.0.2, control plane), node-c (198.18.0.3, a worker).
/// </summary>
public class NodeSelectorTests
{
    private const string ExtraNode = "apiVersion: v1\nkind: Node\nmetadata: {name: node-c, labels: {zone: z2}}\n"
        + "spec: {podCIDRs: [\"10.0.3.0/24\"]}\nstatus: {addresses: [{type: InternalIP, address: 198.18.0.3}]}\n---\n";

    private static Func<string, string> LabelNodes => yaml => yaml
        .Replace("    - {ip: 198.18.0.2, mac: \"02:00:00:00:0b:01\"}", "    - {ip: 198.18.0.2, mac: \"02:00:00:00:0b:01\"}\n    - {ip: 198.18.0.3, mac: \"02:00:00:00:0c:01\"}")
        .Replace("metadata: {name: node-b}", "metadata: {name: node-b, labels: {node-role.kubernetes.io/control-plane: \"\", zone: z1}}")
        .Replace("metadata: {name: node-a}", "metadata: {name: node-a, labels: {zone: z1}}");

    private static string Cnp(string spec) =>
        ExtraNode + $"apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {{name: p, namespace: prod}}\n{spec}\n";

    [Fact]
    public void FromNodesAdmitsOnlyTheSelectedNodes()
    {
        using var c = new PolicyCluster(Cnp("""
            spec:
              endpointSelector: {matchLabels: {app: db}}
              ingress: [{fromNodes: [{matchLabels: {node-role.kubernetes.io/control-plane: ""}}]}]
            """), editBase: LabelNodes);
        var m = c.Send("198.18.0.2", "prod/db", "tcp", 5432);
        Assert.True(NumericIdentity.IsRemoteNodeScope(m.SrcIdentity), $"identity {m.SrcIdentity}");
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(m));
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("198.18.0.3", "prod/db", "tcp", 5432)));
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("198.18.0.1", "prod/db", "tcp", 5432)));
        // Pods on the selected node are not the node.
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("prod/api", "prod/db", "tcp", 5432)));
    }

    [Fact]
    public void ToNodesSelectsTheHostByThisNodesLabelsToo()
    {
        using var c = new PolicyCluster(Cnp("""
            spec:
              endpointSelector: {matchLabels: {app: web}}
              egress: [{toNodes: [{matchExpressions: [{key: zone, operator: In, values: [z1]}]}], toPorts: [{ports: [{port: "10250", protocol: TCP}]}]}]
            """), editBase: LabelNodes);
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(c.Send("prod/web", "198.18.0.2", "tcp", 10250)));
        var host = c.Send("prod/web", "198.18.0.1", "tcp", 10250);
        Assert.Equal(NumericIdentity.Host, host.DstIdentity);
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(host));
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("prod/web", "198.18.0.3", "tcp", 10250)));
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("prod/web", "198.18.0.2", "tcp", 22)));
    }

    [Fact]
    public void RemoteNodeEntityStillSelectsPerNodeIdentities()
    {
        using var c = new PolicyCluster(Cnp("""
            spec:
              endpointSelector: {matchLabels: {app: db}}
              ingress: [{fromNodes: [{matchLabels: {zone: z9}}]}, {fromEntities: [remote-node]}]
            """), editBase: LabelNodes);
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(c.Send("198.18.0.2", "prod/db", "tcp", 5432)));
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(c.Send("198.18.0.3", "prod/db", "tcp", 5432)));
        Assert.NotEqual(c.Send("198.18.0.2", "prod/db", "tcp", 5432).SrcIdentity, c.Send("198.18.0.3", "prod/db", "tcp", 5432).SrcIdentity);
    }

    [Fact]
    public void WithoutNodeSelectorsEveryRemoteNodeIsIdentitySix()
    {
        using var c = new PolicyCluster(ExtraNode, editBase: LabelNodes);
        Assert.Equal(NumericIdentity.RemoteNode, c.Send("198.18.0.2", "prod/db", "tcp", 5432).SrcIdentity);
        Assert.Equal(NumericIdentity.RemoteNode, c.Send("198.18.0.3", "prod/db", "tcp", 5432).SrcIdentity);
    }
}
