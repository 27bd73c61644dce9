using Dataplane.Core.Drops;
using Dataplane.Core.EgressGateway;
using Dataplane.Core.Packets;
using Dataplane.Core.Routing;
using Dataplane.Core.Tests.Services;
using Dataplane.Control.Compiler;

namespace Dataplane.Core.Tests.EgressGateway;

/// <summary>
/// CiliumEgressGatewayPolicy seen from node-a. As a non-gateway node: matching traffic is steered to a gateway
/// node (a Tunnel next hop to its InternalIP), spread over several gateways by flow hash, moved off a gateway
/// that is marked down while other flows stay, dropped with 194 when no gateway is live. As a gateway node:
/// matching traffic, from local pods or tunnelled from remote ones, leaves SNATed to the egress IP.
/// </summary>
public sealed class EgressGatewayTests
{
    private const string World = "198.18.9.9";

    private static string Nodes(bool bDown = false, bool cDown = false) => ServiceCluster.Base
        .Replace("metadata: {name: node-b, labels: {role: worker}}", $"metadata: {{name: node-b, labels: {{role: worker, gw: \"yes\"{(bDown ? $", {EgressGatewayCompiler.DownLabel}: \"true\"" : "")}}}}}")
        .Replace("metadata: {name: node-c, labels: {role: worker}}", $"metadata: {{name: node-c, labels: {{role: worker, gw: \"yes\"{(cDown ? $", {EgressGatewayCompiler.DownLabel}: \"true\"" : "")}}}}}");

    private static string Policy(string gateways) => $"""
        apiVersion: cilium.io/v2
        kind: CiliumEgressGatewayPolicy
        metadata: {"{"}name: egress-clients{"}"}
        spec:
          selectors:
          - podSelector: {"{"}matchLabels: {"{"}app: client{"}"}{"}"}
          - podSelector: {"{"}matchLabels: {"{"}app: web{"}"}{"}"}
            namespaceSelector: {"{"}matchLabels: {"{"}kubernetes.io/metadata.name: nobody{"}"}{"}"}
          destinationCIDRs: [198.18.9.0/24]
          excludedCIDRs: [198.18.9.128/25]
        {gateways}
        """;

    private const string Group = "  egressGateways:\n  - nodeSelector: {matchLabels: {gw: \"yes\"}}";

    private static NextHop NextHopOf(ServiceCluster c, in PacketMeta m) => c.Snapshot.NextHops[m.NextHop];

    private static string GatewayOf(ServiceCluster c, ushort sport)
    {
        var (m, _) = c.Send("prod/client", World, 443, sport);
        var nh = NextHopOf(c, m);
        Assert.Equal(NextHopKind.Tunnel, nh.Kind);
        return Core.Routing.RoutePrefix.ToAddress((uint)nh.TunnelEndpoint).ToString();
    }

    [Fact]
    public void MatchingTrafficIsSteeredToAGatewayNode()
    {
        using var c = new ServiceCluster(Policy(Group), Nodes());
        Assert.Contains(GatewayOf(c, 1000), new[] { "198.18.0.2", "198.18.0.3" });
        // Excluded destination, unselected pod, other destination: routed as usual.
        Assert.Equal(NextHopKind.Port, NextHopOf(c, c.Send("prod/client", "198.18.9.200", 443).Meta).Kind);
        Assert.Equal(NextHopKind.Port, NextHopOf(c, c.Send("prod/web-1", World, 443).Meta).Kind);
        Assert.Equal(NextHopKind.Port, NextHopOf(c, c.Send("prod/client", "198.18.8.8", 443).Meta).Kind);
        // In-cluster destinations are never redirected.
        Assert.Equal(NextHopKind.Port, NextHopOf(c, c.Send("prod/client", "10.0.2.10", 443).Meta).Kind);
    }

    /// <summary>
    /// Steering and the overlay together: with VXLAN to the gateway nodes, the steered packet leaves node-a
    /// encapsulated toward the chosen gateway's InternalIP (UDP 8472, the source pod's identity in the VNI),
    /// the inner packet unchanged but for its TTL — the gateway node then SNATs it.
    /// </summary>
    [Fact]
    public void SteeredTrafficLeavesVxlanEncapsulatedTowardTheGateway()
    {
        string nodes = Nodes()
            .Replace("metadata: {name: node-b, labels: {role: worker, gw: \"yes\"}}", "metadata: {name: node-b, labels: {role: worker, gw: \"yes\"}, annotations: {dataplane.io/tunnel: vxlan}}")
            .Replace("metadata: {name: node-c, labels: {role: worker, gw: \"yes\"}}", "metadata: {name: node-c, labels: {role: worker, gw: \"yes\"}, annotations: {dataplane.io/tunnel: vxlan}}");
        Assert.Contains("dataplane.io/tunnel: vxlan", nodes);
        using var c = new ServiceCluster(Policy(Group), nodes);
        var (m, wire) = c.Send("prod/client", World, 443, 1000);
        Assert.Equal(PacketVerdict.Tx, m.Verdict);
        Assert.NotNull(wire);
        Assert.Equal(17, wire!.Proto);
        Assert.Equal(8472, wire.DstPort);
        Assert.Contains(wire.Dst, new[] { "198.18.0.2", "198.18.0.3" });
        Assert.Equal("198.18.0.1", wire.Src);
        Assert.True(wire.ChecksumsOk);
        // The inner frame after outer Ethernet (14) + IPv4 (20) + UDP (8) + VXLAN (8): the pod's own packet.
        var inner = Wire.Read(c.LastFrame[50..]);
        Assert.Equal(World, inner.Dst);
        Assert.Equal(443, inner.DstPort);
        Assert.Equal(1000, inner.SrcPort);
        Assert.True(inner.ChecksumsOk);
    }

    [Fact]
    public void FlowsSpreadOverGatewaysAndOnlyTheDownGatewaysFlowsMove()
    {
        using var c = new ServiceCluster(Policy(Group), Nodes());
        const int flows = 400;
        var before = Enumerable.Range(0, flows).Select(i => GatewayOf(c, (ushort)(2000 + i))).ToArray();
        int onB = before.Count(g => g == "198.18.0.2");
        Assert.InRange(onB, flows / 4, 3 * flows / 4);

        // node-b marked down: its flows go to node-c, node-c's stay.
        c.Swap(Policy(Group), Nodes(bDown: true));
        var bDown = Enumerable.Range(0, flows).Select(i => GatewayOf(c, (ushort)(2000 + i))).ToArray();
        Assert.All(bDown, g => Assert.Equal("198.18.0.3", g));

        // node-b back, node-c down: the flows that were on b are on b again; c's move to b.
        c.Swap(Policy(Group), Nodes(cDown: true));
        var cDown = Enumerable.Range(0, flows).Select(i => GatewayOf(c, (ushort)(2000 + i))).ToArray();
        Assert.All(cDown, g => Assert.Equal("198.18.0.2", g));

        // Both up again: exactly the original placement.
        c.Swap(Policy(Group), Nodes());
        Assert.Equal(before, Enumerable.Range(0, flows).Select(i => GatewayOf(c, (ushort)(2000 + i))).ToArray());
    }

    /// <summary><see cref="Nodes"/> plus node-d (198.18.0.4, label role: spare), a gateway of a second group.</summary>
    private static string WithNodeD(bool bDown) =>
        Nodes(bDown).Replace("- {ip: 198.18.0.3, mac: \"02:00:00:00:0c:01\"}", "- {ip: 198.18.0.3, mac: \"02:00:00:00:0c:01\"}\n    - {ip: 198.18.0.4, mac: \"02:00:00:00:0d:01\"}")
        + "\n---\napiVersion: v1\nkind: Node\nmetadata: {name: node-d, labels: {role: spare}}\nspec: {podCIDRs: [\"10.0.4.0/24\"]}\nstatus: {addresses: [{type: InternalIP, address: 198.18.0.4}]}\n";

    [Fact]
    public void WithThreeGatewaysADownGatewaysFlowsMoveAndTheOthersStay()
    {
        var groups = Group + "\n  - nodeSelector: {matchLabels: {role: spare}}";
        using var c = new ServiceCluster(Policy(groups), WithNodeD(bDown: false));
        const int flows = 600;
        var before = Enumerable.Range(0, flows).Select(i => GatewayOf(c, (ushort)(3000 + i))).ToArray();
        Assert.Equal(3, before.Distinct().Count());
        c.Swap(Policy(groups), WithNodeD(bDown: true));
        var after = Enumerable.Range(0, flows).Select(i => GatewayOf(c, (ushort)(3000 + i))).ToArray();
        for (int i = 0; i < flows; i++)
        {
            if (before[i] == "198.18.0.2") Assert.NotEqual("198.18.0.2", after[i]);
            else Assert.Equal(before[i], after[i]);
        }
        // node-b's flows are shared by both remaining gateways, not dumped on one.
        var moved = after.Where((g, i) => before[i] == "198.18.0.2").ToList();
        Assert.Contains("198.18.0.3", moved);
        Assert.Contains("198.18.0.4", moved);
    }

    [Fact]
    public void NoLiveGatewayDrops194()
    {
        using var c = new ServiceCluster(Policy(Group), Nodes(bDown: true, cDown: true));
        var (m, _) = c.Send("prod/client", World, 443);
        Assert.Equal(DropReason.NoEgressGateway, m.DropReason);
        Assert.Equal(1ul, c.Drops(DropReason.NoEgressGateway));
        using var none = new ServiceCluster(Policy("  egressGateway: {nodeSelector: {matchLabels: {gw: nowhere}}}"), Nodes());
        Assert.Equal(DropReason.NoEgressGateway, none.Send("prod/client", World, 443).Meta.DropReason);
    }

    [Fact]
    public void SingleEgressGatewayIsTheFirstMatchingNodeThatIsUp()
    {
        const string single = "  egressGateway: {nodeSelector: {matchLabels: {gw: \"yes\"}}, egressIP: 198.18.0.200}";
        using var c = new ServiceCluster(Policy(single.Replace(", egressIP: 198.18.0.200", "")), Nodes());
        for (int i = 0; i < 50; i++) Assert.Equal("198.18.0.2", GatewayOf(c, (ushort)(4000 + i)));
        c.Swap(Policy(single.Replace(", egressIP: 198.18.0.200", "")), Nodes(bDown: true));
        for (int i = 0; i < 50; i++) Assert.Equal("198.18.0.3", GatewayOf(c, (ushort)(4000 + i)));
    }

    private const string LocalGateway = "  egressGateway: {nodeSelector: {matchLabels: {kubernetes.io/hostname: node-a}}, egressIP: 198.18.0.100}";

    private static string NodeAHostname => ServiceCluster.Base.Replace("metadata: {name: node-a, labels: {role: worker}}",
        "metadata: {name: node-a, labels: {role: worker, kubernetes.io/hostname: node-a}}");

    [Fact]
    public void OnTheGatewayNodeLocalPodTrafficLeavesFromTheEgressIp()
    {
        using var c = new ServiceCluster(Policy(LocalGateway), NodeAHostname);
        var (m, o) = c.Send("prod/client", World, 443, sport: 47000);
        Assert.Equal(PacketVerdict.Tx, m.Verdict);
        Assert.Equal(("198.18.0.100", World), (o!.Src, o.Dst));
        Assert.True(o.ChecksumsOk);
        Assert.Equal(ServiceCluster.GatewayMac, o.DstMac);
        var (rm, r) = c.Send(World, "198.18.0.100", o.SrcPort, sport: 443, tcpFlags: 0x12);
        Assert.Equal(PacketVerdict.Tx, rm.Verdict);
        Assert.Equal(("10.0.1.30", (ushort)47000), (r!.Dst, r.DstPort));
        // Not selected: normal path, no SNAT (masquerade is off in this cluster).
        Assert.Equal("10.0.1.10", c.Send("prod/web-1", World, 443).Out!.Src);
    }

    [Fact]
    public void OnTheGatewayNodeTrafficTunnelledFromARemotePodIsSnatedAndRepliesReturnToIt()
    {
        var remoteClient = NodeAHostname + "\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: far, namespace: prod, labels: {app: client}}\nspec: {nodeName: node-b}\nstatus: {podIPs: [{ip: 10.0.2.30}]}\n";
        using var c = new ServiceCluster(Policy(LocalGateway), remoteClient);
        var (m, o) = c.Send("10.0.2.30", World, 443, sport: 48000, srcIp: "10.0.2.30");
        Assert.Equal(PacketVerdict.Tx, m.Verdict);
        Assert.Equal("198.18.0.100", o!.Src);
        var (rm, r) = c.Send(World, "198.18.0.100", o.SrcPort, sport: 443, tcpFlags: 0x12);
        Assert.Equal(PacketVerdict.Tx, rm.Verdict);
        Assert.Equal(("10.0.2.30", ServiceCluster.NodeBMac), (r!.Dst, r.DstMac));
    }

    [Fact]
    public void EgressInterfaceGivesTheSourceAddressWhenNoEgressIp()
    {
        using var c = new ServiceCluster(Policy(LocalGateway.Replace("egressIP: 198.18.0.100", "interface: eth0")), NodeAHostname);
        Assert.Equal("198.18.0.1", c.Send("prod/client", World, 443).Out!.Src);
    }
}
