using Dataplane.Control.Compiler;
using Dataplane.Core.Drops;
using Dataplane.Core.Identity;
using Dataplane.Core.Packets;
using Dataplane.Core.Policy;

namespace Dataplane.Core.Tests.Policy;

/// <summary>
/// Host policies (the host firewall): CiliumClusterwideNetworkPolicies with a nodeSelector, enforced on this node's
/// host endpoint (identity 1) as Cilium's bpf_host does (lib/host_firewall.h): ingress for packets to the host's
/// addresses, egress for packets from them, default-deny only in a direction a selecting rule has, replies of
/// allowed connections pass, pods keep their own policy. node-a (198.18.0.1, labels role: edge, zone: z1) is this
/// node; node-b (198.18.0.2) a remote one; 198.19.0.0/16 stands for an admin network outside the cluster.
/// </summary>
public class HostPolicyTests
{
    private const string Node = "198.18.0.1", Node6 = "2001:db8:0:1::1";

    private static Func<string, string> LabelThisNode => yaml =>
        yaml.Replace("kind: Node\nmetadata: {name: node-a}", "kind: Node\nmetadata: {name: node-a, labels: {role: edge, zone: z1}}");

    private static string Ccnp(string spec, string name = "host-fw") =>
        $"apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {{name: {name}}}\n{spec}\n";

    /// <summary>SSH from the admin network only; nothing else reaches the host.</summary>
    private static readonly string SshFromAdmin = Ccnp("""
        spec:
          nodeSelector: {matchLabels: {role: edge}}
          ingress:
          - fromCIDR: [198.19.0.0/16, "2001:db8:99::/48"]
            toPorts: [{ports: [{port: "22", protocol: TCP}]}]
        """);

    private static PolicyCluster Cluster(string policies, int conntrackFlows = 0, string enforcement = "default") =>
        new(policies, enforcement, conntrackFlows: conntrackFlows, editBase: LabelThisNode);

