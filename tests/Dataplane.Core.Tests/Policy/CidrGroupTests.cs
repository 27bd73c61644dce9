namespace Dataplane.Core.Tests.Policy;

/// <summary>
/// CiliumCIDRGroup and the CIDR set entries that reference it (cidrGroupRef by name, cidrGroupSelector by the
/// group's labels), through the real loader, compiler and pipeline.
/// </summary>
public class CidrGroupTests
{
    private static string Group(string name, string labels, string cidrs, string version = "v2alpha1") =>
        $"apiVersion: cilium.io/{version}\nkind: CiliumCIDRGroup\nmetadata: {{name: {name}, labels: {{{labels}}}}}\n"
        + $"spec: {{externalCIDRs: [{cidrs}]}}\n---\n";

    private static string Cnp(string spec) =>
        $"apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {{name: p, namespace: prod}}\n{spec}\n";

    private static readonly string Groups =
        Group("on-prem", "site: dc1", "203.0.113.0/24, \"2001:db8:100::/48\"")
        + Group("partners", "site: dc2", "198.51.100.0/24", version: "v2");

    [Fact]
    public void CidrGroupRefAllowsTheGroupsPrefixesMinusExceptions()
    {
        using var c = new PolicyCluster(Groups + Cnp("""
            spec:
              endpointSelector: {matchLabels: {app: web}}
              egress: [{toCIDRSet: [{cidrGroupRef: on-prem, except: [203.0.113.128/25]}]}]
            """));
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(c.Send("prod/web", "203.0.113.5", "tcp", 443)));
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(c.Send("prod/web", "2001:db8:100::5", "tcp", 443, v6: true)));
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("prod/web", "203.0.113.200", "tcp", 443)));
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("prod/web", "198.51.100.7", "tcp", 443)));
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("prod/web", "8.8.8.8", "tcp", 443)));
    }

    [Fact]
    public void CidrGroupSelectorSelectsGroupsByTheirLabels()
    {
        using var c = new PolicyCluster(Groups + Cnp("""
            spec:
              endpointSelector: {matchLabels: {app: db}}
              ingress: [{fromCIDRSet: [{cidrGroupSelector: {matchLabels: {site: dc2}}}], toPorts: [{ports: [{port: "5432", protocol: TCP}]}]}]
            """));
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(c.Send("198.51.100.7", "prod/db", "tcp", 5432)));
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("198.51.100.7", "prod/db", "tcp", 5433)));
        Assert.Equal(Expect.NoAllow, PolicyCluster.Outcome(c.Send("203.0.113.5", "prod/db", "tcp", 5432)));
    }

    [Fact]
    public void DenyByGroupBeatsAnAllowAndAMissingGroupSelectsNothing()
    {
        using var c = new PolicyCluster(Groups + Cnp("""
            spec:
              endpointSelector: {matchLabels: {app: web}}
              egress: [{toEntities: [world]}]
              egressDeny: [{toCIDRSet: [{cidrGroupRef: partners}, {cidrGroupRef: not-created-yet}]}]
            """));
        Assert.Equal(Expect.Deny, PolicyCluster.Outcome(c.Send("prod/web", "198.51.100.7", "tcp", 443)));
        Assert.Equal(Expect.Allow, PolicyCluster.Outcome(c.Send("prod/web", "203.0.113.5", "tcp", 443)));
    }

    [Theory]
    [InlineData("{cidr: 10.0.0.0/8, cidrGroupRef: on-prem}", "exactly one of cidr, cidrGroupRef or cidrGroupSelector")]
    [InlineData("{except: [10.1.0.0/16]}", "exactly one of cidr, cidrGroupRef or cidrGroupSelector")]
    public void ACidrSetEntryNamesExactlyOneSource(string entry, string reason)
    {
        var e = Assert.Throws<Dataplane.Control.Config.ConfigException>(() => new PolicyCluster(Groups + Cnp(
            "spec:\n  endpointSelector: {matchLabels: {app: web}}\n  egress: [{toCIDRSet: [" + entry + "]}]")).Dispose());
        Assert.Contains(reason, e.Message);
    }

    [Fact]
    public void AGroupPrefixThatIsNoPrefixIsAnErrorAtItsLine()
    {
        var e = Assert.Throws<Dataplane.Control.Config.ConfigException>(() =>
            new PolicyCluster(Group("bad", "a: b", "203.0.113.0/33")).Dispose());
        Assert.Contains("203.0.113.0/33", e.Message);
    }
}
