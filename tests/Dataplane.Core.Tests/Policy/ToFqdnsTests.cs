using System.Net;
using Dataplane.Core.L7;

namespace Dataplane.Core.Tests.Policy;

/// <summary>
/// toFQDNs compiled as Cilium selects it: the addresses the DNS proxy learned for names a selector matches become CIDR
/// identities the egress rule allows (with its toPorts); addresses of names no selector matches, and every address
/// before a lookup, stay denied (POLICY_DENIED).
/// </summary>
public class ToFqdnsTests
{
    private static string Cnp(string egress) =>
        "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: p, namespace: prod}\n"
        + "spec:\n  endpointSelector: {matchLabels: {app: web}}\n  egress: [" + egress + "]\n";

    private static readonly FqdnIp[] Learned =
    [
        new("alias.allowed.test.", IPAddress.Parse("203.0.113.5")),
        new("alias.allowed.test.", IPAddress.Parse("2001:db8:5::5")),
        new("api.pattern.test.", IPAddress.Parse("203.0.113.7")),
        new("www.other.test.", IPAddress.Parse("203.0.113.6")),
    ];

    private static PolicyCluster Cluster(string egress, bool learned = true) =>
        new(Cnp(egress), editModel: m => learned ? m with { FqdnIps = [.. Learned] } : m);

    [Fact]
    public void MatchNameAllowsExactlyTheLearnedAddressesOnItsPorts()
    {
        using var c = Cluster("{toFQDNs: [{matchName: alias.allowed.test}], toPorts: [{ports: [{port: \"443\", protocol: TCP}]}]}");
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(c.Send("prod/web", "203.0.113.5", "tcp", 443)));
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(c.Send("prod/web", "2001:db8:5::5", "tcp", 443, v6: true)));
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("prod/web", "203.0.113.5", "tcp", 80)));
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("prod/web", "203.0.113.6", "tcp", 443)));
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("prod/web", "203.0.113.7", "tcp", 443)));
        // The learned address has a CIDR identity of its own (cidr: labels, as Cilium gives it), not world.
        var allowed = c.Send("prod/web", "203.0.113.5", "tcp", 443);
        var labels = c.Snapshot.Policy.Identities.Get(allowed.DstIdentity)!.Labels.Labels.Select(l => l.ToString());
        Assert.Contains("cidr:203.0.113.5/32", labels);
    }

    [Fact]
    public void MatchPatternSelectsByLabelAndNothingIsOpenBeforeALookup()
    {
        using var c = Cluster("{toFQDNs: [{matchPattern: \"*.pattern.test\"}]}");
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(c.Send("prod/web", "203.0.113.7", "udp", 53)));
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("prod/web", "203.0.113.5", "udp", 53)));
        using var before = Cluster("{toFQDNs: [{matchName: alias.allowed.test}]}", learned: false);
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(before.Send("prod/web", "203.0.113.5", "tcp", 443)));
    }
}