    [Fact]
    public void HostPolicyMatchingThisNodeEnforcesIngressToTheHostsAddresses()
    {
        using var c = Cluster(SshFromAdmin);
        Assert.True(c.Snapshot.HostFirewall);
        var ssh = c.Send("198.19.0.5", Node, "tcp", 22);
        Assert.Equal(PacketVerdict.Local, ssh.Verdict);
        Assert.Equal(NumericIdentity.Host, ssh.DstIdentity);
        Assert.NotEqual(0u, ssh.IngressPolicyRule);
        var other = c.Send("198.19.0.5", Node, "tcp", 23);
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(other));
        Assert.Equal(DropReason.PolicyDenied, other.DropReason);
        Assert.Equal(TrafficDirection.Ingress, other.Direction);
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("198.20.0.5", Node, "tcp", 22)));
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("198.18.0.2", Node, "udp", 53)));
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(c.Send("2001:db8:99::5", Node6, "tcp", 22, v6: true)));
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("2001:db8:98::5", Node6, "tcp", 22, v6: true)));
        // Only ingress has rules: what the host sends is not enforced.
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(c.Send(Node, "198.19.0.5", "tcp", 443)));
    }

    [Fact]
    public void HostPolicyNotMatchingThisNodeLeavesTheHostOpen()
    {
        using var c = Cluster(SshFromAdmin.Replace("role: edge", "role: core"));
        Assert.False(c.Snapshot.HostFirewall);
        Assert.Same(PolicyMap.Unenforced, c.Snapshot.IngressPolicy[HostEndpoint.PolicySlot]);
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(c.Send("198.20.0.5", Node, "tcp", 23)));
        // An empty nodeSelector selects every node, this one too.
        using var all = Cluster(SshFromAdmin.Replace("{matchLabels: {role: edge}}", "{}"));
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(all.Send("198.20.0.5", Node, "tcp", 23)));
    }

    [Fact]
    public void HostPoliciesNeverSelectPodsAndPodPoliciesNeverSelectTheHost()
    {
        // A host policy with ingress rules leaves pods open.
        using var c = Cluster(SshFromAdmin);
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(c.Send("198.20.0.5", "prod/web", "tcp", 80)));
        // A cluster-wide endpointSelector {} selects every pod, not the host.
        using var pods = Cluster(Ccnp("spec:\n  endpointSelector: {}\n  ingress: [{}]\n"));
        Assert.False(pods.Snapshot.HostFirewall);
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(pods.Send("198.20.0.5", "prod/web", "tcp", 80)));
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(pods.Send("198.20.0.5", Node, "tcp", 80)));
    }

    [Fact]
    public void PodToHostPassesThePodsEgressAndTheHostsIngress()
    {
        using var c = Cluster(SshFromAdmin + "---\n" + Ccnp("""
            spec:
              nodeSelector: {}
              ingress: [{fromEntities: [cluster], toPorts: [{ports: [{port: "10250", protocol: TCP}]}]}]
            """, "kubelet"));
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(c.Send("prod/web", Node, "tcp", 10250)));
        var ssh = c.Send("prod/web", Node, "tcp", 22);
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(ssh));
        Assert.Equal(TrafficDirection.Ingress, ssh.Direction);
        // Remote nodes are in the cluster entity too.
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(c.Send("198.18.0.2", Node, "tcp", 10250)));
    }

    [Fact]
    public void HostEgressPolicyJudgesWhatTheHostSendsIncludingToLocalPods()
    {
        using var c = Cluster(Ccnp("""
            spec:
              nodeSelector: {matchLabels: {zone: z1}}
              egress: [{toEntities: [remote-node], toPorts: [{ports: [{port: "10250", protocol: TCP}]}]}]
            """));
        var kubelet = c.Send(Node, "198.18.0.2", "tcp", 10250);
        Assert.True(PolicyCluster.Outcome(kubelet) == Expect.Allow, $"{kubelet.Verdict} {kubelet.DropReason} {kubelet.SrcIdentity}->{kubelet.DstIdentity}");
        var world = c.Send(Node, "198.19.0.5", "tcp", 10250);
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(world));
        Assert.Equal(TrafficDirection.Egress, world.Direction);
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send(Node, "prod/web", "tcp", 80)));
        // Only egress has rules: what comes in is not enforced.
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(c.Send("198.19.0.5", Node, "tcp", 23)));
    }

    [Fact]
    public void DenyRulesWinAndTrafficWithinTheHostIsNeverJudged()
    {
        using var c = Cluster(SshFromAdmin + "---\n" + Ccnp("""
            spec:
              nodeSelector: {}
              ingressDeny: [{fromCIDR: [198.19.7.0/24]}]
            """, "quarantine"));
        Assert.Equal(Expect.Deny, PolicyCluster.Outcome(c.Send("198.19.7.1", Node, "tcp", 22)));
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(c.Send("198.19.8.1", Node, "tcp", 22)));
        // The host's own address to itself never leaves the host in Cilium, so no host policy sees it.
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(c.Send(Node, Node, "tcp", 23)));
    }

    [Fact]
    public void RepliesOfAllowedConnectionsPassThroughConntrack()
    {
        // Both directions enforced: ingress allows SSH from the admin network, egress only kubelet to remote nodes.
        using var c = Cluster(SshFromAdmin.Replace("  ingress:", "  egress: [{toEntities: [remote-node]}]\n  ingress:"), conntrackFlows: 64);
        var syn = c.Send("198.19.0.5", Node, "tcp", 22, sport: 41000);
        Assert.Equal(PacketVerdict.Local, syn.Verdict);
        Assert.Equal(CtState.New, syn.CtState);
        Assert.Equal(PacketVerdict.Local, c.Send("198.19.0.5", Node, "tcp", 22, sport: 41000, tcpFlags: 0x10).Verdict);
        // The host's answer would be denied by its egress policy as a new flow; as a reply it passes.
        var reply = c.Send(Node, "198.19.0.5", "tcp", 41000, sport: 22, tcpFlags: 0x12);
        Assert.Equal(CtState.Reply, reply.CtState);
        Assert.Equal(PacketVerdict.Tx, reply.Verdict);
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send(Node, "198.19.0.5", "tcp", 41001, sport: 22, tcpFlags: 0x02)));
        // A denied SYN creates nothing: its retry is denied again.
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("198.19.0.5", Node, "tcp", 23, sport: 41002)));
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("198.19.0.5", Node, "tcp", 23, sport: 41002)));
    }

    [Fact]
    public void EnforcementModesApplyToTheHostEndpointOnceTheHostFirewallIsOn()
    {
        // always: both directions default-deny for the selected host, as for any endpoint.
        using var always = Cluster(SshFromAdmin, enforcement: "always");
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(always.Send(Node, "198.19.0.5", "tcp", 443)));
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(always.Send("198.19.0.5", Node, "tcp", 22)));
        // Without any host policy "always" leaves the host alone (the host firewall is off).
        using var noHost = Cluster("", enforcement: "always");
        Assert.False(noHost.Snapshot.HostFirewall);
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(noHost.Send("198.19.0.5", Node, "tcp", 22)));
        // never: nothing enforced, host included.
        using var never = Cluster(SshFromAdmin, enforcement: "never");
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(never.Send("198.19.0.5", Node, "tcp", 23)));
    }

    [Fact]
    public void HostEndpointLabelsAreReservedHostAndTheNodesLabels()
    {
        using var c = Cluster(SshFromAdmin);
        var labels = PolicyCompiler.HostEndpointLabels(c.Model);
        Assert.Contains(labels.Labels, l => l.Source == Label.SourceReserved && l.Key == "host");
        Assert.Contains(labels.Labels, l => l.Source == Label.SourceK8s && l.Key == "role" && l.Value == "edge");
    }
}
